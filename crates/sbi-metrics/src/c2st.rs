//! Classifier two-sample test with the sbibm protocol (spec `sbibm-tasks.md` §2,
//! `methods.md` §3).
//!
//! 1. Z-score both sets by the reference's mean and unbiased std (optional, on by default).
//! 2. Label reference rows 0 and sample rows 1, reference first.
//! 3. Shuffled K-fold (5 folds) over the pooled rows ([`crate::kfold`]).
//! 4. Per fold, a fresh [`Mlp`] with scikit-learn `MLPClassifier` semantics and the same
//!    seed is trained on the training rows and scored on the test rows.
//! 5. The result is the mean of the fold scores (accuracy, or ROC AUC).
//!
//! The folds are trained in parallel with rayon; the result does not depend on the number
//! of threads.

use ndarray::{Array2, ArrayView2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::MetricsError;
use crate::check::check_pair;
use crate::kfold::kfold;
use crate::mlp::{Mlp, MlpConfig};
use crate::zscore::ZScore;

/// How a test fold is scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scoring {
    /// Fraction of test rows whose predicted class (probability > 0.5) is right
    /// (sbibm `c2st`, the paper's metric).
    #[default]
    Accuracy,
    /// Area under the ROC curve of the predicted class-1 probability, ties counted half
    /// (sbibm `c2st_auc`).
    RocAuc,
}

/// Numeric precision of the classifier kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// `f32` arithmetic (faster; the default, see `docs/metrics.md` for the measurement).
    #[default]
    F32,
    /// `f64` arithmetic, as scikit-learn uses for `f64` input.
    F64,
}

/// Settings of [`c2st`]; [`Default`] is sbibm's protocol.
#[derive(Debug, Clone)]
pub struct C2stConfig {
    /// Seed of the fold split, the initial weights and the batch order (sbibm: 1).
    pub seed: u64,
    /// Number of cross-validation folds (sbibm: 5).
    pub n_folds: usize,
    /// Z-score both sets by the reference first (sbibm: true).
    pub z_score: bool,
    /// Fold score (sbibm `c2st`: accuracy).
    pub scoring: Scoring,
    /// Classifier hyper-parameters (scikit-learn defaults, `max_iter` 10,000).
    pub mlp: MlpConfig,
    /// Arithmetic of the classifier kernel.
    pub precision: Precision,
}

impl Default for C2stConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            n_folds: 5,
            z_score: true,
            scoring: Scoring::Accuracy,
            mlp: MlpConfig::default(),
            precision: Precision::default(),
        }
    }
}

/// Classifier two-sample test (sbibm protocol, spec `sbibm-tasks.md` §2).
///
/// `reference: [n, d]` (label 0), `samples: [m, d]` (label 1). Returns the mean test-fold
/// score: about 0.5 when the two sets come from one distribution, 1 when they are
/// perfectly separable. Deterministic for a given `config.seed`.
///
/// Errors: an empty set, different widths, non-finite values, fewer than `n_folds` rows in
/// either set, a constant reference column with `z_score`, an invalid configuration, or
/// (ROC AUC) a test fold holding only one class.
pub fn c2st(
    reference: ArrayView2<f64>,
    samples: ArrayView2<f64>,
    config: &C2stConfig,
) -> Result<f64, MetricsError> {
    let d = check_pair(reference, samples)?;
    config.mlp.validate().map_err(MetricsError::InvalidConfig)?;
    let k = config.n_folds;
    if k < 2 {
        return Err(MetricsError::InvalidConfig(format!("n_folds must be at least 2, got {k}")));
    }
    for (which, rows) in [("reference", reference.nrows()), ("samples", samples.nrows())] {
        if rows < k {
            return Err(MetricsError::TooFewRows {
                which,
                rows,
                needed: k,
                reason: format!("{k}-fold cross-validation needs at least {k} rows in each set"),
            });
        }
    }
    let (n, m) = (reference.nrows(), samples.nrows());
    let mut data = Array2::<f64>::zeros((n + m, d));
    data.slice_axis_mut(ndarray::Axis(0), ndarray::Slice::from(..n)).assign(&reference);
    data.slice_axis_mut(ndarray::Axis(0), ndarray::Slice::from(n..)).assign(&samples);
    if config.z_score {
        let z = ZScore::fit(reference)?;
        data = z.apply(data.view());
    }
    let labels: Vec<f64> = (0..n + m).map(|i| f64::from(u8::from(i >= n))).collect();
    match config.precision {
        Precision::F32 => run::<f32>(data.view(), &labels, config),
        Precision::F64 => run::<f64>(data.view(), &labels, config),
    }
}

/// Cross-validates the classifier over the pooled, labelled rows.
fn run<F: crate::mlp::Real>(
    data: ArrayView2<f64>,
    labels: &[f64],
    config: &C2stConfig,
) -> Result<f64, MetricsError> {
    let x = data.mapv(F::from_f64);
    let y: Vec<F> = labels.iter().map(|&l| F::from_f64(l)).collect();
    let folds = kfold(labels.len(), config.n_folds, config.seed);
    let score_fold = |fold: &crate::kfold::Fold| {
        let x_train = x.select(ndarray::Axis(0), &fold.train);
        let y_train: Vec<F> = fold.train.iter().map(|&i| y[i]).collect();
        // Every fold's classifier starts from the same seed, like scikit-learn's
        // `random_state = seed` on each clone.
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let (net, _) = Mlp::fit(x_train.view(), &y_train, &config.mlp, &mut rng);
        let x_test = x.select(ndarray::Axis(0), &fold.test);
        let p = net.predict_proba(x_test.view());
        let y_test: Vec<bool> = fold.test.iter().map(|&i| labels[i] > 0.5).collect();
        match config.scoring {
            Scoring::Accuracy => {
                let right = p.iter().zip(&y_test).filter(|&(&p, &t)| (p > 0.5) == t).count();
                Ok(right as f64 / p.len() as f64)
            }
            Scoring::RocAuc => roc_auc(&p, &y_test).ok_or_else(|| MetricsError::TooFewRows {
                which: "reference + samples",
                rows: labels.len(),
                needed: 2 * config.n_folds,
                reason: "ROC AUC needs both classes in every test fold".into(),
            }),
        }
    };
    // One OS thread per fold rather than rayon's pool: with five folds on two cores a
    // pool runs three folds one after another on one core while the other idles for
    // the last one; the OS scheduler shares the cores between all five instead, so the
    // wall time is about the total CPU time over the cores (measured 10-D, 10k vs 10k on
    // 2 cores: docs/metrics.md). The result does not depend on the threads.
    let scores: Vec<Result<f64, MetricsError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = folds.iter().map(|fold| scope.spawn(|| score_fold(fold))).collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    });
    let mut sum = 0.0;
    for s in scores {
        sum += s?;
    }
    Ok(sum / config.n_folds as f64)
}

/// ROC AUC of scores `p` for labels `y` (Mann–Whitney U with ties counted half); `None`
/// when one class is absent.
pub(crate) fn roc_auc(p: &[f64], y: &[bool]) -> Option<f64> {
    let n_pos = y.iter().filter(|&&t| t).count();
    let n_neg = y.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    // Sum of the (average) ranks of the positives.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && p[order[j + 1]] == p[order[i]] {
            j += 1;
        }
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += avg_rank * order[i..=j].iter().filter(|&&k| y[k]).count() as f64;
        i = j + 1;
    }
    let u = rank_sum - (n_pos * (n_pos + 1)) as f64 / 2.0;
    Some(u / (n_pos as f64 * n_neg as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roc_auc_counts_pairs_and_ties() {
        // Perfect ranking, reversed ranking, and a direct pair count with ties.
        assert_eq!(roc_auc(&[0.1, 0.2, 0.8, 0.9], &[false, false, true, true]), Some(1.0));
        assert_eq!(roc_auc(&[0.9, 0.8, 0.2, 0.1], &[false, false, true, true]), Some(0.0));
        let p = [0.3, 0.5, 0.5, 0.7, 0.1, 0.5];
        let y = [false, true, false, true, false, true];
        let mut pairs = 0.0;
        for i in 0..6 {
            for j in 0..6 {
                if y[i] && !y[j] {
                    pairs += if p[i] > p[j] {
                        1.0
                    } else if p[i] == p[j] {
                        0.5
                    } else {
                        0.0
                    };
                }
            }
        }
        assert!((roc_auc(&p, &y).unwrap() - pairs / 9.0).abs() < 1e-15);
        assert_eq!(roc_auc(&[0.1, 0.2], &[true, true]), None);
    }
}
