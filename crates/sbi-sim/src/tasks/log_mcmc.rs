//! Reference posteriors of the ODE tasks (sir, lotka_volterra; spec §1.9, §1.10)
//! by many-chain MCMC on the exact posterior in log space.
//!
//! Both tasks have independent log-normal priors and a cheap exact likelihood
//! (one ODE solve). sbibm ran one slice-sampling chain started at the true
//! parameter, then fitted a flow and rejection-sampled against the exact
//! posterior; here the draws come directly from [`crate::mcmc::sample_mcmc`]
//! (adaptive random-walk Metropolis, many chains) run on
//! `φ = log θ`, where the target is
//! `log p(φ | x_o) = log LogNormal(e^φ) + Σφ + log p(x_o | e^φ) + const`
//! `              = Σ_j log N(φ_j; μ_j, σ_j²) + log p(x_o | e^φ) + const`.
//!
//! Initialisation: sampling-importance-resampling from the prior
//! ([`crate::mcmc::sir_init`], weights = likelihood). When the resampled
//! starting points are degenerate (fewer than a quarter of them distinct: the
//! posterior is tiny compared with the prior, as for lotka_volterra) the
//! chains start instead at the true parameter with independent jitter
//! `φ = log θ_true + s·z`, `z ~ N(0, I)`, as sbibm's own chain did; the report's
//! notes say which start was used.

use crate::mcmc::{McmcConfig, sample_mcmc, sir_init};
use crate::prior::LogNormal;
use crate::{ReferenceReport, ReferenceSamples, SimError};
use ndarray::{Array2, ArrayView1, Axis, Slice};
use rand::{Rng, RngCore};
use rand_distr::StandardNormal;

const LN_2PI: f64 = 1.837_877_066_409_345_5;
/// Fewest draws per chain the sampler is run for, whatever `n`.
const MIN_DRAWS_PER_CHAIN: usize = 100;

/// Settings of a log-space MCMC reference run.
#[derive(Debug, Clone)]
pub(crate) struct LogMcmcSettings {
    /// Chains, warm-up and thinning.
    pub cfg: McmcConfig,
    /// Prior draws for the sampling-importance-resampling start.
    pub num_candidates: usize,
    /// Standard deviation of the jitter (in log θ) around the true parameter
    /// when the SIR start is degenerate.
    pub jitter: f64,
    /// Largest acceptable split-R-hat; above it the run is an error.
    pub max_rhat_error: f64,
}

/// `Σ_j log N(φ_j; μ_j, σ_j²)`: the log-normal prior density of `θ = e^φ`
/// times the Jacobian `Π e^{φ_j}`.
#[inline]
pub(crate) fn log_prior_phi(phi: &[f64], mu: &[f64], sigma: &[f64]) -> f64 {
    let mut lp = 0.0;
    for ((p, m), s) in phi.iter().zip(mu).zip(sigma) {
        let z = (p - m) / s;
        lp += -0.5 * z * z - s.ln() - 0.5 * LN_2PI;
    }
    lp
}

/// Number of distinct rows of `a`.
fn distinct_rows(a: &Array2<f64>) -> usize {
    let mut rows: Vec<Vec<u64>> =
        a.rows().into_iter().map(|r| r.iter().map(|v| v.to_bits()).collect()).collect();
    rows.sort();
    rows.dedup();
    rows.len()
}

/// Draws `n` reference-posterior samples for a task with log-normal `prior`,
/// exact log-likelihood `log_lik(θ: [D]) → f64` (`-inf` where the model
/// cannot produce x_o) and true parameter `theta_true`. Returns θ draws `[n, D]`.
///
/// Errors when `n = 0`, when the sampler fails, or when the largest split-R-hat
/// exceeds `settings.max_rhat_error`.
pub(crate) fn log_space_reference<const D: usize, L>(
    prior: &LogNormal,
    log_lik: &L,
    theta_true: [f64; D],
    n: usize,
    settings: &LogMcmcSettings,
    rng: &mut dyn RngCore,
) -> Result<ReferenceSamples, SimError>
where
    L: Fn(&[f64; D]) -> f64 + Sync,
{
    if n == 0 {
        return Err(SimError::InvalidArgument("reference_posterior: n must be at least 1".into()));
    }
    let mu: Vec<f64> = prior.mu().to_vec();
    let sigma: Vec<f64> = prior.sigma().to_vec();
    let log_density = |phi: ArrayView1<f64>| -> f64 {
        let mut th = [0.0; D];
        let mut ph = [0.0; D];
        for j in 0..D {
            ph[j] = phi[j];
            th[j] = phi[j].exp();
        }
        log_prior_phi(&ph, &mu, &sigma) + log_lik(&th)
    };
    let theta_weight = |theta: ArrayView1<f64>| -> f64 {
        let mut th = [0.0; D];
        for j in 0..D {
            th[j] = theta[j];
        }
        log_lik(&th)
    };

    let cfg = &settings.cfg;
    let chains = cfg.num_chains;
    let mut notes = vec![format!(
        "adaptive random-walk Metropolis on log θ: {chains} chains, {} warm-up steps per chain, thinning {}",
        cfg.warmup, cfg.thin
    )];
    let sir = sir_init(&theta_weight, prior, settings.num_candidates, chains, rng);
    let distinct = sir.as_ref().map_or(0, distinct_rows);
    let mut init = match sir {
        Ok(theta) if 4 * distinct >= chains => {
            notes.push(format!(
                "init: sampling-importance-resampling of {} prior draws ({distinct} of {chains} starts distinct)",
                settings.num_candidates
            ));
            theta.mapv(f64::ln)
        }
        _ => {
            notes.push(format!(
                "init: SIR from {} prior draws was degenerate ({distinct} of {chains} starts distinct); \
                 chains start at log θ_true + N(0, {}²) jitter (as sbibm started at θ_true)",
                settings.num_candidates, settings.jitter
            ));
            Array2::from_shape_fn((chains, D), |(_, j)| {
                let z: f64 = rng.sample(StandardNormal);
                theta_true[j].ln() + settings.jitter * z
            })
        }
    };
    // A jittered start may (rarely) land where the likelihood vanishes: pull it back to the truth.
    for mut row in init.rows_mut() {
        if !log_density(row.view()).is_finite() {
            row.iter_mut().zip(theta_true).for_each(|(p, t)| *p = t.ln());
        }
    }
    // At least MIN_DRAWS_PER_CHAIN draws per chain so that the diagnostics mean
    // something; when fewer are asked for, the first n pooled rows are returned
    // (rows interleave the chains).
    let n_run = n.max(MIN_DRAWS_PER_CHAIN * chains);
    let res = sample_mcmc(&log_density, init.view(), n_run, cfg, rng)?;
    if res.max_rhat.is_nan() || res.max_rhat > settings.max_rhat_error {
        return Err(SimError::Sampler(format!(
            "MCMC did not converge: max split-R-hat {} > {}",
            res.max_rhat, settings.max_rhat_error
        )));
    }
    if res.max_rhat > 1.01 {
        notes.push(format!("warning: max split-R-hat {:.4} > 1.01", res.max_rhat));
    }
    notes.push(format!(
        "draws used directly (sbibm instead fitted a flow to its single chain and rejection-sampled); \
         acceptance rate {:.3}",
        res.acceptance_rate.unwrap_or(f64::NAN)
    ));
    Ok(ReferenceSamples {
        samples: res.samples.slice_axis(Axis(0), Slice::from(0..n)).mapv(f64::exp),
        report: ReferenceReport {
            method: "mcmc".into(),
            acceptance_rate: res.acceptance_rate,
            max_rhat: Some(res.max_rhat),
            min_ess: Some(res.min_ess),
            evaluations: Some(res.evaluations + settings.num_candidates as u64),
            notes,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn log_prior_phi_is_lognormal_density_times_jacobian() {
        let p = LogNormal::new(vec![0.4f64.ln(), 0.125f64.ln()], vec![0.5, 0.2]).unwrap();
        for phi in [[-1.0f64, -2.0], [0.3, -2.5], [-0.9, -1.7]] {
            let theta = array![phi[0].exp(), phi[1].exp()];
            let expect = p.log_density(theta.view()) + phi[0] + phi[1];
            let got = log_prior_phi(&phi, p.mu().as_slice().unwrap(), p.sigma().as_slice().unwrap());
            assert!((got - expect).abs() < 1e-12, "{got} vs {expect}");
        }
    }

    #[test]
    fn distinct_rows_counts() {
        let a = array![[1.0, 2.0], [1.0, 2.0], [1.0, 3.0]];
        assert_eq!(distinct_rows(&a), 2);
    }
}

/// Helpers shared by the sir and lotka_volterra tests.
#[cfg(test)]
pub(crate) mod test_support {
    use ndarray::{Array2, ArrayView1, Axis};
    use std::io::Read;

    /// sbibm's reference posterior samples for observation 1 of `task`
    /// (`[10000, d]`), or `None` with a printed note when `shared/sbibm` is absent.
    pub(crate) fn sbibm_reference(task: &str) -> Option<Array2<f64>> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!(
            "../../../shared/sbibm/{task}/num_observation_1/reference_posterior_samples.csv.bz2"
        ));
        let Ok(file) = std::fs::File::open(&path) else {
            eprintln!("note: {} not found; skipping the comparison with sbibm", path.display());
            return None;
        };
        let mut text = String::new();
        bzip2::read::BzDecoder::new(file).read_to_string(&mut text).expect("readable bz2 CSV");
        let rows: Vec<Vec<f64>> = text
            .lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.split(',').map(|v| v.trim().parse().expect("number")).collect())
            .collect();
        let d = rows[0].len();
        Some(Array2::from_shape_vec((rows.len(), d), rows.concat()).expect("rectangular CSV"))
    }

    /// Two-sample Kolmogorov-Smirnov statistic sup |F_a − F_b|.
    pub(crate) fn ks2(a: ArrayView1<f64>, b: ArrayView1<f64>) -> f64 {
        let mut a: Vec<f64> = a.to_vec();
        let mut b: Vec<f64> = b.to_vec();
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

    /// Per-margin comparison of our draws with sbibm's: |Δmean| < `tol_mean`·sd,
    /// |sd_ours/sd_sbibm − 1| < `tol_sd` and KS < `tol_ks`. Prints the table.
    pub(crate) fn compare(ours: &Array2<f64>, theirs: &Array2<f64>, tol_mean: f64, tol_sd: f64, tol_ks: f64) {
        let (m1, m2) = (ours.mean_axis(Axis(0)).unwrap(), theirs.mean_axis(Axis(0)).unwrap());
        let (s1, s2) = (ours.std_axis(Axis(0), 1.0), theirs.std_axis(Axis(0), 1.0));
        for j in 0..ours.ncols() {
            let ks = ks2(ours.column(j), theirs.column(j));
            let dm = (m1[j] - m2[j]).abs() / s2[j];
            let rs = s1[j] / s2[j] - 1.0;
            eprintln!(
                "margin {j}: mean {:.5} vs sbibm {:.5} (|Δ|/sd {dm:.3}), sd {:.5} vs {:.5} (rel {rs:+.3}), KS {ks:.4}",
                m1[j], m2[j], s1[j], s2[j]
            );
            assert!(dm < tol_mean, "margin {j}: mean differs by {dm} sd");
            assert!(rs.abs() < tol_sd, "margin {j}: sd ratio off by {rs}");
            assert!(ks < tol_ks, "margin {j}: KS {ks}");
        }
    }

    /// Every coordinate of `x_o` lies within the central `1 − 2·tail` range of
    /// the simulations `sims: [n, d]` (empirical quantiles).
    pub(crate) fn assert_typical(sims: &Array2<f64>, x_o: ArrayView1<f64>, tail: f64) {
        let n = sims.nrows();
        for j in 0..sims.ncols() {
            let mut c = sims.column(j).to_vec();
            c.sort_by(f64::total_cmp);
            let lo = c[(tail * n as f64).floor() as usize];
            let hi = c[((1.0 - tail) * n as f64).ceil() as usize - 1];
            assert!(x_o[j] >= lo && x_o[j] <= hi, "x_o[{j}] = {} outside [{lo}, {hi}]", x_o[j]);
        }
    }
}
