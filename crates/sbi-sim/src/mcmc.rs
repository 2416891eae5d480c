//! Many-chain MCMC for reference posteriors, with convergence diagnostics.
//!
//! # Sampler
//!
//! [`sample_mcmc`] runs one chain per row of `init` with *adaptive random-walk
//! Metropolis* (Haario, Saksman & Tamminen 2001; Roberts & Rosenthal 2009;
//! Andrieu & Thoms 2008, algorithm 4). The proposal is
//! `y = x + λ·L·z`, `z ~ N(0, I_d)`, where `L` is the Cholesky factor of a
//! covariance `Σ` learned from the pooled chains and `λ` a scale tuned so that
//! the acceptance rate is near 0.234 (the optimum for random-walk proposals,
//! Roberts, Gelman & Gilks 1997).
//!
//! Warm-up (`cfg.warmup` steps per chain, all discarded) is split into windows:
//!
//! 1. Four *covariance windows* with lengths in the ratio 1 : 2 : 4 : 8 that take
//!    80 % of the warm-up (one window when the warm-up is shorter than 75 steps).
//!    After each, `Σ` becomes the covariance of every state visited in that
//!    window, pooled over all chains (chains merged with the parallel formula of
//!    Chan, Golub & LeVeque, so precision does not suffer from large means),
//!    plus a jitter of 1e-10 times its largest diagonal entry. If that estimate is
//!    unusable (no movement, not positive definite) the previous `Σ` is kept.
//!    At the start of every window each chain's scale is reset to the optimal
//!    Gaussian value `λ = 2.38/√d`.
//! 2. A final *scale window* (the remaining 20 %) with `Σ` fixed.
//!
//! During warm-up every chain tunes its own `log λ` at every step by
//! Robbins-Monro: `log λ += γ_t·(α_t − 0.234)` with `α_t` the Metropolis
//! acceptance probability of the step and `γ_t = (t + 1)^(−0.6)`, `t` counting
//! the steps of the current window. At the end of warm-up every chain gets
//! the same scale: `exp` of the median of the chains' `log λ`. After warm-up the
//! proposal is fixed, so every chain is a time-homogeneous Metropolis chain that
//! leaves the target invariant. The initial `Σ` is the covariance of the rows of
//! `init` (with a per-dimension fallback variance when the rows do not span a
//! dimension: `(1e-2·max(1, |mean_j|))²`, then tuned by the windows).
//!
//! The method is meant for smooth, unimodal targets in a few dimensions (2-10),
//! possibly strongly correlated or badly scaled. Multimodal targets must be
//! reduced to one mode by their symmetries first (see the slcp reference
//! posterior), since random-walk chains rarely cross between separated modes;
//! the split-R-hat then reveals chains stuck in different places.
//!
//! Chains run in parallel with rayon; chain `c` uses its own generator
//! [`crate::row_rng`]`(base, c)` with `base` one `u64` drawn from the caller's
//! generator, and the pooled adaptation statistics are merged in chain order,
//! so the output is identical whatever the number of threads.
//!
//! # Diagnostics
//!
//! [`split_rhat`] is the rank-normalised split-R-hat of Vehtari, Gelman,
//! Simpson, Carpenter & Bürkner (2021, *Bayesian Analysis* 16(2)): the maximum
//! of the bulk R-hat (classic Gelman-Rubin R-hat of the rank-normalised split
//! chains) and the tail R-hat (the same on the folded draws `|θ − median|`).
//! [`effective_sample_size`] is their bulk-ESS: rank-normalised split chains,
//! multi-chain autocorrelations, truncated by Geyer's initial positive sequence
//! with the initial monotone sequence correction (as in Stan's
//! `compute_effective_sample_size`).

use crate::{Prior, SimError, row_rng};
use nalgebra::DMatrix;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use rand::{Rng, RngCore};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use rayon::prelude::*;
use statrs::distribution::{ContinuousCDF, Normal};

/// Target acceptance rate of the random-walk proposal.
const TARGET_ACCEPT: f64 = 0.234;
/// Exponent of the Robbins-Monro gain `γ_t = (t + 1)^(-0.6)`.
const GAIN_EXPONENT: f64 = 0.6;
/// Least number of kept draws per chain (for the diagnostics).
const MIN_DRAWS_PER_CHAIN: usize = 100;

/// Settings of the many-chain sampler.
#[derive(Debug, Clone)]
pub struct McmcConfig {
    /// Number of chains, e.g. 100 (the number of rows callers ask [`sir_init`] for;
    /// [`sample_mcmc`] runs one chain per row of its `init`).
    pub num_chains: usize,
    /// Warm-up (adaptation) steps per chain, discarded.
    pub warmup: usize,
    /// Keep every `thin`-th state after warm-up (≥ 1).
    pub thin: usize,
}

impl Default for McmcConfig {
    /// 100 chains, 1,000 warm-up steps, thinning 10.
    fn default() -> Self {
        Self { num_chains: 100, warmup: 1000, thin: 10 }
    }
}

/// Pooled draws and diagnostics.
#[derive(Debug, Clone)]
pub struct McmcResult {
    /// Draws pooled over chains, `[n, d]` (exactly `n` rows). Row `t·C + c` is
    /// the `t`-th kept draw of chain `c` (`C` chains): the first `n` draws in that
    /// order are returned, so the last draws of the chains are left out when more
    /// were made than asked for (see [`sample_mcmc`]).
    pub samples: Array2<f64>,
    /// Largest rank-normalised split-R-hat over dimensions ([`split_rhat`]), computed
    /// on every kept draw of every chain (also those not returned).
    pub max_rhat: f64,
    /// Smallest bulk effective sample size over dimensions ([`effective_sample_size`])
    /// of every kept draw of every chain (also those not returned).
    pub min_ess: f64,
    /// Number of `log_density` calls (initial points, warm-up and sampling).
    pub evaluations: u64,
    /// Acceptance rate after warm-up, pooled over chains.
    pub acceptance_rate: Option<f64>,
}

/// State of one chain.
struct Chain {
    x: Vec<f64>,
    lp: f64,
    rng: ChaCha8Rng,
    log_scale: f64,
    evaluations: u64,
    accepted: u64,
    proposed: u64,
    /// Welford accumulators of the states of the current window.
    count: f64,
    mean: Vec<f64>,
    m2: Vec<f64>,
    /// Kept draws after warm-up, row-major `[k, d]`.
    draws: Vec<f64>,
}

/// What a run of steps does besides moving the chain.
#[derive(Clone, Copy, PartialEq)]
enum Phase {
    /// Tune the scale and accumulate window statistics.
    AdaptCovariance,
    /// Tune the scale only.
    AdaptScale,
    /// Fixed proposal; keep every `thin`-th state.
    Sample { thin: usize },
}

impl Chain {
    /// One Metropolis step with proposal `x + exp(log_scale)·L·z`; returns the acceptance probability.
    fn step<F>(&mut self, f: &F, chol: &[f64], z: &mut [f64], y: &mut [f64]) -> f64
    where
        F: Fn(ArrayView1<f64>) -> f64 + Sync,
    {
        let d = self.x.len();
        for zi in z.iter_mut() {
            *zi = self.rng.sample(StandardNormal);
        }
        let scale = self.log_scale.exp();
        for i in 0..d {
            let row = &chol[i * d..i * d + i + 1];
            let lz: f64 = row.iter().zip(z.iter()).map(|(a, b)| a * b).sum();
            y[i] = self.x[i] + scale * lz;
        }
        let lp_y = f(ArrayView1::from(&*y));
        self.evaluations += 1;
        self.proposed += 1;
        let log_ratio = if lp_y.is_nan() { f64::NEG_INFINITY } else { lp_y - self.lp };
        let alpha = if log_ratio >= 0.0 { 1.0 } else { log_ratio.exp() };
        let u: f64 = self.rng.random();
        if u < alpha {
            self.x.copy_from_slice(y);
            self.lp = lp_y;
            self.accepted += 1;
        }
        alpha
    }

    /// Runs `len` steps in the given phase.
    fn run<F>(&mut self, f: &F, chol: &[f64], len: usize, phase: Phase)
    where
        F: Fn(ArrayView1<f64>) -> f64 + Sync,
    {
        let d = self.x.len();
        let (mut z, mut y) = (vec![0.0; d], vec![0.0; d]);
        for t in 0..len {
            let alpha = self.step(f, chol, &mut z, &mut y);
            match phase {
                Phase::AdaptCovariance | Phase::AdaptScale => {
                    let gain = ((t + 1) as f64).powf(-GAIN_EXPONENT);
                    self.log_scale += gain * (alpha - TARGET_ACCEPT);
                    if phase == Phase::AdaptCovariance {
                        self.accumulate();
                    }
                }
                Phase::Sample { thin } => {
                    if (t + 1) % thin == 0 {
                        self.draws.extend_from_slice(&self.x);
                    }
                }
            }
        }
    }

    /// Welford update of the window mean and co-moment matrix with the current state.
    fn accumulate(&mut self) {
        let d = self.x.len();
        self.count += 1.0;
        let delta: Vec<f64> = self.x.iter().zip(&self.mean).map(|(x, m)| x - m).collect();
        for (m, dl) in self.mean.iter_mut().zip(&delta) {
            *m += dl / self.count;
        }
        for (i, row) in self.m2.chunks_exact_mut(d).enumerate() {
            let di = self.x[i] - self.mean[i];
            for (m2, dl) in row.iter_mut().zip(&delta) {
                *m2 += dl * di;
            }
        }
    }

    fn reset_window(&mut self) {
        self.count = 0.0;
        self.mean.iter_mut().for_each(|v| *v = 0.0);
        self.m2.iter_mut().for_each(|v| *v = 0.0);
    }
}

/// Lower Cholesky factor (row-major `[d, d]`) of `cov` plus a jitter of 1e-10 of
/// its largest diagonal entry, or `None` if not finite / not positive definite.
fn cholesky_lower(cov: &[f64], d: usize) -> Option<Vec<f64>> {
    if cov.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let max_diag = (0..d).map(|i| cov[i * d + i]).fold(0.0, f64::max);
    if max_diag <= 0.0 || (0..d).any(|i| cov[i * d + i] <= 0.0) {
        return None;
    }
    let m = DMatrix::from_fn(d, d, |i, j| {
        0.5 * (cov[i * d + j] + cov[j * d + i]) + if i == j { 1e-10 * max_diag } else { 0.0 }
    });
    let l = m.cholesky()?.l();
    Some((0..d * d).map(|k| l[(k / d, k % d)]).collect())
}

/// Covariance of the window states pooled over chains (Chan et al. merge, in chain order).
fn pooled_window_covariance(chains: &[Chain], d: usize) -> Option<Vec<f64>> {
    let total: f64 = chains.iter().map(|c| c.count).sum();
    if total < 2.0 {
        return None;
    }
    let mut mean = vec![0.0; d];
    for c in chains {
        for (m, cm) in mean.iter_mut().zip(&c.mean) {
            *m += c.count * cm / total;
        }
    }
    let mut cov = vec![0.0; d * d];
    for c in chains.iter().filter(|c| c.count > 0.0) {
        for i in 0..d {
            for j in 0..d {
                cov[i * d + j] += c.m2[i * d + j] + c.count * (c.mean[i] - mean[i]) * (c.mean[j] - mean[j]);
            }
        }
    }
    cov.iter_mut().for_each(|v| *v /= total - 1.0);
    Some(cov)
}

/// Initial proposal covariance from the rows of `init` (see the module docs).
fn initial_covariance(init: ArrayView2<f64>) -> Vec<f64> {
    let (c, d) = init.dim();
    let mean = init.mean_axis(Axis(0)).unwrap_or_else(|| Array1::zeros(d));
    let mut cov = vec![0.0; d * d];
    if c >= 2 {
        for r in init.rows() {
            for i in 0..d {
                for j in 0..d {
                    cov[i * d + j] += (r[i] - mean[i]) * (r[j] - mean[j]) / (c as f64 - 1.0);
                }
            }
        }
    }
    let fallback: Vec<f64> = (0..d).map(|j| (1e-2 * mean[j].abs().max(1.0)).powi(2)).collect();
    // Full rank: use it unless some dimension is far below its fallback scale
    // (then the rows barely span it).
    if cholesky_lower(&cov, d).is_some() && (0..d).all(|i| cov[i * d + i] > 1e-12 * fallback[i]) {
        return cov;
    }
    // Degenerate: keep per-dimension variances where positive, fallback elsewhere.
    (0..d * d)
        .map(|k| {
            let (i, j) = (k / d, k % d);
            if i != j {
                0.0
            } else if cov[k] > 1e-12 * fallback[i] {
                cov[k]
            } else {
                fallback[i]
            }
        })
        .collect()
}

/// Lengths of the covariance windows for a warm-up of `warmup` steps (see module docs).
fn covariance_windows(warmup: usize) -> Vec<usize> {
    if warmup == 0 {
        return Vec::new();
    }
    let adapt = warmup * 4 / 5;
    if warmup < 75 {
        return vec![adapt.max(1).min(warmup)];
    }
    let unit = adapt / 15;
    let mut w = vec![unit, 2 * unit, 4 * unit, 8 * unit];
    w[3] += adapt - 15 * unit;
    w
}

/// Runs `init.nrows()` chains (one per row of `init`, `[num_chains, d]`) of adaptive
/// random-walk Metropolis (module docs) on the unnormalised `log_density` and returns
/// `n` pooled draws with diagnostics.
///
/// `log_density` may return `-inf` (or NaN, treated as `-inf`) outside the support
/// and must be finite at every row of `init`. Every chain keeps
/// `max(ceil(n / C), 100)` draws (`C` chains), one every `cfg.thin` steps after
/// `cfg.warmup` warm-up steps; at least 100 per chain so that the R-hat and ESS
/// diagnostics, computed from all of them, are reliable even for small `n`; the
/// first `n` in draw-major order are returned (see [`McmcResult::samples`]).
/// Deterministic for the state of `rng` whatever the number of rayon threads.
/// `cfg.num_chains` is not used here (the rows of `init` decide).
///
/// Errors: `n = 0`, `cfg.thin = 0`, no chains, zero width, a non-finite entry of `init`
/// or a non-finite log density at an initial point.
pub fn sample_mcmc<F>(
    log_density: &F,
    init: ArrayView2<f64>,
    n: usize,
    cfg: &McmcConfig,
    rng: &mut dyn RngCore,
) -> Result<McmcResult, SimError>
where
    F: Fn(ArrayView1<f64>) -> f64 + Sync,
{
    let (num_chains, d) = init.dim();
    if n == 0 {
        return Err(SimError::InvalidArgument("sample_mcmc: n must be at least 1".into()));
    }
    if cfg.thin == 0 {
        return Err(SimError::InvalidArgument("sample_mcmc: thin must be at least 1".into()));
    }
    if num_chains == 0 || d == 0 {
        return Err(SimError::InvalidArgument(format!(
            "sample_mcmc: init must have at least one row and one column, got [{num_chains}, {d}]"
        )));
    }
    crate::check_matrix(init, d, "init")?;
    let lp0: Vec<f64> = init.outer_iter().into_par_iter().map(log_density).collect();
    if let Some((i, v)) = lp0.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(SimError::InvalidArgument(format!(
            "sample_mcmc: log density is {v} at initial point {i}; every initial point must have a finite density"
        )));
    }

    let base = rng.next_u64();
    let start_scale = (2.38 / (d as f64).sqrt()).ln();
    let mut chains: Vec<Chain> = init
        .outer_iter()
        .zip(&lp0)
        .enumerate()
        .map(|(c, (r, &lp))| Chain {
            x: r.to_vec(),
            lp,
            rng: row_rng(base, c as u64),
            log_scale: start_scale,
            evaluations: 1,
            accepted: 0,
            proposed: 0,
            count: 0.0,
            mean: vec![0.0; d],
            m2: vec![0.0; d * d],
            draws: Vec::new(),
        })
        .collect();

    let mut chol = cholesky_lower(&initial_covariance(init), d)
        .ok_or_else(|| SimError::Sampler("initial proposal covariance is not positive definite".into()))?;

    // Warm-up: covariance windows, then a scale-only window.
    let cov_windows = covariance_windows(cfg.warmup);
    let scale_window = cfg.warmup - cov_windows.iter().sum::<usize>();
    for &len in cov_windows.iter().filter(|&&l| l > 0) {
        chains.par_iter_mut().for_each(|c| {
            c.log_scale = start_scale;
            c.reset_window();
            c.run(log_density, &chol, len, Phase::AdaptCovariance);
        });
        if let Some(l) = pooled_window_covariance(&chains, d).and_then(|cov| cholesky_lower(&cov, d)) {
            chol = l;
        }
    }
    if scale_window > 0 {
        chains.par_iter_mut().for_each(|c| {
            c.log_scale = start_scale;
            c.run(log_density, &chol, scale_window, Phase::AdaptScale);
        });
    }
    if cfg.warmup > 0 {
        let mut logs: Vec<f64> = chains.iter().map(|c| c.log_scale).collect();
        logs.sort_by(f64::total_cmp);
        let med = if logs.len() % 2 == 1 {
            logs[logs.len() / 2]
        } else {
            0.5 * (logs[logs.len() / 2 - 1] + logs[logs.len() / 2])
        };
        chains.iter_mut().for_each(|c| c.log_scale = med);
    }

    // Sampling.
    let per_chain = n.div_ceil(num_chains).max(MIN_DRAWS_PER_CHAIN);
    chains.par_iter_mut().for_each(|c| {
        c.accepted = 0;
        c.proposed = 0;
        c.draws.reserve(per_chain * d);
        c.run(log_density, &chol, per_chain * cfg.thin, Phase::Sample { thin: cfg.thin });
    });

    let per_chain_arrays: Vec<Array2<f64>> = chains
        .iter()
        .map(|c| Array2::from_shape_vec((per_chain, d), c.draws.clone()).expect("per_chain·d draws"))
        .collect();
    let mut samples = Array2::<f64>::zeros((n, d));
    for (row, mut out) in samples.outer_iter_mut().enumerate() {
        let (t, c) = (row / num_chains, row % num_chains);
        out.assign(&per_chain_arrays[c].row(t));
    }
    let max_rhat = nan_max(split_rhat(&per_chain_arrays).iter().copied());
    let min_ess = nan_min(effective_sample_size(&per_chain_arrays).iter().copied());
    let evaluations = chains.iter().map(|c| c.evaluations).sum();
    let accepted: u64 = chains.iter().map(|c| c.accepted).sum();
    let proposed: u64 = chains.iter().map(|c| c.proposed).sum();
    Ok(McmcResult {
        samples,
        max_rhat,
        min_ess,
        evaluations,
        acceptance_rate: Some(accepted as f64 / proposed.max(1) as f64),
    })
}

/// Maximum that propagates NaN (NaN for an empty iterator).
fn nan_max(it: impl Iterator<Item = f64>) -> f64 {
    it.fold(None, |acc: Option<f64>, v| {
        Some(match acc {
            None => v,
            Some(a) if a.is_nan() || v.is_nan() => f64::NAN,
            Some(a) => a.max(v),
        })
    })
    .unwrap_or(f64::NAN)
}

/// Minimum that propagates NaN (NaN for an empty iterator).
fn nan_min(it: impl Iterator<Item = f64>) -> f64 {
    -nan_max(it.map(|v| -v))
}

/// Sampling-importance-resampling initialisation: draws `num_candidates` points from
/// `proposal` (e.g. the prior), weights each by `exp(log_weight(θ))` (e.g. the
/// log-likelihood when the proposal is the prior) and resamples `num_chains` of them
/// with replacement (multinomial) in proportion to the weights. Returns `[num_chains, d]`.
///
/// Weights are computed in parallel and are deterministic for the state of `rng`.
/// NaN weights count as zero. Errors when a count is zero or every weight is zero.
pub fn sir_init<F>(
    log_weight: &F,
    proposal: &dyn Prior,
    num_candidates: usize,
    num_chains: usize,
    rng: &mut dyn RngCore,
) -> Result<Array2<f64>, SimError>
where
    F: Fn(ArrayView1<f64>) -> f64 + Sync,
{
    if num_candidates == 0 || num_chains == 0 {
        return Err(SimError::InvalidArgument(format!(
            "sir_init needs at least one candidate and one chain (got {num_candidates} candidates, {num_chains} chains)"
        )));
    }
    let cand = proposal.sample(num_candidates, rng);
    let lw: Vec<f64> = cand
        .outer_iter()
        .into_par_iter()
        .map(|r| {
            let v = log_weight(r);
            if v.is_nan() { f64::NEG_INFINITY } else { v }
        })
        .collect();
    let max = lw.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        return Err(SimError::Sampler(format!(
            "sir_init: every one of the {num_candidates} candidates has zero weight (or an infinite weight)"
        )));
    }
    let mut cum = Vec::with_capacity(num_candidates);
    let mut acc = 0.0;
    for v in &lw {
        acc += (v - max).exp();
        cum.push(acc);
    }
    let mut out = Array2::<f64>::zeros((num_chains, cand.ncols()));
    for mut row in out.outer_iter_mut() {
        let u: f64 = rng.random::<f64>() * acc;
        let idx = cum.partition_point(|&c| c <= u).min(num_candidates - 1);
        row.assign(&cand.row(idx));
    }
    Ok(out)
}

/// Splits each chain `[len, d]` into its first and second halves (dropping the
/// middle draw of an odd length), after truncating all chains to the shortest length.
/// Returns the split chains for dimension `j`, or `None` when halves would hold < 2 draws.
fn split_chains(chains: &[Array2<f64>], j: usize) -> Option<Vec<Vec<f64>>> {
    let len = chains.iter().map(|c| c.nrows()).min()?;
    let half = len / 2;
    if half < 2 {
        return None;
    }
    let mut out = Vec::with_capacity(2 * chains.len());
    for c in chains {
        let col: Vec<f64> = c.column(j).iter().take(len).copied().collect();
        out.push(col[..half].to_vec());
        out.push(col[len - half..].to_vec());
    }
    Some(out)
}

/// Rank-normalises pooled draws (Vehtari et al. 2021, eq. 14): average ranks `r` of
/// all draws (ties share their mean rank), `z = Φ⁻¹((r − 3/8)/(S + 1/4))`.
fn rank_normalise(chains: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let all: Vec<f64> = chains.iter().flatten().copied().collect();
    let s = all.len();
    let mut idx: Vec<usize> = (0..s).collect();
    idx.sort_by(|&a, &b| all[a].total_cmp(&all[b]));
    let mut rank = vec![0.0; s];
    let mut i = 0;
    while i < s {
        let mut k = i;
        while k + 1 < s && all[idx[k + 1]] == all[idx[i]] {
            k += 1;
        }
        let r = (i + k) as f64 / 2.0 + 1.0;
        for &p in &idx[i..=k] {
            rank[p] = r;
        }
        i = k + 1;
    }
    let normal = Normal::new(0.0, 1.0).expect("standard normal");
    let z: Vec<f64> = rank.iter().map(|r| normal.inverse_cdf((r - 0.375) / (s as f64 + 0.25))).collect();
    let mut out = Vec::with_capacity(chains.len());
    let mut off = 0;
    for c in chains {
        out.push(z[off..off + c.len()].to_vec());
        off += c.len();
    }
    out
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn var_unbiased(v: &[f64]) -> f64 {
    let m = mean(v);
    v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() as f64 - 1.0)
}

/// Classic R-hat of equal-length chains: `sqrt(var⁺ / W)`, `var⁺ = (N−1)/N·W + B/N`.
/// NaN when both W and B are zero, +inf when only W is.
fn classic_rhat(chains: &[Vec<f64>]) -> f64 {
    let m = chains.len() as f64;
    let n = chains[0].len() as f64;
    let means: Vec<f64> = chains.iter().map(|c| mean(c)).collect();
    let grand = mean(&means);
    let b = n / (m - 1.0) * means.iter().map(|x| (x - grand) * (x - grand)).sum::<f64>();
    let w = chains.iter().map(|c| var_unbiased(c)).sum::<f64>() / m;
    if w <= 0.0 {
        return if b > 0.0 { f64::INFINITY } else { f64::NAN };
    }
    (((n - 1.0) / n * w + b / n) / w).sqrt()
}

/// Rank-normalised split-R-hat per dimension (Vehtari et al. 2021): the larger of the
/// bulk R-hat (rank-normalised split chains) and the tail R-hat (rank-normalised
/// `|θ − median|` of the split chains). `chains`: each `[len, d]` (all chains are
/// truncated to the shortest length). Returns `[d]`; an entry is NaN when there are
/// fewer than 4 draws per chain or the draws of a dimension are all identical, +inf
/// when every chain is constant but chains differ. Values above 1.01 signal that the
/// chains have not mixed.
pub fn split_rhat(chains: &[Array2<f64>]) -> Array1<f64> {
    let d = chains.first().map_or(0, |c| c.ncols());
    Array1::from_shape_fn(d, |j| {
        let Some(split) = split_chains(chains, j) else { return f64::NAN };
        let bulk = classic_rhat(&rank_normalise(&split));
        let mut all: Vec<f64> = split.iter().flatten().copied().collect();
        all.sort_by(f64::total_cmp);
        let med = if all.len() % 2 == 1 {
            all[all.len() / 2]
        } else {
            0.5 * (all[all.len() / 2 - 1] + all[all.len() / 2])
        };
        let folded: Vec<Vec<f64>> =
            split.iter().map(|c| c.iter().map(|v| (v - med).abs()).collect()).collect();
        let tail = classic_rhat(&rank_normalise(&folded));
        nan_max([bulk, tail].into_iter())
    })
}

/// Multi-chain effective sample size of equal-length chains (Stan's algorithm;
/// Vehtari et al. 2021 eq. 10-11, Geyer's initial monotone sequence).
fn ess_of(chains: &[Vec<f64>]) -> f64 {
    let m = chains.len();
    let n = chains[0].len();
    let nf = n as f64;
    let means: Vec<f64> = chains.iter().map(|c| mean(c)).collect();
    // Mean over chains of the biased autocovariance at lag t.
    let acov = |t: usize| -> f64 {
        chains
            .iter()
            .zip(&means)
            .map(|(c, mu)| (0..n - t).map(|i| (c[i] - mu) * (c[i + t] - mu)).sum::<f64>() / nf)
            .sum::<f64>()
            / m as f64
    };
    let acov0 = acov(0);
    let w = acov0 * nf / (nf - 1.0);
    let var_plus = if m > 1 {
        let grand = mean(&means);
        let b_over_n = means.iter().map(|x| (x - grand) * (x - grand)).sum::<f64>() / (m as f64 - 1.0);
        w * (nf - 1.0) / nf + b_over_n
    } else {
        w * (nf - 1.0) / nf
    };
    if var_plus <= 0.0 || !var_plus.is_finite() {
        return f64::NAN;
    }
    let mut rho = vec![0.0; n + 1];
    rho[0] = 1.0;
    let mut rho_even = 1.0;
    let mut rho_odd = 1.0 - (w - acov(1)) / var_plus;
    rho[1] = rho_odd;
    let mut t = 0;
    while t + 5 < n && (rho_even + rho_odd) > 0.0 {
        rho_even = 1.0 - (w - acov(t + 2)) / var_plus;
        rho_odd = 1.0 - (w - acov(t + 3)) / var_plus;
        if rho_even + rho_odd >= 0.0 {
            rho[t + 2] = rho_even;
            rho[t + 3] = rho_odd;
        }
        t += 2;
    }
    let max_t = t;
    if rho_even > 0.0 {
        rho[max_t + 1] = rho_even;
    }
    // Initial monotone sequence: pair sums must not increase.
    let mut k = 1;
    while k + 3 <= max_t {
        if rho[k + 1] + rho[k + 2] > rho[k - 1] + rho[k] {
            rho[k + 1] = (rho[k - 1] + rho[k]) / 2.0;
            rho[k + 2] = rho[k + 1];
        }
        k += 2;
    }
    let total = (m * n) as f64;
    let mut tau = -1.0 + 2.0 * rho[..max_t].iter().sum::<f64>() + rho[max_t + 1];
    tau = tau.max(1.0 / total.log10());
    total / tau
}

/// Bulk effective sample size per dimension (Vehtari et al. 2021): the multi-chain
/// ESS of the rank-normalised split chains, with autocorrelations truncated by Geyer's
/// initial positive sequence and made monotone (Stan's algorithm; it is at most
/// `S·log10(S)` for `S` draws). `chains`: each `[len, d]` (truncated to the shortest).
/// Returns `[d]`; NaN when chains hold fewer than 4 draws or a dimension is constant.
pub fn effective_sample_size(chains: &[Array2<f64>]) -> Array1<f64> {
    let d = chains.first().map_or(0, |c| c.ncols());
    Array1::from_shape_fn(d, |j| match split_chains(chains, j) {
        Some(split) => ess_of(&rank_normalise(&split)),
        None => f64::NAN,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::prior::BoxUniform;
    use rand::SeedableRng;
    use statrs::distribution::Normal as StNormal;

    /// log N(x; mu, cov) up to a constant, via the precision matrix.
    fn gaussian_target(mu: Vec<f64>, cov: &DMatrix<f64>) -> impl Fn(ArrayView1<f64>) -> f64 + Sync {
        let prec = cov.clone().try_inverse().unwrap();
        move |x: ArrayView1<f64>| {
            let d = mu.len();
            let mut q = 0.0;
            for i in 0..d {
                for j in 0..d {
                    q += (x[i] - mu[i]) * prec[(i, j)] * (x[j] - mu[j]);
                }
            }
            -0.5 * q
        }
    }

    /// Kolmogorov-Smirnov distance between the draws and N(mu, sd²).
    pub(crate) fn ks_normal(xs: ArrayView1<f64>, mu: f64, sd: f64) -> f64 {
        let mut v = xs.to_vec();
        v.sort_by(f64::total_cmp);
        let n = v.len() as f64;
        let nd = StNormal::new(mu, sd).unwrap();
        v.iter()
            .enumerate()
            .map(|(i, x)| {
                let f = nd.cdf(*x);
                (f - i as f64 / n).abs().max((f - (i + 1) as f64 / n).abs())
            })
            .fold(0.0, f64::max)
    }

    /// Runs the sampler on N(mu, cov) from over-dispersed starts and checks moments,
    /// KS per margin and the diagnostics, with tolerances scaled by the reported ESS.
    fn check_gaussian(mu: Vec<f64>, cov: DMatrix<f64>, seed: u64) {
        let d = mu.len();
        let f = gaussian_target(mu.clone(), &cov);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let chol = cov.clone().cholesky().unwrap().l();
        // starts: mu + 3·L·z (over-dispersed)
        let mut init = Array2::<f64>::zeros((40, d));
        for mut r in init.outer_iter_mut() {
            let z: Vec<f64> = (0..d).map(|_| rng.sample(StandardNormal)).collect();
            for i in 0..d {
                r[i] = mu[i] + 3.0 * (0..d).map(|k| chol[(i, k)] * z[k]).sum::<f64>();
            }
        }
        let cfg = McmcConfig { num_chains: 40, warmup: 1500, thin: 10 };
        let n = 20_000;
        let res = sample_mcmc(&f, init.view(), n, &cfg, &mut rng).unwrap();
        let s = &res.samples;
        eprintln!(
            "d={d}: R-hat {:.4}, min ESS {:.0}, acceptance {:.3}, evaluations {}",
            res.max_rhat,
            res.min_ess,
            res.acceptance_rate.unwrap(),
            res.evaluations
        );
        assert_eq!(s.dim(), (n, d));
        assert!(res.max_rhat < 1.01, "R-hat {}", res.max_rhat);
        let acc = res.acceptance_rate.unwrap();
        assert!((0.15..0.35).contains(&acc), "acceptance {acc}");
        // thinning 10 keeps draws nearly independent: ESS at least a quarter of n
        assert!(res.min_ess > n as f64 / 4.0, "ESS {}", res.min_ess);
        let ess = res.min_ess.min(n as f64);
        let m = s.mean_axis(Axis(0)).unwrap();
        let c = {
            let centred = s - &m;
            centred.t().dot(&centred) / (n as f64 - 1.0)
        };
        for i in 0..d {
            let sd = cov[(i, i)].sqrt();
            // 5 Monte Carlo standard errors
            assert!((m[i] - mu[i]).abs() < 5.0 * sd / ess.sqrt(), "mean {i}: {} vs {}", m[i], mu[i]);
            let rel = c[(i, i)] / cov[(i, i)] - 1.0;
            assert!(rel.abs() < 5.0 * (2.0 / ess).sqrt(), "var {i}: {} vs {}", c[(i, i)], cov[(i, i)]);
            for j in 0..i {
                let rho = cov[(i, j)] / (sd * cov[(j, j)].sqrt());
                let rho_hat = c[(i, j)] / (c[(i, i)] * c[(j, j)]).sqrt();
                // s.e. of a correlation ≈ (1 − ρ²)/√n
                assert!(
                    (rho_hat - rho).abs() < 5.0 * (1.0 - rho * rho) / ess.sqrt() + 1e-3,
                    "corr {i},{j}: {rho_hat} vs {rho}"
                );
            }
            // KS: the asymptotic 0.1 % critical value 1.95/√n, with n replaced by the ESS
            let ks = ks_normal(s.column(i), mu[i], sd);
            eprintln!(
                "  margin {i}: mean err {:.2} se, KS {ks:.4} (bound {:.4})",
                (m[i] - mu[i]) / (sd / ess.sqrt()),
                1.95 / ess.sqrt()
            );
            assert!(ks < 1.95 / ess.sqrt(), "KS margin {i}: {ks} (ESS {ess})");
        }
    }

    #[test]
    fn correlated_2d_gaussian() {
        // sd (1, 0.01), correlation 0.95
        let cov = DMatrix::from_row_slice(2, 2, &[1.0, 0.95 * 0.01, 0.95 * 0.01, 1e-4]);
        check_gaussian(vec![1.0, -2.0], cov, 11);
    }

    #[test]
    fn correlated_5d_gaussian_with_mixed_scales() {
        let sd = [0.01, 0.1, 1.0, 10.0, 100.0];
        let cov = DMatrix::from_fn(5, 5, |i, j| 0.9f64.powi((i as i32 - j as i32).abs()) * sd[i] * sd[j]);
        check_gaussian(vec![-0.01, 0.0, 1.0, 20.0, 300.0], cov, 12);
    }

    #[test]
    fn bounded_skewed_target() {
        // θ1 ~ Beta(2, 5) on [0, 1], θ2 ~ Exp(1) on [0, ∞): -inf outside the support
        use statrs::distribution::{Beta, Exp};
        let f = |x: ArrayView1<f64>| {
            if x[0] <= 0.0 || x[0] >= 1.0 || x[1] < 0.0 {
                f64::NEG_INFINITY
            } else {
                x[0].ln() + 4.0 * (1.0 - x[0]).ln() - x[1]
            }
        };
        let mut rng = ChaCha8Rng::seed_from_u64(21);
        let init = Array2::from_shape_fn((40, 2), |_| rng.random_range(0.05..0.95));
        let cfg = McmcConfig { num_chains: 40, warmup: 1500, thin: 10 };
        let n = 20_000;
        let res = sample_mcmc(&f, init.view(), n, &cfg, &mut rng).unwrap();
        assert!(res.max_rhat < 1.01, "R-hat {}", res.max_rhat);
        let ess = res.min_ess.min(n as f64);
        assert!(ess > n as f64 / 4.0, "ESS {ess}");
        let cdfs: [Box<dyn Fn(f64) -> f64>; 2] =
            [Box::new(|x| Beta::new(2.0, 5.0).unwrap().cdf(x)), Box::new(|x| Exp::new(1.0).unwrap().cdf(x))];
        for (j, cdf) in cdfs.iter().enumerate() {
            let mut v = res.samples.column(j).to_vec();
            v.sort_by(f64::total_cmp);
            let ks = v
                .iter()
                .enumerate()
                .map(|(i, x)| {
                    let c = cdf(*x);
                    (c - i as f64 / n as f64).abs().max((c - (i + 1) as f64 / n as f64).abs())
                })
                .fold(0.0, f64::max);
            assert!(ks < 1.95 / ess.sqrt(), "KS margin {j}: {ks}");
        }
        let m = res.samples.mean_axis(Axis(0)).unwrap();
        // means 2/7 (sd 0.16) and 1 (sd 1): 5 Monte Carlo standard errors
        assert!((m[0] - 2.0 / 7.0).abs() < 5.0 * 0.16 / ess.sqrt());
        assert!((m[1] - 1.0).abs() < 5.0 / ess.sqrt());
    }

    fn iid_chains(
        m: usize,
        len: usize,
        shift: impl Fn(usize) -> f64,
        phi: f64,
        seed: u64,
    ) -> Vec<Array2<f64>> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..m)
            .map(|c| {
                let mut x: f64 = rng.sample(StandardNormal);
                Array2::from_shape_fn((len, 2), |(_, j)| {
                    if j == 0 {
                        // AR(1) with stationary variance 1
                        let z: f64 = rng.sample(StandardNormal);
                        x = phi * x + (1.0 - phi * phi).sqrt() * z;
                        x + shift(c)
                    } else {
                        rng.sample::<f64, _>(StandardNormal) + shift(c)
                    }
                })
            })
            .collect()
    }

    #[test]
    fn rhat_is_large_for_chains_stuck_in_different_places() {
        let stuck = iid_chains(8, 500, |c| if c < 4 { 0.0 } else { 3.0 }, 0.0, 1);
        let r = split_rhat(&stuck);
        assert!(r.iter().all(|v| *v > 1.1), "{r}");
        // a small shift of one chain out of 8 (0.5 sd) is still flagged above 1.01
        let one_off = iid_chains(8, 1000, |c| if c == 0 { 0.5 } else { 0.0 }, 0.0, 2);
        assert!(split_rhat(&one_off).iter().all(|v| *v > 1.01));
        // a trend inside each chain (first half ≠ second half) is caught by splitting
        let trend: Vec<Array2<f64>> = iid_chains(4, 1000, |_| 0.0, 0.0, 3)
            .into_iter()
            .map(|mut a| {
                a.outer_iter_mut().enumerate().for_each(|(t, mut r)| r += if t < 500 { 0.0 } else { 2.0 });
                a
            })
            .collect();
        assert!(split_rhat(&trend).iter().all(|v| *v > 1.1));
    }

    #[test]
    fn rhat_and_ess_of_independent_and_autocorrelated_chains() {
        // column 0: AR(1) with φ = 0.5 (τ = (1+φ)/(1−φ) = 3), column 1: iid
        let chains = iid_chains(10, 2000, |_| 0.0, 0.5, 4);
        let r = split_rhat(&chains);
        assert!(r.iter().all(|v| *v < 1.01 && *v > 0.99), "{r}");
        let ess = effective_sample_size(&chains);
        let total = 20_000.0;
        assert!((ess[0] / (total / 3.0) - 1.0).abs() < 0.15, "AR(1) ESS {} vs {}", ess[0], total / 3.0);
        assert!((ess[1] / total - 1.0).abs() < 0.15, "iid ESS {} vs {total}", ess[1]);
    }

    #[test]
    fn diagnostics_of_too_short_or_constant_chains_are_nan() {
        let short = vec![Array2::<f64>::zeros((3, 2)); 4];
        assert!(split_rhat(&short).iter().all(|v| v.is_nan()));
        assert!(effective_sample_size(&short).iter().all(|v| v.is_nan()));
        let constant = vec![Array2::<f64>::ones((10, 1)); 4];
        assert!(split_rhat(&constant)[0].is_nan());
        let frozen_apart: Vec<Array2<f64>> = (0..4).map(|c| Array2::from_elem((10, 1), c as f64)).collect();
        assert!(split_rhat(&frozen_apart)[0] > 1.1);
    }

    fn small_run(threads: usize, seed: u64) -> McmcResult {
        let cov = DMatrix::from_row_slice(2, 2, &[1.0, 0.5, 0.5, 2.0]);
        let f = gaussian_target(vec![0.0, 1.0], &cov);
        let init = Array2::from_shape_fn((8, 2), |(i, j)| (i + j) as f64 * 0.3 - 1.0);
        let cfg = McmcConfig { num_chains: 8, warmup: 200, thin: 2 };
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            sample_mcmc(&f, init.view(), 1001, &cfg, &mut ChaCha8Rng::seed_from_u64(seed)).unwrap()
        })
    }

    #[test]
    fn deterministic_per_seed_and_thread_count() {
        let a = small_run(1, 5);
        let b = small_run(3, 5);
        let c = small_run(2, 6);
        assert_eq!(a.samples.dim(), (1001, 2));
        assert_eq!(a.samples, b.samples);
        assert_eq!(a.evaluations, b.evaluations);
        assert_eq!(a.max_rhat.to_bits(), b.max_rhat.to_bits());
        assert_ne!(a.samples, c.samples);
        // 8 initial points + 8·(200 + 126·2) steps (126 = ceil(1001/8))
        assert_eq!(a.evaluations, 8 + 8 * (200 + 126 * 2));
        // a small n still makes 100 draws per chain for the diagnostics, and returns n
        let cov = DMatrix::from_row_slice(2, 2, &[1.0, 0.5, 0.5, 2.0]);
        let f = gaussian_target(vec![0.0, 1.0], &cov);
        let init = Array2::from_shape_fn((8, 2), |(i, j)| (i + j) as f64 * 0.3 - 1.0);
        let cfg = McmcConfig { num_chains: 8, warmup: 200, thin: 2 };
        let r = sample_mcmc(&f, init.view(), 10, &cfg, &mut ChaCha8Rng::seed_from_u64(5)).unwrap();
        assert_eq!(r.samples.dim(), (10, 2));
        assert_eq!(r.evaluations, 8 + 8 * (200 + 100 * 2));
        assert!(r.max_rhat.is_finite() && r.min_ess > 0.0);
        // the first 10 rows are the first draw of each of the 8 chains, then the second of two
        assert_eq!(r.samples.row(0), a.samples.row(0));
    }

    #[test]
    fn bad_input_is_an_error() {
        let f = |x: ArrayView1<f64>| if x[0] > 0.0 { -x[0] } else { f64::NEG_INFINITY };
        let ok = Array2::from_elem((4, 1), 1.0);
        let bad = Array2::from_shape_vec((2, 1), vec![1.0, -1.0]).unwrap();
        let cfg = McmcConfig::default();
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        assert!(sample_mcmc(&f, bad.view(), 10, &cfg, &mut rng).is_err());
        assert!(sample_mcmc(&f, ok.view(), 0, &cfg, &mut rng).is_err());
        let no_thin = McmcConfig { thin: 0, ..cfg.clone() };
        assert!(sample_mcmc(&f, ok.view(), 10, &no_thin, &mut rng).is_err());
        let nan = Array2::from_elem((2, 1), f64::NAN);
        assert!(sample_mcmc(&f, nan.view(), 10, &cfg, &mut rng).is_err());
        let empty = Array2::<f64>::zeros((0, 1));
        assert!(sample_mcmc(&f, empty.view(), 10, &cfg, &mut rng).is_err());
        // identical starting points are fine (fallback proposal scale)
        let r = sample_mcmc(&f, ok.view(), 10, &McmcConfig { warmup: 300, ..cfg }, &mut rng).unwrap();
        assert!(r.samples.iter().all(|v| *v > 0.0));
    }

    #[test]
    fn sir_init_resamples_by_weight() {
        let prior = BoxUniform::cube(1, -5.0, 5.0).unwrap();
        let lw = |x: ArrayView1<f64>| -0.5 * ((x[0] - 1.0) / 0.5).powi(2);
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let init = sir_init(&lw, &prior, 200_000, 4000, &mut rng).unwrap();
        assert_eq!(init.dim(), (4000, 1));
        let m = init.mean_axis(Axis(0)).unwrap()[0];
        let sd = init.std_axis(Axis(0), 1.0)[0];
        // target N(1, 0.5²): s.e. of the mean 0.5/√4000 ≈ 0.008
        assert!((m - 1.0).abs() < 0.04, "{m}");
        assert!((sd - 0.5).abs() < 0.03, "{sd}");
        let ks = ks_normal(init.column(0), 1.0, 0.5);
        assert!(ks < 1.95 / 4000f64.sqrt(), "{ks}");
        let zero = |_: ArrayView1<f64>| f64::NEG_INFINITY;
        assert!(sir_init(&zero, &prior, 100, 10, &mut rng).is_err());
        assert!(sir_init(&lw, &prior, 0, 10, &mut rng).is_err());
    }
}
