//! Maximum mean discrepancy, as sbibm and BayesFlow compute it (spec `sbibm-tasks.md` §3,
//! `methods.md` §3).
//!
//! * [`MmdKernel::Sbibm`] (sbibm 1.1.0 `mmd`, implementation "tp_sutherland", no
//!   z-scoring): Gaussian kernel `k(a, b) = exp(−‖a − b‖² / (2σ²))` with
//!   σ = the median of all pairwise Euclidean distances within the reference (the lower
//!   middle value for an even count, as `torch.median`), unbiased MMD²
//!   `mean_{i≠j} k(xᵢ, xⱼ) + mean_{i≠j} k(yᵢ, yⱼ) − 2 mean_{i,j} k(xᵢ, yⱼ)`.
//! * [`MmdKernel::BayesflowGaussian`] (BayesFlow 1.x `gaussian_kernel_matrix` with its
//!   default `MMD_BANDWIDTH_LIST`): `k(a, b) = Σ_σ exp(−‖a − b‖² / (2σ))` over the 19
//!   scales [`BAYESFLOW_GAUSSIAN_SCALES`]; biased MMD² (means over all pairs, `i = j`
//!   included), clipped at 0.
//! * [`MmdKernel::BayesflowImq`]: `k(a, b) = Σ_σ σ / (‖a − b‖² + σ)` over the 11 scales
//!   `10^linspace(−6, 6, 11)` ([`bayesflow_imq_scales`]); biased, clipped at 0.
//!
//! Differences from the originals: we compute in `f64` (sbibm and BayesFlow run in
//! `float32` on their tensors), and non-finite input is an error rather than a NaN result.
//!
//! Implementation: the three pair sums are computed exactly (no kernel approximation) by
//! a blocked, vectorised loop ([`crate::simd::dispatch`]) over rows in parallel (rayon);
//! within-set sums use symmetry (`i < j` only). Per-block partial sums are combined in a
//! fixed order, so results do not depend on the number of threads. The Gaussian mixture
//! needs 19 exponentials per pair; we evaluate three with [`crate::simd::exp_nonpos`] and
//! obtain the other 16 as integer powers of those (see [`GaussianMixture`]).

use ndarray::ArrayView2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::MetricsError;
use crate::check::check_pair;
use crate::simd::{Kernel, dispatch, exp_nonpos, fma64};

/// Which MMD definition to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MmdKernel {
    /// sbibm: Gaussian kernel, median-heuristic bandwidth from the reference, unbiased MMD².
    Sbibm,
    /// BayesFlow 1.x: Gaussian mixture over 19 fixed scales, biased MMD² clipped at 0.
    BayesflowGaussian,
    /// BayesFlow: inverse multiquadratic over 11 scales, biased MMD² clipped at 0.
    BayesflowImq,
}

impl std::str::FromStr for MmdKernel {
    type Err = MetricsError;

    /// Parses `"sbibm"`, `"bayesflow-gaussian"` or `"bayesflow-imq"`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sbibm" => Ok(Self::Sbibm),
            "bayesflow-gaussian" => Ok(Self::BayesflowGaussian),
            "bayesflow-imq" => Ok(Self::BayesflowImq),
            other => Err(MetricsError::InvalidConfig(format!(
                "unknown MMD kernel {other:?}; expected \"sbibm\", \"bayesflow-gaussian\" or \"bayesflow-imq\""
            ))),
        }
    }
}

/// BayesFlow 1.x `MMD_BANDWIDTH_LIST` (spec `methods.md` §3): the σ of
/// `exp(−‖a − b‖² / (2σ))`.
pub const BAYESFLOW_GAUSSIAN_SCALES: [f64; 19] = [
    1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 35.0, 100.0, 1e3, 1e4, 1e5,
    1e6,
];

/// `10^linspace(−6, 6, 11)` (numpy's `linspace` then `10**x`): the σ of the inverse
/// multiquadratic kernel `σ / (‖a − b‖² + σ)` (spec `methods.md` §3).
pub fn bayesflow_imq_scales() -> [f64; 11] {
    std::array::from_fn(|k| 10f64.powf(-6.0 + 1.2 * k as f64))
}

/// MMD² between `reference: [n, d]` and `samples: [m, d]` with the chosen definition.
///
/// Errors: an empty set, different widths, non-finite values, and for
/// [`MmdKernel::Sbibm`] fewer than 2 rows in either set (the unbiased estimator needs
/// pairs) or a reference whose rows are all equal (median distance 0).
pub fn mmd(
    reference: ArrayView2<f64>,
    samples: ArrayView2<f64>,
    kernel: MmdKernel,
) -> Result<f64, MetricsError> {
    check_pair(reference, samples)?;
    let x = Points::new(reference);
    let y = Points::new(samples);
    let (n, m) = (x.n as f64, y.n as f64);
    match kernel {
        MmdKernel::Sbibm => {
            for (which, rows) in [("reference", x.n), ("samples", y.n)] {
                if rows < 2 {
                    return Err(MetricsError::TooFewRows {
                        which,
                        rows,
                        needed: 2,
                        reason: "the unbiased MMD needs pairs of distinct rows in each set".into(),
                    });
                }
            }
            let median_d2 = median_pair_sq_distance(&x);
            let sigma = median_d2.sqrt();
            if sigma == 0.0 {
                return Err(MetricsError::InvalidConfig(
                    "the median pairwise distance within the reference is 0 (more than half of the pairs \
                     coincide), so sbibm's Gaussian bandwidth is undefined"
                        .into(),
                ));
            }
            let f = Gaussian { neg_inv_two_s2: -1.0 / (2.0 * sigma * sigma) };
            let kxx = 2.0 * pair_sum(&x, &x, true, &f);
            let kyy = 2.0 * pair_sum(&y, &y, true, &f);
            let kxy = pair_sum(&x, &y, false, &f);
            Ok(kxx / (n * (n - 1.0)) + kyy / (m * (m - 1.0)) - 2.0 * kxy / (n * m))
        }
        MmdKernel::BayesflowGaussian => {
            Ok(biased(&x, &y, &GaussianMixture, BAYESFLOW_GAUSSIAN_SCALES.len() as f64))
        }
        MmdKernel::BayesflowImq => {
            let f = Imq { scales: bayesflow_imq_scales() };
            Ok(biased(&x, &y, &f, f.scales.len() as f64))
        }
    }
}

/// Biased (V-statistic) MMD² clipped at 0; `k0` is the kernel's value at distance 0.
fn biased<P: PairFn>(x: &Points, y: &Points, f: &P, k0: f64) -> f64 {
    let (n, m) = (x.n as f64, y.n as f64);
    let kxx = 2.0 * pair_sum(x, x, true, f) + n * k0;
    let kyy = 2.0 * pair_sum(y, y, true, f) + m * k0;
    let kxy = pair_sum(x, y, false, f);
    (kxx / (n * n) + kyy / (m * m) - 2.0 * kxy / (n * m)).max(0.0)
}

/// A point set stored both row-major and column-major (for the vectorised inner loop).
struct Points {
    n: usize,
    d: usize,
    /// `[n, d]` row-major.
    rows: Vec<f64>,
    /// `[d, n]`: coordinate `k` of all points is `cols[k·n..(k + 1)·n]`.
    cols: Vec<f64>,
}

impl Points {
    fn new(x: ArrayView2<f64>) -> Self {
        let (n, d) = x.dim();
        let rows = x.iter().copied().collect();
        let cols = x.t().iter().copied().collect();
        Self { n, d, rows, cols }
    }
}

/// A kernel as a function of the squared distance.
trait PairFn: Sync {
    /// `k` at squared distance `d2 ≥ 0`.
    fn eval<const FMA: bool>(&self, d2: f64) -> f64;

    /// Adds `k(d2[l])` to `acc[l]` for a chunk of [`LANES`] squared distances (a kernel
    /// may take decisions that hold for the whole chunk).
    #[inline(always)]
    fn eval_chunk<const FMA: bool>(&self, d2: &[f64; LANES], acc: &mut [f64; LANES]) {
        for (a, &v) in acc.iter_mut().zip(d2) {
            *a += self.eval::<FMA>(v);
        }
    }
}

/// sbibm's Gaussian `exp(−d² / (2σ²))`.
struct Gaussian {
    neg_inv_two_s2: f64,
}

impl PairFn for Gaussian {
    #[inline(always)]
    fn eval<const FMA: bool>(&self, d2: f64) -> f64 {
        exp_nonpos::<FMA>(d2 * self.neg_inv_two_s2)
    }
}

/// BayesFlow's Gaussian mixture `Σ_σ exp(−s/σ)`, `s = d²/2`, over
/// [`BAYESFLOW_GAUSSIAN_SCALES`].
///
/// Three exponentials are evaluated directly, `g = exp(−s/10⁶)`, `c = exp(−s/2100)` and
/// `e = exp(−s)`; every other scale divides one of those an integer number of times, so
/// its term is an integer power, built by repeated multiplication: `σ = 10⁵, 10⁴, 10³`
/// are `g^10, g^100, g^1000`; `σ = 100, 35, 30, 25, 20, 15, 10, 5` are `c^21, c^60,
/// c^70, c^84, c^105, c^140, c^210, c^420`; `σ = 0.1 … 10⁻⁶` are `e^10 … e^(10⁶)`.
/// A power `v^p` carries a relative error of about `p·ε` (ε ≈ 1.1e-16): at most 1.1e-13
/// for the terms near 1, and up to 1.1e-10·exp(−10⁶ s) for the `σ = 10⁻⁶` term, which
/// is only non-negligible for nearly coincident points (`d² < 10⁻⁴`).
struct GaussianMixture;

impl PairFn for GaussianMixture {
    #[inline(always)]
    fn eval<const FMA: bool>(&self, d2: f64) -> f64 {
        let s = 0.5 * d2;
        // σ = 1 … 1e-6.
        let e = exp_nonpos::<FMA>(-s);
        let e1 = pow10(e);
        let e2 = pow10(e1);
        let e3 = pow10(e2);
        let e4 = pow10(e3);
        let e5 = pow10(e4);
        let e6 = pow10(e5);
        let small = ((e + e1) + (e2 + e3)) + ((e4 + e5) + e6);
        large_and_mid::<FMA>(s) + small
    }

    /// The same sum for a chunk, shortening the `e` chain where the whole chunk allows.
    ///
    /// The chain `e, e^10, …, e^(10⁶)` is a long sequence of dependent multiplications, and
    /// for most pairs its later terms underflow (through slow subnormal arithmetic).
    /// With `s_min` the chunk's smallest `s`, the terms `exp(−10^k s)` with
    /// `10^k s_min ≥ 40` are below `4.3e-18` times the largest term `g` for every lane, so
    /// their sum is below the rounding of the result and they are left out; the chain
    /// stops at the first such `k`. Its inputs below 1e-30 are flushed to 0 (their tenth
    /// powers would be below 1e-300), which keeps every product normal. When the chunk
    /// holds `s > 3000` (the `c` chain could leave the normal range) the chunk takes the
    /// general path ([`PairFn::eval`]).
    #[inline(always)]
    fn eval_chunk<const FMA: bool>(&self, d2: &[f64; LANES], acc: &mut [f64; LANES]) {
        let s: [f64; LANES] = std::array::from_fn(|l| 0.5 * d2[l]);
        let s_min = s.iter().fold(f64::INFINITY, |a, &b| a.min(b));
        let s_max = s.iter().fold(0.0f64, |a, &b| a.max(b));
        if s_max > 3000.0 {
            for (a, &v) in acc.iter_mut().zip(d2) {
                *a += self.eval::<FMA>(v);
            }
            return;
        }
        // Number of e-chain terms after e itself that can matter.
        let mut steps = 0;
        let mut reach = s_min;
        while steps < 6 && reach < 40.0 {
            steps += 1;
            reach *= 10.0;
        }
        let mut out = [0.0f64; LANES];
        for (o, &s) in out.iter_mut().zip(&s) {
            *o = large_and_mid::<FMA>(s);
        }
        let mut v: [f64; LANES] = std::array::from_fn(|l| exp_nonpos::<FMA>(-s[l]));
        let mut small = v;
        for _ in 0..steps {
            for (vl, sm) in v.iter_mut().zip(small.iter_mut()) {
                *vl = pow10(if *vl < 1e-30 { 0.0 } else { *vl });
                *sm += *vl;
            }
        }
        for ((a, &o), &sm) in acc.iter_mut().zip(&out).zip(&small) {
            *a += o + sm;
        }
    }
}

/// `v^10` by repeated multiplication.
#[inline(always)]
fn pow10(v: f64) -> f64 {
    let v2 = v * v;
    let v4 = v2 * v2;
    let v8 = v4 * v4;
    v8 * v2
}

/// The `σ ≥ 5` terms of [`GaussianMixture`] (`g` and `c` chains) at `s = d²/2`; for
/// `s ≤ 3000` every power stays in the normal range.
#[inline(always)]
fn large_and_mid<const FMA: bool>(s: f64) -> f64 {
    let g = exp_nonpos::<FMA>(s * -1e-6);
    let c = exp_nonpos::<FMA>(s * (-1.0 / 2100.0));
    // σ = 1e6 … 1e3.
    let g10 = pow10(g);
    let g100 = pow10(g10);
    let g1000 = pow10(g100);
    // σ = 100 … 5.
    let c2 = c * c;
    let c4 = c2 * c2;
    let c8 = c4 * c4;
    let c16 = c8 * c8;
    let c20 = c16 * c4;
    let c21 = c20 * c; // σ = 100
    let c40 = c20 * c20;
    let c60 = c40 * c20; // σ = 35
    let c70 = c60 * c8 * c2; // σ = 30
    let c42 = c21 * c21;
    let c84 = c42 * c42; // σ = 25
    let c105 = c84 * c21; // σ = 20
    let c140 = c70 * c70; // σ = 15
    let c210 = c105 * c105; // σ = 10
    let c420 = c210 * c210; // σ = 5
    let mid = ((c420 + c210) + (c140 + c105)) + ((c84 + c70) + (c60 + c21));
    let large = (g + g10) + (g100 + g1000);
    large + mid
}

/// BayesFlow's inverse multiquadratic `Σ_σ σ / (d² + σ)`.
///
/// The 11 fractions are added in three groups as single fractions
/// (`N/D + σ/(d² + σ) = (N·(d² + σ) + σ·D) / (D·(d² + σ))`, all terms positive, so no
/// cancellation), which needs 3 divisions instead of 11. `d²` is capped at 1e60 so that
/// the products cannot overflow; that changes each term by less than 1e-54.
struct Imq {
    scales: [f64; 11],
}

impl PairFn for Imq {
    #[inline(always)]
    fn eval<const FMA: bool>(&self, d2: f64) -> f64 {
        let d2 = d2.min(1e60);
        let s = &self.scales;
        let group = |from: usize, to: usize| {
            let mut num = s[from];
            let mut den = d2 + s[from];
            for &sk in &s[from + 1..to] {
                let t = d2 + sk;
                num = fma64::<FMA>(num, t, sk * den);
                den *= t;
            }
            num / den
        };
        group(0, 4) + group(4, 8) + group(8, 11)
    }
}

/// Columns per inner block (fits L1 with room to spare).
const BLOCK: usize = 256;
/// Independent accumulators in the inner loop: several SIMD vectors in flight hide the
/// latency of the kernels' dependency chains.
const LANES: usize = 8;
/// Rows per parallel task.
const ROWS_PER_TASK: usize = 8;

/// `Σ_{i, j} f(‖aᵢ − bⱼ‖²)`, over `i < j` only when `triangle` (then `a` and `b` are
/// the same set).
fn pair_sum<P: PairFn>(a: &Points, b: &Points, triangle: bool, f: &P) -> f64 {
    let starts: Vec<usize> = (0..a.n).step_by(ROWS_PER_TASK).collect();
    let partial: Vec<f64> = starts
        .par_iter()
        .map(|&i0| dispatch(RowBlock { a, b, triangle, f, rows: i0..(i0 + ROWS_PER_TASK).min(a.n) }))
        .collect();
    pairwise_sum(&partial)
}

/// Sum by recursive halving (error growing with log n, deterministic order).
fn pairwise_sum(v: &[f64]) -> f64 {
    if v.len() <= 16 {
        v.iter().sum()
    } else {
        let (lo, hi) = v.split_at(v.len() / 2);
        pairwise_sum(lo) + pairwise_sum(hi)
    }
}

/// The kernel sum over a range of rows of `a` (a [`Kernel`] so that it vectorises).
struct RowBlock<'a, P> {
    a: &'a Points,
    b: &'a Points,
    triangle: bool,
    f: &'a P,
    rows: std::ops::Range<usize>,
}

/// Squared distances from point `i` of `a` to points `j0..j0 + out.len()` of `b`.
#[inline(always)]
fn sq_dists<const FMA: bool>(a: &Points, i: usize, b: &Points, j0: usize, out: &mut [f64]) {
    out.fill(0.0);
    let len = out.len();
    for k in 0..a.d {
        let xi = a.rows[i * a.d + k];
        let col = &b.cols[k * b.n + j0..k * b.n + j0 + len];
        for (t, &c) in out.iter_mut().zip(col) {
            let diff = xi - c;
            *t = fma64::<FMA>(diff, diff, *t);
        }
    }
}

impl<P: PairFn> Kernel for RowBlock<'_, P> {
    type Output = f64;

    #[inline(always)]
    fn run<const FMA: bool>(self) -> f64 {
        let mut buf = [0.0f64; BLOCK];
        let mut total = 0.0;
        for i in self.rows.clone() {
            let mut lanes = [0.0f64; LANES];
            let mut j0 = if self.triangle { i + 1 } else { 0 };
            while j0 < self.b.n {
                let len = BLOCK.min(self.b.n - j0);
                let d2 = &mut buf[..len];
                sq_dists::<FMA>(self.a, i, self.b, j0, d2);
                let mut chunks = d2.chunks_exact(LANES);
                for c in &mut chunks {
                    self.f.eval_chunk::<FMA>(c.try_into().expect("LANES values"), &mut lanes);
                }
                for (l, &v) in lanes.iter_mut().zip(chunks.remainder()) {
                    *l += self.f.eval::<FMA>(v);
                }
                j0 += len;
            }
            total += pairwise_sum(&lanes);
        }
        total
    }
}

/// The lower median of the `n(n − 1)/2` squared pairwise distances within `x` (n ≥ 2),
/// exactly: the value of rank `⌊(N − 1)/2⌋` among them (`torch.median` semantics).
///
/// A seeded pilot sample of pairs brackets the median; one parallel pass counts the
/// distances below the bracket and collects those inside it, and a selection within the
/// bracket gives the exact value. Should the bracket miss (very unlikely), it is widened
/// to the whole range, which collects all distances.
fn median_pair_sq_distance(x: &Points) -> f64 {
    let n = x.n;
    let total = n * (n - 1) / 2;
    let rank = (total - 1) / 2;
    let (mut lo, mut hi) = (f64::NEG_INFINITY, f64::INFINITY);
    const PILOT: usize = 100_000;
    if total > 4 * PILOT {
        let mut rng = ChaCha8Rng::seed_from_u64(0x6d6d64);
        let mut sample: Vec<f64> = (0..PILOT)
            .map(|_| {
                let i = rng.random_range(0..n);
                let mut j = rng.random_range(0..n - 1);
                if j >= i {
                    j += 1;
                }
                (0..x.d).map(|k| (x.rows[i * x.d + k] - x.rows[j * x.d + k]).powi(2)).sum::<f64>()
            })
            .collect();
        sample.sort_unstable_by(f64::total_cmp);
        // ±8 standard deviations of the sample quantile around the median.
        let half_width = (8.0 * 0.5 / (PILOT as f64).sqrt() * PILOT as f64) as usize;
        lo = sample[PILOT / 2 - half_width];
        hi = sample[PILOT / 2 + half_width];
    }
    loop {
        let (below, mut inside) = bracket_pass(x, lo, hi);
        if below <= rank && rank < below + inside.len() {
            let (_, v, _) = inside.select_nth_unstable_by(rank - below, f64::total_cmp);
            return *v;
        }
        if rank < below {
            lo = f64::NEG_INFINITY;
        } else {
            hi = f64::INFINITY;
        }
    }
}

/// Counts the squared distances (`i < j`) below `lo` and collects those in `[lo, hi]`.
fn bracket_pass(x: &Points, lo: f64, hi: f64) -> (usize, Vec<f64>) {
    let starts: Vec<usize> = (0..x.n).step_by(ROWS_PER_TASK).collect();
    let parts: Vec<(usize, Vec<f64>)> = starts
        .par_iter()
        .map(|&i0| dispatch(Bracket { x, lo, hi, rows: i0..(i0 + ROWS_PER_TASK).min(x.n) }))
        .collect();
    let below = parts.iter().map(|p| p.0).sum();
    let inside = parts.into_iter().flat_map(|p| p.1).collect();
    (below, inside)
}

/// [`bracket_pass`] over a range of rows.
struct Bracket<'a> {
    x: &'a Points,
    lo: f64,
    hi: f64,
    rows: std::ops::Range<usize>,
}

impl Kernel for Bracket<'_> {
    type Output = (usize, Vec<f64>);

    #[inline(always)]
    fn run<const FMA: bool>(self) -> (usize, Vec<f64>) {
        let mut buf = [0.0f64; BLOCK];
        let mut below = 0usize;
        let mut inside = Vec::new();
        for i in self.rows.clone() {
            let mut j0 = i + 1;
            while j0 < self.x.n {
                let len = BLOCK.min(self.x.n - j0);
                let d2 = &mut buf[..len];
                sq_dists::<FMA>(self.x, i, self.x, j0, d2);
                below += d2.iter().filter(|&&v| v < self.lo).count();
                inside.extend(d2.iter().filter(|&&v| v >= self.lo && v <= self.hi));
                j0 += len;
            }
        }
        (below, inside)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    fn sq(a: ndarray::ArrayView1<f64>, b: ndarray::ArrayView1<f64>) -> f64 {
        a.iter().zip(b.iter()).map(|(x, y)| (x - y) * (x - y)).sum()
    }

    #[test]
    fn median_is_the_lower_middle_pair_distance() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        // n = 1001 gives 500,500 pairs (even: the lower middle), above the pilot threshold.
        for &(n, d) in &[(2, 3), (5, 1), (64, 2), (1001, 3)] {
            let x = Array2::from_shape_fn((n, d), |_| rng.random_range(-1.0..1.0f64));
            let mut all = Vec::new();
            for i in 0..n {
                for j in i + 1..n {
                    all.push(sq(x.row(i), x.row(j)));
                }
            }
            all.sort_by(f64::total_cmp);
            let want = all[(all.len() - 1) / 2];
            let got = median_pair_sq_distance(&Points::new(x.view()));
            assert!((got - want).abs() <= 1e-15 * want, "n = {n}: {got} vs {want}");
        }
    }

    #[test]
    fn gaussian_mixture_terms_match_direct_exponentials() {
        let mut d2 = 0.0;
        while d2 < 3000.0 {
            let want: f64 = BAYESFLOW_GAUSSIAN_SCALES.iter().map(|s| (-d2 / (2.0 * s)).exp()).sum();
            let got = GaussianMixture.eval::<false>(d2);
            // Tolerance from the power-chain error bound in the doc of GaussianMixture.
            let tol = 2e-13 * want + 2e-10 * (-d2 * 0.5e6).exp();
            assert!((got - want).abs() <= tol, "d2 = {d2}: {got} vs {want}");
            d2 = d2 * 1.07 + 1e-9;
        }
        assert_eq!(GaussianMixture.eval::<false>(0.0), 19.0);
    }

    #[test]
    fn imq_terms_match_direct_fractions() {
        let f = Imq { scales: bayesflow_imq_scales() };
        let mut d2 = 0.0;
        while d2 < 1e80 {
            let want: f64 = f.scales.iter().map(|s| s / (d2 + s)).sum();
            let got = f.eval::<false>(d2);
            assert!((got - want).abs() <= 1e-14 * want + 1e-53, "d2 = {d2}: {got} vs {want}");
            d2 = d2 * 1.3 + 1e-9;
        }
        assert!((f.eval::<false>(0.0) - 11.0).abs() < 1e-14);
        let s = bayesflow_imq_scales();
        for (k, want) in [(0, 1e-6), (5, 1.0), (10, 1e6)] {
            assert!((s[k] - want).abs() <= 1e-15 * want);
        }
    }
}
