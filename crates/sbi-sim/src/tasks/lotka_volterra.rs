//! lotka_volterra (spec §1.10): a predator-prey ODE observed with
//! multiplicative log-normal noise.
//!
//! θ = (α, β, γ, δ), prior `log α, log γ ~ N(−0.125, 0.5²)`,
//! `log β, log δ ~ N(−3, 0.5²)`. The ODE `x' = αx − βxy` (prey),
//! `y' = −γy + δxy` (predator), `(x, y)(0) = (30, 1)`, is solved with Tsit5 at
//! `rtol = atol = 1e-8` ([`crate::ode`]); at t = 0, 2.1, …, 18.9 the data are
//! `x_i ~ LogNormal(log clamp(u_i, 1e-10, 1e4), 0.1²)`, the 10 prey values
//! first, then the 10 predator values. A failed solve gives a NaN row.

use crate::mcmc::McmcConfig;
use crate::ode::{Method, OdeError, OdeOptions, solve};
use crate::prior::LogNormal;
use crate::tasks::log_mcmc::{LogMcmcSettings, log_space_reference};
use crate::{Prior, ReferenceSamples, SimError, Simulator, Task, check_matrix, check_observation, data};
use ndarray::{Array1, ArrayView1, ArrayView2, ArrayViewMut1, Axis};
use rand::{Rng, RngCore};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use rayon::prelude::*;

/// Number of observation times.
const NT: usize = 10;
/// Number of data values (prey then predator).
const NX: usize = 2 * NT;
/// Observation times: every 21st of the save points 0, 0.1, …, 20 (t = 2.1·i).
pub const OBSERVATION_TIMES: [f64; NT] = {
    let mut t = [0.0; NT];
    let mut i = 0;
    while i < NT {
        // The f64 nearest to 2.1·i, as Julia's `0:0.1:20` range gives.
        t[i] = (21 * i) as f64 / 10.0;
        i += 1;
    }
    t
};
/// Initial state (prey, predator).
pub const INITIAL_STATE: [f64; 2] = [30.0, 1.0];
/// Standard deviation of the log-normal observation noise.
pub const NOISE_STD: f64 = 0.1;
/// Lower clamp of the solution before taking logs.
const CLAMP_LO: f64 = 1e-10;
/// Upper clamp of the solution before taking logs.
const CLAMP_HI: f64 = 1e4;
const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// Solves the Lotka-Volterra ODE for θ = (α, β, γ, δ) and returns the
/// (prey, predator) state at [`OBSERVATION_TIMES`].
pub fn solution_at_observation_times(theta: &[f64; 4]) -> Result<[[f64; 2]; NT], OdeError> {
    let [a, b, g, d] = *theta;
    let rhs = |_t: f64, u: &[f64; 2]| {
        let xy = u[0] * u[1];
        [a * u[0] - b * xy, -g * u[1] + d * xy]
    };
    let mut out = [[0.0; 2]; NT];
    solve(Method::Tsit5, rhs, 0.0, INITIAL_STATE, &OBSERVATION_TIMES, &mut out, &OdeOptions::default())?;
    Ok(out)
}

/// `log clamp(u, 1e-10, 1e4)` at [`OBSERVATION_TIMES`] for θ = (α, β, γ, δ):
/// the 10 prey values, then the 10 predator values (the log-normal means).
pub fn log_clamped_solution(theta: &[f64; 4]) -> Result<[f64; NX], OdeError> {
    let out = solution_at_observation_times(theta)?;
    let mut mu = [0.0; NX];
    for (i, u) in out.iter().enumerate() {
        mu[i] = u[0].clamp(CLAMP_LO, CLAMP_HI).ln();
        mu[NT + i] = u[1].clamp(CLAMP_LO, CLAMP_HI).ln();
    }
    Ok(mu)
}

/// The Lotka-Volterra simulator: θ `[4]` → x `[20]`.
#[derive(Debug, Clone, Default)]
pub struct LotkaVolterraSimulator;

impl Simulator for LotkaVolterraSimulator {
    fn theta_dim(&self) -> usize {
        4
    }
    fn x_dim(&self) -> usize {
        NX
    }
    fn simulate_row(&self, theta: ArrayView1<f64>, rng: &mut ChaCha8Rng, mut out: ArrayViewMut1<f64>) {
        match log_clamped_solution(&[theta[0], theta[1], theta[2], theta[3]]) {
            Ok(mu) => {
                for (o, m) in out.iter_mut().zip(mu) {
                    let z: f64 = rng.sample(StandardNormal);
                    *o = (m + NOISE_STD * z).exp();
                }
            }
            Err(_) => out.fill(f64::NAN),
        }
    }
}

/// Exact log-likelihood of one data set `x [20]` (spec §1.10): the sum of
/// log-normal log-densities `−log x_i − log σ − ½log 2π − (log x_i − μ_i)²/(2σ²)`
/// with `μ_i = log clamp(u_i, 1e-10, 1e4)`.
#[derive(Debug, Clone)]
pub struct LotkaVolterraLikelihood {
    ln_x: [f64; NX],
    /// `Σ_i (−log x_i) − 20 (log σ + ½ log 2π)`.
    constant: f64,
    /// Some x_i ≤ 0 (zero density).
    impossible: bool,
}

impl LotkaVolterraLikelihood {
    /// Prepares the likelihood of data `x [20]` (finite). Non-positive values
    /// have density zero (log-likelihood `-inf`).
    pub fn new(x: ArrayView1<f64>) -> Result<Self, SimError> {
        check_matrix(x.insert_axis(Axis(0)), NX, "x")?;
        let impossible = x.iter().any(|v| *v <= 0.0);
        let mut ln_x = [0.0; NX];
        let mut constant = -(NX as f64) * (NOISE_STD.ln() + 0.5 * LN_2PI);
        if !impossible {
            for i in 0..NX {
                ln_x[i] = x[i].ln();
                constant -= ln_x[i];
            }
        }
        Ok(Self { ln_x, constant, impossible })
    }

    /// `log p(x | θ)`; `-inf` when the ODE solve fails or x is impossible.
    pub fn log_lik(&self, theta: &[f64; 4]) -> f64 {
        if self.impossible {
            return f64::NEG_INFINITY;
        }
        let Ok(mu) = log_clamped_solution(theta) else {
            return f64::NEG_INFINITY;
        };
        let mut ss = 0.0;
        for (lx, m) in self.ln_x.iter().zip(&mu) {
            let r = lx - m;
            ss += r * r;
        }
        let ll = self.constant - 0.5 * ss / (NOISE_STD * NOISE_STD);
        if ll.is_nan() { f64::NEG_INFINITY } else { ll }
    }
}

/// Reference-posterior MCMC settings (see [`crate::tasks::log_mcmc`]).
fn reference_settings() -> LogMcmcSettings {
    LogMcmcSettings {
        cfg: McmcConfig { num_chains: 20, warmup: 2000, thin: 10 },
        num_candidates: 10_000,
        jitter: 0.01,
        max_rhat_error: 1.05,
    }
}

/// The lotka_volterra task.
#[derive(Debug, Clone)]
pub struct LotkaVolterra {
    prior: LogNormal,
    simulator: LotkaVolterraSimulator,
}

impl LotkaVolterra {
    /// Builds the task.
    pub fn new() -> Result<Self, SimError> {
        Ok(Self {
            prior: LogNormal::new(vec![-0.125, -3.0, -0.125, -3.0], vec![0.5; 4])?,
            simulator: LotkaVolterraSimulator,
        })
    }
}

impl Task for LotkaVolterra {
    fn name(&self) -> &'static str {
        "lotka_volterra"
    }
    fn prior(&self) -> &dyn Prior {
        &self.prior
    }
    fn simulator(&self) -> &dyn Simulator {
        &self.simulator
    }
    fn observation(&self, k: usize) -> Result<Array1<f64>, SimError> {
        check_observation(k, 10)?;
        data::observation_file("lotka_volterra", k, "observation.csv")
    }
    fn true_parameters(&self, k: usize) -> Result<Array1<f64>, SimError> {
        check_observation(k, 10)?;
        data::observation_file("lotka_volterra", k, "true_parameters.csv")
    }
    fn reference_method(&self) -> &'static str {
        "many-chain MCMC (adaptive Metropolis in log space) on the exact posterior"
    }
    /// Many-chain MCMC on the exact posterior in log space (see `tasks/log_mcmc.rs`):
    /// 20 chains, 2,000 warm-up steps, thinning 10; SIR start from 10,000 prior
    /// draws, or (when that is degenerate) a jittered start at the true parameter.
    fn reference_posterior(
        &self,
        k: usize,
        n: usize,
        rng: &mut dyn RngCore,
    ) -> Result<ReferenceSamples, SimError> {
        let lik = LotkaVolterraLikelihood::new(self.observation(k)?.view())?;
        let t = self.true_parameters(k)?;
        log_space_reference(
            &self.prior,
            &|th: &[f64; 4]| lik.log_lik(th),
            [t[0], t[1], t[2], t[3]],
            n,
            &reference_settings(),
            rng,
        )
    }
    fn log_likelihood(
        &self,
        theta: ArrayView2<f64>,
        x: ArrayView1<f64>,
    ) -> Option<Result<Array1<f64>, SimError>> {
        Some((|| {
            check_matrix(theta, 4, "theta")?;
            let lik = LotkaVolterraLikelihood::new(x)?;
            let ll: Vec<f64> = theta
                .axis_iter(Axis(0))
                .into_par_iter()
                .map(|r| lik.log_lik(&[r[0], r[1], r[2], r[3]]))
                .collect();
            Ok(Array1::from(ll))
        })())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::log_mcmc::test_support::{assert_typical, compare, sbibm_reference};
    use ndarray::{Array2, array};
    use rand::SeedableRng;
    use statrs::distribution::{Continuous, LogNormal as StatrsLogNormal};

    #[test]
    fn observation_times_are_exact() {
        assert_eq!(OBSERVATION_TIMES[0], 0.0);
        assert_eq!(OBSERVATION_TIMES[1], 2.1);
        assert_eq!(OBSERVATION_TIMES[9], 18.9);
    }

    #[test]
    fn ode_conserves_the_lotka_volterra_invariant() {
        // V = δx − γ ln x + βy − α ln y is constant along trajectories.
        for th in
            [[0.6859157, 0.10761319, 0.88789904, 0.116794825], [1.2, 0.05, 0.6, 0.03], [0.5, 0.02, 1.4, 0.1]]
        {
            let [a, b, g, d] = th;
            let v = |u: &[f64; 2]| d * u[0] - g * u[0].ln() + b * u[1] - a * u[1].ln();
            let v0 = v(&INITIAL_STATE);
            for u in solution_at_observation_times(&th).unwrap() {
                assert!(((v(&u) - v0) / v0).abs() < 1e-7, "V drift {} ({th:?})", (v(&u) - v0) / v0);
            }
        }
    }

    #[test]
    fn log_likelihood_matches_statrs_lognormal() {
        let task = LotkaVolterra::new().unwrap();
        let x = task.observation(1).unwrap();
        let theta = array![[0.6859157, 0.10761319, 0.88789904, 0.116794825], [0.7, 0.11, 0.9, 0.12]];
        let ll = task.log_likelihood(theta.view(), x.view()).unwrap().unwrap();
        for (r, l) in theta.rows().into_iter().zip(ll) {
            let u = solution_at_observation_times(&[r[0], r[1], r[2], r[3]]).unwrap();
            let mut expect = 0.0;
            for i in 0..NT {
                for s in 0..2 {
                    let mu = u[i][s].clamp(1e-10, 1e4).ln();
                    expect += StatrsLogNormal::new(mu, NOISE_STD).unwrap().ln_pdf(x[s * NT + i]);
                }
            }
            assert!((l - expect).abs() < 1e-9 * expect.abs().max(1.0), "{l} vs {expect}");
        }
    }

    #[test]
    fn log_likelihood_edge_cases() {
        let task = LotkaVolterra::new().unwrap();
        let th = array![[0.7, 0.1, 0.9, 0.12]];
        assert!(task.log_likelihood(th.view(), Array1::ones(19).view()).unwrap().is_err());
        assert!(task.log_likelihood(array![[0.7, 0.1]].view(), Array1::ones(20).view()).unwrap().is_err());
        let mut x = Array1::<f64>::ones(20);
        x[0] = 0.0;
        assert_eq!(task.log_likelihood(th.view(), x.view()).unwrap().unwrap()[0], f64::NEG_INFINITY);
        // γ < 0: the predator grows like e^{50t} and overflows; -inf, not a panic.
        let ll = task.log_likelihood(array![[0.7, 0.1, -50.0, 0.1]].view(), Array1::ones(20).view()).unwrap();
        assert_eq!(ll.unwrap()[0], f64::NEG_INFINITY);
    }

    #[test]
    fn clamping_bounds_the_log_means() {
        // β = δ = 0 decouples the species: prey 30·e^{t} exceeds 1e4 and the
        // predator e^{−2t} falls below 1e-10 by t = 18.9.
        let mu = log_clamped_solution(&[1.0, 0.0, 2.0, 0.0]).unwrap();
        let (lo, hi) = (1e-10f64.ln(), 1e4f64.ln());
        assert!(mu.iter().all(|m| *m >= lo && *m <= hi));
        assert_eq!((mu[9], mu[19]), (hi, lo));
        assert!((mu[1] - (30.0f64.ln() + 2.1)).abs() < 1e-7, "{}", mu[1]);
    }

    #[test]
    fn simulator_reproduces_observation_statistically() {
        // 10,000 simulations at the true parameter of observation 1: every x_o
        // coordinate lies in the central 99.9 % range, and the mean of log x
        // matches log clamp(u) within 5 standard errors (0.1/√n).
        let task = LotkaVolterra::new().unwrap();
        let (x_o, t) = (task.observation(1).unwrap(), task.true_parameters(1).unwrap());
        let n = 10_000;
        let theta = Array2::from_shape_fn((n, 4), |(_, j)| t[j]);
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        let sims = task.simulator().simulate(theta.view(), &mut rng).unwrap();
        assert_eq!(crate::count_nan_rows(sims.view()), 0);
        assert_typical(&sims, x_o.view(), 0.0005);
        let mu = log_clamped_solution(&[t[0], t[1], t[2], t[3]]).unwrap();
        let mean_log = sims.mapv(f64::ln).mean_axis(Axis(0)).unwrap();
        for i in 0..NX {
            assert!((mean_log[i] - mu[i]).abs() < 5.0 * NOISE_STD / (n as f64).sqrt(), "{i}");
        }
    }

    #[test]
    fn simulator_is_deterministic_and_failed_solves_are_nan_rows() {
        let task = LotkaVolterra::new().unwrap();
        let theta = array![[0.7, 0.1, 0.9, 0.12], [0.7, 0.1, -50.0, 0.1]];
        let a = task.simulator().simulate(theta.view(), &mut ChaCha8Rng::seed_from_u64(5)).unwrap();
        let b = task.simulator().simulate(theta.view(), &mut ChaCha8Rng::seed_from_u64(5)).unwrap();
        assert_eq!(a.row(0), b.row(0));
        assert!(a.row(0).iter().all(|v| v.is_finite() && *v > 0.0));
        assert!(a.row(1).iter().all(|v| v.is_nan()));
    }

    #[test]
    fn registered_with_observations() {
        let task = crate::task_by_name("lotka_volterra").unwrap();
        assert_eq!((task.name(), task.theta_dim(), task.x_dim()), ("lotka_volterra", 4, 20));
        for k in 1..=10 {
            assert_eq!(task.observation(k).unwrap().len(), 20);
            assert_eq!(task.true_parameters(k).unwrap().len(), 4);
        }
        assert!(task.observation(0).is_err() && task.true_parameters(11).is_err());
    }

    #[test]
    fn reference_matches_sbibm_observation_1() {
        // 2,000 draws (not 10,000) to keep the test fast; tolerances as for sir
        // (0.15 sd on means, 10 % on sds, KS < 0.07 per margin).
        let task = LotkaVolterra::new().unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(2024);
        let r = task.reference_posterior(1, 2000, &mut rng).unwrap();
        let rep = &r.report;
        eprintln!("{rep:?}");
        assert_eq!(r.samples.dim(), (2000, 4));
        // With only 100 draws per chain the split-R-hat fluctuates by ~0.02
        // (it is ≈ 1.002-1.005 for the full 10,000 draws), hence 1.05 here.
        assert!(rep.max_rhat.unwrap() < 1.05, "R-hat {:?}", rep.max_rhat);
        assert!(rep.min_ess.unwrap() > 500.0, "ESS {:?}", rep.min_ess);
        if let Some(theirs) = sbibm_reference("lotka_volterra") {
            compare(&r.samples, &theirs, 0.15, 0.1, 0.07);
        }
    }
}
