//! gaussian_linear (spec §1.1): θ ∈ R^10, prior N(0, 0.1·I), x ~ N(θ, 0.1·I);
//! the posterior is analytic: N(0.5·x_o, 0.05·I).

use crate::lanes::LaneRng;
use crate::prior::MvNormal;
use crate::{
    Prior, ReferenceReport, ReferenceSamples, SimError, Simulator, Task, VECTOR_CHUNK, check_matrix,
    check_observation, data, simd,
};
use ndarray::{Array1, ArrayView1, ArrayView2, ArrayViewMut1, ArrayViewMut2};
use rand::{Rng, RngCore};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

const D: usize = 10;
/// Prior covariance scale (a *covariance*, std ≈ 0.316; spec §1.1).
const PRIOR_VAR: f64 = 0.1;
/// Simulator noise covariance scale.
const NOISE_VAR: f64 = 0.1;

/// x ~ N(θ, 0.1·I_10).
#[derive(Debug, Clone, Default)]
pub struct GaussianLinearSimulator;

impl Simulator for GaussianLinearSimulator {
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

    /// Same model as [`Simulator::simulate_row`], vectorised (`add_normal_noise`).
    fn simulate_chunk(&self, theta: ArrayView2<f64>, rng: &mut ChaCha8Rng, out: ArrayViewMut2<f64>) {
        add_normal_noise(theta, rng, out, NOISE_VAR.sqrt());
    }

    fn chunk_rows(&self) -> usize {
        VECTOR_CHUNK
    }
}

/// `out = θ + scale·ε` with ε ~ N(0, I) for θ, out: `[m, 10]`, the normals drawn
/// vectorised ([`crate::lanes`]) from a [`LaneRng`] seeded by `rng`, row after row.
/// The chunk loop of both Gaussian-linear tasks.
pub(crate) fn add_normal_noise(
    theta: ArrayView2<f64>,
    rng: &mut ChaCha8Rng,
    out: ArrayViewMut2<f64>,
    scale: f64,
) {
    simd::simulate_blocks(theta, out, || NoiseBlocks {
        lanes: LaneRng::from_rng(rng),
        z: [0.0; NOISE_BLOCK],
        scale,
    });
}

/// Values (not rows) per block of [`add_normal_noise`].
const NOISE_BLOCK: usize = 640;

/// [`add_normal_noise`]'s state: the generator and one block's normals.
struct NoiseBlocks {
    lanes: LaneRng,
    z: [f64; NOISE_BLOCK],
    scale: f64,
}

impl simd::RowBlocks for NoiseBlocks {
    /// Rows of the 10-D tasks per block.
    const ROWS: usize = NOISE_BLOCK / D;

    /// Works on any width `d ≤ 10` (θ and out have the same width).
    #[inline(always)]
    fn block(&mut self, t: &[f64], o: &mut [f64]) {
        self.lanes.fill_standard_normal(&mut self.z);
        let n = o.len().min(t.len()).min(NOISE_BLOCK);
        for j in 0..n {
            o[j] = t[j] + self.scale * self.z[j];
        }
    }
}

/// The gaussian_linear task.
#[derive(Debug, Clone)]
pub struct GaussianLinear {
    prior: MvNormal,
    simulator: GaussianLinearSimulator,
}

impl GaussianLinear {
    /// Builds the task.
    pub fn new() -> Result<Self, SimError> {
        Ok(Self { prior: MvNormal::isotropic(vec![0.0; D], PRIOR_VAR)?, simulator: GaussianLinearSimulator })
    }

    /// The exact posterior for data `x_o`: N(x_o·τ_p/(τ_p+τ_n), 1/(τ_p+τ_n)·I)
    /// with precisions τ_p = 1/0.1, τ_n = 1/0.1, i.e. N(0.5·x_o, 0.05·I).
    pub fn posterior(&self, x_o: ArrayView1<f64>) -> Result<MvNormal, SimError> {
        let (tp, tn) = (1.0 / PRIOR_VAR, 1.0 / NOISE_VAR);
        let var = 1.0 / (tp + tn);
        MvNormal::isotropic(x_o.iter().map(|x| var * tn * x).collect(), var)
    }
}

impl Task for GaussianLinear {
    fn name(&self) -> &'static str {
        "gaussian_linear"
    }
    fn prior(&self) -> &dyn Prior {
        &self.prior
    }
    fn simulator(&self) -> &dyn Simulator {
        &self.simulator
    }
    fn observation(&self, k: usize) -> Result<Array1<f64>, SimError> {
        check_observation(k, 10)?;
        data::observation_file("gaussian_linear", k, "observation.csv")
    }
    fn true_parameters(&self, k: usize) -> Result<Array1<f64>, SimError> {
        check_observation(k, 10)?;
        data::observation_file("gaussian_linear", k, "true_parameters.csv")
    }
    fn reference_method(&self) -> &'static str {
        "analytic Gaussian"
    }
    fn reference_posterior(
        &self,
        k: usize,
        n: usize,
        rng: &mut dyn RngCore,
    ) -> Result<ReferenceSamples, SimError> {
        let x_o = self.observation(k)?;
        let post = self.posterior(x_o.view())?;
        Ok(ReferenceSamples {
            samples: post.sample(n, rng),
            report: ReferenceReport { method: "analytic".into(), ..Default::default() },
        })
    }
    fn log_likelihood(
        &self,
        theta: ArrayView2<f64>,
        x: ArrayView1<f64>,
    ) -> Option<Result<Array1<f64>, SimError>> {
        Some((|| {
            check_matrix(theta, D, "theta")?;
            check_matrix(x.view().insert_axis(ndarray::Axis(0)), D, "x")?;
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
    use ndarray::Array2;
    use rand::SeedableRng;

    fn moments(s: &Array2<f64>) -> (Array1<f64>, Array1<f64>) {
        let m = s.mean_axis(ndarray::Axis(0)).unwrap();
        let v = s.var_axis(ndarray::Axis(0), 1.0);
        (m, v)
    }

    #[test]
    fn reference_matches_closed_form_moments() {
        let t = GaussianLinear::new().unwrap();
        let x_o = t.observation(1).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let s = t.reference_posterior(1, 100_000, &mut rng).unwrap().samples;
        let (m, v) = moments(&s);
        for j in 0..D {
            // standard error of the mean: sqrt(0.05/1e5) ≈ 7e-4; 5 s.e. tolerance
            assert!((m[j] - 0.5 * x_o[j]).abs() < 3.5e-3, "mean {j}: {} vs {}", m[j], 0.5 * x_o[j]);
            assert!((v[j] - 0.05).abs() < 0.05 * 0.03, "var {j}: {}", v[j]);
        }
    }
}
