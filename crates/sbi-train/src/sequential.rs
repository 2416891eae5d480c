//! Sequential neural posterior estimation (spec `methods.md` §2, "Sequential
//! NPE"): SNPE-A, SNPE-B and APT (SNPE-C).
//!
//! All three spend the budget over `R` rounds (`budget / R` each, the
//! remainder in round 1). Round 1 draws θ from the prior; round `r > 1` draws
//! θ from the round-`(r−1)` posterior at `x_o` (draws outside the prior
//! support rejected, as sbi does) and simulates them. The network keeps the
//! z-scoring of round 1's prior simulations and is trained further in every
//! round (warm start), each round with the training loop's early stopping.
//!
//! - **APT** (Greenberg et al. 2019): round 1 maximum likelihood; later rounds
//!   the atomic loss on all rounds' pairs: for pair `n`, `M − 1` contrasting θ
//!   drawn without replacement from the rest of the minibatch, logits
//!   `ℓ_j = log q(θ_j | x_n) − log p(θ_j)`, loss `−log softmax(ℓ)_true`
//!   (`num_atoms = M`, default 10). The z-scoring's Jacobian is the same for
//!   every atom and cancels.
//! - **SNPE-B** (Lueckmann et al. 2017): maximise `Σ w_n log q(θ_n | x_n)` over
//!   all rounds' pairs with `w_n = p(θ_n) / p̃_r(θ_n)`, `p̃_r` the density the
//!   pair's θ was drawn from (the prior in round 1, the previous round's
//!   posterior at `x_o` later). The weights are normalised to mean 1 within
//!   each round (self-normalised importance sampling; the truncation of
//!   `p̃_r` to the prior support only changes a round's constant).
//! - **SNPE-A** (Papamakarios & Murray 2016): an MDN trained by maximum
//!   likelihood on the proposal simulations (round 1 on the prior's; from round 2
//!   on, the pairs of rounds `2..=r` pooled, as sbi does, and the correction
//!   divides by the latest proposal, an approximation while the proposals still
//!   move), one Gaussian component in rounds `1..R−1` (so the proposal stays
//!   Gaussian) and `num_components` in the last round, corrected in closed form:
//!   `p(θ | x) ∝ q(θ | x) p(θ) / p̃(θ)`. Each component `N(μ_k, P_k⁻¹)` becomes
//!   `P'_k = P_k − P̃ + P₀`, `μ'_k = P'_k⁻¹ (P_k μ_k − P̃ μ̃ + P₀ μ₀)`, weight
//!   `∝ w_k |P_k|^½ |P'_k|^{−½} exp(−½ (μ_kᵀP_kμ_k − μ'_kᵀP'_kμ'_k))`. The
//!   prior enters as a Gaussian: exactly for normal priors; a box-uniform
//!   prior as the limit of an infinitely wide Gaussian (`P₀ = 0`, the spec's
//!   "wide Gaussian"); any other prior (SIR's and Lotka-Volterra's
//!   log-normals) by the Gaussian with its mean and covariance, estimated
//!   from 100,000 seeded prior draws. The last round's `K`-component MDN
//!   starts from the one-component network (`Mdn::expand_components`); the
//!   proposal of each later round is the previous single-Gaussian posterior
//!   with its standard deviations doubled (`SNPE_A_PROPOSAL_SCALE`), truncated
//!   to the prior support. Components whose corrected precision is not
//!   positive definite are left out while they hold less than
//!   `MAX_DROPPED_WEIGHT` of the mixing weight together; beyond that it is an
//!   error naming the component.

use std::path::Path;
use std::time::Instant;

use burn::module::Module;
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Int, Tensor, TensorData};
use nalgebra::{DMatrix, DVector};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use rand::distr::weighted::WeightedIndex;
use rand::seq::index::sample as sample_indices;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use sbi_nn::{ConditionalDensity, DensityConfig, DensityEstimator, burn};
use sbi_sim::{Prior, Task};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::model_file::{CRATE_VERSION, FORMAT_VERSION, ModelMeta};
use crate::npe::{NpePosterior, density_from_json, density_to_json, with_dims};
use crate::posterior::{check_observation, draws_in_support};
use crate::trainer::{StepContext, fit_with};
use crate::{
    Dataset, Estimator, Method, Posterior, Progress, SampleConfig, SimulationInfo, Standardizer, TrainConfig,
    TrainError, TrainReport, sample,
};

/// Prior draws used to moment-match a Gaussian to a prior that is neither
/// normal nor box-uniform (SNPE-A only).
const MOMENT_DRAWS: usize = 100_000;
/// Stream offsets of the round generators.
const ROUND_STREAM: u64 = 0x5e9;
/// SNPE-A: the largest total mixing weight of components left out of the correction
/// because their corrected precision is not positive definite (see `Mixture::corrected`).
const MAX_DROPPED_WEIGHT: f64 = 0.01;
/// SNPE-A's proposals: the current single-Gaussian posterior with its standard
/// deviations multiplied by this factor, so that the next round's estimate stays
/// narrower than the proposal (the closed-form correction needs that; docs/npe.md).
const SNPE_A_PROPOSAL_SCALE: f64 = 2.0;
/// SNPE-A's last round: standard deviation of the noise on the means of the copied
/// component (z-scored θ units; see `Mdn::expand_components`).
const EXPAND_NOISE: f64 = 0.05;

/// The training loop's defaults for the sequential methods: [`TrainConfig::new`]
/// with sbi's learning rate `5e-4` and a batch of `100` (sbi: 50). The project's
/// one-round default (lr 2e-3, batch 512) made APT's estimate leak out of the
/// prior support on two_moons (acceptance 0.14, C2ST 0.86 at 10k, 10 rounds;
/// 0.76 vs 0.63 at 3k, 3 rounds; docs/npe.md).
pub fn default_train() -> TrainConfig {
    TrainConfig::new().with_learning_rate(5e-4).with_batch_size(100)
}

/// The settings of a sequential method, given as `[model]` keys beside the
/// density estimator's own (`sbi train --rounds R` sets `rounds`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SequentialConfig {
    /// Rounds `R ≥ 1`; the budget is split evenly. Default `10` (spec).
    pub rounds: usize,
    /// APT's atoms per pair `M ≥ 2` (the true θ and `M − 1` contrasts). Default `10`.
    pub num_atoms: usize,
    /// The density estimator: `"mdn"`, `"maf"` or `"nsf"`. Default `"maf"` for
    /// SNPE-B (sbi's default density), `"nsf"` for APT (sbibm's setting for its
    /// sequential NPE, spec `sbibm-tasks.md`; on two_moons 10k it measured C2ST
    /// 0.509–0.520 over three seeds against MAF's 0.563–0.691, docs/npe.md); SNPE-A
    /// requires `"mdn"` (and defaults to it).
    pub density: String,
}

impl Default for SequentialConfig {
    fn default() -> Self {
        SequentialConfig { rounds: 10, num_atoms: 10, density: "maf".to_string() }
    }
}

/// Keys of `[model]` that belong to [`SequentialConfig`] rather than to the density config.
const SEQUENTIAL_KEYS: [&str; 3] = ["rounds", "num_atoms", "density"];

/// The NPE method whose density estimator a density name selects.
fn density_method(name: &str) -> Result<Method, TrainError> {
    match name {
        "mdn" => Ok(Method::NpeMdn),
        "maf" => Ok(Method::NpeMaf),
        "nsf" => Ok(Method::NpeNsf),
        other => Err(TrainError::InvalidConfig(format!(
            "[model] density = '{other}': expected \"mdn\", \"maf\" or \"nsf\""
        ))),
    }
}

/// A sequential estimator: `snpe-a`, `snpe-b` or `apt`.
#[derive(Clone, Debug)]
pub struct SequentialEstimator {
    /// [`Method::SnpeA`], [`Method::SnpeB`] or [`Method::Apt`].
    pub method: Method,
    /// Rounds, atoms and the density estimator's kind.
    pub sequential: SequentialConfig,
    /// The density estimator's configuration (dimensions come from the task).
    pub model: DensityConfig,
    /// The training loop's configuration, used in every round.
    pub train: TrainConfig,
}

impl SequentialEstimator {
    /// The estimator for a sequential `method` with `[model]` settings: the
    /// keys `rounds`, `num_atoms` and `density` ([`SequentialConfig`]), the
    /// others the density config's (e.g. `hidden = 64`). Errors on a
    /// non-sequential method, an unknown key, a bad value, or SNPE-A with a
    /// density other than `"mdn"`.
    pub fn with_settings(
        method: Method,
        model: &Map<String, Value>,
        train: TrainConfig,
    ) -> Result<Self, TrainError> {
        let (sequential, density) = split_settings(method, model)?;
        let model = density_from_json(density_method(&sequential.density)?, &density)
            .map_err(|e| TrainError::InvalidConfig(format!("[model]: {e}")))?;
        Ok(SequentialEstimator { method, sequential, model, train })
    }
}

/// Splits `[model]` overrides into the validated [`SequentialConfig`] and the
/// effective density config (JSON, dimensions as placeholders).
fn split_settings(
    method: Method,
    model: &Map<String, Value>,
) -> Result<(SequentialConfig, Value), TrainError> {
    if !method.is_sequential() {
        return Err(TrainError::InvalidConfig(format!("'{method}' is not a sequential method")));
    }
    let mut seq = Map::new();
    let mut rest = Map::new();
    for (k, v) in model {
        if SEQUENTIAL_KEYS.contains(&k.as_str()) {
            seq.insert(k.clone(), v.clone());
        } else {
            rest.insert(k.clone(), v.clone());
        }
    }
    if !seq.contains_key("density") {
        match method {
            Method::SnpeA => {
                seq.insert("density".to_string(), json!("mdn"));
            }
            Method::Apt => {
                seq.insert("density".to_string(), json!("nsf"));
            }
            _ => {}
        }
    }
    let sequential: SequentialConfig = serde_json::from_value(Value::Object(seq))
        .map_err(|e| TrainError::InvalidConfig(format!("[model]: {e}")))?;
    if sequential.rounds == 0 {
        return Err(TrainError::InvalidConfig("[model] rounds must be at least 1".to_string()));
    }
    if sequential.num_atoms < 2 {
        return Err(TrainError::InvalidConfig("[model] num_atoms must be at least 2".to_string()));
    }
    if method == Method::SnpeA && sequential.density != "mdn" {
        return Err(TrainError::InvalidConfig(format!(
            "snpe-a needs density = \"mdn\" (its correction is analytic for Gaussian mixtures), got \"{}\"",
            sequential.density
        )));
    }
    let density = crate::npe::model_json(density_method(&sequential.density)?, &rest)?;
    Ok((sequential, density))
}

/// The effective settings of a sequential method as JSON: the
/// [`SequentialConfig`] fields beside the density config's.
pub fn model_json(method: Method, overrides: &Map<String, Value>) -> Result<Value, TrainError> {
    let (seq, density) = split_settings(method, overrides)?;
    let mut out = serde_json::to_value(&seq).expect("serialises");
    if let (Value::Object(o), Value::Object(d)) = (&mut out, density) {
        o.extend(d);
    }
    Ok(out)
}

/// The budget of each round: `budget / rounds`, the remainder in round 1.
pub fn round_budgets(budget: usize, rounds: usize) -> Result<Vec<usize>, TrainError> {
    if rounds == 0 {
        return Err(TrainError::InvalidConfig("rounds must be at least 1".to_string()));
    }
    let each = budget / rounds;
    if each < 2 {
        return Err(TrainError::InvalidConfig(format!(
            "a budget of {budget} simulations is too small for {rounds} rounds (need at least 2 per round)"
        )));
    }
    let mut v = vec![each; rounds];
    v[0] += budget - each * rounds;
    Ok(v)
}

/// A Gaussian in z-scored θ: mean and precision (`precision = 0` is a flat density).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GaussianZ {
    /// Mean `[d]`.
    pub mean: Vec<f64>,
    /// Precision `[d][d]`, row-major.
    pub precision: Vec<Vec<f64>>,
}

impl GaussianZ {
    fn precision(&self) -> DMatrix<f64> {
        let d = self.mean.len();
        DMatrix::from_fn(d, d, |i, j| self.precision[i][j])
    }

    fn mean(&self) -> DVector<f64> {
        DVector::from_column_slice(&self.mean)
    }

    /// The same Gaussian with its standard deviations multiplied by `scale`.
    fn broadened(&self, scale: f64) -> Self {
        let f = 1.0 / (scale * scale);
        GaussianZ {
            mean: self.mean.clone(),
            precision: self.precision.iter().map(|r| r.iter().map(|v| v * f).collect()).collect(),
        }
    }

    fn from_parts(mean: &DVector<f64>, precision: &DMatrix<f64>) -> Self {
        let d = mean.len();
        GaussianZ {
            mean: mean.iter().copied().collect(),
            precision: (0..d).map(|i| (0..d).map(|j| precision[(i, j)]).collect()).collect(),
        }
    }
}

/// SNPE-A's correction `p(θ|x) ∝ q(θ|x) p(θ) / p̃(θ)` in z-scored θ.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Correction {
    /// The prior as a Gaussian in z-scored θ (precision 0 for a box-uniform prior).
    pub prior: GaussianZ,
    /// The proposal the final round's pairs were drawn from (the pooled earlier rounds'
    /// proposals are not divided out).
    pub proposal: GaussianZ,
}

/// The prior as a Gaussian in z-scored θ (see the module docs).
fn prior_gaussian_z(prior: &dyn Prior, theta_std: &Standardizer, seed: u64) -> Result<GaussianZ, TrainError> {
    let d = prior.dim();
    if prior.bounds().is_some() {
        return Ok(GaussianZ { mean: vec![0.0; d], precision: vec![vec![0.0; d]; d] });
    }
    let (mean, cov) = match prior.gaussian() {
        Some(g) => g,
        None => {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let draws = prior.sample(MOMENT_DRAWS, &mut rng);
            let mean = draws.mean_axis(Axis(0)).expect("draws");
            let centred = &draws - &mean;
            let cov = centred.t().dot(&centred) / (MOMENT_DRAWS - 1) as f64;
            (mean, cov)
        }
    };
    let (m, s) = (&theta_std.mean, &theta_std.std);
    let mean_z = DVector::from_fn(d, |i, _| (mean[i] - m[i]) / s[i]);
    let cov_z = DMatrix::from_fn(d, d, |i, j| cov[(i, j)] / (s[i] * s[j]));
    let precision = cov_z
        .try_inverse()
        .ok_or_else(|| TrainError::InvalidConfig("snpe-a: the prior's covariance is singular".to_string()))?;
    Ok(GaussianZ::from_parts(&mean_z, &precision))
}

/// A Gaussian mixture in z-scored θ, on the host.
#[derive(Clone, Debug)]
struct Mixture {
    log_weights: Vec<f64>,
    means: Vec<DVector<f64>>,
    precisions: Vec<DMatrix<f64>>,
}

impl Mixture {
    /// The mixture of an MDN at one context `c: [1, d_c]`.
    fn of_mdn(model: &DensityEstimator, context: Tensor<2>) -> Result<Self, TrainError> {
        let DensityEstimator::Mdn(mdn) = model else {
            return Err(TrainError::InvalidConfig("snpe-a needs an MDN".to_string()));
        };
        let p = mdn.mixture_params(context)?;
        let [_, k, d] = p.means.dims();
        let lw = p.log_weights.into_data().try_into_vec_as::<f64>().expect("floats");
        let mu = p.means.into_data().try_into_vec_as::<f64>().expect("floats");
        let u = p.precision_factors.into_data().try_into_vec_as::<f64>().expect("floats");
        let means = (0..k).map(|c| DVector::from_column_slice(&mu[c * d..(c + 1) * d])).collect();
        let precisions = (0..k)
            .map(|c| {
                let uc = DMatrix::from_row_slice(d, d, &u[c * d * d..(c + 1) * d * d]);
                uc.transpose() * uc
            })
            .collect();
        Ok(Mixture { log_weights: lw, means, precisions })
    }

    /// `q · p₀ / p̃` in closed form (module docs).
    ///
    /// A component whose corrected precision is not positive definite (the estimate is
    /// broader than the proposal in some direction, so `q · p₀ / p̃` has no finite mass
    /// there) is left out when its mixing weight in `q` is below [`MAX_DROPPED_WEIGHT`]
    /// together with the other left-out ones (such near-empty components are where the
    /// last round's few pairs leave the MDN unconstrained); otherwise it is an error.
    fn corrected(&self, c: &Correction) -> Result<Mixture, TrainError> {
        let (p0, m0) = (c.prior.precision(), c.prior.mean());
        let (pt, mt) = (c.proposal.precision(), c.proposal.mean());
        let shift = &p0 * &m0 - &pt * &mt;
        let mut out = Mixture { log_weights: vec![], means: vec![], precisions: vec![] };
        let mut dropped = 0.0;
        for k in 0..self.means.len() {
            let (pk, mk) = (&self.precisions[k], &self.means[k]);
            let pn = pk - &pt + &p0;
            let pn = (&pn + pn.transpose()) * 0.5;
            let Some(chol) = pn.clone().cholesky() else {
                let w = self.log_weights[k].exp();
                dropped += w;
                if dropped < MAX_DROPPED_WEIGHT {
                    continue;
                }
                return Err(TrainError::InvalidData(format!(
                    "snpe-a: the corrected precision of mixture component {} (mixing weight {w:.3}) is not \
                     positive definite (the estimate is broader than the proposal in some direction), and \
                     such components hold {dropped:.3} of the mass (at most {MAX_DROPPED_WEIGHT} may be left \
                     out); try fewer rounds (more simulations per round), fewer mixture components \
                     ([model] num_components), or another method",
                    k + 1
                )));
            };
            let eta = pk * mk + &shift;
            let mn = chol.solve(&eta);
            let log_det_k = pk.clone().cholesky().map_or(f64::NEG_INFINITY, |c| 2.0 * log_diag_sum(c.l()));
            let log_det_n = 2.0 * log_diag_sum(chol.l());
            let lw = self.log_weights[k] + 0.5 * (log_det_k - log_det_n)
                - 0.5 * (mk.dot(&(pk * mk)) - mn.dot(&(&pn * &mn)));
            out.log_weights.push(lw);
            out.means.push(mn);
            out.precisions.push(pn);
        }
        let lse = log_sum_exp(&out.log_weights);
        out.log_weights.iter_mut().for_each(|w| *w -= lse);
        Ok(out)
    }

    /// `n` draws `[n, d]`.
    fn sample(&self, n: usize, rng: &mut dyn RngCore) -> Result<Array2<f64>, TrainError> {
        let d = self.means[0].len();
        let covs: Vec<DMatrix<f64>> = self
            .precisions
            .iter()
            .map(|p| {
                let inv = p.clone().try_inverse().ok_or_else(|| {
                    TrainError::InvalidData("snpe-a: singular mixture precision".to_string())
                })?;
                let inv = (&inv + inv.transpose()) * 0.5;
                inv.cholesky().map(|c| c.l()).ok_or_else(|| {
                    TrainError::InvalidData("snpe-a: mixture covariance is not positive definite".to_string())
                })
            })
            .collect::<Result<_, _>>()?;
        let component = WeightedIndex::new(self.log_weights.iter().map(|w| w.exp()))
            .map_err(|e| TrainError::InvalidData(format!("snpe-a: bad mixture weights: {e}")))?;
        let mut out = Array2::zeros((n, d));
        for mut row in out.rows_mut() {
            let k = rng.sample(&component);
            let z = DVector::from_fn(d, |_, _| rng.sample::<f64, _>(StandardNormal));
            let v = &self.means[k] + &covs[k] * z;
            row.iter_mut().zip(v.iter()).for_each(|(r, x)| *r = *x);
        }
        Ok(out)
    }

    /// `log Σ_k w_k N(z; μ_k, P_k⁻¹)` for each row of `z: [n, d]`.
    fn log_prob(&self, z: ArrayView2<f64>) -> Array1<f64> {
        let d = z.ncols() as f64;
        let half_log_dets: Vec<f64> = self
            .precisions
            .iter()
            .map(|p| p.clone().cholesky().map_or(f64::NEG_INFINITY, |c| log_diag_sum(c.l())))
            .collect();
        z.rows()
            .into_iter()
            .map(|row| {
                let v = DVector::from_iterator(row.len(), row.iter().copied());
                let terms: Vec<f64> = (0..self.means.len())
                    .map(|k| {
                        let diff = &v - &self.means[k];
                        self.log_weights[k] + half_log_dets[k]
                            - 0.5 * d * (2.0 * std::f64::consts::PI).ln()
                            - 0.5 * diff.dot(&(&self.precisions[k] * &diff))
                    })
                    .collect();
                log_sum_exp(&terms)
            })
            .collect()
    }

    /// The single Gaussian of a one-component mixture.
    fn single(&self) -> Option<GaussianZ> {
        (self.means.len() == 1).then(|| GaussianZ::from_parts(&self.means[0], &self.precisions[0]))
    }
}

/// `n` draws `[n, d]` in θ space from the Gaussian `g` (z-scored θ, see `theta_std`)
/// truncated to the prior support (rejection; the truncation only changes the proposal's
/// normalisation, which SNPE-A's correction does not need), through [`sample`]'s
/// rejection loop with its default limits: an error when fewer than 1e-3 of at least
/// 10,000 proposals fall inside the support.
fn gaussian_draws_in_support(
    g: &GaussianZ,
    theta_std: &Standardizer,
    prior: &dyn Prior,
    n: usize,
    rng: &mut dyn RngCore,
) -> Result<Array2<f64>, TrainError> {
    let q = Mixture { log_weights: vec![0.0], means: vec![g.mean()], precisions: vec![g.precision()] };
    let draws = draws_in_support(n, Some(prior), &SampleConfig::default(), rng, |m, rng| {
        Ok(theta_std.inverse(q.sample(m, rng)?.view()))
    })?;
    Ok(draws.samples)
}

fn log_diag_sum(l: DMatrix<f64>) -> f64 {
    (0..l.nrows()).map(|i| l[(i, i)].ln()).sum()
}

fn log_sum_exp(v: &[f64]) -> f64 {
    let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        return m;
    }
    m + v.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}

/// APT's atomic loss (module docs) for a batch `theta: [b, d]`, `x: [b, d_x]`
/// with `log_prior: [b]`: each row's true θ is atom 0, the `M − 1` others are
/// drawn without replacement from the other rows. Falls back to maximum
/// likelihood for a batch of one row.
pub fn atomic_loss(
    model: &DensityEstimator,
    theta: Tensor<2>,
    x: Tensor<2>,
    log_prior: Tensor<1>,
    num_atoms: usize,
    rng: &mut dyn RngCore,
) -> Result<Tensor<1>, TrainError> {
    let b = theta.dims()[0];
    let d_x = x.dims()[1];
    let m = num_atoms.min(b);
    if m < 2 {
        return Ok(model.log_prob(theta, x)?.mean().neg());
    }
    let mut idx: Vec<i64> = Vec::with_capacity(b * m);
    for i in 0..b {
        idx.push(i as i64);
        for j in sample_indices(rng, b - 1, m - 1) {
            idx.push(if j >= i { j as i64 + 1 } else { j as i64 });
        }
    }
    let device = theta.device();
    let idx = Tensor::<1, Int>::from_ints(TensorData::new(idx, [b * m]), &device);
    let atoms = theta.select(0, idx.clone());
    let xs = x.unsqueeze_dim::<3>(1).repeat_dim(1, m).reshape([b * m, d_x]);
    let lq = model.log_prob(atoms, xs)?.reshape([b, m]);
    let lp = log_prior.select(0, idx).reshape([b, m]);
    Ok(log_softmax(lq - lp, 1).narrow(1, 0, 1).mean().neg())
}

impl Estimator for SequentialEstimator {
    fn method(&self) -> Method {
        self.method
    }

    fn check(&self, d_theta: usize, d_x: usize, device: &Device) -> Result<(), TrainError> {
        self.train.validate()?;
        with_dims(&self.model, d_theta, d_x).init(device)?;
        Ok(())
    }

    /// Sequential methods cannot train on precomputed pairs: an error saying so.
    fn fit(
        &self,
        _data: &Dataset,
        _device: &Device,
        _task: Option<&str>,
        _progress: &mut dyn FnMut(&Progress),
    ) -> Result<Box<dyn Posterior>, TrainError> {
        Err(TrainError::InvalidConfig(format!(
            "'{}' is sequential: it simulates each round at the observation and needs the task \
             (Estimator::fit_task, or `sbi train --task T --observation K`), not precomputed pairs",
            self.method
        )))
    }

    fn fit_task(
        &self,
        task: &dyn Task,
        budget: usize,
        x_o: ArrayView1<f64>,
        seed: u64,
        device: &Device,
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<(Box<dyn Posterior>, SimulationInfo), TrainError> {
        check_observation(x_o, task.x_dim())?;
        let rounds = self.sequential.rounds;
        let budgets = round_budgets(budget, rounds)?;
        let (d_theta, d_x) = (task.theta_dim(), task.x_dim());
        self.check(d_theta, d_x, device)?;
        let prior = task.prior();
        let ad = device.clone().autodiff();
        let mut info = SimulationInfo::default();
        let mut sim_rng = ChaCha8Rng::seed_from_u64(seed);
        let mut reports: Vec<TrainReport> = Vec::new();

        // Round 1: prior simulations; they fix the z-scoring.
        progress(&Progress::Stage(format!("round 1/{rounds}: simulating {} pairs", budgets[0])));
        let start = Instant::now();
        let theta = prior.sample(budgets[0], &mut sim_rng);
        let x = task.simulator().simulate(theta.view(), &mut sim_rng)?;
        let first = Dataset::new(theta, x)?;
        info.simulations += budgets[0];
        info.dropped += first.dropped();
        info.seconds += start.elapsed().as_secs_f64();
        let theta_std = Standardizer::fit(first.theta())?;
        let x_std = Standardizer::fit(first.x())?;

        let components = |r: usize| match &self.model {
            DensityConfig::Mdn(c) if self.method == Method::SnpeA && r < rounds => {
                let mut c = c.clone();
                c.num_components = 1;
                DensityConfig::Mdn(c)
            }
            other => other.clone(),
        };
        let mut cfg = with_dims(&components(1), d_theta, d_x);
        let mut model = cfg.init(&ad)?;
        let prior_z = if self.method == Method::SnpeA {
            Some(prior_gaussian_z(prior, &theta_std, seed ^ ROUND_STREAM)?)
        } else {
            None
        };
        let aux_of = |data: Dataset, log_proposal: Option<Array1<f64>>| -> Result<Dataset, TrainError> {
            match self.method {
                Method::Apt => {
                    let lp = prior.log_prob(data.theta())?;
                    data.with_aux(lp)
                }
                Method::SnpeB => {
                    let n = data.len();
                    let log_w = match log_proposal {
                        None => Array1::zeros(n),
                        Some(lq) => {
                            let raw = prior.log_prob(data.theta())? - lq;
                            let lse = log_sum_exp(raw.as_slice().expect("contiguous"));
                            raw - (lse - (n as f64).ln())
                        }
                    };
                    data.with_aux(log_w)
                }
                _ => Ok(data),
            }
        };
        let mut data = aux_of(first, None)?;
        let mut posterior: Option<RoundPosterior> = None;
        let mut correction: Option<Correction> = None;

        for r in 1..=rounds {
            if r > 1 {
                let current = posterior.as_ref().expect("a posterior after round 1").as_dyn();
                progress(&Progress::Stage(format!(
                    "round {r}/{rounds}: proposing and simulating {} pairs",
                    budgets[r - 1]
                )));
                let start = Instant::now();
                // SNPE-A draws from its broadened single-Gaussian posterior (the proposal
                // its correction divides by); the others from the current posterior.
                let snpe_a_proposal = match &posterior {
                    Some(RoundPosterior::SnpeA(snpe_a)) => {
                        Some(snpe_a.single_gaussian(x_o)?.broadened(SNPE_A_PROPOSAL_SCALE))
                    }
                    _ => None,
                };
                let theta = match &snpe_a_proposal {
                    Some(g) => gaussian_draws_in_support(g, &theta_std, prior, budgets[r - 1], &mut sim_rng)?,
                    None => {
                        sample(
                            current,
                            Some(prior),
                            x_o,
                            budgets[r - 1],
                            &SampleConfig::default(),
                            &mut sim_rng,
                        )?
                        .samples
                    }
                };
                let x = task.simulator().simulate(theta.view(), &mut sim_rng)?;
                let new = Dataset::new(theta, x)?;
                info.simulations += budgets[r - 1];
                info.dropped += new.dropped();
                let log_proposal = match self.method {
                    Method::SnpeB => Some(current.log_prob(new.theta(), x_o)?),
                    _ => None,
                };
                let new = aux_of(new, log_proposal)?;
                info.seconds += start.elapsed().as_secs_f64();
                data = match self.method {
                    // SNPE-A: the prior pairs are dropped; the later rounds' pairs are pooled
                    // (as sbi does) and corrected by the latest proposal.
                    Method::SnpeA if r == 2 => new,
                    _ => data.concat(&new)?,
                };
                if self.method == Method::SnpeA {
                    // The proposal of this round's pairs is the previous (single-Gaussian) posterior.
                    correction = Some(Correction {
                        prior: prior_z.clone().expect("snpe-a has a prior Gaussian"),
                        proposal: snpe_a_proposal.expect("snpe-a rounds build SNPE-A posteriors"),
                    });
                    if r == rounds && rounds > 1 {
                        // The last round's K-component MDN starts from the one-component
                        // network (K noisy copies of its component, as sbi does).
                        cfg = with_dims(&components(r), d_theta, d_x);
                        let k = match &cfg {
                            DensityConfig::Mdn(c) => c.num_components,
                            _ => unreachable!("snpe-a uses an MDN"),
                        };
                        model = match model {
                            DensityEstimator::Mdn(mdn) => {
                                let mut rng = ChaCha8Rng::seed_from_u64(seed ^ ROUND_STREAM ^ r as u64);
                                DensityEstimator::Mdn(mdn.expand_components(k, EXPAND_NOISE, &mut rng)?)
                            }
                            _ => unreachable!("snpe-a uses an MDN"),
                        };
                    }
                }
            }
            progress(&Progress::Stage(format!("round {r}/{rounds}: training on {} pairs", data.len())));
            let mut train = self.train.clone();
            train.seed = self.train.seed.wrapping_add(r as u64);
            let atomic = self.method == Method::Apt && r > 1;
            let weighted = self.method == Method::SnpeB && r > 1;
            let num_atoms = self.sequential.num_atoms;
            let fitted = fit_with(
                model,
                &data,
                &ad,
                &train,
                Some((theta_std.clone(), x_std.clone())),
                |m: &DensityEstimator, theta, x, ctx: &mut StepContext| {
                    if atomic {
                        let lp = ctx.aux.clone().expect("APT pairs carry their log prior");
                        atomic_loss(m, theta, x, lp, num_atoms, ctx.rng)
                    } else if weighted {
                        let w = ctx.aux.clone().expect("SNPE-B pairs carry log weights").exp();
                        Ok((m.log_prob(theta, x)? * w).mean().neg())
                    } else {
                        Ok(m.log_prob(theta, x)?.mean().neg())
                    }
                },
                progress,
            )?;
            model = fitted.model;
            reports.push(fitted.report);
            let meta = ModelMeta {
                format_version: FORMAT_VERSION,
                crate_version: CRATE_VERSION.to_string(),
                method: self.method,
                d_theta,
                d_x,
                task: Some(task.name().to_string()),
                model_config: stored_config(&self.sequential, &cfg, x_o, correction.as_ref()),
                train_config: serde_json::to_value(&self.train).expect("config serialises"),
                theta_std: theta_std.clone(),
                x_std: x_std.clone(),
                report: Some(combine(&reports)),
            };
            let inner = NpePosterior::new(model.valid(), meta, device.clone());
            posterior = Some(match self.method {
                Method::SnpeA => {
                    RoundPosterior::SnpeA(SnpeAPosterior { inner, correction: correction.clone() })
                }
                _ => RoundPosterior::Npe(inner),
            });
        }
        let out: Box<dyn Posterior> = match posterior.expect("at least one round") {
            RoundPosterior::Npe(p) => Box::new(p),
            RoundPosterior::SnpeA(p) => Box::new(p),
        };
        Ok((out, info))
    }
}

/// The posterior after a round.
enum RoundPosterior {
    Npe(NpePosterior),
    SnpeA(SnpeAPosterior),
}

impl RoundPosterior {
    fn as_dyn(&self) -> &dyn Posterior {
        match self {
            RoundPosterior::Npe(p) => p,
            RoundPosterior::SnpeA(p) => p,
        }
    }
}

/// Several rounds' reports as one: epochs and seconds summed, histories
/// concatenated (epochs renumbered), the last round's best epoch and loss.
fn combine(reports: &[TrainReport]) -> TrainReport {
    let last = reports.last().expect("at least one report");
    let mut history = Vec::new();
    let mut offset = 0;
    let mut elapsed = 0.0;
    for r in reports {
        for e in &r.history {
            let mut e = e.clone();
            e.epoch += offset;
            e.elapsed_s += elapsed;
            history.push(e);
        }
        offset += r.epochs;
        elapsed += r.seconds;
    }
    TrainReport {
        epochs: offset,
        best_epoch: offset - last.epochs + last.best_epoch,
        best_val_loss: last.best_val_loss,
        stopped_early: last.stopped_early,
        n_train: last.n_train,
        n_val: last.n_val,
        seconds: elapsed,
        history,
    }
}

/// The model file's `model_config` of a sequential method.
fn stored_config(
    seq: &SequentialConfig,
    density: &DensityConfig,
    x_o: ArrayView1<f64>,
    correction: Option<&Correction>,
) -> Value {
    json!({
        "sequential": seq,
        "density": density_to_json(density),
        "x_o": x_o.to_vec(),
        "correction": correction,
    })
}

/// The parts of a sequential model file's `model_config`.
pub(crate) struct StoredSequential {
    pub(crate) density: DensityConfig,
    pub(crate) correction: Option<Correction>,
}

/// Parses a sequential method's stored `model_config`.
pub(crate) fn parse_stored(value: &Value) -> Result<StoredSequential, String> {
    let seq: SequentialConfig =
        serde_json::from_value(value.get("sequential").cloned().unwrap_or(Value::Null))
            .map_err(|e| format!("bad 'sequential' settings: {e}"))?;
    let method = density_method(&seq.density).map_err(|e| e.to_string())?;
    let density = density_from_json(method, value.get("density").unwrap_or(&Value::Null))?;
    let correction = match value.get("correction") {
        None | Some(Value::Null) => None,
        Some(c) => Some(serde_json::from_value(c.clone()).map_err(|e| format!("bad 'correction': {e}"))?),
    };
    Ok(StoredSequential { density, correction })
}

/// SNPE-A's posterior: the final round's MDN `q(θ | x)` corrected by
/// `p(θ) / p̃(θ)` in closed form (module docs). Exact `log_prob` (of the
/// corrected mixture, before truncation to the prior support).
#[derive(Debug)]
pub struct SnpeAPosterior {
    inner: NpePosterior,
    /// `None` after one round (the proposal was the prior).
    correction: Option<Correction>,
}

impl SnpeAPosterior {
    /// Rebuilds the posterior from a model file's parts (see [`NpePosterior::from_parts`]).
    pub fn from_parts(
        meta: ModelMeta,
        record: Vec<u8>,
        device: &Device,
        path: &Path,
    ) -> Result<Self, TrainError> {
        let (inner, correction) = load_parts(meta, record, device, path)?;
        Ok(SnpeAPosterior { inner, correction })
    }

    fn mixture(&self, x_o: ArrayView1<f64>) -> Result<Mixture, TrainError> {
        check_observation(x_o, self.inner.meta.d_x)?;
        let q = Mixture::of_mdn(&self.inner.model, self.inner.context(x_o, 1))?;
        match &self.correction {
            Some(c) => q.corrected(c),
            None => Ok(q),
        }
    }

    /// The posterior at `x_o` as one Gaussian in z-scored θ (rounds before the last).
    fn single_gaussian(&self, x_o: ArrayView1<f64>) -> Result<GaussianZ, TrainError> {
        self.mixture(x_o)?.single().ok_or_else(|| {
            TrainError::InvalidConfig("snpe-a: the proposal must have one component".to_string())
        })
    }
}

impl Posterior for SnpeAPosterior {
    fn meta(&self) -> &ModelMeta {
        &self.inner.meta
    }

    fn sample_unconstrained(
        &self,
        x_o: ArrayView1<f64>,
        n: usize,
        _config: &SampleConfig,
        rng: &mut dyn RngCore,
    ) -> Result<Array2<f64>, TrainError> {
        let z = self.mixture(x_o)?.sample(n, rng)?;
        Ok(self.inner.meta.theta_std.inverse(z.view()))
    }

    fn log_prob(&self, theta: ArrayView2<f64>, x_o: ArrayView1<f64>) -> Result<Array1<f64>, TrainError> {
        self.inner.check_theta(theta)?;
        let mix = self.mixture(x_o)?;
        let z = self.inner.meta.theta_std.transform(theta);
        Ok(mix.log_prob(z.view()) - self.inner.meta.theta_std.log_abs_det())
    }

    fn save(&self, path: &Path) -> Result<(), TrainError> {
        self.inner.save(path)
    }
}

/// Rebuilds an APT or SNPE-B posterior from a model file's parts.
pub(crate) fn load_npe_like(
    meta: ModelMeta,
    record: Vec<u8>,
    device: &Device,
    path: &Path,
) -> Result<NpePosterior, TrainError> {
    Ok(load_parts(meta, record, device, path)?.0)
}

/// The network and (SNPE-A) correction of a sequential model file.
fn load_parts(
    meta: ModelMeta,
    record: Vec<u8>,
    device: &Device,
    path: &Path,
) -> Result<(NpePosterior, Option<Correction>), TrainError> {
    let stored = parse_stored(&meta.model_config).map_err(|e| TrainError::model_file(path, e))?;
    Ok((NpePosterior::from_config(stored.density, meta, record, device, path)?, stored.correction))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_split_evenly_with_the_remainder_first() {
        assert_eq!(round_budgets(10_000, 10).unwrap(), vec![1000; 10]);
        assert_eq!(round_budgets(1003, 2).unwrap(), vec![502, 501]);
        assert_eq!(round_budgets(5, 1).unwrap(), vec![5]);
        assert!(round_budgets(10, 0).is_err());
        let e = round_budgets(15, 10).unwrap_err().to_string();
        assert!(e.contains("too small"), "{e}");
    }

    #[test]
    fn settings_split_into_sequential_and_density_keys() {
        let mut m = Map::new();
        m.insert("rounds".into(), json!(3));
        m.insert("hidden".into(), json!(32));
        let e = SequentialEstimator::with_settings(Method::Apt, &m, TrainConfig::new()).unwrap();
        assert_eq!(e.sequential.rounds, 3);
        // Default densities: NSF for APT (sbibm's), MAF for SNPE-B (sbi's), MDN for SNPE-A.
        assert!(matches!(e.model, DensityConfig::Nsf(ref c) if c.hidden == 32));
        let b = SequentialEstimator::with_settings(Method::SnpeB, &m, TrainConfig::new()).unwrap();
        assert!(matches!(b.model, DensityConfig::Maf(ref c) if c.hidden == 32));
        let a = SequentialEstimator::with_settings(Method::SnpeA, &Map::new(), TrainConfig::new()).unwrap();
        assert!(matches!(a.model, DensityConfig::Mdn(_)));
        m.insert("density".into(), json!("nsf"));
        let err = SequentialEstimator::with_settings(Method::SnpeA, &m, TrainConfig::new()).unwrap_err();
        assert!(err.to_string().contains("mdn"), "{err}");
        let mut bad = Map::new();
        bad.insert("num_atoms".into(), json!(1));
        assert!(SequentialEstimator::with_settings(Method::Apt, &bad, TrainConfig::new()).is_err());
        assert!(SequentialEstimator::with_settings(Method::NpeMaf, &Map::new(), TrainConfig::new()).is_err());
    }

    fn gaussian(mean: &[f64], prec: &[&[f64]]) -> GaussianZ {
        GaussianZ { mean: mean.to_vec(), precision: prec.iter().map(|r| r.to_vec()).collect() }
    }

    /// The closed-form correction against a numerical product-and-divide on a 1-D grid.
    #[test]
    fn correction_matches_a_grid_computation_in_1d() {
        let q = Mixture {
            log_weights: vec![0.3f64.ln(), 0.7f64.ln()],
            means: vec![DVector::from_vec(vec![-0.5]), DVector::from_vec(vec![0.8])],
            precisions: vec![DMatrix::from_element(1, 1, 4.0), DMatrix::from_element(1, 1, 9.0)],
        };
        let c = Correction { prior: gaussian(&[0.2], &[&[0.5]]), proposal: gaussian(&[0.1], &[&[2.0]]) };
        let post = q.corrected(&c).unwrap();
        let grid: Vec<f64> = (0..4001).map(|i| -6.0 + 12.0 * i as f64 / 4000.0).collect();
        let h = 12.0 / 4000.0;
        let z = Array2::from_shape_vec((grid.len(), 1), grid.clone()).unwrap();
        let lq = q.log_prob(z.view());
        let ln = |g: &GaussianZ, t: f64| {
            let p = g.precision[0][0];
            0.5 * (p / (2.0 * std::f64::consts::PI)).ln() - 0.5 * p * (t - g.mean[0]).powi(2)
        };
        let unnorm: Vec<f64> = grid
            .iter()
            .zip(lq.iter())
            .map(|(t, l)| (l + ln(&c.prior, *t) - ln(&c.proposal, *t)).exp())
            .collect();
        let zsum: f64 = unnorm.iter().sum::<f64>() * h;
        let lp = post.log_prob(z.view());
        for (i, u) in unnorm.iter().enumerate().step_by(200) {
            let want = (u / zsum).ln();
            assert!((lp[i] - want).abs() < 1e-6, "at {}: {} vs {want}", grid[i], lp[i]);
        }
        let total: f64 = lp.iter().map(|v| v.exp()).sum::<f64>() * h;
        assert!((total - 1.0).abs() < 1e-6, "{total}");
    }

    #[test]
    fn a_proposal_narrower_than_the_estimate_is_an_error() {
        let q = Mixture {
            log_weights: vec![0.0],
            means: vec![DVector::from_vec(vec![0.0])],
            precisions: vec![DMatrix::from_element(1, 1, 1.0)],
        };
        let c = Correction { prior: gaussian(&[0.0], &[&[0.0]]), proposal: gaussian(&[0.0], &[&[3.0]]) };
        let e = q.corrected(&c).unwrap_err().to_string();
        assert!(e.contains("not positive definite"), "{e}");
    }

    #[test]
    fn a_near_empty_improper_component_is_left_out() {
        // Weights 0.995 / 0.005; the second component (precision 1) is broader than the
        // proposal (precision 3): left out, the first (precision 10) corrected alone.
        let q = Mixture {
            log_weights: vec![0.995f64.ln(), 0.005f64.ln()],
            means: vec![DVector::from_vec(vec![0.5]), DVector::from_vec(vec![0.0])],
            precisions: vec![DMatrix::from_element(1, 1, 10.0), DMatrix::from_element(1, 1, 1.0)],
        };
        let c = Correction { prior: gaussian(&[0.0], &[&[0.0]]), proposal: gaussian(&[0.0], &[&[3.0]]) };
        let out = q.corrected(&c).unwrap();
        assert_eq!(out.means.len(), 1);
        assert!((out.log_weights[0]).abs() < 1e-12);
        // P' = 10 − 3 = 7, μ' = (10·0.5 − 3·0)/7.
        assert!((out.precisions[0][(0, 0)] - 7.0).abs() < 1e-12);
        assert!((out.means[0][0] - 5.0 / 7.0).abs() < 1e-12);
        // With weight 0.02 on the improper component it is an error again.
        let heavy = Mixture { log_weights: vec![0.98f64.ln(), 0.02f64.ln()], ..q };
        let e = heavy.corrected(&c).unwrap_err().to_string();
        assert!(e.contains("not positive definite") && e.contains("0.020"), "{e}");
    }

    #[test]
    fn mixture_samples_match_its_moments() {
        let q = Mixture {
            log_weights: vec![0.25f64.ln(), 0.75f64.ln()],
            means: vec![DVector::from_vec(vec![-2.0, 0.0]), DVector::from_vec(vec![2.0, 1.0])],
            precisions: vec![DMatrix::identity(2, 2), DMatrix::identity(2, 2) * 4.0],
        };
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let s = q.sample(40_000, &mut rng).unwrap();
        let m = s.mean_axis(Axis(0)).unwrap();
        // E = 0.25·(−2, 0) + 0.75·(2, 1) = (1, 0.75); the standard error is below 0.01.
        assert!((m[0] - 1.0).abs() < 0.04 && (m[1] - 0.75).abs() < 0.02, "{m}");
    }
}
