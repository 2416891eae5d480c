//! Shared pieces of the conditional density estimators (MDN, MAF, NSF):
//! the standard-normal base density, a stable log-sum-exp, variable orderings
//! and small seeded layer initialisers.

use burn::config::Config;
use burn::module::Param;
use burn::nn::Linear;
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::seq::SliceRandom;
use rand::{Rng, RngCore};

use crate::{Activation, LN_2PI};

/// `log N(z; 0, I)` per row: `−½ Σ_j z_j² − (d/2) ln 2π`. `z: [n, d] → [n]`.
pub(crate) fn std_normal_log_prob(z: Tensor<2>) -> Tensor<1> {
    let d = z.dims()[1];
    z.square().sum_dim(1).squeeze_dim::<1>(1).mul_scalar(-0.5).sub_scalar(0.5 * LN_2PI * d as f64)
}

/// `log Σ_k exp(x_ik)` over the last dimension, stable (the row maximum is
/// subtracted, and detached: the result does not depend on it). `x: [n, k] → [n]`.
pub(crate) fn log_sum_exp(x: Tensor<2>) -> Tensor<1> {
    let max = x.clone().max_dim(1).detach();
    (x - max.clone()).exp().sum_dim(1).log().add(max).squeeze_dim::<1>(1)
}

/// How the variables are reordered between the blocks of a flow.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum Permutation {
    /// Reverse the order of the previous block (deterministic; for two
    /// dimensions it alternates the roles of θ₁ and θ₂).
    Reverse,
    /// A fresh uniformly random order per block, drawn from the model seed
    /// (sbi's `RandomPermutation`).
    Random,
}

impl Permutation {
    /// The variable orders of `blocks` successive blocks over `d` variables:
    /// block 0 uses the natural order `0, …, d−1`, each later block the
    /// reverse of its predecessor or a random order drawn from `rng`.
    /// `orders[b][k]` is the variable at autoregressive position `k` of block `b`.
    pub(crate) fn orders(self, d: usize, blocks: usize, rng: &mut dyn RngCore) -> Vec<Vec<usize>> {
        let mut out: Vec<Vec<usize>> = Vec::with_capacity(blocks);
        for b in 0..blocks {
            let order = match (b, self) {
                (0, _) => (0..d).collect(),
                (_, Permutation::Reverse) => out[b - 1].iter().rev().copied().collect(),
                (_, Permutation::Random) => {
                    let mut o: Vec<usize> = (0..d).collect();
                    o.shuffle(rng);
                    o
                }
            };
            out.push(order);
        }
        out
    }
}

/// `tanh(x) = 1 − 2 / (1 + e^{2x})`, element-wise, with `x` capped at 15
/// (where `tanh` is 1 in f32), so neither the value nor the gradient
/// overflows. Equal to Burn's `tanh` within 1e-6, but made of cheap
/// element-wise operations: about 3.5× faster forward and backward on the
/// `flex` CPU backend, whose `tanh` kernel dominated the MAF training step.
pub(crate) fn fast_tanh<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    x.clamp_max(15.0).mul_scalar(2.0).exp().add_scalar(1.0).recip().mul_scalar(-2.0).add_scalar(1.0)
}

/// Applies `activation`, with [`fast_tanh`] for [`Activation::Tanh`].
pub(crate) fn activate<const D: usize>(activation: Activation, x: Tensor<D>) -> Tensor<D> {
    match activation {
        Activation::Tanh => fast_tanh(x),
        other => other.forward(x),
    }
}

/// A 1-D integer index tensor on `device`.
pub(crate) fn index_tensor(indices: &[usize], device: &Device) -> Tensor<1, Int> {
    let v: Vec<i64> = indices.iter().map(|&i| i as i64).collect();
    Tensor::from_data(TensorData::new(v, [indices.len()]), device)
}

/// A constant `[rows, cols]` float tensor from row-major `f32` values.
pub(crate) fn const_matrix(values: Vec<f32>, rows: usize, cols: usize, device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(values, [rows, cols]), device)
}

/// A linear layer `[n, d_input] → [n, d_output]` whose weights and biases are
/// drawn i.i.d. from `U(−a, a)`, then `bias_offset` is added to the bias.
/// Used for the near-zero initialisations of nflows and pyknos
/// (`a = 1e-3` for the last layer of a residual block; small mixture heads).
pub(crate) fn uniform_linear(
    d_input: usize,
    d_output: usize,
    a: f64,
    bias_offset: f64,
    device: &Device,
    rng: &mut dyn RngCore,
) -> Linear {
    let mut draw = |k: usize, off: f64| -> Vec<f32> {
        (0..k).map(|_| ((2.0 * rng.random::<f64>() - 1.0) * a + off) as f32).collect()
    };
    let weight = draw(d_input * d_output, 0.0);
    let bias = draw(d_output, bias_offset);
    Linear {
        weight: Param::from_data(TensorData::new(weight, [d_input, d_output]), device),
        bias: Some(Param::from_data(TensorData::new(bias, [d_output]), device)),
    }
}

/// `x W + b` with a precomputed (masked) weight `w` and the bias of `layer`.
pub(crate) fn masked_forward_with(w: Tensor<2>, layer: &Linear, x: Tensor<2>) -> Tensor<2> {
    let y = x.matmul(w);
    match &layer.bias {
        Some(b) => y + b.val().unsqueeze::<2>(),
        None => y,
    }
}

/// The values of a float tensor on the host, row-major, as `f64`.
///
/// # Panics
/// Only if the backend cannot read back a float tensor (a backend bug).
pub(crate) fn host_vec<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.into_data().try_into_vec_as::<f64>().expect("a float tensor reads back as f64")
}

/// `log(exp(y) − 1)`, the inverse of softplus: the raw value that softplus maps to `y > 0`.
pub(crate) fn inverse_softplus(y: f64) -> f64 {
    y.exp_m1().ln()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{assert_close, devices, tensor2, to_vec};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn std_normal_and_log_sum_exp_values() {
        for dev in devices() {
            // log N((1, 2); 0, I) = −½·5 − ln 2π.
            let lp = to_vec(std_normal_log_prob(tensor2(&[1.0, 2.0, 0.0, 0.0], [2, 2], &dev)));
            assert_close(&lp, &[-2.5 - LN_2PI, -LN_2PI], 1e-6);
            // log(e^1000 + e^1000) = 1000 + ln 2 (no overflow); log(e^0 + e^-1).
            let x = tensor2(&[1000.0, 1000.0, 0.0, -1.0], [2, 2], &dev);
            let want = [1000.0 + 2f64.ln(), (1.0 + (-1f64).exp()).ln()];
            assert_close(&to_vec(log_sum_exp(x)), &want, 1e-6);
        }
    }

    #[test]
    fn fast_tanh_matches_tanh_with_finite_gradients() {
        for dev in devices() {
            let xs: Vec<f32> =
                (0..401).map(|i| -20.0 + 0.1 * i as f32).chain([-100.0, 100.0, 1e-4]).collect();
            let n = xs.len();
            let x = tensor2(&xs, [1, n], &dev);
            let want: Vec<f64> = xs.iter().map(|&v| (v as f64).tanh()).collect();
            let got = to_vec(fast_tanh(x));
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() < 1e-6, "{g} vs {w}");
            }
            let ad = dev.autodiff();
            let x = tensor2(&xs, [1, n], &ad).require_grad();
            let grads = fast_tanh(x.clone()).sum().backward();
            let g = to_vec(x.grad(&grads).unwrap());
            for (gi, &v) in g.iter().zip(&xs) {
                let want = 1.0 - (v as f64).tanh().powi(2);
                assert!(gi.is_finite() && (gi - want).abs() < 1e-5, "x = {v}: {gi} vs {want}");
            }
        }
    }

    #[test]
    fn orders_are_permutations_and_seeded() {
        let rev = Permutation::Reverse.orders(3, 3, &mut ChaCha8Rng::seed_from_u64(0));
        assert_eq!(rev, vec![vec![0, 1, 2], vec![2, 1, 0], vec![0, 1, 2]]);
        let a = Permutation::Random.orders(5, 4, &mut ChaCha8Rng::seed_from_u64(1));
        let b = Permutation::Random.orders(5, 4, &mut ChaCha8Rng::seed_from_u64(1));
        assert_eq!(a, b);
        for o in &a {
            let mut s = o.clone();
            s.sort_unstable();
            assert_eq!(s, vec![0, 1, 2, 3, 4]);
        }
        assert!((inverse_softplus(1.0).exp().ln_1p() - 1.0).abs() < 1e-12);
    }
}
