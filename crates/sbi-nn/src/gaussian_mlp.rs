//! "Gaussian head on an MLP": the building block of the VAE encoders, priors and decoders.

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use rand::RngCore;

use crate::{DiagGaussian, GaussianHead, GaussianHeadConfig, MlpConfig, MlpTrunk, NnError};

/// An MLP whose output layer is a [`GaussianHead`]: `[n, d_input]` → a diagonal
/// Gaussian of dimension `d_output` per row (spec `methods.md` §1).
#[derive(Module, Debug)]
pub struct GaussianMlp {
    /// Hidden layers.
    pub trunk: MlpTrunk,
    /// Output layer: mean and bounded log-variance.
    pub head: GaussianHead,
}

impl MlpConfig {
    /// Builds a [`GaussianMlp`]: the hidden layers of this MLP, then a Gaussian
    /// head of dimension `d_output` whose log-variance lies in
    /// `(min_log_var, max_log_var)` (see [`GaussianHeadConfig`]); weights drawn from `rng`.
    pub fn init_gaussian(
        &self,
        min_log_var: f64,
        max_log_var: f64,
        device: &Device,
        rng: &mut dyn RngCore,
    ) -> Result<GaussianMlp, NnError> {
        self.validate()?;
        let head =
            GaussianHeadConfig::new(self.hidden.last().copied().unwrap_or(self.d_input), self.d_output)
                .with_min_log_var(min_log_var)
                .with_max_log_var(max_log_var);
        head.validate()?;
        let trunk = self.init_trunk(device, rng);
        Ok(GaussianMlp { trunk, head: head.init(device, rng)? })
    }
}

impl GaussianMlp {
    /// `x: [n, d_input]` → Gaussian with `mean, log_var: [n, d_output]`.
    ///
    /// # Panics
    /// If the last dimension of `x` is not `d_input` (Burn's shape check).
    pub fn forward(&self, x: Tensor<2>) -> DiagGaussian {
        self.head.forward(self.trunk.forward(x))
    }

    /// Input width.
    pub fn d_input(&self) -> usize {
        self.trunk.d_input
    }

    /// Dimension of the output Gaussian.
    pub fn d_output(&self) -> usize {
        self.head.d_output
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Activation;
    use crate::test_util::{devices, tensor2, to_vec};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn rng() -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(13)
    }

    #[test]
    fn shapes_for_several_layouts() {
        for dev in devices() {
            for hidden in [vec![], vec![8], vec![8, 8, 4]] {
                let cfg = MlpConfig::new(3, 2)
                    .with_hidden(hidden.clone())
                    .with_activation(Activation::Silu)
                    .with_layer_norm(true)
                    .with_residual(true);
                let net = cfg.init_gaussian(-12.0, 8.0, &dev, &mut rng()).unwrap();
                assert_eq!((net.d_input(), net.d_output()), (3, 2));
                let g = net.forward(tensor2(&[0.5; 15], [5, 3], &dev));
                assert_eq!(g.mean.dims(), [5, 2], "hidden {hidden:?}");
                assert_eq!(g.log_var.dims(), [5, 2]);
                assert!(to_vec(g.mean).iter().all(|v| v.is_finite()));
            }
        }
    }

    #[test]
    fn bad_bounds_are_errors() {
        for dev in devices() {
            assert!(MlpConfig::new(3, 2).init_gaussian(1.0, 0.0, &dev, &mut rng()).is_err());
            assert!(MlpConfig::new(3, 0).init_gaussian(-12.0, 8.0, &dev, &mut rng()).is_err());
        }
    }
}
