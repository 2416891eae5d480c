//! Mixture density network: a Gaussian mixture with full covariances whose
//! parameters are an MLP of the context (spec `methods.md` §2, NPE "MDN";
//! sbi's `build_mdn` / pyknos' `MultivariateGaussianMDN`).

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Tensor, TensorData};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use crate::check::check_matrix;
use crate::density::check_log_prob_args;
use crate::flow_util::{const_matrix, host_vec, log_sum_exp};
use crate::{Activation, ConditionalDensity, LN_2PI, MlpConfig, MlpTrunk, NnError};

/// Configuration of an [`Mdn`].
///
/// Defaults follow sbi's `build_mdn`: 10 components, a ReLU trunk of three
/// hidden layers of 50 units. The head is initialised as pyknos'
/// `custom_initialization`: mixing logits, log-diagonals and off-diagonal
/// entries start near zero (weights and biases `U(−0.01, 0.01)`), so every
/// component starts with nearly equal weight and unit precision factor
/// (identity covariance, the scale of z-scored θ); the means use the
/// PyTorch default `U(−1/√h, 1/√h)`.
#[derive(Config, Debug)]
pub struct MdnConfig {
    /// Dimension of θ (> 0).
    pub d_theta: usize,
    /// Dimension of the context (> 0).
    pub d_context: usize,
    /// Number of mixture components `K` (> 0). Default `10`.
    #[config(default = 10)]
    pub num_components: usize,
    /// Hidden widths of the context trunk. Default `[50, 50, 50]`.
    #[config(default = "vec![50, 50, 50]")]
    pub hidden: Vec<usize>,
    /// Trunk activation. Default [`Activation::Relu`].
    #[config(default = "Activation::Relu")]
    pub activation: Activation,
    /// Seed of the weight initialisation (ChaCha8). Default `0`.
    #[config(default = 0)]
    pub seed: u64,
}

impl MdnConfig {
    /// Builds the MDN on `device` (use `device.autodiff()` to train it),
    /// weights drawn from a ChaCha8 RNG seeded with `seed`.
    /// Errors on a zero dimension or width.
    pub fn init(&self, device: &Device) -> Result<Mdn, NnError> {
        let (d, k) = (self.d_theta, self.num_components);
        if d == 0 || self.d_context == 0 || k == 0 {
            return Err(NnError::InvalidArgument(format!(
                "MDN dimensions must be positive (d_theta {d}, d_context {}, num_components {k})",
                self.d_context
            )));
        }
        let rng = &mut ChaCha8Rng::seed_from_u64(self.seed);
        let mlp = MlpConfig::new(self.d_context, 1)
            .with_hidden(self.hidden.clone())
            .with_activation(self.activation);
        mlp.validate()?;
        let trunk = mlp.init_trunk(device, rng);
        let m = d * (d - 1) / 2;
        let head = head_layer(trunk.d_output, k, d, m, device, rng);
        // Scatter matrices placing the d diagonal / m strictly-upper entries into a row-major d×d matrix.
        let mut diag = vec![0f32; d * d * d];
        for i in 0..d {
            diag[i * d * d + i * d + i] = 1.0;
        }
        let mut upper = vec![0f32; m * d * d];
        let mut r = 0;
        for i in 0..d {
            for j in i + 1..d {
                upper[r * d * d + i * d + j] = 1.0;
                r += 1;
            }
        }
        Ok(Mdn {
            trunk,
            head,
            diag_scatter: const_matrix(diag, d, d * d, device),
            upper_scatter: (m > 0).then(|| const_matrix(upper, m, d * d, device)),
            d_theta: d,
            d_context: self.d_context,
            num_components: k,
        })
    }
}

/// The head `[n, h] → [n, K(1 + 2d) + K·m]`, initialised as in [`MdnConfig`].
fn head_layer(h: usize, k: usize, d: usize, m: usize, device: &Device, rng: &mut dyn RngCore) -> Linear {
    let p = k * (1 + 2 * d + m);
    let default = 1.0 / (h as f64).sqrt();
    // Column c is a mean column when K ≤ c < K + K·d.
    let bound = |c: usize| if (k..k + k * d).contains(&c) { default } else { 0.01 };
    let mut weight = vec![0f32; h * p];
    for i in 0..h {
        for c in 0..p {
            weight[i * p + c] = ((2.0 * rng.random::<f64>() - 1.0) * bound(c)) as f32;
        }
    }
    let bias: Vec<f32> = (0..p).map(|c| ((2.0 * rng.random::<f64>() - 1.0) * bound(c)) as f32).collect();
    Linear {
        weight: Param::from_data(TensorData::new(weight, [h, p]), device),
        bias: Some(Param::from_data(TensorData::new(bias, [p]), device)),
    }
}

/// The parameters of the Gaussian mixtures of a batch of contexts.
///
/// Component `k` of row `i` is `N(μ_ik, P_ik⁻¹)` with precision
/// `P = Uᵀ U`, `U` upper triangular with positive diagonal `exp(·)` (pyknos'
/// "precision factors"), weight `exp(log_weights[i, k])`.
#[derive(Clone, Debug)]
pub struct MixtureParams {
    /// Normalised log mixing weights, `[m, K]`.
    pub log_weights: Tensor<2>,
    /// Means, `[m, K, d]`.
    pub means: Tensor<3>,
    /// Upper-triangular precision factors `U`, `[m, K, d, d]` (`P = UᵀU`).
    pub precision_factors: Tensor<4>,
    /// `Σ_j log U_jj = ½ log det P`, `[m, K]`.
    pub half_log_det_precision: Tensor<2>,
}

impl MixtureParams {
    /// Precisions `P = UᵀU`, `[m, K, d, d]`.
    pub fn precisions(&self) -> Tensor<4> {
        self.precision_factors.clone().swap_dims(2, 3).matmul(self.precision_factors.clone())
    }
}

/// Mixture density network `q(θ | c) = Σ_k w_k(c) N(θ; μ_k(c), P_k(c)⁻¹)`
/// (spec `methods.md` §2). An MLP trunk of the context feeds one linear head
/// giving the `K` mixing logits, `K·d` means, `K·d` log-diagonals and
/// `K·d(d−1)/2` strictly-upper entries of the precision factors `U_k`.
#[derive(Module, Debug)]
pub struct Mdn {
    /// Context trunk `[n, d_context] → [n, h]`.
    pub trunk: MlpTrunk,
    /// Head `[n, h] → [n, K(1 + 2d) + K·d(d−1)/2]`, columns: logits, means, log-diagonals, upper entries.
    pub head: Linear,
    /// Constant `[d, d²]` 0/1 matrix placing a diagonal into a row-major `d × d` matrix.
    diag_scatter: Tensor<2>,
    /// Constant `[d(d−1)/2, d²]` 0/1 matrix placing the strictly-upper entries (`None` for `d = 1`).
    upper_scatter: Option<Tensor<2>>,
    /// `d_theta`.
    pub d_theta: usize,
    /// `d_context`.
    pub d_context: usize,
    /// `K`.
    pub num_components: usize,
}

impl Mdn {
    /// A network with `num_components` components that starts as this one: the same
    /// trunk, and component `c` of the new head a copy of component `c mod K` of this
    /// head (mixing logit, mean, precision-factor columns), so the mixture density is
    /// unchanged up to the noise. Gaussian noise of standard deviation `mean_noise` is
    /// added to the bias of every copied mean column, so that the copies can separate
    /// during training (identical copies get identical gradients).
    ///
    /// SNPE-A uses it to start its last round's `K`-component MDN from the
    /// one-component network of the earlier rounds (as sbi does), rather than from a
    /// fresh initialisation trained on one round's simulations alone.
    ///
    /// Errors: `num_components` 0, or a noise that is negative or not finite.
    pub fn expand_components(
        &self,
        num_components: usize,
        mean_noise: f64,
        rng: &mut dyn RngCore,
    ) -> Result<Mdn, NnError> {
        if num_components == 0 || !(mean_noise.is_finite() && mean_noise >= 0.0) {
            return Err(NnError::InvalidArgument(format!(
                "expand_components needs num_components > 0 and a finite noise >= 0 (got {num_components}, \
                 {mean_noise})"
            )));
        }
        let (k0, k1, d) = (self.num_components, num_components, self.d_theta);
        let m = d * (d - 1) / 2;
        let (p0, p1) = (k0 * (1 + 2 * d + m), k1 * (1 + 2 * d + m));
        let device = self.head.weight.device();
        let h = self.head.weight.dims()[0];
        // Column of component c's j-th entry of each block in a head of K components.
        let blocks = |k: usize| [(0, 1), (k, d), (k + k * d, d), (k + 2 * k * d, m)];
        let mut map = vec![0usize; p1];
        let mut is_mean = vec![false; p1];
        for (b, (&(s1, w), &(s0, _))) in blocks(k1).iter().zip(&blocks(k0)).enumerate() {
            for c in 0..k1 {
                for j in 0..w {
                    map[s1 + c * w + j] = s0 + (c % k0) * w + j;
                    is_mean[s1 + c * w + j] = b == 1;
                }
            }
        }
        let w0 = host_vec(self.head.weight.val());
        let b0 = host_vec(self.head.bias.as_ref().expect("the MDN head has a bias").val());
        let mut weight = vec![0f32; h * p1];
        for i in 0..h {
            for (c, &src) in map.iter().enumerate() {
                weight[i * p1 + c] = w0[i * p0 + src] as f32;
            }
        }
        let bias: Vec<f32> = map
            .iter()
            .zip(&is_mean)
            .map(|(&src, &mean)| {
                let noise = if mean { mean_noise * rng.sample::<f64, _>(StandardNormal) } else { 0.0 };
                (b0[src] + noise) as f32
            })
            .collect();
        Ok(Mdn {
            trunk: self.trunk.clone(),
            head: Linear {
                weight: Param::from_data(TensorData::new(weight, [h, p1]), &device),
                bias: Some(Param::from_data(TensorData::new(bias, [p1]), &device)),
            },
            diag_scatter: self.diag_scatter.clone(),
            upper_scatter: self.upper_scatter.clone(),
            d_theta: d,
            d_context: self.d_context,
            num_components: k1,
        })
    }

    /// The mixture parameters for `context: [m, d_context]` (differentiable;
    /// SNPE-A's analytic correction uses them).
    pub fn mixture_params(&self, context: Tensor<2>) -> Result<MixtureParams, NnError> {
        let n = check_matrix("context", &context, self.d_context)?;
        Ok(self.params_unchecked(context, n))
    }

    fn params_unchecked(&self, context: Tensor<2>, n: usize) -> MixtureParams {
        let (k, d) = (self.num_components, self.d_theta);
        let m = d * (d - 1) / 2;
        let out = self.head.forward(self.trunk.forward(context));
        let log_weights = log_softmax(out.clone().narrow(1, 0, k), 1);
        let means = out.clone().narrow(1, k, k * d).reshape([n, k, d]);
        let log_diag = out.clone().narrow(1, k + k * d, k * d);
        let half_log_det_precision = log_diag.clone().reshape([n, k, d]).sum_dim(2).reshape([n, k]);
        let mut u = log_diag.exp().reshape([n * k, d]).matmul(self.diag_scatter.clone());
        if let Some(s) = &self.upper_scatter {
            u = u + out.narrow(1, k + 2 * k * d, k * m).reshape([n * k, m]).matmul(s.clone());
        }
        MixtureParams {
            log_weights,
            means,
            precision_factors: u.reshape([n, k, d, d]),
            half_log_det_precision,
        }
    }
}

impl ConditionalDensity for Mdn {
    fn d_theta(&self) -> usize {
        self.d_theta
    }

    fn d_context(&self) -> usize {
        self.d_context
    }

    /// `log Σ_k w_k N(θ; μ_k, P_k⁻¹)` with
    /// `log N = ½ log det P_k − (d/2) ln 2π − ½ ‖U_k (θ − μ_k)‖²`, one batched
    /// matrix product for all components.
    fn log_prob(&self, theta: Tensor<2>, context: Tensor<2>) -> Result<Tensor<1>, NnError> {
        let n = check_log_prob_args(&theta, &context, self.d_theta, self.d_context)?;
        let (k, d) = (self.num_components, self.d_theta);
        let p = self.params_unchecked(context, n);
        let diff = (theta.reshape([n, 1, d]) - p.means).reshape([n, k, d, 1]);
        let z = p.precision_factors.matmul(diff);
        let quad = z.square().sum_dim(2).reshape([n, k]);
        let comp = p.log_weights + p.half_log_det_precision - quad.mul_scalar(0.5);
        Ok(log_sum_exp(comp).sub_scalar(0.5 * LN_2PI * d as f64))
    }

    /// Ancestral sampling on the host: a component from the weights, then
    /// `θ = μ_k + U_k⁻¹ ε` (back-substitution; `Cov = P⁻¹ = U⁻¹U⁻ᵀ`).
    fn sample_batch(&self, context: Tensor<2>, rng: &mut dyn RngCore) -> Result<Tensor<2>, NnError> {
        let n = check_matrix("context", &context, self.d_context)?;
        let device = context.device();
        let (k, d) = (self.num_components, self.d_theta);
        let p = self.params_unchecked(context, n);
        let lw = host_vec(p.log_weights);
        let mu = host_vec(p.means);
        let uf = host_vec(p.precision_factors);
        let mut out = vec![0f32; n * d];
        let mut x = vec![0f64; d];
        for i in 0..n {
            let u: f64 = rng.random();
            let mut acc = 0.0;
            let mut comp = k - 1;
            for c in 0..k {
                acc += lw[i * k + c].exp();
                if u < acc {
                    comp = c;
                    break;
                }
            }
            let eps: Vec<f64> = (0..d).map(|_| rng.sample(StandardNormal)).collect();
            let base = (i * k + comp) * d * d;
            for r in (0..d).rev() {
                let s: f64 = (r + 1..d).map(|j| uf[base + r * d + j] * x[j]).sum();
                x[r] = (eps[r] - s) / uf[base + r * d + r];
            }
            for j in 0..d {
                out[i * d + j] = (mu[(i * k + comp) * d + j] + x[j]) as f32;
            }
        }
        Ok(Tensor::from_data(TensorData::new(out, [n, d]), &device))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::density::testing::check_density_and_samples;
    use crate::standard_normal;
    use crate::test_util::{conjugate_pairs, devices, tensor2, to_vec};
    use burn::optim::{AdamConfig, GradientsParams};

    /// A small MDN whose head weights are scaled up, so that the mixture is
    /// far from the near-isotropic initial one (unequal weights, correlations).
    fn irregular(d: usize, dc: usize, dev: &Device) -> Mdn {
        let mut m = MdnConfig::new(d, dc)
            .with_num_components(3)
            .with_hidden(vec![16])
            .with_seed(3)
            .init(dev)
            .unwrap();
        let w = m.head.weight.val().mul_scalar(10.0);
        m.head.weight = Param::from_tensor(w);
        m
    }

    /// Host log-density of a Gaussian mixture from downloaded parameters, with
    /// the precision formed as `UᵀU` and its determinant by Gaussian elimination.
    fn host_log_prob(lw: &[f64], mu: &[f64], uf: &[f64], theta: &[f64], k: usize, d: usize) -> f64 {
        let mut total = 0.0;
        for c in 0..k {
            let u = &uf[c * d * d..(c + 1) * d * d];
            let p: Vec<f64> =
                (0..d * d).map(|ij| (0..d).map(|l| u[l * d + ij / d] * u[l * d + ij % d]).sum()).collect();
            let mut a = p.clone();
            let mut det = 1.0;
            for col in 0..d {
                det *= a[col * d + col];
                for r in col + 1..d {
                    let f = a[r * d + col] / a[col * d + col];
                    for j in col..d {
                        a[r * d + j] -= f * a[col * d + j];
                    }
                }
            }
            let diff: Vec<f64> = (0..d).map(|j| theta[j] - mu[c * d + j]).collect();
            let quad: f64 =
                (0..d).map(|i| (0..d).map(|j| diff[i] * p[i * d + j] * diff[j]).sum::<f64>()).sum();
            total += (lw[c] + 0.5 * det.ln() - 0.5 * d as f64 * LN_2PI - 0.5 * quad).exp();
        }
        total.ln()
    }

    #[test]
    fn log_prob_matches_a_host_computation_in_3d() {
        for dev in devices() {
            let model = irregular(3, 2, &dev);
            let ctx = tensor2(&[0.3, -0.7], [1, 2], &dev);
            let p = model.mixture_params(ctx.clone()).unwrap();
            let lw = to_vec(p.log_weights.clone());
            assert!((lw.iter().map(|l| l.exp()).sum::<f64>() - 1.0).abs() < 1e-5);
            let uf = to_vec(p.precision_factors.clone());
            // Upper triangular with a positive diagonal.
            for c in 0..3 {
                for i in 0..3 {
                    assert!(uf[c * 9 + i * 3 + i] > 0.0);
                    for j in 0..i {
                        assert_eq!(uf[c * 9 + i * 3 + j], 0.0);
                    }
                }
            }
            let mu = to_vec(p.means);
            let thetas = [0.5f32, -1.0, 0.2, -0.3, 0.0, 1.5];
            let got = to_vec(model.log_prob(tensor2(&thetas, [2, 3], &dev), ctx.repeat_dim(0, 2)).unwrap());
            for r in 0..2 {
                let th: Vec<f64> = thetas[r * 3..r * 3 + 3].iter().map(|&v| v as f64).collect();
                let want = host_log_prob(&lw, &mu, &uf, &th, 3, 3);
                assert!((got[r] - want).abs() < 1e-3 * want.abs().max(1.0), "row {r}: {} vs {want}", got[r]);
            }
        }
    }

    #[test]
    fn expanded_components_keep_the_density_and_the_noise_only_moves_means() {
        for dev in devices() {
            let mut rng = ChaCha8Rng::seed_from_u64(5);
            let thetas = [0.5f32, -1.0, 0.2, -0.3, 0.0, 1.5];
            let ctx = tensor2(&[0.3, -0.7, 1.1, 0.4], [2, 2], &dev);
            let theta = tensor2(&thetas, [2, 3], &dev);
            for (base, k) in [(irregular(3, 2, &dev), 7), (irregular(3, 2, &dev), 3)] {
                let want = to_vec(base.log_prob(theta.clone(), ctx.clone()).unwrap());
                // Replicating K components r times multiplies each weight by 1/r and
                // leaves the mixture unchanged (7 = 3 + 3 + 1 copies is not a multiple
                // of 3, so only check exactness for whole replications).
                let same = base.expand_components(3 * 2, 0.0, &mut rng).unwrap();
                assert_eq!(same.num_components, 6);
                let got = to_vec(same.log_prob(theta.clone(), ctx.clone()).unwrap());
                for (g, w) in got.iter().zip(&want) {
                    assert!((g - w).abs() < 1e-4, "{g} vs {w}");
                }
                let noisy = base.expand_components(k, 0.1, &mut rng).unwrap();
                let (p0, p1) =
                    (base.mixture_params(ctx.clone()).unwrap(), noisy.mixture_params(ctx.clone()).unwrap());
                let (f0, f1) = (to_vec(p0.precision_factors), to_vec(p1.precision_factors));
                let (m0, m1) = (to_vec(p0.means), to_vec(p1.means));
                for row in 0..2 {
                    for c in 0..k {
                        let (src, dst) = (row * 3 + c % 3, row * k + c);
                        // Precision factors copied exactly; means moved by the noise only.
                        assert_eq!(f1[dst * 9..dst * 9 + 9], f0[src * 9..src * 9 + 9]);
                        for j in 0..3 {
                            let shift = (m1[dst * 3 + j] - m0[src * 3 + j]).abs();
                            assert!(shift < 0.6, "mean moved by {shift}");
                        }
                    }
                }
                assert_ne!(m1[0..3], m1[9..12], "copies of one component differ after the noise");
            }
            assert!(irregular(2, 1, &dev).expand_components(0, 0.1, &mut rng).is_err());
            assert!(irregular(2, 1, &dev).expand_components(2, f64::NAN, &mut rng).is_err());
        }
    }

    #[test]
    fn density_integrates_to_one_and_samples_match_in_1d_and_2d() {
        for dev in devices() {
            let mut rng = ChaCha8Rng::seed_from_u64(21);
            let m1 = irregular(1, 2, &dev);
            check_density_and_samples(&m1, &[0.5, -0.5], (-12.0, 12.0), 2000, 1e-3, 2000, &mut rng, &dev);
            let m2 = irregular(2, 1, &dev);
            check_density_and_samples(&m2, &[0.8], (-12.0, 12.0), 300, 1e-2, 2000, &mut rng, &dev);
        }
    }

    #[test]
    fn adam_steps_reduce_the_nll_on_a_conjugate_problem() {
        for dev in devices() {
            let dev = dev.autodiff();
            let mut rng = ChaCha8Rng::seed_from_u64(4);
            let mut model =
                MdnConfig::new(1, 1).with_hidden(vec![16, 16]).with_num_components(3).init(&dev).unwrap();
            let (theta, x) = conjugate_pairs(&mut rng, 256, &dev);
            let (theta_test, x_test) = conjugate_pairs(&mut rng, 2000, &dev);
            let nll = |m: &Mdn| -to_vec(m.log_prob(theta_test.clone(), x_test.clone()).unwrap().mean())[0];
            let before = nll(&model);
            let mut optim = AdamConfig::new().init();
            for _ in 0..60 {
                let loss = model.log_prob(theta.clone(), x.clone()).unwrap().mean().neg();
                let grads = GradientsParams::from_grads(loss.backward(), &model);
                model = optim.step(1e-2, model, grads);
            }
            let after = nll(&model);
            eprintln!("MDN held-out NLL {before:.4} → {after:.4}");
            // Held-out NLL ≥ the entropy ½ ln(πe) ≈ 1.072 of N(x/2, 1/2) up to sampling noise (sd ≈ 0.016
            // for 2000 pairs); the prior-like start is ≈ 1.42.
            assert!(after < before - 0.2 && after > 1.0, "NLL {before} → {after}");
        }
    }

    #[test]
    fn bad_shapes_and_configs_are_errors() {
        for dev in devices() {
            let mut rng = ChaCha8Rng::seed_from_u64(3);
            let model = MdnConfig::new(2, 3).with_hidden(vec![8]).init(&dev).unwrap();
            let z = |r: usize, c: usize| tensor2(&vec![0.0; r * c], [r, c], &dev);
            assert!(matches!(model.log_prob(z(4, 3), z(4, 3)), Err(NnError::Shape { what: "theta", .. })));
            assert!(matches!(model.log_prob(z(4, 2), z(5, 3)), Err(NnError::BatchMismatch { .. })));
            assert!(model.log_prob(z(4, 2), z(4, 2)).is_err());
            assert!(model.log_prob(z(0, 2), z(0, 3)).is_err());
            assert!(model.sample_batch(z(2, 2), &mut rng).is_err());
            assert!(model.sample(z(2, 3), 4, &mut rng).is_err());
            assert!(model.sample(z(1, 3), 0, &mut rng).is_err());
            assert!(model.mixture_params(z(1, 4)).is_err());
            assert!(MdnConfig::new(0, 3).init(&dev).is_err());
            assert!(MdnConfig::new(1, 3).with_num_components(0).init(&dev).is_err());
            assert!(MdnConfig::new(1, 3).with_hidden(vec![0]).init(&dev).is_err());
        }
    }

    #[test]
    fn initialisation_and_sampling_are_determined_by_the_seeds() {
        for dev in devices() {
            let mut rng = ChaCha8Rng::seed_from_u64(5);
            let theta = standard_normal(&mut rng, [6, 2], &dev);
            let x = standard_normal(&mut rng, [6, 3], &dev);
            let lp = |seed: u64| {
                let m = MdnConfig::new(2, 3).with_hidden(vec![8]).with_seed(seed).init(&dev).unwrap();
                to_vec(m.log_prob(theta.clone(), x.clone()).unwrap())
            };
            assert_eq!(lp(7), lp(7));
            assert_ne!(lp(7), lp(8));
            let m = MdnConfig::new(2, 3).with_hidden(vec![8]).init(&dev).unwrap();
            let a = to_vec(m.sample_batch(x.clone(), &mut ChaCha8Rng::seed_from_u64(1)).unwrap());
            let b = to_vec(m.sample_batch(x.clone(), &mut ChaCha8Rng::seed_from_u64(1)).unwrap());
            assert_eq!(a, b);
            assert_eq!(m.sample_batch(x, &mut rng).unwrap().dims(), [6, 2]);
        }
    }
}
