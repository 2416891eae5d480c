//! MMD against direct O(n²) double loops (spec `sbibm-tasks.md` §3, `methods.md` §3),
//! exact properties, and bad input.

use ndarray::{Array2, ArrayView2, Axis, Slice};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use sbi_metrics::{BAYESFLOW_GAUSSIAN_SCALES, MetricsError, MmdKernel, bayesflow_imq_scales, mmd};

fn normal(rng: &mut ChaCha8Rng, n: usize, d: usize, shift: f64, scale: f64) -> Array2<f64> {
    Array2::from_shape_fn((n, d), |_| shift + scale * rng.sample::<f64, _>(StandardNormal))
}

fn sq(a: ArrayView2<f64>, i: usize, b: ArrayView2<f64>, j: usize) -> f64 {
    a.row(i).iter().zip(b.row(j).iter()).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Mean of `k` over all pairs (`skip_diagonal`: over `i ≠ j`).
fn mean_k(a: ArrayView2<f64>, b: ArrayView2<f64>, skip_diagonal: bool, k: &dyn Fn(f64) -> f64) -> f64 {
    let (mut sum, mut count) = (0.0, 0.0);
    for i in 0..a.nrows() {
        for j in 0..b.nrows() {
            if skip_diagonal && i == j {
                continue;
            }
            sum += k(sq(a, i, b, j));
            count += 1.0;
        }
    }
    sum / count
}

/// sbibm's MMD, written directly from the spec: σ = torch.median(pdist(X)).
fn direct_sbibm(x: ArrayView2<f64>, y: ArrayView2<f64>) -> f64 {
    let mut dists = Vec::new();
    for i in 0..x.nrows() {
        for j in i + 1..x.nrows() {
            dists.push(sq(x, i, x, j).sqrt());
        }
    }
    dists.sort_by(f64::total_cmp);
    let sigma = dists[(dists.len() - 1) / 2];
    let k = |d2: f64| (-d2 / (2.0 * sigma * sigma)).exp();
    mean_k(x, x, true, &k) + mean_k(y, y, true, &k) - 2.0 * mean_k(x, y, false, &k)
}

/// BayesFlow's biased MMD clipped at 0 with kernel `k`.
fn direct_biased(x: ArrayView2<f64>, y: ArrayView2<f64>, k: &dyn Fn(f64) -> f64) -> f64 {
    (mean_k(x, x, false, k) + mean_k(y, y, false, k) - 2.0 * mean_k(x, y, false, k)).max(0.0)
}

fn bf_gauss(d2: f64) -> f64 {
    BAYESFLOW_GAUSSIAN_SCALES.iter().map(|s| (-d2 / (2.0 * s)).exp()).sum()
}

fn bf_imq(d2: f64) -> f64 {
    bayesflow_imq_scales().iter().map(|s| s / (d2 + s)).sum()
}

fn assert_rel(got: f64, want: f64, tol: f64, what: &str) {
    assert!((got - want).abs() <= tol * want.abs(), "{what}: {got:e} vs direct {want:e}");
}

#[test]
fn all_kernels_match_direct_double_loops() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    // Sizes straddle the 256-column blocks and the 8-row tasks; widths 1, 2, 5 and 12;
    // distances from far below to far above 1 so every scale of the mixtures matters.
    let cases =
        [(37, 29, 1, 0.5, 0.01), (300, 260, 2, 0.3, 1.0), (130, 170, 5, 1.0, 0.1), (90, 120, 12, 0.0, 3.0)];
    for &(n, m, d, shift, scale) in &cases {
        let x = normal(&mut rng, n, d, 0.0, scale);
        let y = normal(&mut rng, m, d, shift * scale, 1.3 * scale);
        let what = format!("n={n} m={m} d={d}");
        assert_rel(
            mmd(x.view(), y.view(), MmdKernel::Sbibm).unwrap(),
            direct_sbibm(x.view(), y.view()),
            1e-9,
            &what,
        );
        let (got, want) = (
            mmd(x.view(), y.view(), MmdKernel::BayesflowGaussian).unwrap(),
            direct_biased(x.view(), y.view(), &bf_gauss),
        );
        assert!(want > 0.0);
        assert_rel(got, want, 1e-9, &what);
        let (got, want) = (
            mmd(x.view(), y.view(), MmdKernel::BayesflowImq).unwrap(),
            direct_biased(x.view(), y.view(), &bf_imq),
        );
        assert!(want > 0.0);
        assert_rel(got, want, 1e-9, &what);
    }
}

#[test]
fn near_duplicate_points_keep_the_small_scales_exact() {
    // Points 1e-4 apart exercise the σ = 1e-6 … 1e-2 terms of the Gaussian mixture.
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let x = normal(&mut rng, 60, 2, 0.0, 1e-3);
    let y = normal(&mut rng, 50, 2, 5e-4, 1e-3);
    let (got, want) = (
        mmd(x.view(), y.view(), MmdKernel::BayesflowGaussian).unwrap(),
        direct_biased(x.view(), y.view(), &bf_gauss),
    );
    assert_rel(got, want, 1e-9, "near duplicates");
}

#[test]
fn mixed_near_and_far_points_match_the_direct_loop() {
    // Clusters 1e-3 wide mixed with points ~50 apart: chunks of squared distances hold
    // both near-duplicates (the whole e chain of the Gaussian mixture matters) and
    // s = d²/2 above 3000 (the general path), and chunks of moderate distances take the
    // shortened chain.
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let mixed = |rng: &mut ChaCha8Rng, n: usize, shift: f64| {
        Array2::from_shape_fn((n, 2), |(i, _)| {
            let z: f64 = rng.sample(StandardNormal);
            match i % 3 {
                0 => shift + 1e-3 * z,
                1 => shift + 50.0 * z,
                _ => shift + z,
            }
        })
    };
    let x = mixed(&mut rng, 70, 0.0);
    let y = mixed(&mut rng, 55, 0.2);
    for (kernel, k) in
        [(MmdKernel::BayesflowGaussian, &bf_gauss as &dyn Fn(f64) -> f64), (MmdKernel::BayesflowImq, &bf_imq)]
    {
        let (got, want) = (mmd(x.view(), y.view(), kernel).unwrap(), direct_biased(x.view(), y.view(), k));
        assert!(want > 0.0);
        assert_rel(got, want, 1e-9, &format!("{kernel:?}, mixed scales"));
    }
}

#[test]
fn identical_sets() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let x = normal(&mut rng, 200, 3, 0.0, 1.0);
    // Biased MMD² of a set with itself is exactly 0 mathematically; in floating point the
    // three sums differ only by rounding, and the clip keeps it non-negative.
    for k in [MmdKernel::BayesflowGaussian, MmdKernel::BayesflowImq] {
        let v = mmd(x.view(), x.view(), k).unwrap();
        assert!((0.0..1e-13).contains(&v), "{k:?}: {v:e}");
    }
    // The unbiased estimator with Y = X: 2·mean_{i≠j} k − 2·mean_{all} k
    // = 2·(S − n)/(n(n−1)) − 2·S/n² for S = Σ_{all} k, which is negative.
    let v = mmd(x.view(), x.view(), MmdKernel::Sbibm).unwrap();
    assert!(v < 0.0);
    assert_rel(v, direct_sbibm(x.view(), x.view()), 1e-9, "sbibm X vs X");
}

#[test]
fn larger_sets_agree_with_the_direct_loops_and_are_thread_count_independent() {
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    let x = normal(&mut rng, 1100, 3, 0.0, 1.0);
    let y = normal(&mut rng, 900, 3, 0.1, 1.0);
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let three = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
    for k in [MmdKernel::Sbibm, MmdKernel::BayesflowGaussian, MmdKernel::BayesflowImq] {
        let a = one.install(|| mmd(x.view(), y.view(), k).unwrap());
        let b = three.install(|| mmd(x.view(), y.view(), k).unwrap());
        assert_eq!(a.to_bits(), b.to_bits(), "{k:?}");
        let want = match k {
            MmdKernel::Sbibm => direct_sbibm(x.view(), y.view()),
            MmdKernel::BayesflowGaussian => direct_biased(x.view(), y.view(), &bf_gauss),
            MmdKernel::BayesflowImq => direct_biased(x.view(), y.view(), &bf_imq),
        };
        assert_rel(a, want, 1e-6, &format!("{k:?}"));
    }
}

#[test]
fn grows_with_the_shift() {
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let x = normal(&mut rng, 400, 2, 0.0, 1.0);
    for k in [MmdKernel::Sbibm, MmdKernel::BayesflowGaussian, MmdKernel::BayesflowImq] {
        let vals: Vec<f64> = [0.0, 0.5, 1.0, 3.0]
            .iter()
            .map(|&s| {
                let y = normal(&mut ChaCha8Rng::seed_from_u64(13), 400, 2, s, 1.0);
                mmd(x.view(), y.view(), k).unwrap()
            })
            .collect();
        assert!(vals.windows(2).all(|w| w[0] < w[1]), "{k:?}: {vals:?}");
    }
}

#[test]
fn parses_kernel_names() {
    assert_eq!("sbibm".parse::<MmdKernel>().unwrap(), MmdKernel::Sbibm);
    assert_eq!("bayesflow-gaussian".parse::<MmdKernel>().unwrap(), MmdKernel::BayesflowGaussian);
    assert_eq!("bayesflow-imq".parse::<MmdKernel>().unwrap(), MmdKernel::BayesflowImq);
    let err = "gauss".parse::<MmdKernel>().unwrap_err();
    assert!(matches!(err, MetricsError::InvalidConfig(_)));
    assert!(err.to_string().contains("gauss"));
}

#[test]
fn bad_input_is_a_clear_error() {
    let mut rng = ChaCha8Rng::seed_from_u64(14);
    let x = normal(&mut rng, 20, 3, 0.0, 1.0);
    for k in [MmdKernel::Sbibm, MmdKernel::BayesflowGaussian, MmdKernel::BayesflowImq] {
        // Different widths.
        let y = normal(&mut rng, 20, 2, 0.0, 1.0);
        assert_eq!(
            mmd(x.view(), y.view(), k).unwrap_err(),
            MetricsError::WidthMismatch { reference: 3, samples: 2 }
        );
        // Non-finite values: count and first position.
        let mut y = normal(&mut rng, 20, 3, 0.0, 1.0);
        y[[4, 2]] = f64::NAN;
        y[[7, 0]] = f64::INFINITY;
        y[[7, 1]] = f64::NEG_INFINITY;
        let err = mmd(x.view(), y.view(), k).unwrap_err();
        assert_eq!(err, MetricsError::NonFinite { which: "samples", count: 3, first_row: 4, first_col: 2 });
        assert!(err.to_string().contains("3 non-finite") && err.to_string().contains("row 4, column 2"));
        let mut xb = x.clone();
        xb[[0, 0]] = f64::NAN;
        assert!(matches!(
            mmd(xb.view(), x.view(), k).unwrap_err(),
            MetricsError::NonFinite { which: "reference", count: 1, first_row: 0, first_col: 0 }
        ));
        // Empty sets.
        let empty = Array2::<f64>::zeros((0, 3));
        assert_eq!(
            mmd(empty.view(), x.view(), k).unwrap_err(),
            MetricsError::Empty { which: "reference", rows: 0, cols: 3 }
        );
        let no_cols = Array2::<f64>::zeros((5, 0));
        assert!(matches!(
            mmd(x.view(), no_cols.view(), k).unwrap_err(),
            MetricsError::Empty { which: "samples", .. }
        ));
    }
    // The unbiased estimator needs two rows per set; the biased ones work with one.
    let one = x.slice_axis(Axis(0), Slice::from(..1));
    assert!(matches!(
        mmd(x.view(), one, MmdKernel::Sbibm).unwrap_err(),
        MetricsError::TooFewRows { which: "samples", rows: 1, needed: 2, .. }
    ));
    assert!(mmd(x.view(), one, MmdKernel::BayesflowImq).unwrap() > 0.0);
    // A reference whose pairwise distances are mostly 0 has no median bandwidth.
    let constant = Array2::<f64>::from_elem((10, 3), 2.5);
    let err = mmd(constant.view(), x.view(), MmdKernel::Sbibm).unwrap_err();
    assert!(matches!(err, MetricsError::InvalidConfig(_)) && err.to_string().contains("median"));
}
