//! C2ST (sbibm protocol, spec `sbibm-tasks.md` §2): statistical behaviour, exact
//! invariances, determinism, and bad input.

use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use sbi_metrics::{C2stConfig, MetricsError, MlpConfig, Precision, Scoring, c2st};

fn normal(seed: u64, n: usize, d: usize, shift: f64) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_fn((n, d), |_| shift + rng.sample::<f64, _>(StandardNormal))
}

#[test]
fn identical_distributions_give_about_one_half() {
    // 2,000 test predictions in all: the accuracy of a chance-level classifier has sd ≈ 0.011;
    // the tolerance 0.05 allows for that and for the overfitting noise of the protocol.
    let (x, y) = (normal(1, 1000, 2, 0.0), normal(2, 1000, 2, 0.0));
    let acc = c2st(x.view(), y.view(), &C2stConfig::default()).unwrap();
    assert!((acc - 0.5).abs() < 0.05, "accuracy {acc}");
    let config = C2stConfig { scoring: Scoring::RocAuc, ..Default::default() };
    let auc = c2st(x.view(), y.view(), &config).unwrap();
    assert!((auc - 0.5).abs() < 0.05, "AUC {auc}");
}

#[test]
fn separated_distributions_give_one() {
    let (x, y) = (normal(3, 300, 3, 0.0), normal(4, 300, 3, 8.0));
    assert_eq!(c2st(x.view(), y.view(), &C2stConfig::default()).unwrap(), 1.0);
    let config = C2stConfig { scoring: Scoring::RocAuc, z_score: false, ..Default::default() };
    assert_eq!(c2st(x.view(), y.view(), &config).unwrap(), 1.0);
}

#[test]
fn a_shift_is_detected_in_proportion() {
    // Shift 1 along one axis of a 2-D standard normal: the Bayes accuracy is Φ(0.5) ≈ 0.69.
    let (x, y) = (normal(5, 1500, 2, 0.0), normal(6, 1500, 2, 0.0));
    let mut y = y;
    y.column_mut(0).mapv_inplace(|v| v + 1.0);
    let acc = c2st(x.view(), y.view(), &C2stConfig::default()).unwrap();
    assert!((acc - 0.691).abs() < 0.04, "accuracy {acc}");
}

#[test]
fn deterministic_per_seed_and_independent_of_thread_count() {
    let (x, mut y) = (normal(7, 400, 2, 0.0), normal(8, 400, 2, 0.0));
    y.column_mut(1).mapv_inplace(|v| 0.7 * v);
    let config = C2stConfig::default();
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let a = one.install(|| c2st(x.view(), y.view(), &config).unwrap());
    let b = c2st(x.view(), y.view(), &config).unwrap();
    assert_eq!(a.to_bits(), b.to_bits());
    let others: Vec<f64> = (2..5)
        .map(|seed| c2st(x.view(), y.view(), &C2stConfig { seed, ..C2stConfig::default() }).unwrap())
        .collect();
    assert!(others.iter().any(|&v| v != a), "seeds 1–4 all gave {a}");
}

#[test]
fn z_scoring_makes_it_invariant_to_a_common_scale() {
    // Scaling both sets by 2 scales the reference mean and std by 2 exactly, so the
    // z-scored data, and hence the whole computation, are bit-identical.
    let (x, y) = (normal(9, 300, 2, 0.0), normal(10, 300, 2, 0.4));
    let base = c2st(x.view(), y.view(), &C2stConfig::default()).unwrap();
    let scaled = c2st((&x * 2.0).view(), (&y * 2.0).view(), &C2stConfig::default()).unwrap();
    assert_eq!(base.to_bits(), scaled.to_bits());
    // Without z-scoring, data on a scale of 1e3 train differently.
    let config = C2stConfig { z_score: false, ..Default::default() };
    let raw = c2st((&x * 1e3).view(), (&y * 1e3).view(), &config).unwrap();
    assert_ne!(raw, base);
}

#[test]
fn f32_and_f64_kernels_agree_statistically() {
    let (x, y) = (normal(11, 800, 2, 0.0), normal(12, 800, 2, 0.5));
    let a = c2st(x.view(), y.view(), &C2stConfig::default()).unwrap();
    let b =
        c2st(x.view(), y.view(), &C2stConfig { precision: Precision::F64, ..Default::default() }).unwrap();
    assert!((a - b).abs() < 0.02, "f32 {a} vs f64 {b}");
}

#[test]
fn bad_input_is_a_clear_error() {
    let x = normal(13, 20, 3, 0.0);
    let config = C2stConfig::default();
    // Different widths.
    let y = normal(14, 20, 2, 0.0);
    let err = c2st(x.view(), y.view(), &config).unwrap_err();
    assert_eq!(err, MetricsError::WidthMismatch { reference: 3, samples: 2 });
    assert!(err.to_string().contains("3 columns") && err.to_string().contains("has 2"));
    // Too few rows for 5 folds.
    let y4 = normal(14, 4, 3, 0.0);
    let err = c2st(x.view(), y4.view(), &config).unwrap_err();
    assert!(matches!(err, MetricsError::TooFewRows { which: "samples", rows: 4, needed: 5, .. }), "{err}");
    assert!(err.to_string().contains("5-fold"));
    // Non-finite values, with their count and first position.
    let mut y = normal(15, 20, 3, 0.0);
    y[[3, 1]] = f64::NAN;
    y[[9, 0]] = f64::INFINITY;
    let err = c2st(x.view(), y.view(), &config).unwrap_err();
    assert_eq!(err, MetricsError::NonFinite { which: "samples", count: 2, first_row: 3, first_col: 1 });
    // Empty input.
    let empty = Array2::<f64>::zeros((0, 3));
    assert_eq!(
        c2st(empty.view(), x.view(), &config).unwrap_err(),
        MetricsError::Empty { which: "reference", rows: 0, cols: 3 }
    );
    // A constant reference column cannot be z-scored, but works without z-scoring.
    let mut xc = x.clone();
    xc.column_mut(2).fill(1.0);
    assert_eq!(c2st(xc.view(), x.view(), &config).unwrap_err(), MetricsError::ZeroStd { column: 2 });
    assert!(c2st(xc.view(), x.view(), &C2stConfig { z_score: false, ..Default::default() }).is_ok());
    // Invalid configurations.
    for bad in [
        C2stConfig { n_folds: 1, ..Default::default() },
        C2stConfig { mlp: MlpConfig { alpha: -1.0, ..Default::default() }, ..Default::default() },
        C2stConfig {
            mlp: MlpConfig { hidden: Some(vec![10, 0]), ..Default::default() },
            ..Default::default()
        },
        C2stConfig { mlp: MlpConfig { learning_rate: f64::NAN, ..Default::default() }, ..Default::default() },
        C2stConfig { mlp: MlpConfig { beta2: 1.0, ..Default::default() }, ..Default::default() },
    ] {
        assert!(matches!(c2st(x.view(), x.view(), &bad).unwrap_err(), MetricsError::InvalidConfig(_)));
    }
}

#[test]
fn roc_auc_reports_folds_with_one_class() {
    // 5 + 5 rows in 5 folds: test folds of 2 rows, some of which hold one class only.
    let (x, y) = (normal(16, 5, 2, 0.0), normal(17, 5, 2, 3.0));
    let mut errors = 0;
    for seed in 1..=20 {
        let config = C2stConfig { seed, scoring: Scoring::RocAuc, ..Default::default() };
        match c2st(x.view(), y.view(), &config) {
            Ok(v) => assert!((0.0..=1.0).contains(&v)),
            Err(e) => {
                assert!(
                    matches!(e, MetricsError::TooFewRows { .. }) && e.to_string().contains("both classes"),
                    "{e}"
                );
                errors += 1;
            }
        }
    }
    assert!(errors > 0);
}

#[test]
fn small_hidden_layers_and_batches_are_honoured() {
    // One hidden layer of 3 units and batches of 7 rows still separate far-apart sets.
    let (x, y) = (normal(18, 60, 4, 0.0), normal(19, 60, 4, 6.0));
    let config = C2stConfig {
        mlp: MlpConfig { hidden: Some(vec![3]), batch_size: Some(7), ..Default::default() },
        ..Default::default()
    };
    assert_eq!(c2st(x.view(), y.view(), &config).unwrap(), 1.0);
}
