//! The network hyper-parameters shared by the sub-networks of a VAE.

use burn::config::Config;
use burn::tensor::Device;
use rand::RngCore;

use crate::{Activation, GaussianMlp, MlpConfig, NnError};

/// Hyper-parameters shared by every sub-network (encoder, prior, decoders) of
/// [`crate::CpVae`] and [`crate::UpVae`]: each is a Gaussian head on an MLP
/// (spec `methods.md` §1, which leaves widths, depths, activation and the
/// variance floor open; §1 suggests 2–3 hidden layers of 64–256 units).
#[derive(Config, Debug)]
pub struct NetConfig {
    /// Hidden widths of each MLP. Default `[64, 64]`: on two_moons, bernoulli_glm
    /// and sir at 10k simulations it gave lower C2ST than `[128, 128]` in a
    /// third of the training time (`docs/training.md`).
    #[config(default = "vec![64, 64]")]
    pub hidden: Vec<usize>,
    /// Hidden activation. Default [`Activation::Relu`].
    #[config(default = "Activation::Relu")]
    pub activation: Activation,
    /// Layer normalisation in hidden layers. Default `false`.
    #[config(default = false)]
    pub layer_norm: bool,
    /// Residual connections between hidden layers of equal width. Default `false`.
    #[config(default = false)]
    pub residual: bool,
    /// Lower log-variance bound of every Gaussian head. Default `-12`
    /// (see [`crate::GaussianHeadConfig`] for the reasoning).
    #[config(default = -12.0)]
    pub min_log_var: f64,
    /// Upper log-variance bound of every Gaussian head. Default `8`.
    #[config(default = 8.0)]
    pub max_log_var: f64,
}

impl NetConfig {
    /// The [`MlpConfig`] of a sub-network `[n, d_input] → [n, d_output]`.
    pub fn mlp(&self, d_input: usize, d_output: usize) -> MlpConfig {
        MlpConfig::new(d_input, d_output)
            .with_hidden(self.hidden.clone())
            .with_activation(self.activation)
            .with_layer_norm(self.layer_norm)
            .with_residual(self.residual)
    }

    /// A Gaussian head on an MLP: `[n, d_input]` → Gaussian over `d_output`
    /// dimensions, weights drawn from `rng`.
    pub fn gaussian_mlp(
        &self,
        d_input: usize,
        d_output: usize,
        device: &Device,
        rng: &mut dyn RngCore,
    ) -> Result<GaussianMlp, NnError> {
        self.mlp(d_input, d_output).init_gaussian(self.min_log_var, self.max_log_var, device, rng)
    }
}
