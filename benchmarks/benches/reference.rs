//! Reference-posterior samplers: 10,000 draws for observation 1 of each task.
//!
//! The analytic and rejection samplers take milliseconds; the Pólya-Gamma Gibbs
//! (bernoulli_glm) and MCMC samplers (slcp, sir, lotka_volterra) take seconds,
//! so they run in a second group with 10 samples of one call each.
#![allow(missing_docs)]

use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sbi_sim::{TASK_NAMES, task_by_name};

/// Draws per reference sample (the sbibm size).
const DRAWS: usize = 10_000;
/// Tasks whose reference sampler is exact and fast (analytic or rejection).
const FAST: [&str; 4] = ["gaussian_linear", "gaussian_linear_uniform", "gaussian_mixture", "two_moons"];

fn bench_group(c: &mut Criterion, group: &str, slow: bool) {
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(DRAWS as u64));
    if slow {
        g.sample_size(10);
        g.sampling_mode(SamplingMode::Flat);
        g.warm_up_time(Duration::from_millis(1));
        g.measurement_time(Duration::from_secs(20));
    }
    for name in TASK_NAMES.into_iter().filter(|n| FAST.contains(n) != slow) {
        let Ok(task) = task_by_name(name) else { continue };
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        g.bench_function(name, |b| b.iter(|| task.reference_posterior(1, DRAWS, &mut rng).unwrap()));
    }
    g.finish();
}

fn reference(c: &mut Criterion) {
    bench_group(c, "reference_10k", false);
    bench_group(c, "reference_10k_slow", true);
}

criterion_group!(benches, reference);
criterion_main!(benches);
