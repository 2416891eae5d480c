//! slcp, "simple likelihood, complex posterior" (spec §1.3): θ ∈ R^5, prior
//! U[-3, 3]^5, x = 4 iid draws from a bivariate normal, interleaved (x ∈ R^8).
//!
//! Simulator (§1.3): mean `m = (θ1, θ2)`, `s1 = θ3²`, `s2 = θ4²`, `ρ = tanh(θ5)`,
//! covariance `S = [[s1², ρ·s1·s2], [ρ·s1·s2, s2²]] + 1e-6·I`; the data are the
//! four points flattened point by point: `(p1_1, p1_2, p2_1, p2_2, ..., p4_2)`.
//!
//! The likelihood is tractable (a product of four bivariate normal densities),
//! so the reference posterior is sampled by many-chain MCMC on the exact
//! posterior ([`reference_posterior_for`]), instead of sbibm's SIR → flow →
//! rejection pipeline (§1.3, steps 1-4), which also targets the exact posterior.

use crate::lanes::LaneRng;
use crate::mcmc::{McmcConfig, sample_mcmc, sir_init};
use crate::prior::BoxUniform;
use crate::{
    Prior, ReferenceReport, ReferenceSamples, SimError, Simulator, Task, VECTOR_CHUNK, check_matrix,
    check_observation, data, lanes_f32, simd,
};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut1, ArrayViewMut2, Axis};
use rand::{Rng, RngCore};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// Number of parameters.
pub const THETA_DIM: usize = 5;
/// Number of data values (4 points × 2 coordinates).
pub const X_DIM: usize = 8;
/// Number of iid bivariate points per simulation.
const NUM_POINTS: usize = 4;
/// Jitter added to both diagonal entries of the covariance (§1.3).
const JITTER: f64 = 1e-6;
/// Half-width of the uniform prior box.
const BOUND: f64 = 3.0;
/// ln(2π).
const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// Reference sampler: number of chains.
pub const REF_CHAINS: usize = 100;
/// Reference sampler: number of prior candidates of the SIR initialisation.
pub const REF_SIR_CANDIDATES: usize = 100_000;
/// Reference sampler: warm-up steps per chain.
pub const REF_WARMUP: usize = 5_000;
/// Reference sampler: thinning.
pub const REF_THIN: usize = 100;

/// Mean and covariance `(m1, m2, S11, S12, S22)` of one point given θ (§1.3).
fn point_moments(theta: ArrayView1<f64>) -> (f64, f64, f64, f64, f64) {
    let s1 = theta[2] * theta[2];
    let s2 = theta[3] * theta[3];
    let rho = theta[4].tanh();
    (theta[0], theta[1], s1 * s1 + JITTER, rho * s1 * s2, s2 * s2 + JITTER)
}

/// Exact log-likelihood log p(x | θ) of one data set `x: [8]` for one `theta: [5]`:
/// the sum of the four bivariate normal log-densities (§1.3). Defined for every θ,
/// including outside the prior box. Inputs are not validated.
pub fn log_likelihood_row(theta: ArrayView1<f64>, x: ArrayView1<f64>) -> f64 {
    let (m1, m2, a, b, c) = point_moments(theta);
    let det = a * c - b * b;
    if det <= 0.0 || !det.is_finite() {
        return f64::NEG_INFINITY;
    }
    let quad: f64 = (0..NUM_POINTS)
        .map(|p| {
            let (d1, d2) = (x[2 * p] - m1, x[2 * p + 1] - m2);
            (c * d1 * d1 - 2.0 * b * d1 * d2 + a * d2 * d2) / det
        })
        .sum();
    NUM_POINTS as f64 * (-LN_2PI - 0.5 * det.ln()) - 0.5 * quad
}

/// The slcp simulator (§1.3).
#[derive(Debug, Clone, Default)]
pub struct SlcpSimulator;

impl SlcpSimulator {
    /// Simulates the 8 values for one `theta: [5]` into `out: [8]` (Cholesky of the
    /// 2×2 covariance times standard normals).
    pub(crate) fn simulate_into(theta: ArrayView1<f64>, rng: &mut ChaCha8Rng, out: &mut [f64]) {
        let (m1, m2, a, b, c) = point_moments(theta);
        let l11 = a.sqrt();
        let l21 = b / l11;
        let l22 = (c - l21 * l21).max(0.0).sqrt();
        for p in 0..NUM_POINTS {
            let z1: f64 = rng.sample(StandardNormal);
            let z2: f64 = rng.sample(StandardNormal);
            out[2 * p] = m1 + l11 * z1;
            out[2 * p + 1] = m2 + l21 * z1 + l22 * z2;
        }
    }
}

/// Rows per block of [`SlcpSimulator::simulate_chunk`] (32).
const BLOCK: usize = 32;

/// [`SlcpSimulator::simulate_chunk`]'s state: the generator, one block's normals and
/// the rows' Cholesky factors.
struct Blocks {
    lanes: LaneRng,
    /// Standard normals, drawn in single precision ([`crate::lanes_f32`]) as sbibm's
    /// `float32` simulator draws them.
    z: [f32; BLOCK * X_DIM],
    l: [[f32; BLOCK]; 3],
    /// AVX2, when the CPU has it ([`simd::avx2`]).
    #[cfg(target_arch = "x86_64")]
    avx2: Option<simd::Avx2>,
}

impl simd::RowBlocks for Blocks {
    const ROWS: usize = BLOCK;

    /// The computation of [`point_moments`] and [`SlcpSimulator::simulate_into`],
    /// rearranged so that LLVM vectorises it across rows: first the Cholesky factors
    /// of every row, then the outputs. The factors scale the noise and, like it, are
    /// computed in single precision ([`crate::lanes_f32`], as sbibm's `float32`
    /// simulator does), in a form without cancellation: with `q_i = s_i²`,
    /// `a = q1 + J` and `1 − ρ² = 4e/(1 + e)²` (`e = exp(−2|θ5|)`),
    /// `L11 = √a`, `L21 = ρ·s1·s2/√a`, `L22 = √(q2·(q1·(1 − ρ²) + J)/a + J)`;
    /// the means are added in `f64`.
    #[inline(always)]
    fn block(&mut self, t: &[f64], o: &mut [f64]) {
        lanes_f32::fill_standard_normal(&mut self.lanes, &mut self.z);
        let k = (o.len() / X_DIM).min(t.len() / THETA_DIM).min(BLOCK);
        let (t, o) = (&t[..THETA_DIM * k], &mut o[..X_DIM * k]);
        let [l11, l21, l22] = &mut self.l;
        for i in 0..k {
            (l11[i], l21[i], l22[i]) =
                (t[THETA_DIM * i + 2] as f32, t[THETA_DIM * i + 3] as f32, t[THETA_DIM * i + 4] as f32);
        }
        for i in 0..BLOCK {
            (l11[i], l21[i], l22[i]) = cholesky_f32(l11[i], l21[i], l22[i]);
        }
        #[cfg(target_arch = "x86_64")]
        let done = match self.avx2 {
            Some(avx2) => points_avx2(avx2, t, &self.z, [&l11[..k], &l21[..k], &l22[..k]], o),
            None => 0,
        };
        #[cfg(not(target_arch = "x86_64"))]
        let done = 0;
        for i in done..k {
            let (m1, m2) = (t[THETA_DIM * i], t[THETA_DIM * i + 1]);
            let (z, o) = (&self.z[X_DIM * i..X_DIM * (i + 1)], &mut o[X_DIM * i..X_DIM * (i + 1)]);
            for p in 0..NUM_POINTS {
                let (z1, z2) = (z[2 * p], z[2 * p + 1]);
                o[2 * p] = m1 + (l11[i] * z1) as f64;
                o[2 * p + 1] = m2 + l21[i].mul_add(z1, l22[i] * z2) as f64;
            }
        }
    }
}

/// x for the rows of `theta` (`[k·5]`) from their normals `z` (`[k·8]`) and Cholesky
/// factors `l = [L11, L21, L22]` (each `[k]`), one row (four points, eight values) per
/// AVX2 step; returns the rows done. Each row's normals are one vector: the even lanes
/// give `L11·z1` as fma(L11, z1, −0) (the product rounded once, signed zero kept), the
/// odd lanes `L21·z1 + L22·z2` as fma(L21, z1, L22·z2), the row loop's roundings in
/// [`Blocks`]' `block`, so the result is the same bit for bit. LLVM's vectoriser
/// otherwise ran this loop across rows, gathering each row's points with shuffles.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn points_avx2(avx2: simd::Avx2, theta: &[f64], z: &[f32], l: [&[f32]; 3], out: &mut [f64]) -> usize {
    use std::arch::x86_64::{__m256, __m256d};
    let (avx, fma) = (avx2.avx, avx2.fma);
    let (t5s, _) = theta.as_chunks::<THETA_DIM>();
    let (z8s, _) = z.as_chunks::<X_DIM>();
    let (o8s, _) = out.as_chunks_mut::<X_DIM>();
    let [l11, l21, l22] = l;
    let rows = t5s.len().min(z8s.len()).min(o8s.len()).min(l11.len()).min(l21.len()).min(l22.len());
    let neg_zero = avx._mm256_set1_ps(-0.0);
    for i in 0..rows {
        let zv: __m256 = pulp::cast(z8s[i]);
        // Odd lanes (bit set) from the second operand.
        let a = avx._mm256_blend_ps::<0b1010_1010>(avx._mm256_set1_ps(l11[i]), avx._mm256_set1_ps(l21[i]));
        let w =
            avx._mm256_blend_ps::<0b1010_1010>(neg_zero, avx._mm256_mul_ps(avx._mm256_set1_ps(l22[i]), zv));
        let y = fma._mm256_fmadd_ps(a, avx._mm256_moveldup_ps(zv), w);
        let m = avx._mm256_setr_pd(t5s[i][0], t5s[i][1], t5s[i][0], t5s[i][1]);
        let lo = avx._mm256_add_pd(m, avx._mm256_cvtps_pd(avx._mm256_castps256_ps128(y)));
        let hi = avx._mm256_add_pd(m, avx._mm256_cvtps_pd(avx._mm256_extractf128_ps::<1>(y)));
        o8s[i] = pulp::cast::<[__m256d; 2], [f64; X_DIM]>([lo, hi]);
    }
    rows
}

/// The Cholesky factor `(L11, L21, L22)` of one point's covariance (§1.3) from
/// `(θ3, θ4, θ5)` in single precision, without cancellation (see [`Blocks`]' `block`).
#[inline(always)]
fn cholesky_f32(t3: f32, t4: f32, t5: f32) -> (f32, f32, f32) {
    const J: f32 = JITTER as f32;
    let (s1, s2) = (t3 * t3, t4 * t4);
    let e = lanes_f32::exp_nonpos(-2.0 * t5.abs());
    let inv = 1.0 / (1.0 + e);
    let rho = ((1.0 - e) * inv).copysign(t5);
    let sech2 = 4.0 * e * inv * inv;
    let (q1, q2) = (s1 * s1, s2 * s2);
    let a = q1 + J;
    let inv_a = 1.0 / a;
    let root_a = a.sqrt();
    (root_a, rho * s1 * s2 * root_a * inv_a, (q2 * q1.mul_add(sech2, J)).mul_add(inv_a, J).sqrt())
}

impl Simulator for SlcpSimulator {
    fn theta_dim(&self) -> usize {
        THETA_DIM
    }
    fn x_dim(&self) -> usize {
        X_DIM
    }
    fn simulate_row(&self, theta: ArrayView1<f64>, rng: &mut ChaCha8Rng, mut out: ArrayViewMut1<f64>) {
        let mut buf = [0.0; X_DIM];
        Self::simulate_into(theta, rng, &mut buf);
        out.iter_mut().zip(buf).for_each(|(o, v)| *o = v);
    }

    /// Same model as [`Simulator::simulate_row`], vectorised ([`crate::lanes`]): the
    /// standard normals for `BLOCK` (32) rows at a time come from a [`LaneRng`] seeded
    /// by the chunk's generator, drawn in single precision ([`crate::lanes_f32`]) as
    /// sbibm's `float32` simulator draws them, and scaled by Cholesky factors also
    /// computed in `f32`; the means are added in `f64`.
    fn simulate_chunk(&self, theta: ArrayView2<f64>, rng: &mut ChaCha8Rng, out: ArrayViewMut2<f64>) {
        simd::simulate_blocks(theta, out, || Blocks {
            lanes: LaneRng::from_rng(rng),
            z: [0.0; BLOCK * X_DIM],
            l: [[0.0; BLOCK]; 3],
            #[cfg(target_arch = "x86_64")]
            avx2: simd::avx2(),
        });
    }

    fn chunk_rows(&self) -> usize {
        VECTOR_CHUNK
    }
}

/// The slcp task.
#[derive(Debug, Clone)]
pub struct Slcp {
    prior: BoxUniform,
    simulator: SlcpSimulator,
}

impl Slcp {
    /// Builds the task.
    pub fn new() -> Result<Self, SimError> {
        Ok(Self { prior: BoxUniform::cube(THETA_DIM, -BOUND, BOUND)?, simulator: SlcpSimulator })
    }
}

/// Validates `theta: [n, 5]` and `x: [8]` and evaluates the slcp log-likelihood per row.
pub(crate) fn checked_log_likelihood(
    theta: ArrayView2<f64>,
    x: ArrayView1<f64>,
) -> Result<Array1<f64>, SimError> {
    check_matrix(theta, THETA_DIM, "theta")?;
    check_matrix(x.insert_axis(Axis(0)), X_DIM, "x")?;
    Ok(theta.rows().into_iter().map(|t| log_likelihood_row(t, x)).collect())
}

/// Reference posterior of slcp for data `x_o: [8]`: `n` draws `[n, 5]`.
///
/// Method (settings in the `REF_*` constants and in the report's notes):
/// 1. Symmetry: the likelihood depends on θ3 and θ4 only through θ3² and θ4²
///    (§1.3) and the prior is symmetric, so the posterior is invariant under
///    θ3 → −θ3 and under θ4 → −θ4; it has (up to) four mirror-image modes that a
///    random-walk chain cannot cross between. The chains therefore target the
///    *folded* posterior, i.e. the posterior restricted to θ3 ≥ 0, θ4 ≥ 0
///    (renormalised: the prior box becomes `[-3,3]² × [0,3]² × [-3,3]`).
/// 2. Initialisation by [`sir_init`]: `REF_SIR_CANDIDATES` draws from the folded
///    prior weighted by the exact likelihood, `REF_CHAINS` resampled.
/// 3. [`sample_mcmc`] (adaptive random-walk Metropolis) on log prior + exact
///    log-likelihood with `REF_WARMUP` warm-up steps and thinning `REF_THIN`
///    (at least 100 draws per chain are made for the diagnostics, the first `n`
///    returned).
/// 4. Every draw gets an independent fair random sign on θ3 and, independently,
///    on θ4. If Y has the folded law then (±Y3, ±Y4) has exactly the symmetric
///    posterior law, so the four modes are balanced exactly (not by chance).
///
/// The report's R-hat and ESS are those of the folded chains (before the flips);
/// its `evaluations` counts likelihood evaluations of SIR and MCMC together.
pub fn reference_posterior_for(
    x_o: ArrayView1<f64>,
    n: usize,
    rng: &mut dyn RngCore,
) -> Result<ReferenceSamples, SimError> {
    check_matrix(x_o.insert_axis(Axis(0)), X_DIM, "x_o")?;
    if n == 0 {
        return Err(SimError::InvalidArgument("reference_posterior: n must be at least 1".into()));
    }
    let folded_prior =
        BoxUniform::new(vec![-BOUND, -BOUND, 0.0, 0.0, -BOUND], vec![BOUND, BOUND, BOUND, BOUND, BOUND])?;
    let log_lik = |t: ArrayView1<f64>| log_likelihood_row(t, x_o);
    let log_post = |t: ArrayView1<f64>| {
        if folded_prior.in_support(t) { log_likelihood_row(t, x_o) } else { f64::NEG_INFINITY }
    };
    let init = sir_init(&log_lik, &folded_prior, REF_SIR_CANDIDATES, REF_CHAINS, rng)?;
    let cfg = McmcConfig { num_chains: REF_CHAINS, warmup: REF_WARMUP, thin: REF_THIN };
    let res = sample_mcmc(&log_post, init.view(), n, &cfg, rng)?;
    let mut samples: Array2<f64> = res.samples;
    for mut row in samples.outer_iter_mut() {
        let bits = rng.next_u32();
        if bits & 1 == 1 {
            row[2] = -row[2];
        }
        if bits & 2 == 2 {
            row[3] = -row[3];
        }
    }
    let mut notes = vec![
        format!(
            "adaptive random-walk Metropolis on the exact posterior folded to θ3, θ4 ≥ 0: {REF_CHAINS} chains \
             initialised by SIR from {REF_SIR_CANDIDATES} folded-prior draws, warm-up {REF_WARMUP}, thinning {REF_THIN}, \
             {} draws made (diagnostics on all of them), first {n} returned",
            n.div_ceil(REF_CHAINS).max(100) * REF_CHAINS
        ),
        "exact symmetry: independent fair random signs applied to θ3 and θ4 of every draw \
         (the posterior is invariant under θ3 → −θ3 and θ4 → −θ4); R-hat/ESS are of the folded chains"
            .into(),
    ];
    if res.max_rhat.is_nan() || res.max_rhat >= 1.01 {
        notes.push(format!("warning: max split-R-hat {:.4} is not below 1.01", res.max_rhat));
    }
    Ok(ReferenceSamples {
        samples,
        report: ReferenceReport {
            method: "mcmc".into(),
            acceptance_rate: res.acceptance_rate,
            max_rhat: Some(res.max_rhat),
            min_ess: Some(res.min_ess),
            evaluations: Some(REF_SIR_CANDIDATES as u64 + res.evaluations),
            notes,
        },
    })
}

impl Task for Slcp {
    fn name(&self) -> &'static str {
        "slcp"
    }
    fn prior(&self) -> &dyn Prior {
        &self.prior
    }
    fn simulator(&self) -> &dyn Simulator {
        &self.simulator
    }
    fn observation(&self, k: usize) -> Result<Array1<f64>, SimError> {
        check_observation(k, 10)?;
        data::observation_file("slcp", k, "observation.csv")
    }
    fn true_parameters(&self, k: usize) -> Result<Array1<f64>, SimError> {
        check_observation(k, 10)?;
        data::observation_file("slcp", k, "true_parameters.csv")
    }
    fn reference_method(&self) -> &'static str {
        "adaptive Metropolis MCMC (SIR init) on the exact posterior + exact sign symmetry"
    }
    fn reference_posterior(
        &self,
        k: usize,
        n: usize,
        rng: &mut dyn RngCore,
    ) -> Result<ReferenceSamples, SimError> {
        let x_o = self.observation(k)?;
        reference_posterior_for(x_o.view(), n, rng)
    }
    fn log_likelihood(
        &self,
        theta: ArrayView2<f64>,
        x: ArrayView1<f64>,
    ) -> Option<Result<Array1<f64>, SimError>> {
        Some(checked_log_likelihood(theta, x))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use statrs::distribution::{Continuous, MultivariateNormal};
    use std::io::Read;

    /// The AVX2 row loop gives the scalar loop's bits, signed zeros included (m = −0 with
    /// a zero product, z = ±0, L = ±0).
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_points_match_the_row_loop_bit_for_bit() {
        let Some(avx2) = simd::avx2() else { return };
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let k = 40;
        let special = [0.0f32, -0.0, 1.5, -2.0];
        let theta: Vec<f64> =
            (0..k * THETA_DIM).map(|j| if j % 7 == 0 { -0.0 } else { rng.random_range(-3.0..3.0) }).collect();
        let z: Vec<f32> = (0..k * X_DIM)
            .map(|j| if j % 5 == 0 { special[j % 4] } else { rng.random_range(-4.0f32..4.0) })
            .collect();
        let l: [Vec<f32>; 3] = std::array::from_fn(|c| {
            (0..k)
                .map(|i| if (i + c) % 6 == 0 { special[i % 4] } else { rng.random_range(-2.0f32..2.0) })
                .collect()
        });
        let mut fast = vec![f64::NAN; k * X_DIM];
        assert_eq!(points_avx2(avx2, &theta, &z, [&l[0], &l[1], &l[2]], &mut fast), k);
        for i in 0..k {
            let (m1, m2) = (theta[THETA_DIM * i], theta[THETA_DIM * i + 1]);
            for p in 0..NUM_POINTS {
                let (z1, z2) = (z[X_DIM * i + 2 * p], z[X_DIM * i + 2 * p + 1]);
                let x1 = m1 + (l[0][i] * z1) as f64;
                let x2 = m2 + l[1][i].mul_add(z1, l[2][i] * z2) as f64;
                assert_eq!(fast[X_DIM * i + 2 * p].to_bits(), x1.to_bits(), "row {i} point {p}, x1");
                assert_eq!(fast[X_DIM * i + 2 * p + 1].to_bits(), x2.to_bits(), "row {i} point {p}, x2");
            }
        }
    }

    /// The single-precision factors of the vectorised simulator are the `f64` Cholesky
    /// factors of [`point_moments`]' covariance to a few `f32` ulp, over the prior box
    /// and its hard corners (θ3 or θ4 near 0, |θ5| at the bound, where 1 − ρ² is small).
    #[test]
    fn single_precision_cholesky_factors_match_f64() {
        use rand::Rng;
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        let check = |t: [f64; 5]| {
            let (_, _, a, b, c) = point_moments(theta(t).view());
            let l11 = a.sqrt();
            let l21 = b / l11;
            let l22 = (c - l21 * l21).sqrt();
            let (f11, f21, f22) = cholesky_f32(t[2] as f32, t[3] as f32, t[4] as f32);
            // Relative to the scale of the row of L (a few f32 ulp).
            let tol = 1e-6 * c.sqrt();
            assert!((f11 as f64 - l11).abs() <= 1e-6 * l11, "{t:?}: L11 {f11} vs {l11}");
            assert!((f21 as f64 - l21).abs() <= tol, "{t:?}: L21 {f21} vs {l21}");
            assert!((f22 as f64 - l22).abs() <= tol, "{t:?}: L22 {f22} vs {l22}");
        };
        for _ in 0..100_000 {
            let t: [f64; 5] = std::array::from_fn(|_| rng.random_range(-BOUND..BOUND));
            check(t);
        }
        for t3 in [0.0, 1e-3, 0.1, 3.0, -3.0] {
            for t4 in [0.0, 1e-3, 0.1, 3.0] {
                for t5 in [-3.0, -1e-4, 0.0, 2.0, 3.0] {
                    check([0.0, 0.0, t3, t4, t5]);
                }
            }
        }
    }

    fn theta(v: [f64; 5]) -> Array1<f64> {
        Array1::from(v.to_vec())
    }

    #[test]
    fn log_likelihood_matches_bivariate_normal_densities() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let prior = BoxUniform::cube(5, -3.0, 3.0).unwrap();
        let th = prior.sample(20, &mut rng);
        let x = Array1::from_shape_fn(8, |_| rng.random_range(-4.0..4.0));
        let task = Slcp::new().unwrap();
        let ll = task.log_likelihood(th.view(), x.view()).unwrap().unwrap();
        for (t, l) in th.rows().into_iter().zip(ll.iter()) {
            let (s1, s2, rho) = (t[2] * t[2], t[3] * t[3], t[4].tanh());
            let cov = vec![s1 * s1 + 1e-6, rho * s1 * s2, rho * s1 * s2, s2 * s2 + 1e-6];
            let mvn = MultivariateNormal::new(vec![t[0], t[1]], cov).unwrap();
            let expect: f64 = (0..4).map(|p| mvn.ln_pdf(&nalgebra::dvector![x[2 * p], x[2 * p + 1]])).sum();
            assert!((l - expect).abs() < 1e-8 * expect.abs().max(1.0), "{l} vs {expect}");
        }
        // exact sign symmetry in θ3 and θ4 (§1.3)
        let a = theta([0.3, -1.0, 1.1, -0.7, 0.4]);
        let b = theta([0.3, -1.0, -1.1, 0.7, 0.4]);
        assert_eq!(log_likelihood_row(a.view(), x.view()), log_likelihood_row(b.view(), x.view()));
        // bad input
        assert!(task.log_likelihood(th.view(), Array1::zeros(7).view()).unwrap().is_err());
        assert!(task.log_likelihood(Array2::zeros((2, 4)).view(), x.view()).unwrap().is_err());
    }

    #[test]
    fn simulator_has_the_spec_layout_and_moments() {
        let t = theta([1.0, -1.0, 1.2, -0.8, 0.5]);
        let n = 50_000;
        let th = Array2::from_shape_fn((n, 5), |(_, j)| t[j]);
        let task = Slcp::new().unwrap();
        let x = task.simulator().simulate(th.view(), &mut ChaCha8Rng::seed_from_u64(2)).unwrap();
        assert_eq!(x.dim(), (n, 8));
        let (m1, m2, a, b, c) = point_moments(t.view());
        let mean = x.mean_axis(Axis(0)).unwrap();
        let centred = &x - &mean;
        let cov = centred.t().dot(&centred) / (n as f64 - 1.0);
        for p in 0..4 {
            // interleaved layout: columns 2p and 2p+1 are the two coordinates of point p
            let (i, j) = (2 * p, 2 * p + 1);
            assert!((mean[i] - m1).abs() < 5.0 * (a / n as f64).sqrt(), "mean {i}");
            assert!((mean[j] - m2).abs() < 5.0 * (c / n as f64).sqrt(), "mean {j}");
            // variance s.e. ≈ σ²·√(2/n) ≈ 0.6 %; 5 s.e.
            assert!((cov[(i, i)] / a - 1.0).abs() < 0.035, "var {i}: {} vs {a}", cov[(i, i)]);
            assert!((cov[(j, j)] / c - 1.0).abs() < 0.035, "var {j}: {} vs {c}", cov[(j, j)]);
            let r = cov[(i, j)] / (cov[(i, i)] * cov[(j, j)]).sqrt();
            assert!((r - b / (a * c).sqrt()).abs() < 0.02, "corr {r} vs {}", b / (a * c).sqrt());
            // points are independent of each other
            for q in 0..p {
                let r = cov[(i, 2 * q)] / (cov[(i, i)] * cov[(2 * q, 2 * q)]).sqrt();
                assert!(r.abs() < 0.025, "points {p},{q}: {r}");
            }
        }
    }

    #[test]
    fn observations_and_true_parameters_load() {
        let task = Slcp::new().unwrap();
        for k in 1..=10 {
            assert_eq!(task.observation(k).unwrap().len(), 8);
            let t = task.true_parameters(k).unwrap();
            assert!(task.prior().in_support(t.view()));
        }
        assert!(task.observation(0).is_err() && task.observation(11).is_err());
    }

    #[test]
    fn reference_posterior_converges_for_every_observation() {
        let task = Slcp::new().unwrap();
        for k in 1..=10 {
            let r = task.reference_posterior(k, 2_000, &mut ChaCha8Rng::seed_from_u64(k as u64)).unwrap();
            let rep = &r.report;
            assert_eq!(r.samples.dim(), (2_000, 5));
            assert!(r.samples.rows().into_iter().all(|t| task.prior().in_support(t)), "obs {k}");
            assert!(rep.max_rhat.unwrap() < 1.01, "obs {k}: R-hat {:?}", rep.max_rhat);
            // diagnostics of 100 draws per chain, 100 steps apart: nearly independent
            assert!(rep.min_ess.unwrap() > 5_000.0, "obs {k}: ESS {:?}", rep.min_ess);
            let acc = rep.acceptance_rate.unwrap();
            assert!((0.15..0.35).contains(&acc), "obs {k}: acceptance {acc}");
            // the sign flips balance the modes: binomial(2000, 1/2) fraction, s.e. 0.011; 5 s.e.
            for j in [2, 3] {
                let pos = r.samples.column(j).iter().filter(|v| **v > 0.0).count() as f64 / 2_000.0;
                assert!((pos - 0.5).abs() < 0.056, "obs {k}: θ{} positive fraction {pos}", j + 1);
            }
        }
    }

    #[test]
    fn reference_posterior_is_deterministic_and_checks_input() {
        let task = Slcp::new().unwrap();
        let a = task.reference_posterior(3, 300, &mut ChaCha8Rng::seed_from_u64(1)).unwrap();
        let b = task.reference_posterior(3, 300, &mut ChaCha8Rng::seed_from_u64(1)).unwrap();
        assert_eq!(a.samples, b.samples);
        assert!(task.reference_posterior(11, 10, &mut ChaCha8Rng::seed_from_u64(1)).is_err());
        assert!(task.reference_posterior(1, 0, &mut ChaCha8Rng::seed_from_u64(1)).is_err());
        let x_bad = Array1::from_elem(8, f64::NAN);
        assert!(reference_posterior_for(x_bad.view(), 10, &mut ChaCha8Rng::seed_from_u64(1)).is_err());
    }

    /// Reads sbibm's reference samples of observation 1, if the shared folder exists.
    fn sbibm_reference() -> Option<Array2<f64>> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/sbibm/slcp/num_observation_1/reference_posterior_samples.csv.bz2");
        let Ok(file) = std::fs::File::open(&path) else {
            eprintln!("skipping the sbibm comparison: {} not found", path.display());
            return None;
        };
        let mut text = String::new();
        bzip2::read::BzDecoder::new(file).read_to_string(&mut text).unwrap();
        let rows: Vec<Vec<f64>> = text
            .lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.split(',').map(|v| v.trim().parse().unwrap()).collect())
            .collect();
        let flat: Vec<f64> = rows.iter().flatten().copied().collect();
        Some(Array2::from_shape_vec((rows.len(), 5), flat).unwrap())
    }

    /// Two-sample Kolmogorov-Smirnov statistic.
    fn ks2(a: ArrayView1<f64>, b: ArrayView1<f64>) -> f64 {
        let mut a = a.to_vec();
        let mut b = b.to_vec();
        a.sort_by(f64::total_cmp);
        b.sort_by(f64::total_cmp);
        let (mut i, mut j, mut d) = (0, 0, 0.0f64);
        while i < a.len() && j < b.len() {
            let v = a[i].min(b[j]);
            while i < a.len() && a[i] <= v {
                i += 1;
            }
            while j < b.len() && b[j] <= v {
                j += 1;
            }
            d = d.max((i as f64 / a.len() as f64 - j as f64 / b.len() as f64).abs());
        }
        d
    }

    #[test]
    fn reference_posterior_matches_sbibm_samples_for_observation_1() {
        let Some(theirs) = sbibm_reference() else { return };
        assert_eq!(theirs.dim(), (10_000, 5));
        let task = Slcp::new().unwrap();
        let ours = task.reference_posterior(1, 10_000, &mut ChaCha8Rng::seed_from_u64(7)).unwrap();
        let r = &ours.report;
        eprintln!(
            "slcp obs 1: R-hat {:.4}, min ESS {:.0}, acceptance {:.3}, evaluations {}",
            r.max_rhat.unwrap(),
            r.min_ess.unwrap(),
            r.acceptance_rate.unwrap(),
            r.evaluations.unwrap()
        );
        assert!(r.max_rhat.unwrap() < 1.01);
        let s = &ours.samples;
        assert_eq!(s.dim(), (10_000, 5));
        assert!(s.iter().all(|v| v.abs() <= 3.0));
        let (m1, m2) = (s.mean_axis(Axis(0)).unwrap(), theirs.mean_axis(Axis(0)).unwrap());
        let (s1, s2) = (s.std_axis(Axis(0), 1.0), theirs.std_axis(Axis(0), 1.0));
        for j in 0..5 {
            let ks = ks2(s.column(j), theirs.column(j));
            eprintln!(
                "  θ{}: mean {:+.4} vs {:+.4}, std {:.4} vs {:.4}, KS {:.4}",
                j + 1,
                m1[j],
                m2[j],
                s1[j],
                s2[j],
                ks
            );
            // Two independent samples of 10,000: the s.e. of the mean difference is
            // √2·σ/100 ≈ 0.014σ; allow 5 s.e. (and the same relative tolerance for the std).
            assert!((m1[j] - m2[j]).abs() < 0.07 * s2[j], "mean θ{}", j + 1);
            assert!((s1[j] / s2[j] - 1.0).abs() < 0.07, "std θ{}", j + 1);
            // two-sample KS, 0.1 % critical value 1.95·√(2/10⁴) ≈ 0.028
            assert!(ks < 0.028, "KS θ{}: {ks}", j + 1);
        }
        // The folded margins |θ3|, |θ4| compare the shape inside one mode, and the
        // fraction of positive signs the balance of the modes (binomial s.e. of a
        // difference of two fractions of 10⁴: 0.007; 5 s.e.).
        for j in [2, 3] {
            let (fa, fb) = (s.column(j).mapv(f64::abs), theirs.column(j).mapv(f64::abs));
            let ks = ks2(fa.view(), fb.view());
            let pos = |a: ArrayView1<f64>| a.iter().filter(|v| **v > 0.0).count() as f64 / a.len() as f64;
            let (pa, pb) = (pos(s.column(j)), pos(theirs.column(j)));
            eprintln!("  |θ{}|: KS {ks:.4}; fraction positive {pa:.4} vs {pb:.4}", j + 1);
            assert!(ks < 0.028, "KS |θ{}|: {ks}", j + 1);
            assert!((pa - pb).abs() < 0.035, "sign balance θ{}", j + 1);
        }
    }
}
