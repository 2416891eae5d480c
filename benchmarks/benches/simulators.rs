//! Throughput of each task's simulator on 10,000 parameter draws: `simulate_10k` makes a
//! new output per call, `simulate_into_10k` reuses one (the four tasks of issue 2's 20×
//! target).
#![allow(missing_docs)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sbi_sim::{TASK_NAMES, task_by_name};

fn simulators(c: &mut Criterion) {
    let mut g = c.benchmark_group("simulate_10k");
    g.sample_size(10);
    g.throughput(Throughput::Elements(10_000));
    for name in TASK_NAMES {
        let Ok(task) = task_by_name(name) else { continue };
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let theta = task.prior().sample(10_000, &mut rng);
        g.bench_function(name, |b| b.iter(|| task.simulator().simulate(theta.view(), &mut rng).unwrap()));
    }
    g.finish();
    let mut g = c.benchmark_group("simulate_into_10k");
    g.sample_size(10);
    g.throughput(Throughput::Elements(10_000));
    for name in ["two_moons", "slcp", "gaussian_mixture", "bernoulli_glm"] {
        let task = task_by_name(name).expect("known task");
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let theta = task.prior().sample(10_000, &mut rng);
        let mut out = task.simulator().simulate(theta.view(), &mut rng).unwrap();
        g.bench_function(name, |b| {
            b.iter(|| task.simulator().simulate_into(theta.view(), &mut rng, out.view_mut()).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, simulators);
criterion_main!(benches);
