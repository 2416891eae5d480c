//! The `Posterior` trait's companions: sampling options, support rejection and
//! observation checks.

use ndarray::{Array1, Array2, ArrayView1, Axis, concatenate};
use rand::RngCore;
use sbi_sim::Prior;
use serde::{Deserialize, Serialize};

use crate::{Posterior, TrainError};

/// Options of [`sample`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SampleConfig {
    /// Reject draws outside the prior support and draw again (as sbi does;
    /// spec `methods.md` §1). Default `true`.
    pub reject_outside_prior: bool,
    /// Stop with [`TrainError::SupportCollapse`] when, after at least
    /// [`SampleConfig::min_proposals_for_check`] proposals, the acceptance
    /// rate is below this. Default `1e-3` (a thousand proposals per kept draw).
    pub min_acceptance: f64,
    /// Proposals before the acceptance limit is enforced. Default `10_000`.
    pub min_proposals_for_check: usize,
    /// Largest number of draws requested from the estimator at once. Default `10_000`.
    pub batch_size: usize,
    /// UP-VAE only: draw `z` from `p(z|x_o) ∝ p_η(x_o|z) N(z; 0, I)` by
    /// importance resampling of this many `N(0, I)` proposals per batch,
    /// instead of the paper's `z ~ N(0, I)`. Default `None` (the paper's way).
    pub latent_importance: Option<usize>,
}

impl Default for SampleConfig {
    fn default() -> Self {
        SampleConfig {
            reject_outside_prior: true,
            min_acceptance: 1e-3,
            min_proposals_for_check: 10_000,
            batch_size: 10_000,
            latent_importance: None,
        }
    }
}

/// Posterior draws and how many proposals they took.
#[derive(Clone, Debug)]
pub struct Draws {
    /// The draws, `[n, d_theta]`.
    pub samples: Array2<f64>,
    /// Draws requested from the estimator.
    pub proposed: usize,
    /// Proposals that were finite and inside the prior support (≥ the rows of
    /// `samples`: the surplus of the last batch is discarded).
    pub accepted: usize,
}

impl Draws {
    /// `accepted / proposed`.
    pub fn acceptance_rate(&self) -> f64 {
        if self.proposed == 0 { 1.0 } else { self.accepted as f64 / self.proposed as f64 }
    }
}

/// Checks an observation `x_o: [d_x]`: its length and finiteness.
pub fn check_observation(x_o: ArrayView1<f64>, d_x: usize) -> Result<(), TrainError> {
    if x_o.len() != d_x {
        return Err(TrainError::InvalidData(format!(
            "the observation has {} values, but the model was trained on data of dimension {d_x}",
            x_o.len()
        )));
    }
    let bad: Vec<usize> =
        x_o.iter().enumerate().filter(|(_, v)| !v.is_finite()).map(|(i, _)| i + 1).collect();
    if !bad.is_empty() {
        return Err(TrainError::InvalidData(format!(
            "the observation has {} NaN or infinite value(s), at position(s) {bad:?}",
            bad.len()
        )));
    }
    Ok(())
}

/// `n` draws from `posterior` at `x_o`; with `reject_outside_prior`, draws
/// outside `prior`'s support (and non-finite draws) are rejected and redrawn
/// in batches sized by the running acceptance rate.
pub fn sample(
    posterior: &dyn Posterior,
    prior: Option<&dyn Prior>,
    x_o: ArrayView1<f64>,
    n: usize,
    config: &SampleConfig,
    rng: &mut dyn RngCore,
) -> Result<Draws, TrainError> {
    check_observation(x_o, posterior.d_x())?;
    if n == 0 {
        return Err(TrainError::InvalidConfig("the number of samples must be at least 1".to_string()));
    }
    if config.batch_size == 0 {
        return Err(TrainError::InvalidConfig("the sampling batch size must be at least 1".to_string()));
    }
    if let Some(p) = prior
        && p.dim() != posterior.d_theta()
    {
        return Err(TrainError::InvalidData(format!(
            "the prior has dimension {} but the posterior {}",
            p.dim(),
            posterior.d_theta()
        )));
    }
    let support = prior.filter(|_| config.reject_outside_prior);
    draws_in_support(n, support, config, rng, |m, rng| posterior.sample_unconstrained(x_o, m, config, rng))
}

/// The rejection loop of [`sample`], for any proposal: `propose(m, rng)` gives `m` draws
/// `[m, d_theta]`, in batches of at most `config.batch_size` sized by the running
/// acceptance rate; non-finite draws, and with `support` draws outside its support,
/// are dropped until `n` are kept. Errors with [`TrainError::SupportCollapse`] when the
/// acceptance rate falls below `config.min_acceptance` after
/// `config.min_proposals_for_check` proposals.
pub(crate) fn draws_in_support(
    n: usize,
    support: Option<&dyn Prior>,
    config: &SampleConfig,
    rng: &mut dyn RngCore,
    mut propose: impl FnMut(usize, &mut dyn RngCore) -> Result<Array2<f64>, TrainError>,
) -> Result<Draws, TrainError> {
    let mut kept: Vec<Array2<f64>> = Vec::new();
    let (mut proposed, mut valid, mut have) = (0usize, 0usize, 0usize);
    while have < n {
        let rate = if proposed == 0 { 1.0 } else { (valid as f64 / proposed as f64).max(1e-3) };
        let want = ((n - have) as f64 / rate * 1.1).ceil() as usize;
        let m = want.clamp(1, config.batch_size.max(1));
        let draws = propose(m, rng)?;
        proposed += m;
        let ok: Vec<usize> = (0..m)
            .filter(|&i| {
                let row = draws.row(i);
                row.iter().all(|v| v.is_finite()) && support.is_none_or(|p| p.in_support(row))
            })
            .collect();
        valid += ok.len();
        let take = ok.len().min(n - have);
        have += take;
        kept.push(draws.select(Axis(0), &ok[..take]));
        if have < n && proposed >= config.min_proposals_for_check {
            let r = valid as f64 / proposed as f64;
            if r < config.min_acceptance {
                return Err(TrainError::SupportCollapse {
                    accepted: valid,
                    proposed,
                    rate: r,
                    min_rate: config.min_acceptance,
                });
            }
        }
    }
    let views: Vec<_> = kept.iter().map(|a| a.view()).collect();
    let samples = concatenate(Axis(0), &views).expect("same width");
    Ok(Draws { samples, proposed, accepted: valid })
}

/// The default `log_prob` of estimators without a tractable density.
pub(crate) fn unsupported_log_prob(method: crate::Method) -> Result<Array1<f64>, TrainError> {
    Err(TrainError::Unsupported { what: "log_prob", method: method.name().to_string() })
}
