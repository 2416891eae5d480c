//! One training epoch of each one-round method on 10,000 two_moons pairs (flex
//! backend, default settings, `max_epochs = 1`; model initialisation, z-scoring
//! and the validation pass included), so that per-step regressions show up run
//! to run. Sequential methods train several rounds and are timed by the sweeps.
#![allow(missing_docs)]

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use sbi_nn::DeviceChoice;
use sbi_train::{Dataset, Method, Settings, estimator};

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
    g.finish();
}

criterion_group!(benches, training);
criterion_main!(benches);
