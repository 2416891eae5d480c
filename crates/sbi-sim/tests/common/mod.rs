//! Helpers shared by the integration tests: Kolmogorov-Smirnov statistics,
//! moments and sbibm's reference samples (read from `shared/sbibm` when present).

#![allow(dead_code)]

use ndarray::{Array1, Array2, Axis};
use std::io::Read;
use std::path::PathBuf;

/// One-sample KS statistic sup |F_n − F| of `v` against the CDF `cdf`.
pub fn ks_one(v: &[f64], cdf: impl Fn(f64) -> f64) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len() as f64;
    v.iter()
        .enumerate()
        .map(|(i, x)| {
            let f = cdf(*x);
            (f - i as f64 / n).abs().max(((i + 1) as f64 / n - f).abs())
        })
        .fold(0.0, f64::max)
}

/// Two-sample KS statistic sup |F_a − F_b|.
pub fn ks_two(a: &[f64], b: &[f64]) -> f64 {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j, mut d) = (0usize, 0usize, 0.0f64);
    while i < a.len() && j < b.len() {
        let x = a[i].min(b[j]);
        while i < a.len() && a[i] <= x {
            i += 1;
        }
        while j < b.len() && b[j] <= x {
            j += 1;
        }
        d = d.max((i as f64 / na - j as f64 / nb).abs());
    }
    d
}

/// KS critical value at α ≈ 0.001 for samples of sizes `n` and `m`
/// (`m = None`: one-sample test): 1.95·√((n + m)/(n·m)).
pub fn ks_crit(n: usize, m: Option<usize>) -> f64 {
    match m {
        None => 1.95 / (n as f64).sqrt(),
        Some(m) => 1.95 * ((n + m) as f64 / (n as f64 * m as f64)).sqrt(),
    }
}

/// Column means and unbiased standard deviations of `s: [n, d]`.
pub fn moments(s: &Array2<f64>) -> (Array1<f64>, Array1<f64>) {
    (s.mean_axis(Axis(0)).unwrap(), s.std_axis(Axis(0), 1.0))
}

/// sbibm's 10,000 reference samples for observation 1 of `task` (sbibm folder
/// name), or `None` (with a note) when `shared/sbibm` is not beside the checkout.
pub fn sbibm_reference(task: &str) -> Option<Array2<f64>> {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "../../../shared/sbibm",
        task,
        "num_observation_1/reference_posterior_samples.csv.bz2",
    ]
    .iter()
    .collect();
    let Ok(file) = std::fs::File::open(&path) else {
        eprintln!("note: {} not found; skipping the comparison with sbibm", path.display());
        return None;
    };
    let mut text = String::new();
    bzip2::read::BzDecoder::new(file).read_to_string(&mut text).expect("valid bz2 csv");
    let mut rows: Vec<Vec<f64>> = Vec::new();
    for line in text.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        rows.push(line.split(',').map(|v| v.trim().parse::<f64>().expect("number")).collect());
    }
    let d = rows[0].len();
    Some(Array2::from_shape_vec((rows.len(), d), rows.into_iter().flatten().collect()).expect("rectangular"))
}
