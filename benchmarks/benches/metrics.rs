//! C2ST (2-D, 10-D) and each MMD on 10,000 × 10,000 samples; see `docs/metrics.md`.
#![allow(missing_docs)]

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sbi_metrics::{C2stConfig, MmdKernel, c2st, mmd};

/// Reference N(0, I) and samples N(0.3·e₁, I), 10,000 rows each.
fn pair(d: usize) -> (Array2<f64>, Array2<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut normal = |shift: f64| {
        Array2::from_shape_fn((10_000, d), |(_, j)| {
            let v: f64 = rng.sample(rand_distr::StandardNormal);
            v + if j == 0 { shift } else { 0.0 }
        })
    };
    (normal(0.0), normal(0.3))
}

fn metrics(c: &mut Criterion) {
    let mut g = c.benchmark_group("metrics_10k_vs_10k");
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(1));
    for d in [2, 10] {
        let (x, y) = pair(d);
        for (name, kernel) in [
            ("sbibm", MmdKernel::Sbibm),
            ("bayesflow_gaussian", MmdKernel::BayesflowGaussian),
            ("bayesflow_imq", MmdKernel::BayesflowImq),
        ] {
            g.bench_function(format!("mmd_{name}_{d}d"), |b| {
                b.iter(|| mmd(x.view(), y.view(), kernel).unwrap())
            });
        }
    }
    for d in [2, 10] {
        let (x, y) = pair(d);
        g.bench_function(format!("c2st_{d}d"), |b| {
            b.iter(|| c2st(x.view(), y.view(), &C2stConfig::default()).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, metrics);
criterion_main!(benches);
