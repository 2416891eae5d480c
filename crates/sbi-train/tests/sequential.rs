//! Tests of the sequential estimators (snpe-a, snpe-b, apt) where the posterior
//! is exact: a 2-D conjugate Gaussian task (below) for all three, and sbibm's
//! gaussian_linear (θ ~ N(0, 0.1 I₁₀), x | θ ~ N(θ, 0.1 I₁₀), so
//! θ | x_o ~ N(x_o / 2, 0.05 I₁₀)) for APT and SNPE-A. SNPE-B is not run on
//! the 10-D task: its importance weights p(θ)/p̃(θ) degenerate there (the
//! log-weights' variance is about 10, an effective sample size of a fraction
//! of a pair), which is the method's known weakness, not a bug to test for.

use ndarray::{Array1, ArrayView1, ArrayView2, ArrayViewMut1, Axis, array};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
mod common;
use common::device;
use sbi_sim::prior::MvNormal;
use sbi_sim::{Prior, ReferenceSamples, SimError, Simulator, Task};
use sbi_train::prelude::*;

/// θ ~ N(0, I₂), x | θ ~ N(θ, 0.25 I₂): θ | x_o ~ N(0.8 x_o, 0.2 I₂).
struct Conjugate2d {
    prior: MvNormal,
}

impl Conjugate2d {
    fn new() -> Self {
        Conjugate2d { prior: MvNormal::isotropic(vec![0.0, 0.0], 1.0).unwrap() }
    }
}

impl Simulator for Conjugate2d {
    fn theta_dim(&self) -> usize {
        2
    }
    fn x_dim(&self) -> usize {
        2
    }
    fn simulate_row(&self, theta: ArrayView1<f64>, rng: &mut ChaCha8Rng, mut out: ArrayViewMut1<f64>) {
        for j in 0..2 {
            out[j] = theta[j] + 0.5 * rng.sample::<f64, _>(StandardNormal);
        }
    }
}

impl Task for Conjugate2d {
    fn name(&self) -> &'static str {
        "conjugate_2d"
    }
    fn prior(&self) -> &dyn Prior {
        &self.prior
    }
    fn simulator(&self) -> &dyn Simulator {
        self
    }
    fn observation(&self, _k: usize) -> Result<Array1<f64>, SimError> {
        Ok(array![1.5, -1.0])
    }
    fn true_parameters(&self, _k: usize) -> Result<Array1<f64>, SimError> {
        Ok(array![1.2, -0.8])
    }
    fn reference_method(&self) -> &'static str {
        "analytic"
    }
    fn reference_posterior(
        &self,
        _k: usize,
        _n: usize,
        _rng: &mut dyn RngCore,
    ) -> Result<ReferenceSamples, SimError> {
        Err(SimError::InvalidArgument("not needed by the tests".into()))
    }
    fn log_likelihood(
        &self,
        _t: ArrayView2<f64>,
        _x: ArrayView1<f64>,
    ) -> Option<Result<Array1<f64>, SimError>> {
        None
    }
}

/// Two rounds, small networks; SNPE-A's last round has two components.
fn settings(method: Method) -> Settings {
    let model = match method {
        Method::SnpeA => "rounds = 2\nnum_components = 2\nhidden = [32, 32]\n",
        _ => "rounds = 2\nnum_transforms = 3\nhidden = 32\n",
    };
    Settings::from_toml_str(&format!(
        "[model]\n{model}[train]\nbatch_size = 128\npatience = 10\nmax_epochs = 80\nlearning_rate = 1e-3\n"
    ))
    .unwrap()
}

/// Trains `method` on `task` with 2 rounds × 2000 simulations at observation 1
/// and checks the posterior's mean and spread against the exact
/// `N(mean, sd² I)`: per-dimension |mean error| ≤ 0.3 sd (Monte-Carlo error of
/// 10,000 draws ≈ 0.01 sd; 0.4 sd for SNPE-B, whose round-2 importance weights
/// leave an effective sample of about 450 of 2000 pairs here, measured error
/// 0.31 sd) and sd within 25 %.
fn recovers_the_gaussian_posterior(method: Method, task: &dyn Task, mean: Array1<f64>, sd: f64) {
    let mean_tol = if method == Method::SnpeB { 0.4 } else { 0.3 };
    let x_o = task.observation(1).unwrap();
    let est = estimator(method, &settings(method)).unwrap();
    let mut stages = Vec::new();
    let (post, info) = est
        .fit_task(task, 4000, x_o.view(), 7, &device(), &mut |p| {
            if let Progress::Stage(s) = p {
                stages.push(s.clone());
            }
        })
        .unwrap();
    assert_eq!(info.simulations, 4000);
    assert!(stages.iter().any(|s| s.starts_with("round 2/2")), "{stages:?}");
    assert_eq!(post.method(), method);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let draws =
        sample(post.as_ref(), Some(task.prior()), x_o.view(), 10_000, &SampleConfig::default(), &mut rng)
            .unwrap();
    let m = draws.samples.mean_axis(Axis(0)).unwrap();
    let s = draws.samples.std_axis(Axis(0), 1.0);
    for j in 0..mean.len() {
        assert!((m[j] - mean[j]).abs() < mean_tol * sd, "{method} mean[{j}] = {} vs {}", m[j], mean[j]);
        let ratio = s[j] / sd;
        assert!((0.75..1.25).contains(&ratio), "{method} sd[{j}] ratio {ratio}");
    }
    // log_prob is finite at the draws, and a save/load round trip keeps it exactly.
    let head = draws.samples.slice_axis(Axis(0), ndarray::Slice::from(0..200usize));
    let lp = post.log_prob(head, x_o.view()).unwrap();
    assert!(lp.iter().all(|v| v.is_finite()));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.sbi");
    post.save(&path).unwrap();
    let loaded = load_posterior(&path, &device()).unwrap();
    assert_eq!(loaded.method(), method);
    let lp2 = loaded.log_prob(head, x_o.view()).unwrap();
    for (a, b) in lp.iter().zip(&lp2) {
        assert!((a - b).abs() < 1e-9, "{a} vs {b}");
    }
}

fn conjugate(method: Method) {
    let task = Conjugate2d::new();
    recovers_the_gaussian_posterior(method, &task, array![1.2, -0.8], 0.2f64.sqrt());
}

fn gaussian_linear(method: Method) {
    let task = sbi_sim::task_by_name("gaussian_linear").unwrap();
    let mean = task.observation(1).unwrap() / 2.0;
    recovers_the_gaussian_posterior(method, task.as_ref(), mean, 0.05f64.sqrt());
}

#[test]
fn apt_recovers_the_conjugate_posterior() {
    conjugate(Method::Apt);
}

#[test]
fn snpe_b_recovers_the_conjugate_posterior() {
    conjugate(Method::SnpeB);
}

#[test]
fn snpe_a_recovers_the_conjugate_posterior() {
    conjugate(Method::SnpeA);
}

#[test]
fn apt_recovers_the_gaussian_linear_posterior() {
    gaussian_linear(Method::Apt);
}

#[test]
fn snpe_a_recovers_the_gaussian_linear_posterior() {
    gaussian_linear(Method::SnpeA);
}

#[test]
fn sequential_methods_reject_bad_budgets_and_precomputed_pairs() {
    let task = sbi_sim::task_by_name("two_moons").unwrap();
    let x_o = task.observation(1).unwrap();
    for method in [Method::SnpeA, Method::SnpeB, Method::Apt] {
        let est = estimator(method, &Settings::default()).unwrap();
        let e = est
            .fit_task(task.as_ref(), 15, x_o.view(), 0, &device(), &mut |_| {})
            .err()
            .expect("15 simulations cannot make 10 rounds")
            .to_string();
        assert!(e.contains("too small"), "{e}");
        let e = est
            .fit_task(task.as_ref(), 1000, ndarray::array![1.0].view(), 0, &device(), &mut |_| {})
            .err()
            .expect("wrong observation width")
            .to_string();
        assert!(e.contains("observation"), "{e}");
        let data = Dataset::simulate(task.as_ref(), 100, 0).unwrap();
        let e = est.fit(&data, &device(), None, &mut |_| {}).err().expect("needs the task").to_string();
        assert!(e.contains("sequential"), "{e}");
    }
}

/// SNPE-A on two_moons (10k simulations, default MDN with 10 components) with `rounds`
/// rounds: the draws must stay inside the prior and match the reference posterior's
/// per-dimension mean within 0.05 and standard deviation within 20 % (measured C2ST over
/// seeds 1–5 in release: 0.53–0.61 with 2 rounds, 0.50–0.53 with 10; docs/npe.md).
fn snpe_a_fits_two_moons(rounds: usize) {
    let task = sbi_sim::task_by_name("two_moons").unwrap();
    let x_o = task.observation(1).unwrap();
    let settings = Settings::from_toml_str(&format!("[model]\nrounds = {rounds}\n")).unwrap();
    let est = estimator(Method::SnpeA, &settings).unwrap();
    let (post, _) = est.fit_task(task.as_ref(), 10_000, x_o.view(), 1, &device(), &mut |_| {}).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let draws =
        sample(post.as_ref(), Some(task.prior()), x_o.view(), 10_000, &SampleConfig::default(), &mut rng)
            .unwrap();
    assert!(draws.acceptance_rate() > 0.95, "acceptance {}", draws.acceptance_rate());
    let reference = task.reference_posterior(1, 10_000, &mut rng).unwrap().samples;
    let (m, s) = (draws.samples.mean_axis(Axis(0)).unwrap(), draws.samples.std_axis(Axis(0), 1.0));
    let (mr, sr) = (reference.mean_axis(Axis(0)).unwrap(), reference.std_axis(Axis(0), 1.0));
    for j in 0..2 {
        assert!((m[j] - mr[j]).abs() < 0.05, "mean[{j}] {} vs reference {}", m[j], mr[j]);
        let ratio = s[j] / sr[j];
        assert!((0.8..1.2).contains(&ratio), "sd[{j}] {} vs reference {} (ratio {ratio})", s[j], sr[j]);
    }
}

/// Two rounds: before the warm start, the broadened proposals and the leaving-out of
/// near-empty improper components, every run stopped with a non-positive-definite
/// correction.
#[test]
fn snpe_a_with_two_rounds_fits_two_moons() {
    snpe_a_fits_two_moons(2);
}

/// The default ten rounds: while each round trained on its own 1,000 pairs only, the
/// corrected mixture was far off (C2ST 0.95, a quarter of the draws outside the prior);
/// rounds 2..R's pairs are now pooled.
#[test]
fn snpe_a_with_the_default_rounds_fits_two_moons() {
    snpe_a_fits_two_moons(10);
}
