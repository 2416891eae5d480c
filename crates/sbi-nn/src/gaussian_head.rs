//! Gaussian head: a linear layer giving a mean and a bounded log-variance per dimension.

use burn::config::Config;
use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::activation::softplus;
use burn::tensor::{Device, Tensor};
use rand::RngCore;

use crate::{DiagGaussian, NnError, seeded_linear};

/// Configuration of a [`GaussianHead`].
///
/// The log-variance is kept inside `(min_log_var, max_log_var)` by a *soft*
/// clamp (see [`soft_clamp`]): smooth, with a non-zero gradient everywhere,
/// and within `1e-4` of the identity more than 9 units away from either bound.
/// The defaults `[-12, 8]` bound the standard deviation to
/// `[e^-6, e^4] ≈ [2.5e-3, 54.6]` in z-scored units: the floor keeps `1/σ²`
/// finite in the likelihood (no collapse onto a training point), and is low
/// enough for posteriors ~100× narrower than the prior (e.g. two-moons);
/// the ceiling keeps `exp(log_var)` far from f32 overflow. Spec `methods.md`
/// §1 leaves this "variance floor" open.
#[derive(Config, Debug)]
pub struct GaussianHeadConfig {
    /// Input (feature) width (> 0).
    pub d_input: usize,
    /// Dimension of the Gaussian (> 0).
    pub d_output: usize,
    /// Lower bound of the log-variance. Default `-12`.
    #[config(default = -12.0)]
    pub min_log_var: f64,
    /// Upper bound of the log-variance. Default `8`.
    #[config(default = 8.0)]
    pub max_log_var: f64,
}

impl GaussianHeadConfig {
    /// Checks the widths (positive) and the bounds (finite, `min + 1 < max`).
    pub fn validate(&self) -> Result<(), NnError> {
        if self.d_input == 0 || self.d_output == 0 {
            return Err(NnError::InvalidArgument(format!(
                "Gaussian head widths must be positive (d_input {}, d_output {})",
                self.d_input, self.d_output
            )));
        }
        if !(self.min_log_var.is_finite() && self.max_log_var.is_finite())
            || self.min_log_var + 1.0 >= self.max_log_var
        {
            return Err(NnError::InvalidArgument(format!(
                "log-variance bounds must be finite with min + 1 < max (got [{}, {}])",
                self.min_log_var, self.max_log_var
            )));
        }
        Ok(())
    }

    /// Builds the head on `device`, weights drawn from `rng` by [`seeded_linear`].
    pub fn init(&self, device: &Device, rng: &mut dyn RngCore) -> Result<GaussianHead, NnError> {
        self.validate()?;
        Ok(GaussianHead {
            linear: seeded_linear(self.d_input, 2 * self.d_output, device, rng),
            d_output: self.d_output,
            min_log_var: self.min_log_var,
            max_log_var: self.max_log_var,
        })
    }
}

/// A linear layer `[n, d_input] → [n, 2·d_output]` read as (mean, raw log-variance),
/// the raw log-variance soft-clamped into `(min_log_var, max_log_var)`.
#[derive(Module, Debug)]
pub struct GaussianHead {
    /// `[n, d_input] → [n, 2·d_output]`: the first `d_output` columns are the
    /// mean, the last `d_output` the raw log-variance.
    pub linear: Linear,
    /// Dimension of the Gaussian.
    pub d_output: usize,
    /// Lower log-variance bound.
    pub min_log_var: f64,
    /// Upper log-variance bound.
    pub max_log_var: f64,
}

impl GaussianHead {
    /// `h: [n, d_input]` → a diagonal Gaussian with `mean, log_var: [n, d_output]`.
    pub fn forward(&self, h: Tensor<2>) -> DiagGaussian {
        let out = self.linear.forward(h);
        let d = self.d_output;
        let mean = out.clone().narrow(1, 0, d);
        let raw = out.narrow(1, d, d);
        DiagGaussian::new(mean, soft_clamp(raw, self.min_log_var, self.max_log_var))
    }
}

/// Smooth clamp of `x` into `(lo, hi)`:
/// `y = lo + softplus(x − lo)`, then `hi − softplus(hi − y)`.
///
/// Strictly inside the bounds, monotone, with a positive derivative
/// everywhere (a hard clamp has zero gradient outside, which can freeze a
/// collapsed variance). Deviation from the identity is about
/// `e^-(x−lo) + e^-(hi−x)`.
pub fn soft_clamp<const D: usize>(x: Tensor<D>, lo: f64, hi: f64) -> Tensor<D> {
    let y = softplus(x.sub_scalar(lo), 1.0).add_scalar(lo);
    softplus(y.neg().add_scalar(hi), 1.0).neg().add_scalar(hi)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{assert_close, devices, tensor2, to_vec};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn rng() -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(12)
    }

    #[test]
    fn soft_clamp_values() {
        for dev in devices() {
            let x = tensor2(&[0.0, -12.0, 8.0, -1e4, 1e4, -2.0], [1, 6], &dev);
            let got = to_vec(soft_clamp(x, -12.0, 8.0));
            // Interior: identity up to e^-8 ≈ 3.4e-4 (from the upper bound at x = 0).
            assert!((got[0] - 0.0).abs() < 4e-4, "{got:?}");
            // At the lower bound: lo + ln 2 (then the upper clamp is negligible).
            assert!((got[1] - (-12.0 + 2f64.ln())).abs() < 1e-4, "{got:?}");
            // At the upper bound: hi − softplus(hi − (hi + ~0)) ≈ hi − ln 2.
            assert!((got[2] - (8.0 - 2f64.ln())).abs() < 1e-3, "{got:?}");
            // Far outside: pinned to the bounds, finite.
            assert_close(&got[3..5], &[-12.0, 8.0], 1e-4);
            assert!((got[5] - (-2.0)).abs() < 1e-3, "{got:?}");
            // Monotone on a grid crossing both bounds.
            let grid: Vec<f32> = (0..60).map(|i| -30.0 + i as f32).collect();
            let y = to_vec(soft_clamp(tensor2(&grid, [1, 60], &dev), -12.0, 8.0));
            assert!(y.windows(2).all(|w| w[1] > w[0] || (w[1] - w[0]).abs() < 1e-6), "{y:?}");
        }
    }

    #[test]
    fn soft_clamp_has_gradient_outside_the_bounds() {
        for dev in devices() {
            let dev = dev.autodiff();
            let x = tensor2(&[-20.0, 0.0, 20.0], [1, 3], &dev).require_grad();
            let y = soft_clamp(x.clone(), -12.0, 8.0).sum();
            let grads = y.backward();
            let g = to_vec(x.grad(&grads).unwrap());
            // d/dx at −20: sigmoid(−8) ≈ 3.35e-4 > 0; at 0: ≈ 1; at 20: ≈ e^-12 > 0.
            assert!((g[0] - 3.353e-4).abs() < 2e-5, "{g:?}");
            assert!((g[1] - 1.0).abs() < 1e-3, "{g:?}");
            assert!(g[2] > 0.0 && g[2] < 1e-4, "{g:?}");
        }
    }

    #[test]
    fn head_shapes_and_bounds() {
        for dev in devices() {
            let head = GaussianHeadConfig::new(5, 3).init(&dev, &mut rng()).unwrap();
            let h = tensor2(&[0.1f32; 20], [4, 5], &dev).mul_scalar(100.0);
            let g = head.forward(h);
            assert_eq!(g.mean.dims(), [4, 3]);
            assert_eq!(g.log_var.dims(), [4, 3]);
            assert!(to_vec(g.log_var).iter().all(|v| *v > -12.0 && *v < 8.0));
        }
    }

    #[test]
    fn bad_configs_are_errors() {
        for dev in devices() {
            assert!(GaussianHeadConfig::new(0, 3).init(&dev, &mut rng()).is_err());
            assert!(GaussianHeadConfig::new(2, 0).init(&dev, &mut rng()).is_err());
            let e = GaussianHeadConfig::new(2, 3)
                .with_min_log_var(5.0)
                .with_max_log_var(5.5)
                .init(&dev, &mut rng());
            assert!(e.unwrap_err().to_string().contains("bounds"));
            assert!(GaussianHeadConfig::new(2, 3).with_max_log_var(f64::NAN).init(&dev, &mut rng()).is_err());
        }
    }
}
