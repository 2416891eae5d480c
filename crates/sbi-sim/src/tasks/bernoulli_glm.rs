//! bernoulli_glm (spec §1.5) and bernoulli_glm_raw (spec §1.6).
//!
//! A Bernoulli GLM of a neuron over 100 time bins: θ = (offset β0, 9-tap
//! stimulus filter h) ∈ R^10, design matrix X `[100, 10]` (column 0 ones, column
//! j+1 the white-noise stimulus delayed by j bins; embedded as
//! `bernoulli_glm/design_matrix.csv`), ψ = Xθ, spikes y_t ~ Bernoulli(σ(ψ_t))
//! with σ the logistic function. `bernoulli_glm` observes the 10 sufficient
//! statistics Xᵀy; `bernoulli_glm_raw` observes the 100 spikes.
//!
//! Prior (§1.5): N(0, B) given by its precision B⁻¹ (block diagonal):
//! B⁻¹[0, 0] = 0.5 and the filter block FᵀF with F = D·D + diag(√(i/9)),
//! i = 0..8, D = I_9 − (ones on the first sub-diagonal).
//!
//! Reference posterior (§1.5): Pólya-Gamma data-augmented Gibbs sampler on the
//! raw spikes of the observation (`observation_raw.csv`, for both variants since
//! Xᵀy is sufficient): ω_t ~ PG(1, ψ_t); V = (Xᵀ diag(ω) X + B⁻¹)⁻¹;
//! m = V Xᵀ(y − ½); θ ~ N(m, V). Chains start at the true parameter, run
//! 25,000 warm-up iterations, then keep every 25th iteration. Unlike sbibm's
//! single chain, the draws are split over several independent chains (4 by
//! default, see [`GibbsSettings`]), each with its own full warm-up, run in
//! parallel and pooled in chain order.

use crate::distributions::PolyaGamma;
use crate::mcmc::{effective_sample_size, split_rhat};
use crate::prior::MvNormal;
use crate::{
    Prior, ReferenceReport, ReferenceSamples, SimError, Simulator, Task, check_matrix, check_observation,
    data, row_rng,
};
use nalgebra::{Cholesky, SMatrix, SVector};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut1, Axis};
use rand::{Rng, RngCore};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use rayon::prelude::*;

/// Number of parameters (offset + 9 filter taps).
pub const D: usize = 10;
/// Number of time bins.
pub const T: usize = 100;
/// Folder of the embedded task data.
const DIR: &str = "bernoulli_glm";

type Mat = SMatrix<f64, D, D>;
type Vector = SVector<f64, D>;

/// log(1 + e^ψ), stable for any ψ.
fn softplus(psi: f64) -> f64 {
    psi.max(0.0) + (-psi.abs()).exp().ln_1p()
}

/// The prior precision B⁻¹ of spec §1.5, `[10, 10]`.
pub fn prior_precision() -> Array2<f64> {
    let m = D - 1;
    // D = I − subdiagonal ones; F = D·D + diag(√(i/9)).
    let dm = Array2::from_shape_fn((m, m), |(i, j)| {
        if i == j {
            1.0
        } else if i == j + 1 {
            -1.0
        } else {
            0.0
        }
    });
    let mut f = dm.dot(&dm);
    for i in 0..m {
        f[(i, i)] += (i as f64 / m as f64).sqrt();
    }
    let ftf = f.t().dot(&f);
    let mut b = Array2::<f64>::zeros((D, D));
    b[(0, 0)] = 0.5;
    for i in 0..m {
        for j in 0..m {
            b[(i + 1, j + 1)] = ftf[(i, j)];
        }
    }
    b
}

/// The embedded design matrix X, `[100, 10]`.
pub fn design_matrix() -> Result<Array2<f64>, SimError> {
    let x = data::parse_csv(&format!("{DIR}/design_matrix.csv"))?;
    if x.dim() != (T, D) {
        return Err(SimError::Data {
            file: "bernoulli_glm/design_matrix.csv",
            msg: format!("expected [{T}, {D}], found {:?}", x.dim()),
        });
    }
    Ok(x)
}

/// Settings of the Pólya-Gamma Gibbs reference sampler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GibbsSettings {
    /// Independent chains (each with its own warm-up), run in parallel.
    pub chains: usize,
    /// Warm-up iterations per chain (discarded).
    pub warmup: usize,
    /// Keep every `thin`-th iteration after warm-up.
    pub thin: usize,
}

impl Default for GibbsSettings {
    /// 4 chains, 25,000 warm-up iterations, thinning 25 (spec §1.5 per chain).
    fn default() -> Self {
        Self { chains: 4, warmup: 25_000, thin: 25 }
    }
}

/// The Bernoulli GLM shared by both tasks: design matrix and prior.
#[derive(Debug, Clone)]
pub struct BernoulliGlmModel {
    design: Array2<f64>,
    rows: Vec<Vector>,
    precision: Array2<f64>,
    prior: MvNormal,
}

impl BernoulliGlmModel {
    /// Builds the model from the embedded design matrix and the prior of §1.5.
    pub fn new() -> Result<Self, SimError> {
        let design = design_matrix()?;
        let rows = design.rows().into_iter().map(|r| Vector::from_iterator(r.iter().copied())).collect();
        let precision = prior_precision();
        let prior = MvNormal::from_precision(vec![0.0; D], precision.clone())?;
        Ok(Self { design, rows, precision, prior })
    }

    /// The design matrix X, `[100, 10]`.
    pub fn design(&self) -> &Array2<f64> {
        &self.design
    }

    /// The prior precision B⁻¹, `[10, 10]`.
    pub fn precision(&self) -> &Array2<f64> {
        &self.precision
    }

    /// The prior N(0, B).
    pub fn prior(&self) -> &MvNormal {
        &self.prior
    }

    /// The sufficient statistics Xᵀy of a spike train `y: [100]` → `[10]`.
    pub fn summarise(&self, y: ArrayView1<f64>) -> Array1<f64> {
        self.design.t().dot(&y)
    }

    /// Raw observation `k` (1-based): the 100 spikes.
    pub fn raw_observation(&self, k: usize) -> Result<Array1<f64>, SimError> {
        check_observation(k, 10)?;
        data::observation_file(DIR, k, "observation_raw.csv")
    }

    /// ψ = Xθ for one θ.
    fn linear_predictor(&self, theta: &Vector) -> [f64; T] {
        let mut psi = [0.0; T];
        for (p, r) in psi.iter_mut().zip(&self.rows) {
            *p = r.dot(theta);
        }
        psi
    }

    /// Σ_t softplus(ψ_t): the log-normaliser of the Bernoulli likelihood.
    fn log_normaliser(&self, theta: ArrayView1<f64>) -> f64 {
        let th = Vector::from_iterator(theta.iter().copied());
        self.linear_predictor(&th).iter().map(|p| softplus(*p)).sum()
    }

    /// Pólya-Gamma Gibbs draws from p(θ | y) for spikes `y: [100]` (0/1),
    /// chains started at `init: [10]` (spec §1.5). Returns `[n, 10]`: chain 0's
    /// draws first, then chain 1's, ...; chain c draws ⌈n/C⌉ or ⌊n/C⌋ samples.
    /// Deterministic for a given `rng` state whatever the thread count.
    pub fn gibbs(
        &self,
        y: ArrayView1<f64>,
        init: ArrayView1<f64>,
        n: usize,
        settings: GibbsSettings,
        rng: &mut dyn RngCore,
    ) -> Result<ReferenceSamples, SimError> {
        check_spikes(y)?;
        check_matrix(init.insert_axis(Axis(0)), D, "init")?;
        if settings.chains == 0 || settings.thin == 0 {
            return Err(SimError::InvalidArgument("Gibbs sampler needs chains ≥ 1 and thin ≥ 1".into()));
        }
        // Xᵀ(y − ½), constant over iterations.
        let mut b = Vector::zeros();
        for (r, yt) in self.rows.iter().zip(y.iter()) {
            b += r * (yt - 0.5);
        }
        let prec = Mat::from_fn(|i, j| self.precision[(i, j)]);
        let start = Vector::from_iterator(init.iter().copied());
        let base = rng.next_u64();
        let c = settings.chains;
        let sizes: Vec<usize> = (0..c).map(|i| n / c + usize::from(i < n % c)).collect();
        let chains: Vec<Array2<f64>> = sizes
            .par_iter()
            .enumerate()
            .map(|(i, &m)| {
                let mut r = row_rng(base, i as u64);
                self.run_chain(&b, &prec, start, m, settings, &mut r)
            })
            .collect::<Result<_, _>>()?;
        let views: Vec<_> = chains.iter().map(|c| c.view()).collect();
        let samples = ndarray::concatenate(Axis(0), &views)
            .map_err(|e| SimError::Sampler(format!("Pólya-Gamma Gibbs: pooling chains failed: {e}")))?;
        let finite_max = |a: Array1<f64>| {
            let v = a.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            v.is_finite().then_some(v)
        };
        let finite_min = |a: Array1<f64>| {
            let v = a.iter().copied().fold(f64::INFINITY, f64::min);
            v.is_finite().then_some(v)
        };
        let (max_rhat, min_ess) = if sizes.iter().all(|m| *m >= 4) {
            (finite_max(split_rhat(&chains)), finite_min(effective_sample_size(&chains)))
        } else {
            (None, None)
        };
        let active = sizes.iter().filter(|m| **m > 0).count();
        let iterations = (active * settings.warmup + n * settings.thin) as u64;
        Ok(ReferenceSamples {
            samples,
            report: ReferenceReport {
                method: "polya-gamma gibbs".into(),
                max_rhat,
                min_ess,
                evaluations: Some(iterations),
                notes: vec![format!(
                    "{c} chains started at the given θ, {} warm-up iterations each, thinning {} \
                     ({iterations} Gibbs iterations in all; spec §1.5 uses one chain)",
                    settings.warmup, settings.thin
                )],
                ..Default::default()
            },
        })
    }

    /// One Gibbs chain: `warmup` discarded iterations then `m` kept draws, each
    /// the last of `thin` iterations. Returns `[m, 10]`.
    fn run_chain(
        &self,
        b: &Vector,
        prec: &Mat,
        start: Vector,
        m: usize,
        settings: GibbsSettings,
        rng: &mut ChaCha8Rng,
    ) -> Result<Array2<f64>, SimError> {
        let mut theta = start;
        let mut out = Array2::<f64>::zeros((m, D));
        if m == 0 {
            return Ok(out);
        }
        let total = settings.warmup + m * settings.thin;
        for it in 1..=total {
            theta = self.gibbs_step(&theta, b, prec, rng)?;
            if it > settings.warmup && (it - settings.warmup).is_multiple_of(settings.thin) {
                let k = (it - settings.warmup) / settings.thin - 1;
                for j in 0..D {
                    out[(k, j)] = theta[j];
                }
            }
        }
        Ok(out)
    }

    /// One Gibbs sweep: ω | θ, then θ | ω.
    fn gibbs_step(
        &self,
        theta: &Vector,
        b: &Vector,
        prec: &Mat,
        rng: &mut ChaCha8Rng,
    ) -> Result<Vector, SimError> {
        let psi = self.linear_predictor(theta);
        // P = Xᵀ diag(ω) X + B⁻¹ (lower triangle, then mirrored).
        let mut p = *prec;
        for (r, ps) in self.rows.iter().zip(psi.iter()) {
            let w = PolyaGamma::sample(*ps, rng);
            for i in 0..D {
                let wi = w * r[i];
                for j in 0..=i {
                    p[(i, j)] += wi * r[j];
                }
            }
        }
        for i in 0..D {
            for j in 0..i {
                p[(j, i)] = p[(i, j)];
            }
        }
        let chol = Cholesky::new(p).ok_or_else(|| {
            SimError::Sampler("Pólya-Gamma Gibbs: posterior precision not positive definite".into())
        })?;
        // m = P⁻¹ b; θ = m + L⁻ᵀ z gives Cov = (L Lᵀ)⁻¹ = V.
        let mean = chol.solve(b);
        let z = Vector::from_fn(|_, _| rng.sample(StandardNormal));
        let dev = chol
            .l()
            .transpose()
            .solve_upper_triangular(&z)
            .ok_or_else(|| SimError::Sampler("Pólya-Gamma Gibbs: singular Cholesky factor".into()))?;
        Ok(mean + dev)
    }
}

/// Checks a spike train: 100 values, each 0 or 1.
fn check_spikes(y: ArrayView1<f64>) -> Result<(), SimError> {
    check_matrix(y.insert_axis(Axis(0)), T, "spike train")?;
    if let Some((t, v)) = y.iter().enumerate().find(|(_, v)| **v != 0.0 && **v != 1.0) {
        return Err(SimError::InvalidArgument(format!("spike train entry {t} is {v}, expected 0 or 1")));
    }
    Ok(())
}

/// The Bernoulli GLM simulator: spikes y_t = 1[u_t < σ(ψ_t)], ψ = Xθ; returns
/// Xᵀy `[10]` (summary) or y `[100]` (raw).
#[derive(Debug, Clone)]
pub struct BernoulliGlmSimulator {
    rows: Vec<Vector>,
    summary: bool,
}

impl Simulator for BernoulliGlmSimulator {
    fn theta_dim(&self) -> usize {
        D
    }
    fn x_dim(&self) -> usize {
        if self.summary { D } else { T }
    }
    fn simulate_row(&self, theta: ArrayView1<f64>, rng: &mut ChaCha8Rng, mut out: ArrayViewMut1<f64>) {
        let th = Vector::from_iterator(theta.iter().copied());
        out.fill(0.0);
        for (t, r) in self.rows.iter().enumerate() {
            let psi = r.dot(&th);
            let prob = 1.0 / (1.0 + (-psi).exp());
            let spike = rng.random::<f64>() < prob;
            if self.summary {
                if spike {
                    for j in 0..D {
                        out[j] += r[j];
                    }
                }
            } else {
                out[t] = if spike { 1.0 } else { 0.0 };
            }
        }
    }
}

macro_rules! glm_task {
    ($name:ident, $str:literal, $summary:literal, $file:literal, $doc:literal) => {
        #[doc = $doc]
        #[derive(Debug, Clone)]
        pub struct $name {
            model: BernoulliGlmModel,
            simulator: BernoulliGlmSimulator,
            settings: GibbsSettings,
        }

        impl $name {
            /// Builds the task (reference sampler: [`GibbsSettings::default`]).
            pub fn new() -> Result<Self, SimError> {
                let model = BernoulliGlmModel::new()?;
                let simulator = BernoulliGlmSimulator { rows: model.rows.clone(), summary: $summary };
                Ok(Self { model, simulator, settings: GibbsSettings::default() })
            }

            /// The same task with other reference-sampler settings.
            pub fn with_gibbs_settings(mut self, settings: GibbsSettings) -> Self {
                self.settings = settings;
                self
            }

            /// The shared GLM (design matrix, prior, Gibbs sampler).
            pub fn model(&self) -> &BernoulliGlmModel {
                &self.model
            }
        }

        impl Task for $name {
            fn name(&self) -> &'static str {
                $str
            }
            fn prior(&self) -> &dyn Prior {
                &self.model.prior
            }
            fn simulator(&self) -> &dyn Simulator {
                &self.simulator
            }
            fn observation(&self, k: usize) -> Result<Array1<f64>, SimError> {
                check_observation(k, 10)?;
                data::observation_file(DIR, k, $file)
            }
            fn true_parameters(&self, k: usize) -> Result<Array1<f64>, SimError> {
                check_observation(k, 10)?;
                data::observation_file(DIR, k, "true_parameters.csv")
            }
            fn reference_method(&self) -> &'static str {
                "Pólya-Gamma Gibbs"
            }
            fn reference_posterior(
                &self,
                k: usize,
                n: usize,
                rng: &mut dyn RngCore,
            ) -> Result<ReferenceSamples, SimError> {
                let y = self.model.raw_observation(k)?;
                let init = self.true_parameters(k)?;
                self.model.gibbs(y.view(), init.view(), n, self.settings, rng)
            }
            fn log_likelihood(
                &self,
                theta: ArrayView2<f64>,
                x: ArrayView1<f64>,
            ) -> Option<Result<Array1<f64>, SimError>> {
                Some(glm_log_likelihood(&self.model, theta, x, $summary))
            }
        }
    };
}

glm_task!(
    BernoulliGlm,
    "bernoulli_glm",
    true,
    "observation.csv",
    "The bernoulli_glm task (spec §1.5): x = Xᵀy, the 10 sufficient statistics.\n\n\
     `log_likelihood` is the log-probability of the summary, θᵀx − Σ_t log(1 + e^{ψ_t}): \
     every spike train y with Xᵀy = x has this probability, so it is exact up to the \
     θ-independent log of the number of such trains (0 when y ↦ Xᵀy is one-to-one, as \
     it is generically for a continuous stimulus). It is −∞ when x₁ (the spike count) \
     is not an integer in 0..=100; other unattainable x are not detected."
);
glm_task!(
    BernoulliGlmRaw,
    "bernoulli_glm_raw",
    false,
    "observation_raw.csv",
    "The bernoulli_glm_raw task (spec §1.6): x = y, the 100 raw spikes (0/1).\n\n\
     `log_likelihood` is the exact Bernoulli log-probability Σ_t y_t ψ_t − log(1 + e^{ψ_t})."
);

/// Log-likelihood of one data set for each row of theta `[n, 10]` (see the task docs).
fn glm_log_likelihood(
    model: &BernoulliGlmModel,
    theta: ArrayView2<f64>,
    x: ArrayView1<f64>,
    summary: bool,
) -> Result<Array1<f64>, SimError> {
    check_matrix(theta, D, "theta")?;
    let stats = if summary {
        check_matrix(x.insert_axis(Axis(0)), D, "x")?;
        let count = x[0];
        if count.fract() != 0.0 || !(0.0..=T as f64).contains(&count) {
            return Ok(Array1::from_elem(theta.nrows(), f64::NEG_INFINITY));
        }
        x.to_owned()
    } else {
        check_spikes(x)?;
        model.summarise(x)
    };
    Ok(theta.rows().into_iter().map(|t| t.dot(&stats) - model.log_normaliser(t)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn design_matrix_is_the_delayed_stimulus() {
        let x = design_matrix().unwrap();
        let stim = data::parse_csv("bernoulli_glm/stimulus_I.csv").unwrap();
        assert_eq!(stim.dim(), (T, 1));
        for t in 0..T {
            assert_eq!(x[(t, 0)], 1.0);
            for j in 0..9 {
                let expect = if t >= j { stim[(t - j, 0)] } else { 0.0 };
                assert_eq!(x[(t, j + 1)], expect, "t {t} lag {j}");
            }
        }
    }

    #[test]
    fn prior_precision_matches_spec() {
        let b = prior_precision();
        assert_eq!(b[(0, 0)], 0.5);
        for j in 1..D {
            assert_eq!(b[(0, j)], 0.0);
            assert_eq!(b[(j, 0)], 0.0);
        }
        // F = D·D + diag(√(i/9)): F[0,0] = 1, F[1,0] = −2, F[2,0] = 1 (second differences).
        // (FᵀF)[0,0] = 1 + 4 + 1 = 6; (FᵀF)[8,8] = (1 + √(8/9))².
        assert!((b[(1, 1)] - 6.0).abs() < 1e-12);
        assert!((b[(9, 9)] - (1.0 + (8.0f64 / 9.0).sqrt()).powi(2)).abs() < 1e-12);
        assert!((0..D).all(|i| (0..D).all(|j| b[(i, j)] == b[(j, i)])));
    }

    #[test]
    fn embedded_summaries_equal_design_times_raw() {
        let m = BernoulliGlmModel::new().unwrap();
        let task = BernoulliGlm::new().unwrap();
        for k in 1..=10 {
            let y = m.raw_observation(k).unwrap();
            check_spikes(y.view()).unwrap();
            let s = m.summarise(y.view());
            let x = task.observation(k).unwrap();
            for j in 0..D {
                assert!((s[j] - x[j]).abs() < 1e-4, "obs {k} stat {j}: {} vs {}", s[j], x[j]);
            }
        }
    }

    #[test]
    fn simulators_shape_determinism_and_summary_consistency() {
        let raw = BernoulliGlmRaw::new().unwrap();
        let sum = BernoulliGlm::new().unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let theta = raw.prior().sample(6, &mut rng);
        let y = raw.simulator().simulate(theta.view(), &mut ChaCha8Rng::seed_from_u64(4)).unwrap();
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let y1 = pool
            .install(|| raw.simulator().simulate(theta.view(), &mut ChaCha8Rng::seed_from_u64(4)).unwrap());
        assert_eq!(y.dim(), (6, T));
        assert_eq!(y, y1);
        assert!(y.iter().all(|v| *v == 0.0 || *v == 1.0));
        // Same seed → same uniforms → the summary simulator returns Xᵀy of the raw spikes.
        let s = sum.simulator().simulate(theta.view(), &mut ChaCha8Rng::seed_from_u64(4)).unwrap();
        assert_eq!(s.dim(), (6, D));
        for i in 0..6 {
            let expect = sum.model().summarise(y.row(i));
            for j in 0..D {
                assert!((s[(i, j)] - expect[j]).abs() < 1e-12);
            }
        }
    }

    /// Spike frequencies match σ(ψ_t) for a fixed θ (5 binomial s.e.).
    #[test]
    fn simulator_spike_probabilities() {
        let raw = BernoulliGlmRaw::new().unwrap();
        let theta0 = raw.true_parameters(1).unwrap();
        let n = 20_000;
        let theta = Array2::from_shape_fn((n, D), |(_, j)| theta0[j]);
        let y = raw.simulator().simulate(theta.view(), &mut ChaCha8Rng::seed_from_u64(8)).unwrap();
        let psi = raw.model().design().dot(&theta0);
        for t in 0..T {
            let p = 1.0 / (1.0 + (-psi[t]).exp());
            let f = y.column(t).sum() / n as f64;
            let se = (p * (1.0 - p) / n as f64).sqrt().max(1e-4);
            assert!((f - p).abs() < 5.0 * se, "bin {t}: {f} vs {p}");
        }
    }

    #[test]
    fn log_likelihoods_agree_and_match_bernoulli() {
        let raw = BernoulliGlmRaw::new().unwrap();
        let sum = BernoulliGlm::new().unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let theta = raw.prior().sample(5, &mut rng);
        let y = raw.observation(1).unwrap();
        let x = sum.observation(1).unwrap();
        let l_raw = raw.log_likelihood(theta.view(), y.view()).unwrap().unwrap();
        let l_sum = sum.log_likelihood(theta.view(), x.view()).unwrap().unwrap();
        let design = raw.model().design();
        for i in 0..5 {
            let psi = design.dot(&theta.row(i));
            let direct: f64 = (0..T)
                .map(|t| {
                    let p = 1.0 / (1.0 + (-psi[t]).exp());
                    if y[t] == 1.0 { p.ln() } else { (1.0 - p).ln() }
                })
                .sum();
            assert!((l_raw[i] - direct).abs() < 1e-9, "{} vs {direct}", l_raw[i]);
            // The embedded summary is float32-rounded: |Δx| ≤ 4e-6 per stat.
            assert!((l_sum[i] - direct).abs() < 1e-3, "{} vs {direct}", l_sum[i]);
        }
        let mut bad = y.clone();
        bad[3] = 0.5;
        assert!(raw.log_likelihood(theta.view(), bad.view()).unwrap().is_err());
        let mut frac = x.clone();
        frac[0] = 3.5;
        assert!(
            sum.log_likelihood(theta.view(), frac.view())
                .unwrap()
                .unwrap()
                .iter()
                .all(|v| *v == f64::NEG_INFINITY)
        );
    }

    /// The Gibbs sampler is deterministic per seed whatever the thread count,
    /// lays out chains as documented, and rejects bad input. (Its accuracy is
    /// tested in `tests/reference_posteriors.rs`.)
    #[test]
    fn gibbs_is_deterministic_and_sized() {
        let task = BernoulliGlm::new().unwrap().with_gibbs_settings(GibbsSettings {
            chains: 3,
            warmup: 50,
            thin: 2,
        });
        let a = task.reference_posterior(2, 31, &mut ChaCha8Rng::seed_from_u64(1)).unwrap();
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let b = pool.install(|| task.reference_posterior(2, 31, &mut ChaCha8Rng::seed_from_u64(1)).unwrap());
        assert_eq!(a.samples.dim(), (31, D));
        assert_eq!(a.samples, b.samples);
        assert_eq!(a.report.evaluations, Some(3 * 50 + 31 * 2));
        assert!(a.report.max_rhat.is_some() && a.report.min_ess.is_some());
        let empty = task.reference_posterior(2, 0, &mut ChaCha8Rng::seed_from_u64(1)).unwrap();
        assert_eq!(empty.samples.dim(), (0, D));
        assert_eq!(empty.report.evaluations, Some(0));
        let y = task.model().raw_observation(1).unwrap();
        let init = Array1::zeros(D);
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let bad = GibbsSettings { chains: 0, ..GibbsSettings::default() };
        assert!(task.model().gibbs(y.view(), init.view(), 10, bad, &mut rng).is_err());
        assert!(
            task.model()
                .gibbs(Array1::zeros(5).view(), init.view(), 10, GibbsSettings::default(), &mut rng)
                .is_err()
        );
    }
}
