//! The vectorised batched simulators (`sbi_sim::lanes`) draw from their models:
//! at a fixed θ, 20,000 simulations (20 chunks) are transformed back to their
//! noise, which is checked against its distribution by Kolmogorov-Smirnov
//! (critical value 1.95/√n, α ≈ 0.001 per test) and by moments within 5 Monte
//! Carlo standard errors. Specs: `shared/spec/sbibm-tasks.md` §1.1–1.3, 1.7, 1.8.

mod common;

use common::{ks_crit, ks_one};
use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sbi_sim::task_by_name;
use statrs::distribution::{ContinuousCDF, Normal};
use std::f64::consts::{FRAC_1_SQRT_2, PI};

const N: usize = 20_000;

/// `N` simulations of `task` at `theta`.
fn simulate_at(task: &str, theta: &[f64], seed: u64) -> Array2<f64> {
    let t = task_by_name(task).unwrap();
    let th = Array2::from_shape_fn((N, theta.len()), |(_, j)| theta[j]);
    t.simulator().simulate(th.view(), &mut ChaCha8Rng::seed_from_u64(seed)).unwrap()
}

fn phi(v: f64) -> f64 {
    Normal::standard().cdf(v)
}

fn assert_standard_normal(z: &[f64], what: &str) {
    let d = ks_one(z, phi);
    assert!(d < ks_crit(z.len(), None), "{what}: KS distance {d} from N(0, 1)");
    let m = z.iter().sum::<f64>() / z.len() as f64;
    let v = z.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / z.len() as f64;
    let se = 1.0 / (z.len() as f64).sqrt();
    assert!(m.abs() < 5.0 * se, "{what}: mean {m}");
    assert!((v - 1.0).abs() < 5.0 * 2f64.sqrt() * se, "{what}: variance {v}");
}

/// Sample correlation of two equally long samples.
fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma) * (x - ma)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb) * (y - mb)).sum();
    cov / (va * vb).sqrt()
}

/// two_moons (§1.8): p = x + (|z0|, −z1) has radius |p − (0.25, 0)| ~ N(0.1, 0.01²)
/// and angle ~ U(−π/2, π/2), independent of each other.
#[test]
fn two_moons_noise_has_normal_radius_and_uniform_half_turn_angle() {
    let theta = [0.3, -0.5];
    let x = simulate_at("two_moons", &theta, 1);
    let (z0, z1) = (FRAC_1_SQRT_2 * (theta[0] + theta[1]), FRAC_1_SQRT_2 * (-theta[0] + theta[1]));
    let (mut radius, mut angle) = (Vec::with_capacity(N), Vec::with_capacity(N));
    for row in x.rows() {
        let (px, py) = (row[0] + z0.abs() - 0.25, row[1] - z1);
        radius.push(((px * px + py * py).sqrt() - 0.1) / 0.01);
        angle.push(py.atan2(px));
    }
    assert_standard_normal(&radius, "two_moons radius");
    let d = ks_one(&angle, |a| ((a + PI / 2.0) / PI).clamp(0.0, 1.0));
    assert!(d < ks_crit(N, None), "two_moons angle: KS distance {d} from U(-π/2, π/2)");
    let r = correlation(&radius, &angle.iter().map(|a| a.abs()).collect::<Vec<_>>());
    assert!(r.abs() < 5.0 / (N as f64).sqrt(), "radius and |angle| correlated: {r}");
}

/// gaussian_mixture (§1.7): x − θ = σ·ε with one σ ∈ {1, 0.1} per row (a fair coin)
/// shared by both coordinates.
#[test]
fn gaussian_mixture_noise_is_the_two_scale_mixture_with_a_shared_scale() {
    let theta = [1.5, -7.0];
    let x = simulate_at("gaussian_mixture", &theta, 2);
    let mix = |e: f64| 0.5 * phi(e) + 0.5 * phi(e / 0.1);
    for (j, t) in theta.iter().enumerate() {
        let e: Vec<f64> = x.column(j).iter().map(|v| v - t).collect();
        let d = ks_one(&e, mix);
        assert!(d < ks_crit(N, None), "coordinate {j}: KS distance {d} from the mixture");
    }
    // One scale per row: |e1| > 1 with |e2| < 0.05 needs σ = 1 for both, probability
    // 0.5·P(|z| > 1)·P(|z| < 0.05) = 0.00631 (with independent scales it would be 0.033).
    let p = 0.5 * (2.0 * (1.0 - phi(1.0))) * (2.0 * phi(0.05) - 1.0);
    let hits =
        x.rows().into_iter().filter(|r| (r[0] - theta[0]).abs() > 1.0 && (r[1] - theta[1]).abs() < 0.05);
    let f = hits.count() as f64 / N as f64;
    assert!((f - p).abs() < 5.0 * (p * (1.0 - p) / N as f64).sqrt(), "shared-scale frequency {f} vs {p}");
}

/// slcp (§1.3): each of the four points, whitened by the Cholesky factor of its
/// covariance S(θ), is a pair of independent standard normals.
#[test]
fn slcp_points_whiten_to_independent_standard_normals() {
    let theta = [0.7, -1.2, 0.9, -1.4, 0.8];
    let x = simulate_at("slcp", &theta, 3);
    let (s1, s2, rho) = (theta[2] * theta[2], theta[3] * theta[3], f64::tanh(theta[4]));
    let (a, b, c) = (s1 * s1 + 1e-6, rho * s1 * s2, s2 * s2 + 1e-6);
    let l11 = a.sqrt();
    let l21 = b / l11;
    let l22 = (c - l21 * l21).sqrt();
    let mut w: [Vec<f64>; 8] = Default::default();
    for row in x.rows() {
        for p in 0..4 {
            let (d1, d2) = (row[2 * p] - theta[0], row[2 * p + 1] - theta[1]);
            let u = d1 / l11;
            w[2 * p].push(u);
            w[2 * p + 1].push((d2 - l21 * u) / l22);
        }
    }
    for (k, v) in w.iter().enumerate() {
        assert_standard_normal(v, &format!("slcp whitened value {k}"));
    }
    for (i, j) in [(0, 1), (0, 2), (1, 7), (4, 5)] {
        let r = correlation(&w[i], &w[j]);
        assert!(r.abs() < 5.0 / (N as f64).sqrt(), "whitened values {i} and {j} correlated: {r}");
    }
}

/// gaussian_linear and gaussian_linear_uniform (§1.1, §1.2): x − θ ~ N(0, 0.1·I).
#[test]
fn gaussian_linear_noise_is_isotropic_normal() {
    for task in ["gaussian_linear", "gaussian_linear_uniform"] {
        let theta: Vec<f64> = (0..10).map(|j| 0.1 * j as f64 - 0.45).collect();
        let x = simulate_at(task, &theta, 4);
        let s = 0.1f64.sqrt();
        let cols: Vec<Vec<f64>> =
            (0..10).map(|j| x.column(j).iter().map(|v| (v - theta[j]) / s).collect()).collect();
        for (j, e) in cols.iter().enumerate() {
            assert_standard_normal(e, &format!("{task} coordinate {j}"));
        }
        let r = correlation(&cols[0], &cols[9]);
        assert!(r.abs() < 5.0 / (N as f64).sqrt(), "{task}: coordinates 0 and 9 correlated: {r}");
    }
}
