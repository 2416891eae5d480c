//! Masked autoregressive flow (Papamakarios et al. 2017) conditioned on a
//! context, with sbi's defaults (spec `methods.md` §2, NPE "MAF").

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Tensor};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::check::{check_matrix, check_rows};
use crate::density::check_log_prob_args;
use crate::{Activation, ConditionalDensity, Made, MadeConfig, NnError, Permutation, standard_normal};

/// Minimum scale of an affine step, as nflows' `MaskedAffineAutoregressiveTransform`.
const MIN_SCALE: f64 = 1e-3;

/// The scale `softplus(a) + 10⁻³` of an affine step (nflows), computed as
/// `log1p(exp(min(a, 30)))`: three cheap operations instead of Burn's
/// seven-operation stable softplus; the cap (softplus(30) = 30 to 1e-13) only
/// limits a single step's scale to 30.
fn affine_scale(a: Tensor<2>) -> Tensor<2> {
    a.clamp_max(30.0).exp().log1p().add_scalar(MIN_SCALE)
}

/// Configuration of a [`Maf`].
///
/// Defaults are sbi's `build_maf`: 5 transforms, MADEs with 50 hidden units,
/// 2 feed-forward blocks, tanh, a random permutation between transforms, a
/// standard-normal base.
#[derive(Config, Debug)]
pub struct MafConfig {
    /// Dimension of θ (> 0).
    pub d_theta: usize,
    /// Dimension of the context (> 0).
    pub d_context: usize,
    /// Number of affine autoregressive transforms (> 0). Default `5`.
    #[config(default = 5)]
    pub num_transforms: usize,
    /// Hidden width of each MADE. Default `50`.
    #[config(default = 50)]
    pub hidden: usize,
    /// Hidden blocks per MADE. Default `2`.
    #[config(default = 2)]
    pub num_blocks: usize,
    /// MADE activation. Default [`Activation::Tanh`].
    #[config(default = "Activation::Tanh")]
    pub activation: Activation,
    /// Variable reordering between transforms. Default [`Permutation::Random`] (sbi).
    #[config(default = "Permutation::Random")]
    pub permutation: Permutation,
    /// Seed of the weight initialisation and of random permutations (ChaCha8). Default `0`.
    #[config(default = 0)]
    pub seed: u64,
}

impl MafConfig {
    /// Builds the flow on `device` (use `device.autodiff()` to train it).
    /// Errors on a zero dimension, width or transform count.
    pub fn init(&self, device: &Device) -> Result<Maf, NnError> {
        if self.num_transforms == 0 {
            return Err(NnError::InvalidArgument("a MAF needs at least one transform".to_string()));
        }
        let rng = &mut ChaCha8Rng::seed_from_u64(self.seed);
        let orders = self.permutation.orders(self.d_theta, self.num_transforms, rng);
        let made = MadeConfig::new(self.d_theta, self.d_context)
            .with_hidden(self.hidden)
            .with_num_blocks(self.num_blocks)
            .with_activation(self.activation);
        let blocks = orders.iter().map(|o| made.init(o, device, rng)).collect::<Result<Vec<_>, _>>()?;
        Ok(Maf { made: blocks, d_theta: self.d_theta, d_context: self.d_context })
    }
}

/// Masked autoregressive flow `q(θ | c)`: `T` affine autoregressive
/// transforms from θ to the noise `z ~ N(0, I)`.
///
/// Transform `t` maps `x ↦ x ⊙ s(x, c) + m(x, c)` with
/// `s = softplus(a) + 10⁻³` (`a` capped at 30), `(a, m)` the outputs of a conditional
/// [`Made`] that is autoregressive in its own variable order (nflows'
/// `MaskedAffineAutoregressiveTransform`); the change of order between
/// transforms plays the role of sbi's permutation layers without moving data.
/// `log q(θ|c) = log N(z; 0, I) + Σ_t Σ_j log s_tj`, one pass per transform;
/// sampling inverts each transform with `d` passes.
///
/// The masks (hence the variable orders) are constants rebuilt by
/// [`MafConfig::init`] from the config and its seed, not part of the saved
/// record: load saved weights into a model built from the same config.
#[derive(Module, Debug)]
pub struct Maf {
    /// The MADEs, data side first.
    pub made: Vec<Made>,
    /// `d_theta`.
    pub d_theta: usize,
    /// `d_context`.
    pub d_context: usize,
}

impl Maf {
    /// The flow from data to noise: `theta: [n, d]`, `context: [n, d_context]`
    /// → `(z: [n, d], log|det ∂z/∂θ|: [n])`.
    pub fn transform(&self, theta: Tensor<2>, context: Tensor<2>) -> Result<(Tensor<2>, Tensor<1>), NnError> {
        check_log_prob_args(&theta, &context, self.d_theta, self.d_context)?;
        let (z, log_scale) = self.forward_unchecked(theta, context);
        Ok((z, log_scale.sum_dim(1).squeeze_dim::<1>(1)))
    }

    /// `z` and the element-wise sum over transforms of `log s`, `[n, d]`.
    fn forward_unchecked(&self, theta: Tensor<2>, context: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        let d = self.d_theta;
        let mut x = theta;
        let mut log_scale: Option<Tensor<2>> = None;
        for made in &self.made {
            let params = made.forward(x.clone(), context.clone());
            let scale = affine_scale(params.clone().narrow(1, 0, d));
            x = x * scale.clone() + params.narrow(1, d, d);
            let ls = scale.log();
            log_scale = Some(match log_scale {
                Some(acc) => acc + ls,
                None => ls,
            });
        }
        (x, log_scale.expect("at least one transform"))
    }

    /// The inverse flow, noise to data: `z: [m, d]`, `context: [m, d_context]`
    /// → `θ: [m, d]`, each transform inverted by `d` passes of its MADE
    /// (after pass `k` the first `k` variables of its order are exact).
    pub fn inverse(&self, z: Tensor<2>, context: Tensor<2>) -> Result<Tensor<2>, NnError> {
        let m = check_matrix("z", &z, self.d_theta)?;
        check_rows("z", m, "context", check_matrix("context", &context, self.d_context)?)?;
        let d = self.d_theta;
        let mut y = z;
        for made in self.made.iter().rev() {
            let w = made.masked_weights();
            let mut x = y.zeros_like();
            for _ in 0..d {
                let params = made.forward_with(&w, Tensor::cat(vec![x, context.clone()], 1));
                x = (y.clone() - params.clone().narrow(1, d, d)) / affine_scale(params.narrow(1, 0, d));
            }
            y = x;
        }
        Ok(y)
    }
}

impl ConditionalDensity for Maf {
    fn d_theta(&self) -> usize {
        self.d_theta
    }

    fn d_context(&self) -> usize {
        self.d_context
    }

    fn log_prob(&self, theta: Tensor<2>, context: Tensor<2>) -> Result<Tensor<1>, NnError> {
        check_log_prob_args(&theta, &context, self.d_theta, self.d_context)?;
        let (z, log_scale) = self.forward_unchecked(theta, context);
        // log N(z; 0, I) + Σ log s in one reduction.
        let d = self.d_theta as f64;
        Ok((log_scale - z.square().mul_scalar(0.5))
            .sum_dim(1)
            .squeeze_dim::<1>(1)
            .sub_scalar(0.5 * crate::LN_2PI * d))
    }

    fn sample_batch(&self, context: Tensor<2>, rng: &mut dyn RngCore) -> Result<Tensor<2>, NnError> {
        let m = check_matrix("context", &context, self.d_context)?;
        let z = standard_normal(rng, [m, self.d_theta], &context.device());
        self.inverse(z, context)
    }
}

/// `log q` through [`Maf::transform`] and the base density (test cross-check).
#[cfg(test)]
fn log_prob_via_transform(maf: &Maf, theta: Tensor<2>, context: Tensor<2>) -> Tensor<1> {
    let (z, ld) = maf.transform(theta, context).unwrap();
    crate::flow_util::std_normal_log_prob(z) + ld
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::density::testing::{
        autodiff_log_abs_det, central_jacobian, check_density_and_samples, log_abs_det,
    };
    use crate::flow_util::host_vec;
    use crate::test_util::{assert_close, conjugate_pairs, devices, tensor2, to_vec};
    use burn::module::Param;
    use burn::optim::{AdamConfig, GradientsParams};

    /// A small MAF with output weights scaled up so that each transform is far
    /// from the identity.
    fn irregular(d: usize, dc: usize, perm: Permutation, dev: &Device) -> Maf {
        let mut maf = MafConfig::new(d, dc)
            .with_hidden(16)
            .with_num_transforms(3)
            .with_permutation(perm)
            .init(dev)
            .unwrap();
        for made in &mut maf.made {
            let w = made.output.weight.val().mul_scalar(2.0);
            made.output.weight = Param::from_tensor(w);
        }
        maf
    }

    #[test]
    fn inverse_inverts_the_transform() {
        for dev in devices() {
            let mut rng = ChaCha8Rng::seed_from_u64(2);
            for (d, perm) in [(1, Permutation::Reverse), (2, Permutation::Reverse), (4, Permutation::Random)]
            {
                let maf = irregular(d, 3, perm, &dev);
                let theta = standard_normal(&mut rng, [50, d], &dev).mul_scalar(2.0);
                let ctx = standard_normal(&mut rng, [50, 3], &dev);
                let (z, _) = maf.transform(theta.clone(), ctx.clone()).unwrap();
                let back = to_vec(maf.inverse(z.clone(), ctx.clone()).unwrap());
                // f32: a few ulps per affine step and pass; 1e-4 relative (|θ| up to ~6).
                assert_close(&back, &to_vec(theta), 1e-4);
                // And the other way round.
                let z2 = standard_normal(&mut rng, [50, d], &dev);
                let th2 = maf.inverse(z2.clone(), ctx.clone()).unwrap();
                assert_close(&to_vec(maf.transform(th2, ctx).unwrap().0), &to_vec(z2), 1e-4);
            }
        }
    }

    #[test]
    fn log_det_matches_autodiff_and_finite_differences() {
        for dev in devices() {
            let mut rng = ChaCha8Rng::seed_from_u64(3);
            let d = 3;
            let maf = irregular(d, 2, Permutation::Random, &dev);
            let ctx = standard_normal(&mut rng, [1, 2], &dev);
            for _ in 0..3 {
                let theta = host_vec(standard_normal(&mut rng, [1, d], &dev));
                let (_, ld) = maf.transform(to_t(&theta, &dev), ctx.clone()).unwrap();
                let got = to_vec(ld)[0];
                // Exact Jacobian (autodiff of the forward values), f32 rounding only.
                let ad = autodiff_log_abs_det(&theta, &dev, |t| maf.transform(t, ctx.clone()).unwrap().0);
                assert!((got - ad).abs() < 1e-4, "log|det|: flow {got}, autodiff Jacobian {ad}");
                let jac = central_jacobian(&theta, 1e-2, |t| {
                    host_vec(maf.transform(to_t(t, &dev), ctx.clone()).unwrap().0)
                });
                let fd = log_abs_det(jac, d);
                // f32 central differences, h = 1e-2: truncation ~h²·f'''/6 and rounding ~1e-7·|z|/h
                // give ≲ 1e-4 per Jacobian entry; 2e-3 on log|det| leaves a margin.
                assert!((got - fd).abs() < 2e-3, "log|det|: flow {got}, finite differences {fd}");
            }
        }
    }

    fn to_t(v: &[f64], dev: &Device) -> Tensor<2> {
        let f: Vec<f32> = v.iter().map(|&x| x as f32).collect();
        tensor2(&f, [1, v.len()], dev)
    }

    #[test]
    fn log_prob_is_base_density_plus_log_det() {
        for dev in devices() {
            let mut rng = ChaCha8Rng::seed_from_u64(4);
            let maf = irregular(2, 2, Permutation::Reverse, &dev);
            let theta = standard_normal(&mut rng, [20, 2], &dev);
            let ctx = standard_normal(&mut rng, [20, 2], &dev);
            let a = to_vec(maf.log_prob(theta.clone(), ctx.clone()).unwrap());
            assert_close(&a, &to_vec(log_prob_via_transform(&maf, theta, ctx)), 1e-5);
        }
    }

    #[test]
    fn density_integrates_to_one_and_samples_match_in_1d_and_2d() {
        for dev in devices() {
            let mut rng = ChaCha8Rng::seed_from_u64(21);
            let m1 = irregular(1, 2, Permutation::Reverse, &dev);
            check_density_and_samples(&m1, &[0.5, -0.5], (-15.0, 15.0), 3000, 2e-3, 2000, &mut rng, &dev);
            let m2 = irregular(2, 1, Permutation::Reverse, &dev);
            check_density_and_samples(&m2, &[0.8], (-25.0, 25.0), 400, 1e-2, 2000, &mut rng, &dev);
        }
    }

    #[test]
    fn adam_steps_reduce_the_nll_on_a_conjugate_problem() {
        for dev in devices() {
            let dev = dev.autodiff();
            let mut rng = ChaCha8Rng::seed_from_u64(4);
            let mut model = MafConfig::new(1, 1).with_hidden(16).with_num_transforms(2).init(&dev).unwrap();
            let (theta, x) = conjugate_pairs(&mut rng, 256, &dev);
            let (theta_test, x_test) = conjugate_pairs(&mut rng, 2000, &dev);
            let nll = |m: &Maf| -to_vec(m.log_prob(theta_test.clone(), x_test.clone()).unwrap().mean())[0];
            let before = nll(&model);
            let mut optim = AdamConfig::new().init();
            for _ in 0..60 {
                let loss = model.log_prob(theta.clone(), x.clone()).unwrap().mean().neg();
                let grads = GradientsParams::from_grads(loss.backward(), &model);
                model = optim.step(1e-2, model, grads);
            }
            let after = nll(&model);
            eprintln!("MAF held-out NLL {before:.4} → {after:.4}");
            // Held-out NLL ≥ the entropy ½ ln(πe) ≈ 1.072 of N(x/2, 1/2) up to sampling noise (sd ≈ 0.016
            // for 2000 pairs); N(0, 1) on θ gives ≈ 1.42.
            assert!(after < before - 0.2 && after > 1.0, "NLL {before} → {after}");
        }
    }

    #[test]
    fn bad_shapes_and_configs_are_errors() {
        for dev in devices() {
            let mut rng = ChaCha8Rng::seed_from_u64(3);
            let model = MafConfig::new(2, 3).with_hidden(8).init(&dev).unwrap();
            let z = |r: usize, c: usize| tensor2(&vec![0.0; r * c], [r, c], &dev);
            assert!(matches!(model.log_prob(z(4, 3), z(4, 3)), Err(NnError::Shape { what: "theta", .. })));
            assert!(matches!(model.log_prob(z(4, 2), z(5, 3)), Err(NnError::BatchMismatch { .. })));
            assert!(model.log_prob(z(4, 2), z(4, 2)).is_err());
            assert!(model.transform(z(4, 1), z(4, 3)).is_err());
            assert!(model.inverse(z(4, 2), z(3, 3)).is_err());
            assert!(model.sample_batch(z(2, 2), &mut rng).is_err());
            assert!(model.sample(z(2, 3), 4, &mut rng).is_err());
            assert!(MafConfig::new(0, 3).init(&dev).is_err());
            assert!(MafConfig::new(2, 0).init(&dev).is_err());
            assert!(MafConfig::new(2, 3).with_num_transforms(0).init(&dev).is_err());
            assert!(MafConfig::new(2, 3).with_hidden(0).init(&dev).is_err());
        }
    }

    #[test]
    fn initialisation_and_sampling_are_determined_by_the_seeds() {
        for dev in devices() {
            let mut rng = ChaCha8Rng::seed_from_u64(5);
            let theta = standard_normal(&mut rng, [6, 3], &dev);
            let x = standard_normal(&mut rng, [6, 2], &dev);
            let lp = |seed: u64| {
                let m = MafConfig::new(3, 2).with_hidden(8).with_seed(seed).init(&dev).unwrap();
                to_vec(m.log_prob(theta.clone(), x.clone()).unwrap())
            };
            assert_eq!(lp(7), lp(7));
            assert_ne!(lp(7), lp(8));
            let m = MafConfig::new(3, 2).with_hidden(8).init(&dev).unwrap();
            let a = to_vec(m.sample_batch(x.clone(), &mut ChaCha8Rng::seed_from_u64(1)).unwrap());
            let b = to_vec(m.sample_batch(x.clone(), &mut ChaCha8Rng::seed_from_u64(1)).unwrap());
            assert_eq!(a, b);
            assert_eq!(m.sample_batch(x, &mut rng).unwrap().dims(), [6, 3]);
        }
    }
}
