//! Multinomial resampling from log-weights (importance resampling on the host).

use rand::{Rng, RngCore};

/// Draws `n` indices with replacement, index `i` with probability
/// `w_i / Σw` where `w_i = exp(log_w[i])` (computed stably, relative to the
/// maximum), by inverse-CDF lookup. Also returns the effective sample size
/// `(Σw)² / Σw²` ∈ `[1, len]`.
///
/// `log_w` must be non-empty with at least one finite entry; `−∞` entries get
/// weight 0 and NaN entries are treated as `−∞`. Returns `None` otherwise.
pub fn resample_indices(log_w: &[f64], n: usize, rng: &mut dyn RngCore) -> Option<(Vec<usize>, f64)> {
    let max = log_w.iter().cloned().filter(|l| !l.is_nan()).fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        return None;
    }
    let w: Vec<f64> = log_w.iter().map(|l| if l.is_nan() { 0.0 } else { (l - max).exp() }).collect();
    let (sum, sum_sq) = w.iter().fold((0.0, 0.0), |(s, q), v| (s + v, q + v * v));
    let ess = sum * sum / sum_sq;
    let mut cdf = Vec::with_capacity(w.len());
    let mut acc = 0.0;
    for v in &w {
        acc += v / sum;
        cdf.push(acc);
    }
    // The maximum has weight 1, so a positive weight exists.
    let last = w.iter().rposition(|v| *v > 0.0).unwrap_or(0);
    let idx = (0..n)
        .map(|_| {
            let u: f64 = rng.random();
            // First index whose CDF exceeds u; rounding can leave the CDF's end slightly
            // below 1, so clamp to the last index of positive weight.
            cdf.partition_point(|c| *c <= u).min(last)
        })
        .collect();
    Some((idx, ess))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn frequencies_follow_the_weights() {
        // Weights ∝ (1, 3, 0): P = (0.25, 0.75, 0); ESS = 4² / (1 + 9) = 1.6 exactly.
        let log_w = [0.0, 3f64.ln(), f64::NEG_INFINITY];
        let (idx, ess) = resample_indices(&log_w, 20_000, &mut ChaCha8Rng::seed_from_u64(5)).unwrap();
        assert!((ess - 1.6).abs() < 1e-12, "ess {ess}");
        let f1 = idx.iter().filter(|i| **i == 1).count() as f64 / 20_000.0;
        // sd = sqrt(0.25 · 0.75 / 20000) ≈ 0.0031; 5-sigma bound.
        assert!((f1 - 0.75).abs() < 0.016, "f1 {f1}");
        assert!(!idx.contains(&2));
    }

    #[test]
    fn large_log_weights_do_not_overflow() {
        let (idx, ess) =
            resample_indices(&[1000.0, 1000.0], 1000, &mut ChaCha8Rng::seed_from_u64(6)).unwrap();
        assert!((ess - 2.0).abs() < 1e-12);
        let f0 = idx.iter().filter(|i| **i == 0).count() as f64 / 1000.0;
        assert!((f0 - 0.5).abs() < 0.08, "f0 {f0}"); // sd 0.016, 5 sigma
    }

    #[test]
    fn no_finite_weight_is_none() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        assert!(resample_indices(&[], 3, &mut rng).is_none());
        assert!(resample_indices(&[f64::NEG_INFINITY, f64::NAN], 3, &mut rng).is_none());
        let (idx, _) = resample_indices(&[f64::NAN, 0.0], 50, &mut rng).unwrap();
        assert!(idx.iter().all(|i| *i == 1));
    }
}
