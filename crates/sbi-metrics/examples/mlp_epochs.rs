//! Scratch: epochs and time per epoch of one fold's fit.
use std::time::Instant;

use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use sbi_metrics::MlpConfig;
use sbi_metrics::mlp::{Mlp, Real};

fn run<F: Real>(d: usize, n: usize, shift: f64) {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let m = (1.6 * n as f64) as usize;
    let mut y = vec![F::ZERO; m];
    let x = Array2::from_shape_fn((m, d), |(i, j)| {
        let lab = i % 2;
        y[i] = F::from_f64(lab as f64);
        let v: f64 = rng.sample(StandardNormal);
        F::from_f64(v + if j == 0 && lab == 1 { shift } else { 0.0 })
    });
    let mut r = ChaCha8Rng::seed_from_u64(1);
    let t = Instant::now();
    let (_, rep) = Mlp::<F>::fit(x.view(), &y, &MlpConfig::default(), &mut r);
    let el = t.elapsed().as_secs_f64();
    println!(
        "{} d={d} n={n} epochs={} time={el:.3} per-epoch-ms={:.3} final-loss={:.5}",
        std::any::type_name::<F>(),
        rep.epochs,
        1000.0 * el / rep.epochs as f64,
        rep.loss_curve.last().unwrap()
    );
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let d: usize = a[1].parse().unwrap();
    let n: usize = a[2].parse().unwrap();
    let shift: f64 = a[3].parse().unwrap();
    let which = a.get(4).map(String::as_str).unwrap_or("both");
    if which != "f64" {
        run::<f32>(d, n, shift);
    }
    if which != "f32" {
        run::<f64>(d, n, shift);
    }
}
