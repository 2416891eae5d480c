//! Neural spline flow (Durkan et al. 2019) conditioned on a context: coupling
//! layers of rational-quadratic splines with linear tails, sbi's `build_nsf`
//! layout (spec `methods.md` §2, NPE "NSF").

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::check::{check_matrix, check_rows};
use crate::density::check_log_prob_args;
use crate::flow_util::{index_tensor, std_normal_log_prob};
use crate::lu_linear::LuLinear;
use crate::residual_net::{ResidualNet, ResidualNetConfig};
use crate::spline::RqSpline;
use crate::{ConditionalDensity, NnError, standard_normal};

/// Configuration of an [`Nsf`].
///
/// Defaults are sbi's `build_nsf`: 5 coupling transforms with alternating
/// masks, each followed (for `d_theta > 1`) by an LU-decomposed linear map
/// initialised at the identity; conditioners are nflows `ResidualNet`s with
/// 50 hidden units and 2 residual blocks; 10 bins, tail bound 3 (linear,
/// i.e. identity, tails); minimum bin width, height and derivative `1e-3`.
#[derive(Config, Debug)]
pub struct NsfConfig {
    /// Dimension of θ (> 0).
    pub d_theta: usize,
    /// Dimension of the context (> 0).
    pub d_context: usize,
    /// Number of coupling transforms (> 0). Default `5`.
    #[config(default = 5)]
    pub num_transforms: usize,
    /// Hidden width of the conditioners (> 0). Default `50`.
    #[config(default = 50)]
    pub hidden: usize,
    /// Residual blocks per conditioner. Default `2`.
    #[config(default = 2)]
    pub num_blocks: usize,
    /// Spline bins (≥ 2). Default `10`.
    #[config(default = 10)]
    pub num_bins: usize,
    /// The splines act on `[−B, B]` and are the identity outside. Default `3`.
    #[config(default = 3.0)]
    pub tail_bound: f64,
    /// An LU linear layer after each coupling when `d_theta > 1`. Default `true` (sbi).
    #[config(default = true)]
    pub lu_linear: bool,
    /// Minimum bin width, as a fraction of `2B`. Default `1e-3`.
    #[config(default = 1e-3)]
    pub min_bin_width: f64,
    /// Minimum bin height, as a fraction of `2B`. Default `1e-3`.
    #[config(default = 1e-3)]
    pub min_bin_height: f64,
    /// Minimum interior derivative. Default `1e-3`.
    #[config(default = 1e-3)]
    pub min_derivative: f64,
    /// Seed of the weight initialisation (ChaCha8). Default `0`.
    #[config(default = 0)]
    pub seed: u64,
}

impl NsfConfig {
    /// Builds the flow on `device` (use `device.autodiff()` to train it).
    /// Errors on a zero dimension, width or count, fewer than 2 bins, a
    /// non-positive tail bound, or minimum bin sizes that do not fit.
    pub fn init(&self, device: &Device) -> Result<Nsf, NnError> {
        let (d, dc, k) = (self.d_theta, self.d_context, self.num_bins);
        if d == 0 || dc == 0 || self.hidden == 0 || self.num_transforms == 0 {
            return Err(NnError::InvalidArgument(format!(
                "NSF sizes must be positive (d_theta {d}, d_context {dc}, hidden {}, num_transforms {})",
                self.hidden, self.num_transforms
            )));
        }
        let mins_ok = |m: f64| m.is_finite() && m >= 0.0 && m * k as f64 <= 0.5;
        let valid = k >= 2
            && self.tail_bound.is_finite()
            && self.tail_bound > 0.0
            && mins_ok(self.min_bin_width)
            && mins_ok(self.min_bin_height)
            && self.min_derivative.is_finite()
            && (0.0..1.0).contains(&self.min_derivative);
        if !valid {
            return Err(NnError::InvalidArgument(format!(
                "NSF spline settings are invalid (num_bins {k} ≥ 2, tail_bound {} > 0, min_bin_width {} and \
                 min_bin_height {} in [0, 0.5/num_bins], min_derivative {} in [0, 1))",
                self.tail_bound, self.min_bin_width, self.min_bin_height, self.min_derivative
            )));
        }
        let rng = &mut ChaCha8Rng::seed_from_u64(self.seed);
        let mut couplings = Vec::with_capacity(self.num_transforms);
        let mut lu = Vec::new();
        for t in 0..self.num_transforms {
            // nflows' create_alternating_binary_mask(even = t even): transform features start at t mod 2.
            let (transformed, identity): (Vec<usize>, Vec<usize>) =
                if d == 1 { (vec![0], vec![]) } else { (0..d).partition(|&j| j % 2 == t % 2) };
            let net = ResidualNetConfig {
                d_input: identity.len() + dc,
                d_output: transformed.len() * (3 * k - 1),
                hidden: self.hidden,
                num_blocks: self.num_blocks,
                d_context: dc,
            }
            .init(device, rng);
            let mut order = identity.clone();
            order.extend(&transformed);
            let mut inverse = vec![0; d];
            for (pos, &j) in order.iter().enumerate() {
                inverse[j] = pos;
            }
            couplings.push(SplineCoupling {
                net,
                identity_idx: (!identity.is_empty()).then(|| index_tensor(&identity, device)),
                transform_idx: index_tensor(&transformed, device),
                restore_idx: index_tensor(&inverse, device),
                n_identity: identity.len(),
                n_transform: transformed.len(),
                num_bins: k,
                tail_bound: self.tail_bound,
                min_bin_width: self.min_bin_width,
                min_bin_height: self.min_bin_height,
                min_derivative: self.min_derivative,
                param_scale: 1.0 / (self.hidden as f64).sqrt(),
            });
            if d > 1 && self.lu_linear {
                lu.push(LuLinear::identity(d, device));
            }
        }
        Ok(Nsf { couplings, lu, d_theta: d, d_context: dc })
    }
}
/// A rational-quadratic spline coupling layer: the transformed features go
/// through element-wise splines whose parameters are a [`ResidualNet`] of the
/// identity features and the context (for `d = 1`, of the context alone).
#[derive(Module, Debug)]
pub struct SplineCoupling {
    /// The conditioner.
    pub net: ResidualNet,
    /// Indices of the features passed through unchanged (`None` when `d = 1`).
    identity_idx: Option<Tensor<1, Int>>,
    /// Indices of the transformed features.
    transform_idx: Tensor<1, Int>,
    /// Restores the original feature order from `[identity, transformed]`.
    restore_idx: Tensor<1, Int>,
    /// Number of identity features.
    pub n_identity: usize,
    /// Number of transformed features.
    pub n_transform: usize,
    /// Bins `K`.
    pub num_bins: usize,
    /// `B`.
    pub tail_bound: f64,
    /// Minimum bin width fraction.
    pub min_bin_width: f64,
    /// Minimum bin height fraction.
    pub min_bin_height: f64,
    /// Minimum derivative.
    pub min_derivative: f64,
    /// Raw widths and heights are multiplied by `1/√hidden` (nflows).
    pub param_scale: f64,
}

impl SplineCoupling {
    fn spline(&self) -> RqSpline {
        RqSpline {
            tail_bound: self.tail_bound,
            min_bin_width: self.min_bin_width,
            min_bin_height: self.min_bin_height,
            min_derivative: self.min_derivative,
        }
    }

    /// Splits `x` and computes the raw spline parameters from the identity part.
    #[allow(clippy::type_complexity)]
    fn split(
        &self,
        x: Tensor<2>,
        context: Tensor<2>,
    ) -> (Option<Tensor<2>>, Tensor<2>, (Tensor<3>, Tensor<3>, Tensor<3>)) {
        let n = x.dims()[0];
        let (k, f) = (self.num_bins, self.n_transform);
        let (id, input) = match &self.identity_idx {
            Some(idx) => {
                let id = x.clone().select(1, idx.clone());
                (Some(id.clone()), Tensor::cat(vec![id, context.clone()], 1))
            }
            None => (None, context.clone()),
        };
        let tr = x.select(1, self.transform_idx.clone());
        let p = self.net.forward(input, context).reshape([n, f, 3 * k - 1]);
        let uw = p.clone().narrow(2, 0, k).mul_scalar(self.param_scale);
        let uh = p.clone().narrow(2, k, k).mul_scalar(self.param_scale);
        let ud = p.narrow(2, 2 * k, k - 1);
        (id, tr, (uw, uh, ud))
    }

    fn merge(&self, id: Option<Tensor<2>>, tr: Tensor<2>) -> Tensor<2> {
        match id {
            Some(id) => Tensor::cat(vec![id, tr], 1).select(1, self.restore_idx.clone()),
            None => tr,
        }
    }

    /// Data to noise: `(y, log|det| [n, 1])`.
    fn forward(&self, x: Tensor<2>, context: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        let (id, tr, (uw, uh, ud)) = self.split(x, context);
        let (y, ld) = self.spline().forward(tr, uw, uh, ud);
        (self.merge(id, y), ld.sum_dim(1))
    }

    /// Noise to data (one pass: the conditioner sees only unchanged features).
    fn inverse(&self, y: Tensor<2>, context: Tensor<2>) -> Tensor<2> {
        let (id, tr, (uw, uh, ud)) = self.split(y, context);
        let (x, _) = self.spline().inverse(tr, uw, uh, ud);
        self.merge(id, x)
    }
}
/// Neural spline flow `q(θ | c)`: `T` rational-quadratic spline coupling
/// layers (each followed by an LU linear map when `d > 1`) from θ to
/// `z ~ N(0, I)`; `log q(θ|c) = log N(z; 0, I) + Σ log|det|` in one pass,
/// sampling by one inverse pass per layer (spec `methods.md` §2).
///
/// For `d_theta = 1` there is nothing to couple with: each layer is a spline
/// of θ whose parameters depend on the context only (sbi uses a plain MLP
/// there; here the same [`ResidualNet`] with the context as its only input).
///
/// The coupling masks are constants rebuilt by [`NsfConfig::init`], not part
/// of the saved record: load saved weights into a model built from the same config.
#[derive(Module, Debug)]
pub struct Nsf {
    /// Coupling layers, data side first.
    pub couplings: Vec<SplineCoupling>,
    /// LU linear maps after each coupling (empty for `d = 1` or when disabled).
    pub lu: Vec<LuLinear>,
    /// `d_theta`.
    pub d_theta: usize,
    /// `d_context`.
    pub d_context: usize,
}

impl Nsf {
    /// The flow from data to noise: `theta: [n, d]`, `context: [n, d_context]`
    /// → `(z: [n, d], log|det ∂z/∂θ|: [n])`.
    pub fn transform(&self, theta: Tensor<2>, context: Tensor<2>) -> Result<(Tensor<2>, Tensor<1>), NnError> {
        check_log_prob_args(&theta, &context, self.d_theta, self.d_context)?;
        Ok(self.forward_unchecked(theta, context))
    }

    fn forward_unchecked(&self, theta: Tensor<2>, context: Tensor<2>) -> (Tensor<2>, Tensor<1>) {
        let mut x = theta;
        let mut ld: Option<Tensor<2>> = None;
        let mut ld_lu: Option<Tensor<1>> = None;
        for (t, c) in self.couplings.iter().enumerate() {
            let (y, l) = c.forward(x, context.clone());
            x = y;
            ld = Some(match ld {
                Some(acc) => acc + l,
                None => l,
            });
            if let Some(lu) = self.lu.get(t) {
                let (y, l) = lu.forward(x);
                x = y;
                ld_lu = Some(match ld_lu {
                    Some(acc) => acc + l,
                    None => l,
                });
            }
        }
        let mut ld = ld.expect("at least one transform").squeeze_dim::<1>(1);
        if let Some(l) = ld_lu {
            ld = ld + l;
        }
        (x, ld)
    }

    /// The inverse flow, noise to data: `z: [m, d]`, `context: [m, d_context]` → `θ: [m, d]`.
    pub fn inverse(&self, z: Tensor<2>, context: Tensor<2>) -> Result<Tensor<2>, NnError> {
        let m = check_matrix("z", &z, self.d_theta)?;
        check_rows("z", m, "context", check_matrix("context", &context, self.d_context)?)?;
        let mut y = z;
        for (t, c) in self.couplings.iter().enumerate().rev() {
            if let Some(lu) = self.lu.get(t) {
                y = lu.inverse(y);
            }
            y = c.inverse(y, context.clone());
        }
        Ok(y)
    }
}

impl ConditionalDensity for Nsf {
    fn d_theta(&self) -> usize {
        self.d_theta
    }

    fn d_context(&self) -> usize {
        self.d_context
    }

    fn log_prob(&self, theta: Tensor<2>, context: Tensor<2>) -> Result<Tensor<1>, NnError> {
        check_log_prob_args(&theta, &context, self.d_theta, self.d_context)?;
        let (z, ld) = self.forward_unchecked(theta, context);
        Ok(std_normal_log_prob(z) + ld)
    }

    fn sample_batch(&self, context: Tensor<2>, rng: &mut dyn RngCore) -> Result<Tensor<2>, NnError> {
        let m = check_matrix("context", &context, self.d_context)?;
        let z = standard_normal(rng, [m, self.d_theta], &context.device());
        self.inverse(z, context)
    }
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
    use burn::tensor::TensorData;

    /// A small NSF pushed away from its near-identity initialisation: larger
    /// conditioner outputs (irregular splines) and a non-trivial LU map.
    fn irregular(d: usize, dc: usize, dev: &Device) -> Nsf {
        let mut nsf = NsfConfig::new(d, dc).with_hidden(16).with_num_transforms(3).init(dev).unwrap();
        for c in &mut nsf.couplings {
            let w = c.net.output.weight.val().mul_scalar(3.0);
            c.net.output.weight = Param::from_tensor(w);
        }
        for lu in &mut nsf.lu {
            let m = lu.lower.val().dims()[0];
            let v: Vec<f32> = (0..m).map(|i| 0.5 - 0.4 * i as f32).collect();
            lu.lower = Param::from_tensor(Tensor::from_data(TensorData::new(v.clone(), [m]), dev));
            lu.upper = Param::from_tensor(Tensor::from_data(TensorData::new(v, [m]), dev).neg());
            lu.raw_diag = Param::from_tensor(lu.raw_diag.val().add_scalar(0.3));
        }
        nsf
    }

    #[test]
    fn inverse_inverts_the_transform() {
        for dev in devices() {
            let mut rng = ChaCha8Rng::seed_from_u64(2);
            for d in [1, 2, 3] {
                let nsf = irregular(d, 2, &dev);
                let theta = standard_normal(&mut rng, [60, d], &dev).mul_scalar(2.0);
                let ctx = standard_normal(&mut rng, [60, 2], &dev);
                let (z, _) = nsf.transform(theta.clone(), ctx.clone()).unwrap();
                let back = to_vec(nsf.inverse(z, ctx.clone()).unwrap());
                // f32 round trip through 3 splines (quadratic roots) and LU maps: 1e-4 relative.
                assert_close(&back, &to_vec(theta), 1e-4);
                let z2 = standard_normal(&mut rng, [60, d], &dev);
                let th2 = nsf.inverse(z2.clone(), ctx.clone()).unwrap();
                assert_close(&to_vec(nsf.transform(th2, ctx).unwrap().0), &to_vec(z2), 1e-4);
            }
        }
    }

    #[test]
    fn log_det_matches_autodiff_and_finite_differences() {
        for dev in devices() {
            let mut rng = ChaCha8Rng::seed_from_u64(3);
            for d in [1, 3] {
                let nsf = irregular(d, 2, &dev);
                let ctx = standard_normal(&mut rng, [1, 2], &dev);
                for _ in 0..3 {
                    let theta = host_vec(standard_normal(&mut rng, [1, d], &dev));
                    let to_t = |v: &[f64]| {
                        let f: Vec<f32> = v.iter().map(|&x| x as f32).collect();
                        tensor2(&f, [1, d], &dev)
                    };
                    let (_, ld) = nsf.transform(to_t(&theta), ctx.clone()).unwrap();
                    let got = to_vec(ld)[0];
                    let ad = autodiff_log_abs_det(&theta, &dev, |t| nsf.transform(t, ctx.clone()).unwrap().0);
                    assert!((got - ad).abs() < 1e-4, "d = {d}: log|det| flow {got}, autodiff Jacobian {ad}");
                    let jac = central_jacobian(&theta, 3e-3, |t| {
                        host_vec(nsf.transform(to_t(t), ctx.clone()).unwrap().0)
                    });
                    let fd = log_abs_det(jac, d);
                    // f32 central differences with h = 3e-3: rounding ~1e-7·|z|/h ≈ 1e-4 per entry, and a
                    // spline knot inside the stencil adds O(h·|Δg''|), so 1e-2 on log|det| (the spline
                    // alone is checked against finite differences to 1e-6 in f64 in `spline.rs`).
                    assert!((got - fd).abs() < 1e-2, "d = {d}: log|det| flow {got}, finite differences {fd}");
                }
            }
        }
    }

    #[test]
    fn density_integrates_to_one_and_samples_match_in_1d_and_2d() {
        for dev in devices() {
            let mut rng = ChaCha8Rng::seed_from_u64(21);
            let m1 = irregular(1, 2, &dev);
            check_density_and_samples(&m1, &[0.5, -0.5], (-15.0, 15.0), 3000, 2e-3, 2000, &mut rng, &dev);
            let m2 = irregular(2, 1, &dev);
            check_density_and_samples(&m2, &[0.8], (-15.0, 15.0), 300, 1e-2, 2000, &mut rng, &dev);
        }
    }

    #[test]
    fn adam_steps_reduce_the_nll_on_a_conjugate_problem() {
        for dev in devices() {
            let dev = dev.autodiff();
            let mut rng = ChaCha8Rng::seed_from_u64(4);
            let mut model = NsfConfig::new(1, 1).with_hidden(16).with_num_transforms(2).init(&dev).unwrap();
            let (theta, x) = conjugate_pairs(&mut rng, 256, &dev);
            let (theta_test, x_test) = conjugate_pairs(&mut rng, 2000, &dev);
            let nll = |m: &Nsf| -to_vec(m.log_prob(theta_test.clone(), x_test.clone()).unwrap().mean())[0];
            let before = nll(&model);
            let mut optim = AdamConfig::new().init();
            for _ in 0..60 {
                let loss = model.log_prob(theta.clone(), x.clone()).unwrap().mean().neg();
                let grads = GradientsParams::from_grads(loss.backward(), &model);
                model = optim.step(1e-2, model, grads);
            }
            let after = nll(&model);
            eprintln!("NSF held-out NLL {before:.4} → {after:.4}");
            // Held-out NLL ≥ the entropy ½ ln(πe) ≈ 1.072 up to sampling noise (sd ≈ 0.016 for
            // 2000 pairs); the near-identity start is ≈ N(0, 1) on θ.
            assert!(after < before - 0.2 && after > 1.0, "NLL {before} → {after}");
        }
    }

    #[test]
    fn two_dimensional_training_step_updates_lu_and_conditioners() {
        for dev in devices() {
            let dev = dev.autodiff();
            let mut rng = ChaCha8Rng::seed_from_u64(6);
            let model = NsfConfig::new(2, 2).with_hidden(8).with_num_transforms(2).init(&dev).unwrap();
            let theta = standard_normal(&mut rng, [32, 2], &dev);
            let x = standard_normal(&mut rng, [32, 2], &dev);
            let loss = model.log_prob(theta, x).unwrap().mean().neg();
            let grads = loss.backward();
            for lu in &model.lu {
                let g = to_vec(lu.raw_diag.val().grad(&grads).expect("LU diagonal gradient"));
                assert!(g.iter().all(|v| v.is_finite()) && g.iter().any(|v| *v != 0.0), "{g:?}");
            }
            for c in &model.couplings {
                let g = to_vec(c.net.output.weight.val().grad(&grads).expect("conditioner gradient"));
                assert!(g.iter().all(|v| v.is_finite()) && g.iter().any(|v| *v != 0.0));
            }
        }
    }

    #[test]
    fn bad_shapes_and_configs_are_errors() {
        for dev in devices() {
            let mut rng = ChaCha8Rng::seed_from_u64(3);
            let model = NsfConfig::new(2, 3).with_hidden(8).init(&dev).unwrap();
            let z = |r: usize, c: usize| tensor2(&vec![0.0; r * c], [r, c], &dev);
            assert!(matches!(model.log_prob(z(4, 3), z(4, 3)), Err(NnError::Shape { what: "theta", .. })));
            assert!(matches!(model.log_prob(z(4, 2), z(5, 3)), Err(NnError::BatchMismatch { .. })));
            assert!(model.log_prob(z(4, 2), z(4, 2)).is_err());
            assert!(model.inverse(z(4, 2), z(3, 3)).is_err());
            assert!(model.sample_batch(z(2, 2), &mut rng).is_err());
            assert!(model.sample(z(2, 3), 4, &mut rng).is_err());
            assert!(NsfConfig::new(0, 3).init(&dev).is_err());
            assert!(NsfConfig::new(2, 3).with_num_bins(1).init(&dev).is_err());
            assert!(NsfConfig::new(2, 3).with_tail_bound(0.0).init(&dev).is_err());
            assert!(NsfConfig::new(2, 3).with_min_bin_width(0.2).init(&dev).is_err());
            assert!(NsfConfig::new(2, 3).with_num_transforms(0).init(&dev).is_err());
        }
    }

    #[test]
    fn initialisation_and_sampling_are_determined_by_the_seeds() {
        for dev in devices() {
            let mut rng = ChaCha8Rng::seed_from_u64(5);
            let theta = standard_normal(&mut rng, [6, 3], &dev);
            let x = standard_normal(&mut rng, [6, 2], &dev);
            let lp = |seed: u64| {
                let m = NsfConfig::new(3, 2).with_hidden(8).with_seed(seed).init(&dev).unwrap();
                to_vec(m.log_prob(theta.clone(), x.clone()).unwrap())
            };
            assert_eq!(lp(7), lp(7));
            assert_ne!(lp(7), lp(8));
            let m = NsfConfig::new(3, 2).with_hidden(8).init(&dev).unwrap();
            let a = to_vec(m.sample_batch(x.clone(), &mut ChaCha8Rng::seed_from_u64(1)).unwrap());
            let b = to_vec(m.sample_batch(x.clone(), &mut ChaCha8Rng::seed_from_u64(1)).unwrap());
            assert_eq!(a, b);
            assert_eq!(m.sample_batch(x, &mut rng).unwrap().dims(), [6, 3]);
        }
    }
}
