//! Throughput of the batched simulators, measured the way
//! `benchmarks/python/sbibm_simulators.py` measures sbibm's: 10,000 prior draws per
//! task, then `simulate` called back to back from the main thread for at least
//! `--seconds` (default 5); prints the best call and the mean over all calls as
//! simulations per second. With `--into 1`, `simulate_into` writes every call into one
//! output array allocated once, as a loop that reuses its buffer would. See docs/tasks.md
//! ("Speed").
//!
//! ```text
//! cargo run --release -p sbi-sim --example throughput [-- --seconds S --num N --tasks a,b --into 1]
//! ```

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sbi_sim::{TASK_NAMES, task_by_name};
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut seconds, mut num, mut tasks, mut into) = (5.0f64, 10_000usize, TASK_NAMES.to_vec(), false);
    let mut names = String::new();
    while let Some(a) = args.next() {
        let v = args.next().unwrap_or_default();
        match a.as_str() {
            "--seconds" => seconds = v.parse().expect("--seconds takes a number"),
            "--num" => num = v.parse().expect("--num takes a count"),
            "--tasks" => names = v,
            "--into" => into = v == "1",
            other => panic!("unknown argument {other} (use --seconds, --num, --tasks, --into)"),
        }
    }
    if !names.is_empty() {
        tasks = names.split(',').collect();
    }
    let mode = if into { "simulate_into one reused output" } else { "simulate, a new output per call" };
    println!("{num} simulations per call, {} rayon threads, {mode}", rayon::current_num_threads());
    for name in tasks {
        let task = task_by_name(name).expect("known task");
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let theta = task.prior().sample(num, &mut rng);
        let sim = task.simulator();
        let mut out = sim.simulate(theta.view(), &mut rng).expect("valid θ"); // warm-up
        let mut times = Vec::new();
        let start = Instant::now();
        while times.is_empty() || start.elapsed().as_secs_f64() < seconds {
            let t = Instant::now();
            if into {
                sim.simulate_into(theta.view(), &mut rng, out.view_mut()).expect("valid θ");
                times.push(t.elapsed().as_secs_f64());
                std::hint::black_box(&out);
            } else {
                let x = sim.simulate(theta.view(), &mut rng).expect("valid θ");
                times.push(t.elapsed().as_secs_f64());
                std::hint::black_box(x);
            }
        }
        let mean = times.iter().sum::<f64>() / times.len() as f64;
        times.sort_by(f64::total_cmp);
        let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize] * 1e6;
        println!(
            "  {name:26} best {:>9.1} µs {:>14.0} sims/s   mean {:>9.1} µs {:>14.0} sims/s   ({} calls; median {:.1} µs, 90 % {:.1} µs, 99 % {:.1} µs)",
            times[0] * 1e6,
            num as f64 / times[0],
            mean * 1e6,
            num as f64 / mean,
            times.len(),
            at(0.5),
            at(0.9),
            at(0.99),
        );
    }
}
