//! gaussian_mixture (spec §1.7): θ ∈ [-10, 10]^2 with prior U[-10, 10]^2;
//! x = θ + σ·ε with ε ~ N(0, I_2) and σ = 1 or 0.1 with probability 1/2 each.
//! The likelihood is symmetric in θ and x, so the reference posterior is the
//! same mixture centred at x_o, truncated to the prior box (exact rejection).

use crate::lanes::LaneRng;
use crate::prior::BoxUniform;
use crate::{
    Prior, ReferenceReport, ReferenceSamples, SimError, Simulator, Task, VECTOR_CHUNK, check_matrix,
    check_observation, data, lanes_f32, simd,
};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut1, ArrayViewMut2, Axis};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use statrs::distribution::{ContinuousCDF, Normal};
use std::collections::HashSet;

const D: usize = 2;
/// Prior box half-width.
const BOUND: f64 = 10.0;
/// Component standard deviations (spec §1.7), equal weights.
pub const SIGMAS: [f64; 2] = [1.0, 0.1];
/// Smallest exact acceptance rate the rejection sampler accepts to run with.
const MIN_ACCEPTANCE: f64 = 1e-7;

/// x = θ + σ·ε, σ ∈ {1, 0.1} with probability 1/2 each.
#[derive(Debug, Clone, Default)]
pub struct GaussianMixtureSimulator;

impl Simulator for GaussianMixtureSimulator {
    fn theta_dim(&self) -> usize {
        D
    }
    fn x_dim(&self) -> usize {
        D
    }
    fn simulate_row(&self, theta: ArrayView1<f64>, rng: &mut ChaCha8Rng, mut out: ArrayViewMut1<f64>) {
        let sigma = SIGMAS[(rng.next_u64() & 1) as usize];
        for j in 0..D {
            let z: f64 = rng.sample(StandardNormal);
            out[j] = theta[j] + sigma * z;
        }
    }

    /// Same model as [`Simulator::simulate_row`], vectorised ([`crate::lanes`]): the
    /// chunk's generator seeds a [`LaneRng`]; each row takes one word, whose halves give
    /// a Box–Muller pair as ε, drawn in single precision as sbibm's `float32` simulator
    /// draws it ([`lanes_f32::box_muller`]), and whose lowest bit (unused by the
    /// transform) is the fair coin choosing σ.
    fn simulate_chunk(&self, theta: ArrayView2<f64>, rng: &mut ChaCha8Rng, out: ArrayViewMut2<f64>) {
        let blocks = || Blocks {
            lanes: LaneRng::from_rng(rng),
            lo: [0; BLOCK],
            hi: [0; BLOCK],
            a: [0.0; BLOCK],
            b: [0.0; BLOCK],
        };
        simd::simulate_blocks(theta, out, blocks);
    }

    fn chunk_rows(&self) -> usize {
        VECTOR_CHUNK
    }
}

/// Rows per block of [`GaussianMixtureSimulator::simulate_chunk`].
const BLOCK: usize = 128;

/// [`GaussianMixtureSimulator::simulate_chunk`]'s state: the generator and one block's
/// words.
struct Blocks {
    lanes: LaneRng,
    /// The words' low and high halves, one word per row.
    lo: [u32; BLOCK],
    hi: [u32; BLOCK],
    /// The rows' ε.
    a: [f32; BLOCK],
    b: [f32; BLOCK],
}

impl simd::RowBlocks for Blocks {
    const ROWS: usize = BLOCK;

    #[inline(always)]
    fn block(&mut self, t: &[f64], o: &mut [f64]) {
        self.lanes.fill_halves(&mut self.lo, &mut self.hi);
        for i in 0..BLOCK {
            (self.a[i], self.b[i]) = lanes_f32::box_muller(self.lo[i], self.hi[i]);
        }
        let k = (o.len() / D).min(t.len() / D).min(BLOCK);
        let (t, o) = (&t[..D * k], &mut o[..D * k]);
        for i in 0..k {
            let sigma = if self.lo[i] & 1 == 0 { SIGMAS[0] } else { SIGMAS[1] };
            o[2 * i] = t[2 * i] + sigma * self.a[i] as f64;
            o[2 * i + 1] = t[2 * i + 1] + sigma * self.b[i] as f64;
        }
    }
}

/// The gaussian_mixture task.
#[derive(Debug, Clone)]
pub struct GaussianMixture {
    prior: BoxUniform,
    simulator: GaussianMixtureSimulator,
}

/// P(-10 ≤ N(mu, σ²) ≤ 10).
fn interval_mass(mu: f64, sigma: f64) -> f64 {
    let nd = Normal::new(mu, sigma).expect("finite mean, positive std");
    nd.cdf(BOUND) - nd.cdf(-BOUND)
}

impl GaussianMixture {
    /// Builds the task.
    pub fn new() -> Result<Self, SimError> {
        Ok(Self { prior: BoxUniform::cube(D, -BOUND, BOUND)?, simulator: GaussianMixtureSimulator })
    }

    /// Exact posterior draws for `x_o: [2]` by rejection (spec §1.7): draw a
    /// component (1/2, 1/2), θ ~ N(x_o, σ²·I), keep θ when inside the prior box
    /// and not an exact duplicate of an earlier draw. Returns `[n, 2]`.
    pub fn rejection_posterior(
        &self,
        x_o: ArrayView1<f64>,
        n: usize,
        rng: &mut dyn RngCore,
    ) -> Result<ReferenceSamples, SimError> {
        check_matrix(x_o.insert_axis(Axis(0)), D, "x_o")?;
        let expected: f64 =
            SIGMAS.iter().map(|s| 0.5 * x_o.iter().map(|m| interval_mass(*m, *s)).product::<f64>()).sum();
        if expected < MIN_ACCEPTANCE {
            return Err(SimError::Sampler(format!(
                "gaussian_mixture rejection: acceptance rate {expected:e} is too small for x_o = {x_o}"
            )));
        }
        let mut r = ChaCha8Rng::seed_from_u64(rng.next_u64());
        let mut out = Array2::<f64>::zeros((n, D));
        let mut seen: HashSet<[u64; D]> = HashSet::with_capacity(n);
        let (mut proposals, mut duplicates, mut kept) = (0u64, 0u64, 0usize);
        while kept < n {
            proposals += 1;
            let sigma = if r.random::<f64>() < 0.5 { SIGMAS[0] } else { SIGMAS[1] };
            let mut cand = [0.0f64; D];
            for (j, c) in cand.iter_mut().enumerate() {
                let z: f64 = r.sample(StandardNormal);
                *c = x_o[j] + sigma * z;
            }
            if !cand.iter().all(|c| (-BOUND..=BOUND).contains(c)) {
                continue;
            }
            if !seen.insert(cand.map(f64::to_bits)) {
                duplicates += 1;
                continue;
            }
            out.row_mut(kept).assign(&ArrayView1::from(&cand));
            kept += 1;
        }
        Ok(ReferenceSamples {
            samples: out,
            report: ReferenceReport {
                method: "rejection".into(),
                acceptance_rate: (proposals > 0).then(|| n as f64 / proposals as f64),
                evaluations: Some(proposals),
                notes: vec![
                    "mixture 0.5·N(x_o, I) + 0.5·N(x_o, 0.01·I) kept inside U[-10, 10]^2 (spec §1.7)".into(),
                    format!("exact acceptance rate {expected:.6}; {duplicates} exact duplicates rejected"),
                ],
                ..Default::default()
            },
        })
    }
}

impl Task for GaussianMixture {
    fn name(&self) -> &'static str {
        "gaussian_mixture"
    }
    fn prior(&self) -> &dyn Prior {
        &self.prior
    }
    fn simulator(&self) -> &dyn Simulator {
        &self.simulator
    }
    fn observation(&self, k: usize) -> Result<Array1<f64>, SimError> {
        check_observation(k, 10)?;
        data::observation_file("gaussian_mixture", k, "observation.csv")
    }
    fn true_parameters(&self, k: usize) -> Result<Array1<f64>, SimError> {
        check_observation(k, 10)?;
        data::observation_file("gaussian_mixture", k, "true_parameters.csv")
    }
    fn reference_method(&self) -> &'static str {
        "analytic mixture + rejection to box"
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
    /// log(½·N(x; θ, I) + ½·N(x; θ, 0.01·I)).
    fn log_likelihood(
        &self,
        theta: ArrayView2<f64>,
        x: ArrayView1<f64>,
    ) -> Option<Result<Array1<f64>, SimError>> {
        Some((|| {
            check_matrix(theta, D, "theta")?;
            check_matrix(x.insert_axis(Axis(0)), D, "x")?;
            Ok(theta
                .rows()
                .into_iter()
                .map(|t| {
                    let d2: f64 = t.iter().zip(x.iter()).map(|(a, b)| (a - b) * (a - b)).sum();
                    let l: Vec<f64> = SIGMAS
                        .iter()
                        .map(|s| {
                            0.5f64.ln()
                                - D as f64 * (s * (2.0 * std::f64::consts::PI).sqrt()).ln()
                                - 0.5 * d2 / (s * s)
                        })
                        .collect();
                    let m = l[0].max(l[1]);
                    m + ((l[0] - m).exp() + (l[1] - m).exp()).ln()
                })
                .collect())
        })())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simulator_shape_and_determinism() {
        let t = GaussianMixture::new().unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let theta = t.prior().sample(9, &mut rng);
        let a = t.simulator().simulate(theta.view(), &mut ChaCha8Rng::seed_from_u64(5)).unwrap();
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let b =
            pool.install(|| t.simulator().simulate(theta.view(), &mut ChaCha8Rng::seed_from_u64(5)).unwrap());
        assert_eq!(a.dim(), (9, D));
        assert_eq!(a, b);
    }

    /// The simulator's residual x − θ is the 50/50 scale mixture: its radius²
    /// distribution has P(|ε|² ≤ 0.05) = ½(1 − e^{−0.025}) + ½(1 − e^{−2.5}).
    #[test]
    fn simulator_noise_is_the_scale_mixture() {
        let t = GaussianMixture::new().unwrap();
        let n = 100_000;
        let theta = Array2::from_elem((n, D), 3.0);
        let x = t.simulator().simulate(theta.view(), &mut ChaCha8Rng::seed_from_u64(2)).unwrap();
        let frac =
            x.rows().into_iter().filter(|r| (r[0] - 3.0).powi(2) + (r[1] - 3.0).powi(2) <= 0.05).count()
                as f64
                / n as f64;
        let p = 0.5 * (1.0 - (-0.025f64).exp()) + 0.5 * (1.0 - (-2.5f64).exp());
        let se = (p * (1.0 - p) / n as f64).sqrt();
        assert!((frac - p).abs() < 5.0 * se, "{frac} vs {p}");
    }

    #[test]
    fn log_likelihood_matches_closed_form_and_integrates_to_one() {
        let t = GaussianMixture::new().unwrap();
        let theta = Array2::from_shape_vec((1, 2), vec![0.2, -0.1]).unwrap();
        let x = Array1::from(vec![0.25, -0.05]);
        let ll = t.log_likelihood(theta.view(), x.view()).unwrap().unwrap()[0];
        let d2: f64 = 0.05f64.powi(2) * 2.0;
        let tau = 2.0 * std::f64::consts::PI;
        let expect = (0.5 * (-0.5 * d2).exp() / tau + 0.5 * (-0.5 * d2 / 0.01).exp() / (tau * 0.01)).ln();
        assert!((ll - expect).abs() < 1e-12, "{ll} vs {expect}");
        // Riemann sum over x on a fine grid around θ = 0.
        let h = 0.01;
        let mut total = 0.0;
        let zero = Array2::zeros((1, 2));
        for i in -800..=800 {
            for k in -800..=800 {
                let xx = Array1::from(vec![i as f64 * h, k as f64 * h]);
                total += t.log_likelihood(zero.view(), xx.view()).unwrap().unwrap()[0].exp();
            }
        }
        assert!((total * h * h - 1.0).abs() < 1e-4, "{}", total * h * h);
    }
}
