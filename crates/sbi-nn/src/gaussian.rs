//! Diagonal Gaussians: negative log-likelihood and reparameterised sampling.

use burn::tensor::Tensor;

/// `ln(2π)`.
pub const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// A batch of diagonal Gaussians `N(mean, diag(exp(log_var)))`, one per row.
///
/// `mean: [n, d]`, `log_var: [n, d]`. This is what a Gaussian head outputs
/// (spec `methods.md`, notation: "a mean and a log-variance per dimension").
#[derive(Clone, Debug)]
pub struct DiagGaussian {
    /// Means, `[n, d]`.
    pub mean: Tensor<2>,
    /// Log-variances, `[n, d]`.
    pub log_var: Tensor<2>,
}

impl DiagGaussian {
    /// Wraps a mean and a log-variance of equal shape `[n, d]`.
    pub fn new(mean: Tensor<2>, log_var: Tensor<2>) -> Self {
        Self { mean, log_var }
    }

    /// `[n, d]`.
    pub fn dims(&self) -> [usize; 2] {
        self.mean.dims()
    }

    /// Standard deviations `exp(log_var / 2)`, `[n, d]`.
    pub fn std(&self) -> Tensor<2> {
        self.log_var.clone().mul_scalar(0.5).exp()
    }

    /// Negative log-density of `x: [n, d]` under row `i`'s Gaussian, summed over
    /// dimensions: `[n]`, with
    /// `−log N(x; μ, σ²) = ½ Σ_j [ln 2π + log σ²_j + (x_j − μ_j)² / σ²_j]`
    /// (spec `methods.md` §1, the decoder term of the CP-VAE/UP-VAE losses).
    pub fn nll(&self, x: Tensor<2>) -> Tensor<1> {
        let [_, d] = self.dims();
        let quad = (x - self.mean.clone()).square() * self.log_var.clone().neg().exp();
        (quad + self.log_var.clone())
            .sum_dim(1)
            .squeeze_dim::<1>(1)
            .mul_scalar(0.5)
            .add_scalar(0.5 * LN_2PI * d as f64)
    }

    /// Reparameterised draw `μ + σ ⊙ ε` for standard-normal noise `eps: [n, d]`
    /// (differentiable in `μ` and `log σ²`): `[n, d]`.
    pub fn rsample(&self, eps: Tensor<2>) -> Tensor<2> {
        self.mean.clone() + self.std() * eps
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{assert_close, devices, tensor2, to_vec};

    #[test]
    fn ln_2pi_constant() {
        assert!((LN_2PI - (2.0 * std::f64::consts::PI).ln()).abs() < 1e-15);
    }

    #[test]
    fn nll_matches_hand_computed_values() {
        for dev in devices() {
            // Row 0: N(1, 4) at x = 2 (1-D): ½(ln 2π + ln 4 + 1/4) = 1.737085713...
            // Row 1: N(0, 1) at x = 0: ½ ln 2π = 0.918938533...
            let g = DiagGaussian::new(
                tensor2(&[1.0, 0.0], [2, 1], &dev),
                tensor2(&[4f32.ln(), 0.0], [2, 1], &dev),
            );
            let nll = to_vec(g.nll(tensor2(&[2.0, 0.0], [2, 1], &dev)));
            assert_close(&nll, &[1.737_085_713_7, 0.918_938_533_2], 1e-5);
        }
    }

    #[test]
    fn nll_sums_over_dimensions() {
        for dev in devices() {
            // 2-D: N((1, -1), diag(4, 0.25)) at (2, 0):
            // dim 0: 1.737085714; dim 1: ½(ln 2π + ln 0.25 + 1/0.25) = ½(1.837877 − 1.386294 + 4) = 2.225791352
            let g = DiagGaussian::new(
                tensor2(&[1.0, -1.0], [1, 2], &dev),
                tensor2(&[4f32.ln(), 0.25f32.ln()], [1, 2], &dev),
            );
            let nll = to_vec(g.nll(tensor2(&[2.0, 0.0], [1, 2], &dev)));
            assert_close(&nll, &[1.737_085_713_7 + 2.225_791_352_5], 1e-5);
        }
    }

    #[test]
    fn rsample_is_mean_plus_std_times_eps() {
        for dev in devices() {
            let g = DiagGaussian::new(
                tensor2(&[1.0, -2.0], [1, 2], &dev),
                tensor2(&[4f32.ln(), 0.0], [1, 2], &dev),
            );
            let z = to_vec(g.rsample(tensor2(&[0.5, -1.5], [1, 2], &dev)));
            assert_close(&z, &[2.0, -3.5], 1e-6);
            assert_close(&to_vec(g.std()), &[2.0, 1.0], 1e-6);
        }
    }
}
