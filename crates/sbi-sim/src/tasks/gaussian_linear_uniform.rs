//! gaussian_linear_uniform (spec §1.2): θ ∈ [-1, 1]^10 with prior U[-1, 1]^10,
//! x ~ N(θ, 0.1·I) (covariance 0.1). The reference posterior is the Gaussian
//! likelihood read as a density in θ, N(x_o, 0.1·I), truncated to the prior
//! box, sampled exactly by rejection.

use crate::prior::BoxUniform;
use crate::{
    Prior, ReferenceReport, ReferenceSamples, SimError, Simulator, Task, check_matrix, check_observation,
    data,
};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut1, ArrayViewMut2, Axis};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use statrs::distribution::{ContinuousCDF, Normal};

const D: usize = 10;
/// Simulator noise covariance scale (a covariance: std ≈ 0.316; spec §1.2).
const NOISE_VAR: f64 = 0.1;
/// Prior box half-width.
const BOUND: f64 = 1.0;
/// Smallest exact acceptance rate the rejection sampler accepts to run with.
const MIN_ACCEPTANCE: f64 = 1e-7;

/// x ~ N(θ, 0.1·I_10).
#[derive(Debug, Clone, Default)]
pub struct GaussianLinearUniformSimulator;

impl Simulator for GaussianLinearUniformSimulator {
    fn theta_dim(&self) -> usize {
        D
    }
    fn x_dim(&self) -> usize {
        D
    }
    fn simulate_row(&self, theta: ArrayView1<f64>, rng: &mut ChaCha8Rng, mut out: ArrayViewMut1<f64>) {
        let s = NOISE_VAR.sqrt();
        for j in 0..D {
            let z: f64 = rng.sample(StandardNormal);
            out[j] = theta[j] + s * z;
        }
    }

    /// Same model as [`Simulator::simulate_row`], vectorised
    /// (`gaussian_linear::add_normal_noise`).
    fn simulate_chunk(&self, theta: ArrayView2<f64>, rng: &mut ChaCha8Rng, out: ArrayViewMut2<f64>) {
        super::gaussian_linear::add_normal_noise(theta, rng, out, NOISE_VAR.sqrt());
    }

    fn chunk_rows(&self) -> usize {
        crate::VECTOR_CHUNK
    }
}

/// The gaussian_linear_uniform task.
#[derive(Debug, Clone)]
pub struct GaussianLinearUniform {
    prior: BoxUniform,
    simulator: GaussianLinearUniformSimulator,
}

impl GaussianLinearUniform {
    /// Builds the task.
    pub fn new() -> Result<Self, SimError> {
        Ok(Self { prior: BoxUniform::cube(D, -BOUND, BOUND)?, simulator: GaussianLinearUniformSimulator })
    }

    /// Exact posterior draws for data `x_o: [10]` by rejection (spec §1.2):
    /// θ ~ N(x_o, 0.1·I), kept when every coordinate lies in [-1, 1].
    /// Returns `[n, 10]` and the acceptance rate in the report.
    pub fn rejection_posterior(
        &self,
        x_o: ArrayView1<f64>,
        n: usize,
        rng: &mut dyn RngCore,
    ) -> Result<ReferenceSamples, SimError> {
        check_matrix(x_o.insert_axis(Axis(0)), D, "x_o")?;
        let s = NOISE_VAR.sqrt();
        // Exact acceptance rate: Π_j P(-1 ≤ N(x_oj, 0.1) ≤ 1).
        let expected: f64 = x_o
            .iter()
            .map(|m| {
                let nd = Normal::new(*m, s).expect("finite mean, positive std");
                nd.cdf(BOUND) - nd.cdf(-BOUND)
            })
            .product();
        if expected < MIN_ACCEPTANCE {
            return Err(SimError::Sampler(format!(
                "gaussian_linear_uniform rejection: acceptance rate {expected:e} is too small for x_o = {x_o}"
            )));
        }
        let mut r = ChaCha8Rng::seed_from_u64(rng.next_u64());
        let mut out = Array2::<f64>::zeros((n, D));
        let mut proposals = 0u64;
        let mut cand = [0.0f64; D];
        let mut kept = 0usize;
        while kept < n {
            proposals += 1;
            for (j, c) in cand.iter_mut().enumerate() {
                let z: f64 = r.sample(StandardNormal);
                *c = x_o[j] + s * z;
            }
            if cand.iter().all(|c| (-BOUND..=BOUND).contains(c)) {
                out.row_mut(kept).assign(&ArrayView1::from(&cand));
                kept += 1;
            }
        }
        let rate = (proposals > 0).then(|| n as f64 / proposals as f64);
        Ok(ReferenceSamples {
            samples: out,
            report: ReferenceReport {
                method: "rejection".into(),
                acceptance_rate: rate,
                evaluations: Some(proposals),
                notes: vec![
                    "proposal N(x_o, 0.1·I), kept inside U[-1, 1]^10 (spec §1.2)".into(),
                    format!("exact acceptance rate {expected:.6}"),
                ],
                ..Default::default()
            },
        })
    }
}

impl Task for GaussianLinearUniform {
    fn name(&self) -> &'static str {
        "gaussian_linear_uniform"
    }
    fn prior(&self) -> &dyn Prior {
        &self.prior
    }
    fn simulator(&self) -> &dyn Simulator {
        &self.simulator
    }
    fn observation(&self, k: usize) -> Result<Array1<f64>, SimError> {
        check_observation(k, 10)?;
        data::observation_file("gaussian_linear_uniform", k, "observation.csv")
    }
    fn true_parameters(&self, k: usize) -> Result<Array1<f64>, SimError> {
        check_observation(k, 10)?;
        data::observation_file("gaussian_linear_uniform", k, "true_parameters.csv")
    }
    fn reference_method(&self) -> &'static str {
        "analytic + rejection to box"
    }
    fn reference_posterior(
        &self,
        k: usize,
        n: usize,
        rng: &mut dyn RngCore,
    ) -> Result<ReferenceSamples, SimError> {
        let x_o = self.observation(k)?;
        self.rejection_posterior(x_o.view(), n, rng)
    }
    fn log_likelihood(
        &self,
        theta: ArrayView2<f64>,
        x: ArrayView1<f64>,
    ) -> Option<Result<Array1<f64>, SimError>> {
        Some((|| {
            check_matrix(theta, D, "theta")?;
            check_matrix(x.insert_axis(Axis(0)), D, "x")?;
            let c = -0.5 * D as f64 * (2.0 * std::f64::consts::PI * NOISE_VAR).ln();
            Ok(theta
                .rows()
                .into_iter()
                .map(|t| {
                    c - 0.5 * t.iter().zip(x.iter()).map(|(a, b)| (a - b) * (a - b)).sum::<f64>() / NOISE_VAR
                })
                .collect())
        })())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// P(-1 ≤ N(mu, 0.1) ≤ 1).
    fn box_mass(mu: f64) -> f64 {
        let nd = Normal::new(mu, NOISE_VAR.sqrt()).unwrap();
        nd.cdf(BOUND) - nd.cdf(-BOUND)
    }

    #[test]
    fn simulator_shape_and_determinism() {
        let t = GaussianLinearUniform::new().unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let theta = t.prior().sample(7, &mut rng);
        let a = t.simulator().simulate(theta.view(), &mut ChaCha8Rng::seed_from_u64(5)).unwrap();
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let b =
            pool.install(|| t.simulator().simulate(theta.view(), &mut ChaCha8Rng::seed_from_u64(5)).unwrap());
        assert_eq!(a.dim(), (7, D));
        assert_eq!(a, b);
        let c = t.simulator().simulate(theta.view(), &mut ChaCha8Rng::seed_from_u64(6)).unwrap();
        assert_ne!(a, c);
    }

    #[test]
    fn log_likelihood_matches_closed_form() {
        let t = GaussianLinearUniform::new().unwrap();
        let x = Array1::from_elem(D, 0.5);
        let theta = Array2::from_elem((1, D), 0.3);
        let ll = t.log_likelihood(theta.view(), x.view()).unwrap().unwrap();
        // 10 · log N(0.5; 0.3, 0.1)
        let one = -0.5 * (2.0 * std::f64::consts::PI * 0.1f64).ln() - 0.5 * 0.04 / 0.1;
        assert!((ll[0] - 10.0 * one).abs() < 1e-12);
        assert!(t.log_likelihood(Array2::zeros((1, 3)).view(), x.view()).unwrap().is_err());
    }

    /// The acceptance rate equals Π_j P(-1 ≤ N(x_oj, 0.1) ≤ 1) up to binomial error.
    #[test]
    fn acceptance_rate_matches_box_mass() {
        let t = GaussianLinearUniform::new().unwrap();
        for k in [1, 4] {
            let x_o = t.observation(k).unwrap();
            let expect: f64 = x_o.iter().map(|m| box_mass(*m)).product();
            let mut rng = ChaCha8Rng::seed_from_u64(k as u64);
            let r = t.reference_posterior(k, 5_000, &mut rng).unwrap();
            let props = r.report.evaluations.unwrap() as f64;
            let rate = r.report.acceptance_rate.unwrap();
            // Binomial s.e. of the rate at the number of proposals made; 5 s.e.
            let se = (expect * (1.0 - expect) / props).sqrt();
            assert!((rate - expect).abs() < 5.0 * se, "obs {k}: rate {rate} vs {expect} (se {se})");
            assert!(r.samples.iter().all(|v| v.abs() <= 1.0));
        }
    }

    #[test]
    fn rejects_bad_observation_input() {
        let t = GaussianLinearUniform::new().unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        assert!(t.rejection_posterior(Array1::zeros(3).view(), 10, &mut rng).is_err());
        assert!(t.reference_posterior(0, 10, &mut rng).is_err());
        assert!(t.reference_posterior(11, 10, &mut rng).is_err());
        // Far outside the box: the acceptance rate is ~0 and the sampler refuses.
        assert!(t.rejection_posterior(Array1::from_elem(D, 5.0).view(), 10, &mut rng).is_err());
    }
}
