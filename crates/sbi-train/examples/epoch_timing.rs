//! Per-epoch wall time of a VAE on the fused engine (or Burn's), for comparing
//! builds on a noisy machine: the minimum and median over the epochs of one run
//! are steadier than whole-run times.
//!
//! `cargo run --release -p sbi-train --example epoch_timing -- [task] [method] [budget] [engine] [epochs]`
//! (defaults: two_moons cp-vae 10000 fused 100).

use std::time::Instant;

use sbi_nn::DeviceChoice;
use sbi_train::{Dataset, Method, Progress, Settings, estimator};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize, d: &str| args.get(i).cloned().unwrap_or_else(|| d.to_string());
    let task = sbi_sim::task_by_name(&arg(1, "two_moons"))?;
    let method: Method = arg(2, "cp-vae").parse()?;
    let budget: usize = arg(3, "10000").parse()?;
    let engine = arg(4, "fused");
    let epochs: usize = arg(5, "100").parse()?;
    let data = Dataset::simulate(task.as_ref(), budget, 1)?;
    let settings = Settings::from_toml_str(&format!(
        "[train]\nengine = \"{engine}\"\nmax_epochs = {epochs}\npatience = {epochs}\nseed = 1\n"
    ))?;
    let est = estimator(method, &settings)?;
    let device = DeviceChoice::Flex.device()?;
    let mut times = Vec::new();
    let mut last = Instant::now();
    let start = last;
    est.fit(&data, &device, None, &mut |p| {
        if let Progress::Epoch(_) = p {
            let now = Instant::now();
            times.push((now - last).as_secs_f64() * 1e3);
            last = now;
        }
    })?;
    let total = start.elapsed().as_secs_f64();
    times.sort_by(f64::total_cmp);
    println!(
        "{} {} {budget} {engine}: {} epochs, min {:.2} ms, median {:.2} ms, total {total:.2} s",
        task.name(),
        method.name(),
        times.len(),
        times[0],
        times[times.len() / 2]
    );
    Ok(())
}
