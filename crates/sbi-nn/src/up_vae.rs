//! UP-VAE: the unconditional-prior VAE of Nautiyal et al. (arXiv 2411.14511), spec `methods.md` §1.

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::check::{check_matrix, check_rows, check_single_observation};
use crate::{GaussianMlp, NetConfig, NnError, VaeLoss, kl_std_normal, resample_indices, standard_normal};

/// Configuration of an [`UpVae`].
///
/// ```
/// use sbi_nn::{UpVaeConfig, DeviceChoice};
/// # fn main() -> Result<(), sbi_nn::NnError> {
/// let device = DeviceChoice::available()[0].autodiff_device()?; // flex by default
/// let model = UpVaeConfig::new(2, 3).with_latent_dim(4).init(&device)?;
/// assert_eq!((model.d_theta, model.d_x, model.latent_dim), (2, 3, 4));
/// # Ok(())
/// # }
/// ```
#[derive(Config, Debug)]
pub struct UpVaeConfig {
    /// Parameter dimension `d_θ` (> 0).
    pub d_theta: usize,
    /// Data dimension `d_x` (> 0).
    pub d_x: usize,
    /// Latent dimension `d_z` (> 0). Default `4` (spec §1: between 2 and 10).
    #[config(default = 4)]
    pub latent_dim: usize,
    /// KL weight β of [`UpVae::loss`]; `1` is the evidence lower bound. Default `1.0`.
    #[config(default = 1.0)]
    pub beta: f64,
    /// Weight λ of the data decoder's term `−log p_η(x|z)` in [`UpVae::loss`].
    /// `1` is the spec's bound on `log p(θ, x)`. Below 1, z is pushed to carry
    /// less about x, which is what the paper's sampling (z ~ N(0, I) whatever
    /// x_o) assumes; at `0` the model is a conditional VAE with a standard-normal
    /// prior, `p(θ|x) = ∫ p_ω(θ|z,x) N(z; 0, I) dz`, which the paper's sampling
    /// draws from exactly (the data decoder is then left untrained).
    /// Default `1.0`.
    #[config(default = 1.0)]
    pub x_weight: f64,
    /// Widths, activation, normalisation and log-variance bounds of the three
    /// sub-networks. Default [`NetConfig::new()`] (its own defaults).
    #[config(default = "NetConfig::new()")]
    pub net: NetConfig,
    /// Seed of the weight initialisation (a ChaCha8 stream; the sub-networks
    /// are drawn in field order). Default `0`.
    #[config(default = 0)]
    pub seed: u64,
}

impl UpVaeConfig {
    /// Builds the model on `device` (use `device.autodiff()` to train it), its
    /// weights drawn from a ChaCha8 RNG seeded with `seed`: the same config gives
    /// the same model on every run and thread.
    ///
    /// Errors on a zero dimension, a negative or non-finite β, or a bad [`NetConfig`].
    pub fn init(&self, device: &Device) -> Result<UpVae, NnError> {
        let (dt, dx, dz) = (self.d_theta, self.d_x, self.latent_dim);
        if dt == 0 || dx == 0 || dz == 0 {
            return Err(NnError::InvalidArgument(format!(
                "UP-VAE dimensions must be positive (d_theta {dt}, d_x {dx}, latent_dim {dz})"
            )));
        }
        if !(self.beta.is_finite() && self.beta >= 0.0) {
            return Err(NnError::InvalidArgument(format!("beta must be finite and ≥ 0, got {}", self.beta)));
        }
        if !(self.x_weight.is_finite() && self.x_weight >= 0.0) {
            return Err(NnError::InvalidArgument(format!(
                "x_weight must be finite and ≥ 0, got {}",
                self.x_weight
            )));
        }
        let rng = &mut ChaCha8Rng::seed_from_u64(self.seed);
        Ok(UpVae {
            encoder: self.net.gaussian_mlp(dt + dx, dz, device, rng)?,
            theta_decoder: self.net.gaussian_mlp(dz + dx, dt, device, rng)?,
            x_decoder: self.net.gaussian_mlp(dz, dx, device, rng)?,
            d_theta: dt,
            d_x: dx,
            latent_dim: dz,
            beta: self.beta,
            x_weight: self.x_weight,
        })
    }
}

/// Unconditional-prior VAE (spec `methods.md` §1, "UP-VAE").
///
/// - encoder `q_φ(z | θ, x)`: Gaussian head on an MLP of `[θ, x]`;
/// - prior `p(z) = N(0, I)`;
/// - parameter decoder `p_ω(θ | z, x)`: Gaussian head on an MLP of `[z, x]`;
/// - data decoder `p_η(x | z)`: Gaussian head on an MLP of `z` (an auxiliary
///   loss; used at inference only by [`UpVae::sample_importance`]).
///
/// Inputs are expected z-scored; the standardisation lives with the estimator.
#[derive(Module, Debug)]
pub struct UpVae {
    /// `q_φ(z | θ, x)`: `[n, d_θ + d_x] → z`.
    pub encoder: GaussianMlp,
    /// `p_ω(θ | z, x)`: `[n, d_z + d_x] → θ`.
    pub theta_decoder: GaussianMlp,
    /// `p_η(x | z)`: `[n, d_z] → x`.
    pub x_decoder: GaussianMlp,
    /// `d_θ`.
    pub d_theta: usize,
    /// `d_x`.
    pub d_x: usize,
    /// `d_z`.
    pub latent_dim: usize,
    /// KL weight used by [`UpVae::loss`].
    pub beta: f64,
    /// Weight of the data decoder's term in [`UpVae::loss`] ([`UpVaeConfig::x_weight`]).
    pub x_weight: f64,
}

/// Posterior draws obtained by importance resampling of prior latents
/// ([`UpVae::sample_importance`]).
#[derive(Clone, Debug)]
pub struct ImportanceDraws {
    /// Posterior draws `[n, d_θ]` (z-scored units).
    pub theta: Tensor<2>,
    /// Effective sample size `(Σw)² / Σw²` of the proposal weights, in `[1, n_proposals]`.
    pub ess: f64,
}

impl UpVae {
    /// The loss terms for pairs `theta: [n, d_θ]`, `x: [n, d_x]` with one
    /// reparameterised latent draw per pair from standard-normal noise
    /// `eps: [n, d_z]`: `z = μ_φ + σ_φ ⊙ ε`, `nll_theta = −log p_ω(θ|z,x)`,
    /// `nll_x = −log p_η(x|z)` (unweighted; the loss weights it by `x_weight`), `kl = KL(q_φ(z|θ,x) ‖ N(0, I))` (spec §1).
    pub fn loss_terms(&self, theta: Tensor<2>, x: Tensor<2>, eps: Tensor<2>) -> Result<VaeLoss, NnError> {
        let n = check_matrix("theta", &theta, self.d_theta)?;
        check_rows("theta", n, "x", check_matrix("x", &x, self.d_x)?)?;
        check_rows("theta", n, "eps", check_matrix("eps", &eps, self.latent_dim)?)?;
        let q = self.encoder.forward(Tensor::cat(vec![theta.clone(), x.clone()], 1));
        let z = q.rsample(eps);
        let dec_theta = self.theta_decoder.forward(Tensor::cat(vec![z.clone(), x.clone()], 1));
        let dec_x = self.x_decoder.forward(z);
        Ok(VaeLoss {
            nll_theta: dec_theta.nll(theta),
            nll_x: Some(dec_x.nll(x)),
            x_weight: self.x_weight,
            kl: kl_std_normal(&q),
        })
    }

    /// The minimised loss: batch mean of `nll_theta + λ · nll_x + β · kl` with the
    /// configured β and λ (`x_weight`), shape `[1]` (see [`UpVae::loss_terms`]).
    pub fn loss(&self, theta: Tensor<2>, x: Tensor<2>, eps: Tensor<2>) -> Result<Tensor<1>, NnError> {
        Ok(self.loss_terms(theta, x, eps)?.mean(self.beta))
    }

    /// One draw per row of `x: [m, d_x]` as the paper samples: `z ~ N(0, I)`,
    /// then `θ ~ p_ω(θ | z, x)` (spec §1). Returns `[m, d_θ]`.
    pub fn sample_batch(&self, x: Tensor<2>, rng: &mut dyn RngCore) -> Result<Tensor<2>, NnError> {
        let m = check_matrix("x", &x, self.d_x)?;
        let device = x.device();
        let z = standard_normal(rng, [m, self.latent_dim], &device);
        Ok(self.decode_theta(z, x, rng))
    }

    /// `n ≥ 1` draws for one observation `x_o: [1, d_x]` as the paper samples
    /// (see [`UpVae::sample_batch`]): `[n, d_θ]`.
    pub fn sample(&self, x_o: Tensor<2>, n: usize, rng: &mut dyn RngCore) -> Result<Tensor<2>, NnError> {
        check_single_observation(&x_o, self.d_x, n)?;
        self.sample_batch(x_o.repeat_dim(0, n), rng)
    }

    /// `n` draws for `x_o: [1, d_x]` with `z` from `p(z | x_o) ∝ p_η(x_o|z) N(z; 0, I)`
    /// instead of `N(0, I)`: draw `n_proposals` latents from `N(0, I)`, weight
    /// them by `p_η(x_o | z)`, resample `n` with replacement, then
    /// `θ ~ p_ω(θ | z, x_o)` (the improvement suggested in spec §1). Returns the
    /// draws and the effective sample size of the weights.
    pub fn sample_importance(
        &self,
        x_o: Tensor<2>,
        n: usize,
        n_proposals: usize,
        rng: &mut dyn RngCore,
    ) -> Result<ImportanceDraws, NnError> {
        check_single_observation(&x_o, self.d_x, n)?;
        if n_proposals == 0 {
            return Err(NnError::InvalidArgument("n_proposals must be at least 1".to_string()));
        }
        let device = x_o.device();
        let dz = self.latent_dim;
        let z = standard_normal(rng, [n_proposals, dz], &device);
        let log_w = self.x_decoder.forward(z.clone()).nll(x_o.clone().repeat_dim(0, n_proposals)).neg();
        let (idx, ess) = resample_indices(&to_f64(log_w), n, rng).ok_or_else(|| {
            NnError::InvalidArgument(
                "no finite importance weight: p_η(x_o | z) vanished or is NaN".to_string(),
            )
        })?;
        let z_host = to_f64(z);
        let z_new: Vec<f32> =
            idx.iter().flat_map(|&i| z_host[i * dz..(i + 1) * dz].iter().map(|v| *v as f32)).collect();
        let z = Tensor::from_data(TensorData::new(z_new, [n, dz]), &device);
        Ok(ImportanceDraws { theta: self.decode_theta(z, x_o.repeat_dim(0, n), rng), ess })
    }

    /// `θ ~ p_ω(θ | z, x)` for `z: [m, d_z]`, `x: [m, d_x]`: `[m, d_θ]`.
    fn decode_theta(&self, z: Tensor<2>, x: Tensor<2>, rng: &mut dyn RngCore) -> Tensor<2> {
        let m = z.dims()[0];
        let device = z.device();
        let dec = self.theta_decoder.forward(Tensor::cat(vec![z, x], 1));
        dec.rsample(standard_normal(rng, [m, self.d_theta], &device))
    }
}

fn to_f64<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.into_data().try_into_vec_as::<f64>().expect("a float tensor converts to f64")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{conjugate_pairs, devices, tensor2, to_vec};
    use burn::optim::{AdamConfig, GradientsParams};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn small(d_theta: usize, d_x: usize) -> UpVaeConfig {
        UpVaeConfig::new(d_theta, d_x).with_latent_dim(3).with_net(NetConfig::new().with_hidden(vec![16, 16]))
    }

    #[test]
    fn shapes_and_finite_loss() {
        for dev in devices() {
            let mut rng = ChaCha8Rng::seed_from_u64(1);
            let model = small(2, 5).init(&dev).unwrap();
            let theta = standard_normal(&mut rng, [7, 2], &dev);
            let x = standard_normal(&mut rng, [7, 5], &dev);
            let eps = standard_normal(&mut rng, [7, 3], &dev);
            let t = model.loss_terms(theta.clone(), x.clone(), eps.clone()).unwrap();
            assert_eq!(t.nll_theta.dims(), [7]);
            assert_eq!(t.nll_x.as_ref().unwrap().dims(), [7]);
            assert!(to_vec(t.kl.clone()).iter().all(|k| *k >= -1e-5), "KL ≥ 0");
            // The loss adds all three terms.
            let (a, b, c) = (to_vec(t.nll_theta), to_vec(t.nll_x.unwrap()), to_vec(t.kl));
            let want = (0..7).map(|i| a[i] + b[i] + c[i]).sum::<f64>() / 7.0;
            let got = to_vec(model.loss(theta, x, eps).unwrap())[0];
            assert!((got - want).abs() < 1e-5 * want.abs().max(1.0), "{got} vs {want}");
            let x_o = tensor2(&[0.0; 5], [1, 5], &dev);
            assert_eq!(model.sample(x_o.clone(), 9, &mut rng).unwrap().dims(), [9, 2]);
            let imp = model.sample_importance(x_o, 9, 100, &mut rng).unwrap();
            assert_eq!(imp.theta.dims(), [9, 2]);
            assert!(imp.ess >= 1.0 - 1e-9 && imp.ess <= 100.0 + 1e-9, "ess {}", imp.ess);
        }
    }

    #[test]
    fn x_weight_scales_the_data_term_of_the_loss() {
        for dev in devices() {
            let mut rng = ChaCha8Rng::seed_from_u64(2);
            let theta = standard_normal(&mut rng, [6, 2], &dev);
            let x = standard_normal(&mut rng, [6, 4], &dev);
            let eps = standard_normal(&mut rng, [6, 3], &dev);
            let loss = |w: f64| {
                let model = small(2, 4).with_beta(0.5).with_x_weight(w).init(&dev).unwrap();
                let t = model.loss_terms(theta.clone(), x.clone(), eps.clone()).unwrap();
                let (a, b, c) = (to_vec(t.nll_theta), to_vec(t.nll_x.unwrap()), to_vec(t.kl));
                let want = (0..6).map(|i| a[i] + w * b[i] + 0.5 * c[i]).sum::<f64>() / 6.0;
                let got = to_vec(model.loss(theta.clone(), x.clone(), eps.clone()).unwrap())[0];
                assert!((got - want).abs() < 1e-5 * want.abs().max(1.0), "λ {w}: {got} vs {want}");
                (got, (0..6).map(|i| b[i]).sum::<f64>() / 6.0)
            };
            // Same seed, same weights: the losses differ by exactly (λ₁ − λ₀) · mean nll_x.
            let ((l0, nll_x), (l2, _)) = (loss(0.0), loss(2.0));
            assert!((l2 - l0 - 2.0 * nll_x).abs() < 1e-4 * nll_x.abs().max(1.0), "{l0} {l2} {nll_x}");
            assert!(nll_x.abs() > 1e-3, "the data term is not negligible here: {nll_x}");
            for bad in [-1.0, f64::INFINITY, f64::NAN] {
                let err = UpVaeConfig::new(2, 3).with_x_weight(bad).init(&dev).unwrap_err();
                assert!(err.to_string().contains("x_weight"), "{err}");
            }
        }
    }

    #[test]
    fn bad_shapes_are_errors() {
        for dev in devices() {
            let mut rng = ChaCha8Rng::seed_from_u64(3);
            let model = small(2, 3).init(&dev).unwrap();
            let z = |r: usize, c: usize| tensor2(&vec![0.0; r * c], [r, c], &dev);
            assert!(model.loss(z(4, 2), z(4, 2), z(4, 3)).is_err());
            assert!(model.loss(z(4, 2), z(4, 3), z(3, 3)).is_err());
            assert!(model.sample(z(1, 2), 3, &mut rng).is_err());
            assert!(model.sample_importance(z(1, 3), 3, 0, &mut rng).is_err());
            assert!(UpVaeConfig::new(2, 3).with_beta(f64::NAN).init(&dev).is_err());
        }
    }

    #[test]
    fn adam_steps_reduce_the_loss_on_a_conjugate_problem() {
        for dev in devices() {
            let dev = dev.autodiff();
            let mut rng = ChaCha8Rng::seed_from_u64(4);
            let mut model = small(1, 1).init(&dev).unwrap();
            let (theta, x) = conjugate_pairs(&mut rng, 256, &dev);
            let eval_eps = standard_normal(&mut rng, [256, 3], &dev);
            let eval = |m: &UpVae| to_vec(m.loss(theta.clone(), x.clone(), eval_eps.clone()).unwrap())[0];
            let before = eval(&model);
            let mut optim = AdamConfig::new().init();
            for _ in 0..40 {
                let eps = standard_normal(&mut rng, [256, 3], &dev);
                let loss = model.loss(theta.clone(), x.clone(), eps).unwrap();
                let grads = GradientsParams::from_grads(loss.backward(), &model);
                model = optim.step(5e-3, model, grads);
            }
            let after = eval(&model);
            eprintln!("{dev:?}: loss {before:.4} → {after:.4}");
            assert!(after < before - 0.2, "loss {before} → {after}");
        }
    }
}
