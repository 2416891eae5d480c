//! Property tests over every task that `task_by_name` builds (tasks still
//! missing from the registry are skipped, so new tasks are picked up as they
//! land): priors, simulators and input validation (spec §0, §1).

use ndarray::{Array1, Array2};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sbi_sim::prelude::*;

/// The registered tasks.
fn tasks() -> Vec<Box<dyn Task>> {
    let tasks: Vec<_> = TASK_NAMES.iter().filter_map(|n| task_by_name(n).ok()).collect();
    assert!(!tasks.is_empty(), "no task is registered");
    tasks
}

/// Points outside the prior's support derived from a sample `theta: [d]`:
/// for a box, each coordinate just beyond either bound; otherwise each
/// coordinate set to −1 (outside a log-normal's (0, ∞)) when the prior says
/// that point is outside its support.
fn outside_points(prior: &dyn Prior, theta: &Array1<f64>) -> Vec<Array1<f64>> {
    let mut out = Vec::new();
    if let Some((lo, hi)) = prior.bounds() {
        for j in 0..theta.len() {
            let eps = 1e-9 * (hi[j] - lo[j]);
            let mut a = theta.clone();
            a[j] = hi[j] + eps;
            out.push(a);
            let mut b = theta.clone();
            b[j] = lo[j] - eps;
            out.push(b);
        }
    } else {
        for j in 0..theta.len() {
            let mut a = theta.clone();
            a[j] = -1.0;
            if !prior.in_support(a.view()) {
                out.push(a);
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Prior draws lie in the support with a finite log-density; points just
    /// outside a box (or negative values for a log-normal) have log-density −∞,
    /// and `log_prob` is −∞ exactly where `in_support` is false.
    #[test]
    fn prior_support_and_log_prob(seed in any::<u64>(), n in 1usize..6) {
        for task in tasks() {
            let prior = task.prior();
            let theta = prior.sample(n, &mut ChaCha8Rng::seed_from_u64(seed));
            prop_assert_eq!(theta.dim(), (n, task.theta_dim()));
            let lp = prior.log_prob(theta.view()).unwrap();
            for (row, l) in theta.rows().into_iter().zip(lp.iter()) {
                prop_assert!(prior.in_support(row), "{}: draw {} outside support", task.name(), row);
                prop_assert!(l.is_finite(), "{}: log_prob {} at {}", task.name(), l, row);
            }
            let row0 = theta.row(0).to_owned();
            let outside = outside_points(prior, &row0);
            if prior.bounds().is_some() {
                prop_assert_eq!(outside.len(), 2 * task.theta_dim());
            }
            for p in outside {
                prop_assert!(!prior.in_support(p.view()));
                let l = prior.log_prob(p.view().insert_axis(ndarray::Axis(0))).unwrap()[0];
                prop_assert_eq!(l, f64::NEG_INFINITY, "{}: log_prob at {}", task.name(), p);
            }
        }
    }

    /// The simulator returns `[n, d_x]`, the same output for the same seed, and
    /// the same output in a one-thread pool as in the default pool.
    #[test]
    fn simulator_shape_and_determinism(seed in any::<u64>(), n in 1usize..5) {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        for task in tasks() {
            let theta = task.prior().sample(n, &mut ChaCha8Rng::seed_from_u64(seed));
            let sim = task.simulator();
            let a = sim.simulate(theta.view(), &mut ChaCha8Rng::seed_from_u64(seed ^ 1)).unwrap();
            prop_assert_eq!(a.dim(), (n, task.x_dim()));
            let b = sim.simulate(theta.view(), &mut ChaCha8Rng::seed_from_u64(seed ^ 1)).unwrap();
            let c = pool.install(|| sim.simulate(theta.view(), &mut ChaCha8Rng::seed_from_u64(seed ^ 1)).unwrap());
            // Bitwise equality, NaN rows (failed simulations) included.
            let bits = |x: &Array2<f64>| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            prop_assert_eq!(bits(&a), bits(&b), "{}: not reproducible", task.name());
            prop_assert_eq!(bits(&a), bits(&c), "{}: depends on the thread count", task.name());
        }
    }

    /// A wrong θ width or a NaN entry is an error (not a panic) for the
    /// simulator, the prior and the log-likelihood.
    #[test]
    fn bad_theta_is_an_error(seed in any::<u64>(), extra in 1usize..3, col in 0usize..10) {
        for task in tasks() {
            let d = task.theta_dim();
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let theta = task.prior().sample(2, &mut rng);
            let wide = Array2::<f64>::zeros((2, d + extra));
            let mut nan = theta.clone();
            nan[(1, col % d)] = f64::NAN;
            let x_o = task.observation(1).unwrap();
            for bad in [&wide, &nan] {
                prop_assert!(task.simulator().simulate(bad.view(), &mut rng).is_err(), "{}", task.name());
                prop_assert!(task.prior().log_prob(bad.view()).is_err(), "{}", task.name());
                if let Some(r) = task.log_likelihood(bad.view(), x_o.view()) {
                    prop_assert!(r.is_err(), "{}: log_likelihood accepted bad θ", task.name());
                }
            }
            if d > 1 {
                let narrow = Array2::<f64>::zeros((2, d - 1));
                prop_assert!(task.simulator().simulate(narrow.view(), &mut rng).is_err());
            }
        }
    }
}

/// Observations are numbered 1..=10: 0 and 11 are errors everywhere; 1..=10
/// have the advertised widths.
#[test]
fn observation_numbers_are_checked() {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    for task in tasks() {
        assert_eq!(task.num_observations(), 10);
        for k in [0, 11] {
            assert!(task.observation(k).is_err(), "{} observation {k}", task.name());
            assert!(task.true_parameters(k).is_err(), "{} true_parameters {k}", task.name());
            assert!(task.reference_posterior(k, 10, &mut rng).is_err(), "{} reference {k}", task.name());
        }
        for k in 1..=10 {
            assert_eq!(task.observation(k).unwrap().len(), task.x_dim(), "{} obs {k}", task.name());
            let theta = task.true_parameters(k).unwrap();
            assert_eq!(theta.len(), task.theta_dim(), "{} obs {k}", task.name());
            assert!(
                task.prior().in_support(theta.view()),
                "{}: true parameter {k} outside prior",
                task.name()
            );
        }
    }
}
