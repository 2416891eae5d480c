//! One training epoch of each one-round method on 10,000 two_moons pairs (flex
//! backend, default settings, `max_epochs = 1`; model initialisation, z-scoring
//! and the validation pass included), so that per-step regressions show up run
//! to run; `cp-vae-fused` and `up-vae-fused` are the VAEs on the fused CPU
//! engine. Sequential methods train several rounds and are timed by the sweeps;
//! their per-epoch cost is that of their density estimator (SNPE-A: npe-mdn,
//! SNPE-B: npe-maf, the weights are free) except APT's atomic loss, benchmarked
//! here as `apt-atomic` (one epoch of the 10-atom loss with a MAF; APT's default
//! density is NSF since 2026-11-28, whose epochs cost more, as npe-nsf's do).
#![allow(missing_docs)]

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use sbi_nn::{DensityConfig, DensityEstimator, DeviceChoice, MafConfig};
use sbi_train::{Dataset, Method, Settings, StepContext, estimator, fit};

fn training(c: &mut Criterion) {
    let task = sbi_sim::task_by_name("two_moons").unwrap();
    let data = Dataset::simulate(task.as_ref(), 10_000, 1).unwrap();
    let device = DeviceChoice::Flex.device().unwrap();
    let settings = Settings::from_toml_str("[train]\nmax_epochs = 1\n").unwrap();
    let mut g = c.benchmark_group("one_epoch_two_moons_10k");
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(500));
    for method in Method::implemented().into_iter().filter(|m| !m.is_sequential()) {
        let est = estimator(method, &settings).unwrap();
        g.bench_function(method.name(), |b| b.iter(|| est.fit(&data, &device, None, &mut |_| {}).unwrap()));
    }
    // The VAEs on the fused CPU engine (`[train] engine = "fused"`, docs/training.md).
    let fused = Settings::from_toml_str("[train]\nmax_epochs = 1\nengine = \"fused\"\n").unwrap();
    for method in [Method::CpVae, Method::UpVae] {
        let est = estimator(method, &fused).unwrap();
        g.bench_function(format!("{}-fused", method.name()), |b| {
            b.iter(|| est.fit(&data, &device, None, &mut |_| {}).unwrap())
        });
    }
    let log_prior = task.prior().log_prob(data.theta()).unwrap();
    let with_prior = data.clone().with_aux(log_prior).unwrap();
    let train = sbi_train::sequential::default_train().with_max_epochs(1);
    let ad = device.clone().autodiff();
    g.bench_function("apt-atomic", |b| {
        b.iter(|| {
            let model = DensityConfig::Maf(MafConfig::new(2, 2)).init(&ad).unwrap();
            fit(
                model,
                &with_prior,
                &ad,
                &train,
                |m: &DensityEstimator, theta, x, ctx: &mut StepContext| {
                    let lp = ctx.aux.clone().unwrap();
                    sbi_train::sequential::atomic_loss(m, theta, x, lp, 10, ctx.rng)
                },
                &mut |_| {},
            )
            .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, training);
criterion_main!(benches);
