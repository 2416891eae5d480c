//! Analytic KL divergences between diagonal Gaussians.

use burn::tensor::Tensor;

use crate::DiagGaussian;

/// `KL(q ‖ p)` per row between diagonal Gaussians `q, p` of shape `[n, d]`: `[n]`.
///
/// Summed over dimensions (spec `methods.md` §1, the CP-VAE term
/// `KL(q_φ(z|θ,x) ‖ p_ψ(z|x))`):
/// `½ Σ_j [log σ²_p − log σ²_q + (σ²_q + (μ_q − μ_p)²) / σ²_p − 1]`.
pub fn kl_diag(q: &DiagGaussian, p: &DiagGaussian) -> Tensor<1> {
    let diff2 = (q.mean.clone() - p.mean.clone()).square();
    let ratio = (q.log_var.clone().exp() + diff2) * p.log_var.clone().neg().exp();
    (p.log_var.clone() - q.log_var.clone() + ratio)
        .sub_scalar(1.0)
        .sum_dim(1)
        .squeeze_dim::<1>(1)
        .mul_scalar(0.5)
}

/// `KL(q ‖ N(0, I))` per row for a diagonal Gaussian `q` of shape `[n, d]`: `[n]`.
///
/// Summed over dimensions (spec `methods.md` §1, the UP-VAE term):
/// `½ Σ_j [σ²_j + μ²_j − 1 − log σ²_j]`.
pub fn kl_std_normal(q: &DiagGaussian) -> Tensor<1> {
    (q.log_var.clone().exp() + q.mean.clone().square() - q.log_var.clone())
        .sub_scalar(1.0)
        .sum_dim(1)
        .squeeze_dim::<1>(1)
        .mul_scalar(0.5)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{assert_close, devices, tensor2, to_vec};

    /// The textbook form, per dimension: `log(σ2/σ1) + (σ1² + (μ1−μ2)²)/(2σ2²) − ½`.
    fn kl_1d(m1: f64, s1: f64, m2: f64, s2: f64) -> f64 {
        (s2 / s1).ln() + (s1 * s1 + (m1 - m2).powi(2)) / (2.0 * s2 * s2) - 0.5
    }

    fn gauss(means: &[f32], stds: &[f32], shape: [usize; 2], dev: &burn::tensor::Device) -> DiagGaussian {
        let lv: Vec<f32> = stds.iter().map(|s| 2.0 * s.ln()).collect();
        DiagGaussian::new(tensor2(means, shape, dev), tensor2(&lv, shape, dev))
    }

    #[test]
    fn kl_of_two_1d_gaussians_by_hand() {
        // KL(N(1, 0.5²) ‖ N(−0.5, 2²)) = ln 4 + (0.25 + 2.25)/8 − ½ = 1.386294361 + 0.3125 − 0.5.
        assert!((kl_1d(1.0, 0.5, -0.5, 2.0) - 1.198_794_361_1).abs() < 1e-9);
        for dev in devices() {
            let q = gauss(&[1.0], &[0.5], [1, 1], &dev);
            let p = gauss(&[-0.5], &[2.0], [1, 1], &dev);
            assert_close(&to_vec(kl_diag(&q, &p)), &[1.198_794_361_1], 1e-5);
        }
    }

    #[test]
    fn kl_sums_dimensions_and_is_per_row() {
        for dev in devices() {
            // Row 0: dims (1, 0.5 ‖ −0.5, 2) and (0, 1 ‖ 0, 1) → 1.198794361 + 0.
            // Row 1: dims (2, 1 ‖ 0, 1) → 2; (0, 3 ‖ 1, 1.5) → ln 0.5 + (9 + 1)/4.5 − ½.
            let q = gauss(&[1.0, 0.0, 2.0, 0.0], &[0.5, 1.0, 1.0, 3.0], [2, 2], &dev);
            let p = gauss(&[-0.5, 0.0, 0.0, 1.0], &[2.0, 1.0, 1.0, 1.5], [2, 2], &dev);
            let want = [
                kl_1d(1.0, 0.5, -0.5, 2.0) + kl_1d(0.0, 1.0, 0.0, 1.0),
                kl_1d(2.0, 1.0, 0.0, 1.0) + kl_1d(0.0, 3.0, 1.0, 1.5),
            ];
            assert!((want[1] - (2.0 + 0.5f64.ln() + 10.0 / 4.5 - 0.5)).abs() < 1e-12);
            assert_close(&to_vec(kl_diag(&q, &p)), &want, 1e-5);
        }
    }

    #[test]
    fn kl_of_identical_gaussians_is_zero() {
        for dev in devices() {
            let q = gauss(&[0.3, -1.2, 4.0], &[0.1, 2.0, 1.0], [1, 3], &dev);
            assert_close(&to_vec(kl_diag(&q, &q.clone())), &[0.0], 1e-6);
        }
    }

    #[test]
    fn kl_against_standard_normal_by_hand() {
        for dev in devices() {
            // Row 0: N(1, 0.5²): ½(0.25 + 1 − 1 − ln 0.25) = 0.818147181;
            // Row 1: N(0, 1): 0.
            let q = gauss(&[1.0, 0.0], &[0.5, 1.0], [2, 1], &dev);
            let got = to_vec(kl_std_normal(&q));
            assert_close(&got, &[0.818_147_180_6, 0.0], 1e-5);
            assert!((kl_1d(1.0, 0.5, 0.0, 1.0) - 0.818_147_180_6).abs() < 1e-9);
            // Agrees with the general form against an explicit N(0, I).
            let p = gauss(&[0.0, 0.0], &[1.0, 1.0], [2, 1], &dev);
            assert_close(&got, &to_vec(kl_diag(&q, &p)), 1e-6);
        }
    }
}
