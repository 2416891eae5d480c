//! # sbi-nn
//!
//! Burn 0.22 modules for simulation-based inference: MLPs, Gaussian heads and
//! the CP-VAE and UP-VAE of Nautiyal et al., "Variational Autoencoders for
//! Efficient Simulation-Based Inference" (arXiv 2411.14511; spec
//! `methods.md` §1), and the conditional density estimators of NPE (spec
//! `methods.md` §2). Classifiers come with the NRE issue. Bottom layer,
//! independent of `sbi-sim` and `sbi-metrics`.
//!
//! Conditional density estimators implement [`ConditionalDensity`] (exact
//! `log_prob(θ, c)` and `sample_batch(c, rng)`), with sbi's defaults: the
//! mixture density network [`Mdn`] (full-covariance Gaussian mixture, also
//! exposing its [`MixtureParams`] for SNPE-A), the masked autoregressive flow
//! [`Maf`] (conditional [`Made`] blocks, one pass for `log_prob`, `d` passes to
//! sample) and the neural spline flow [`Nsf`] (rational-quadratic spline
//! couplings with linear tails and LU linear layers). [`DensityEstimator`]
//! wraps any of them in one module. Weights are drawn from the `seed` of each config.
//!
//! Burn 0.22 has no backend type parameter: modules are plain structs and the
//! backend is a run-time [`burn::tensor::Device`], picked with
//! [`DeviceChoice`] (cargo features `flex` (default), `ndarray`, `wgpu`,
//! `cuda`). Build a trainable model on `device.autodiff()`; sample from
//! `model.valid()`. See `docs/burn-notes.md`.
//!
//! Shapes are batch-first: `theta: [n, d_theta]`, `x: [n, d_x]`, `z: [n, d_z]`.
//! All networks expect z-scored inputs; standardisation lives with the
//! estimator in `sbi-train`.
//!
//! ```
//! use burn::optim::{AdamConfig, GradientsParams};
//! use rand::SeedableRng;
//! use sbi_nn::{CpVaeConfig, DeviceChoice, standard_normal};
//!
//! # fn main() -> Result<(), sbi_nn::NnError> {
//! let device = DeviceChoice::available()[0].autodiff_device()?; // flex by default
//! let mut rng = rand::rngs::StdRng::seed_from_u64(0);
//! let mut model = CpVaeConfig::new(2, 3).with_latent_dim(4).init(&device)?;
//! let mut optim = AdamConfig::new().init();
//! let theta = standard_normal(&mut rng, [64, 2], &device);
//! let x = standard_normal(&mut rng, [64, 3], &device);
//! let eps = standard_normal(&mut rng, [64, 4], &device);
//! let loss = model.loss(theta, x, eps)?;
//! let grads = GradientsParams::from_grads(loss.backward(), &model);
//! model = optim.step(1e-3, model, grads);
//! # Ok(())
//! # }
//! ```

mod activation;
mod check;
mod cp_vae;
mod density;
mod device;
mod error;
mod flow_util;
mod gaussian;
mod gaussian_head;
mod gaussian_mlp;
mod init;
mod kl;
mod lu_linear;
mod made;
mod maf;
mod mdn;
mod mlp;
mod net_config;
mod noise;
mod nsf;
mod resample;
mod residual_net;
mod spline;
mod up_vae;
mod vae_loss;

#[cfg(test)]
mod test_util;

pub use activation::Activation;
pub use cp_vae::{CpVae, CpVaeConfig};
pub use density::{ConditionalDensity, DensityConfig, DensityEstimator};
pub use device::DeviceChoice;
pub use error::NnError;
pub use flow_util::Permutation;
pub use gaussian::{DiagGaussian, LN_2PI};
pub use gaussian_head::{GaussianHead, GaussianHeadConfig, soft_clamp};
pub use gaussian_mlp::GaussianMlp;
pub use init::seeded_linear;
pub use kl::{kl_diag, kl_std_normal};
pub use lu_linear::LuLinear;
pub use made::{Made, MadeConfig};
pub use maf::{Maf, MafConfig};
pub use mdn::{Mdn, MdnConfig, MixtureParams};
pub use mlp::{HiddenLayer, Mlp, MlpConfig, MlpTrunk};
pub use net_config::NetConfig;
pub use noise::standard_normal;
pub use nsf::{Nsf, NsfConfig, SplineCoupling};
pub use resample::resample_indices;
pub use residual_net::{ResidualBlock, ResidualNet};
pub use up_vae::{ImportanceDraws, UpVae, UpVaeConfig};
pub use vae_loss::VaeLoss;

/// Re-export of the Burn version this crate is built against, so that
/// downstream crates use the same types (`burn::tensor::Device`, optimisers).
pub use burn;
