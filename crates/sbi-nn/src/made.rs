//! MADE: a masked autoencoder for distribution estimation (Germain et al.
//! 2015), conditioned on a context, as in nflows' `MADE` with sbi's MAF
//! settings (feed-forward blocks, sequential degrees). The building block of
//! [`crate::Maf`] (spec `methods.md` §2, "MAF").

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::{Device, Tensor, TensorData};
use rand::{Rng, RngCore};

use crate::flow_util::{activate, const_matrix, masked_forward_with};
use crate::{Activation, NnError, seeded_linear};

/// Configuration of a [`Made`].
///
/// Layout (nflows' `MADE` with `use_residual_blocks=False`, as sbi's MAF):
/// `h = M₀θ + C c + b₀` (one initial layer on `[θ, c]`, masked on the θ rows,
/// unmasked on the context rows; nflows has two layers with two biases, an
/// equivalent parameterisation), then `num_blocks` times `h ← act(M_b h + b_b)`, then the masked
/// output layer giving `output_multiplier · d` values. Note that, as in
/// nflows, no activation separates the initial layer from the first block.
/// Variable `v` has degree `1 +` its position in the order; hidden unit `u`
/// has degree `u mod d` (`0 … d−1`). Hidden masks keep connections to units
/// of lower or equal degree, the output mask to strictly lower, so output
/// `j·d + v` depends only on the variables before `v` in the order and on
/// the context. Weights: PyTorch's default `U(±1/√fan_in)` ([`seeded_linear`]).
///
/// Deliberate difference from nflows: nflows gives hidden units the degrees
/// `u mod max(1, d−1) + min(1, d−1)` (`1 … d−1`), so no unit sees the context
/// alone and the first variable of every MADE gets a scale and shift that
/// ignore the context (only the output bias). Here the degree-0 units see only
/// the context, so every variable's transform is conditioned on it (same cost).
#[derive(Config, Debug)]
pub struct MadeConfig {
    /// Number of autoregressive variables `d` (> 0).
    pub d_theta: usize,
    /// Context width (> 0).
    pub d_context: usize,
    /// Hidden width (> 0). Default `50` (sbi).
    #[config(default = 50)]
    pub hidden: usize,
    /// Number of hidden blocks. Default `2` (sbi/nflows).
    #[config(default = 2)]
    pub num_blocks: usize,
    /// Outputs per variable (2 for an affine transform: scale and shift). Default `2`.
    #[config(default = 2)]
    pub output_multiplier: usize,
    /// Hidden activation. Default [`Activation::Tanh`] (sbi's MAF; computed
    /// with exponentials, which is much faster than Burn's CPU `tanh` kernel).
    #[config(default = "Activation::Tanh")]
    pub activation: Activation,
}

impl MadeConfig {
    /// Builds the MADE for the variable order `order` (`order[k]` is the
    /// variable at autoregressive position `k`; a permutation of `0..d`),
    /// weights drawn from `rng`.
    pub fn init(&self, order: &[usize], device: &Device, rng: &mut dyn RngCore) -> Result<Made, NnError> {
        let (d, h, mult) = (self.d_theta, self.hidden, self.output_multiplier);
        if d == 0 || self.d_context == 0 || h == 0 || mult == 0 {
            return Err(NnError::InvalidArgument(format!(
                "MADE widths must be positive (d_theta {d}, d_context {}, hidden {h}, output_multiplier {mult})",
                self.d_context
            )));
        }
        let mut seen = vec![false; d];
        if order.len() != d || order.iter().any(|&v| v >= d || std::mem::replace(&mut seen[v], true)) {
            return Err(NnError::InvalidArgument(format!(
                "MADE order {order:?} is not a permutation of 0..{d}"
            )));
        }
        let mut deg = vec![0usize; d];
        for (pos, &v) in order.iter().enumerate() {
            deg[v] = pos + 1;
        }
        let hdeg: Vec<usize> = (0..h).map(|u| u % d).collect();
        let mask = |rows: usize, cols: usize, keep: &dyn Fn(usize, usize) -> bool| {
            let v: Vec<f32> =
                (0..rows * cols).map(|ij| if keep(ij / cols, ij % cols) { 1.0 } else { 0.0 }).collect();
            const_matrix(v, rows, cols, device)
        };
        // The θ rows and the context rows are drawn as two PyTorch-default layers (fan-in d and
        // d_context, as nflows' initial and context layers), the two biases summed.
        let dc = self.d_context;
        let mut draw = |k: usize, fan_in: usize| -> Vec<f32> {
            let bound = 1.0 / (fan_in as f64).sqrt();
            (0..k).map(|_| ((2.0 * rng.random::<f64>() - 1.0) * bound) as f32).collect()
        };
        let (mut weight, bias_theta) = (draw(d * h, d), draw(h, d));
        let (weight_ctx, bias_ctx) = (draw(dc * h, dc), draw(h, dc));
        weight.extend(weight_ctx);
        let bias: Vec<f32> = bias_theta.iter().zip(&bias_ctx).map(|(a, b)| a + b).collect();
        let initial = Linear {
            weight: Param::from_data(TensorData::new(weight, [d + dc, h]), device),
            bias: Some(Param::from_data(TensorData::new(bias, [h]), device)),
        };
        let initial_mask = mask(d + dc, h, &|v, u| v >= d || hdeg[u] >= deg[v]);
        let hidden = (0..self.num_blocks).map(|_| seeded_linear(h, h, device, rng)).collect();
        let hidden_mask = mask(h, h, &|a, b| hdeg[b] >= hdeg[a]);
        let output = seeded_linear(h, mult * d, device, rng);
        let output_mask = mask(h, mult * d, &|a, c| deg[c % d] > hdeg[a]);
        Ok(Made {
            initial,
            initial_mask,
            hidden,
            hidden_mask,
            output,
            output_mask,
            activation: self.activation,
            d_theta: d,
            d_context: self.d_context,
            order: order.to_vec(),
        })
    }
}

/// A conditional MADE: `x: [n, d]`, `context: [n, d_context]` →
/// `[n, output_multiplier · d]`, column `j·d + v` autoregressive in `x` for
/// the configured order (see [`MadeConfig`]).
#[derive(Module, Debug)]
pub struct Made {
    /// Initial layer `[d + d_context, h]` on `[x, context]` (masked on the `x` rows).
    pub initial: Linear,
    /// Constant 0/1 mask of `initial`, `[d + d_context, h]` (ones on the context rows).
    initial_mask: Tensor<2>,
    /// Hidden blocks `[h, h]` (masked).
    pub hidden: Vec<Linear>,
    /// Constant 0/1 mask shared by the hidden blocks, `[h, h]`.
    hidden_mask: Tensor<2>,
    /// Output layer `[h, output_multiplier · d]` (masked).
    pub output: Linear,
    /// Constant 0/1 mask of `output`.
    output_mask: Tensor<2>,
    /// Hidden activation.
    #[module(skip)]
    pub activation: Activation,
    /// `d`.
    pub d_theta: usize,
    /// `d_context`.
    pub d_context: usize,
    /// The variable order (position → variable).
    #[module(skip)]
    pub order: Vec<usize>,
}

/// The masked weights of a [`Made`], computed once and reused, e.g. over the
/// `d` passes of an autoregressive inversion.
#[derive(Clone, Debug)]
pub(crate) struct MaskedWeights {
    initial: Tensor<2>,
    hidden: Vec<Tensor<2>>,
    output: Tensor<2>,
}

impl Made {
    /// `x: [n, d]`, `context: [n, d_context]` → `[n, output_multiplier · d]`.
    ///
    /// # Panics
    /// On widths other than the configured ones (Burn's shape checks); the
    /// flows that use it validate their inputs and return errors instead.
    pub fn forward(&self, x: Tensor<2>, context: Tensor<2>) -> Tensor<2> {
        self.forward_with(&self.masked_weights(), Tensor::cat(vec![x, context], 1))
    }

    /// The weights multiplied by their masks.
    pub(crate) fn masked_weights(&self) -> MaskedWeights {
        MaskedWeights {
            initial: self.initial.weight.val() * self.initial_mask.clone(),
            hidden: self.hidden.iter().map(|l| l.weight.val() * self.hidden_mask.clone()).collect(),
            output: self.output.weight.val() * self.output_mask.clone(),
        }
    }

    /// The forward pass from precomputed masked weights on `input = [x, context]`, `[n, d + d_context]`.
    pub(crate) fn forward_with(&self, w: &MaskedWeights, input: Tensor<2>) -> Tensor<2> {
        let mut h = masked_forward_with(w.initial.clone(), &self.initial, input);
        for (layer, wl) in self.hidden.iter().zip(&w.hidden) {
            h = activate(self.activation, masked_forward_with(wl.clone(), layer, h));
        }
        masked_forward_with(w.output.clone(), &self.output, h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::standard_normal;
    use crate::test_util::{devices, to_vec};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// Output `j·d + v` changes when input `u` changes iff `u` precedes `v` in the order.
    fn check_dependencies(d: usize, order: &[usize], dev: &Device) {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let made = MadeConfig::new(d, 2).with_hidden(12).init(order, dev, &mut rng).unwrap();
        let x = standard_normal(&mut rng, [1, d], dev);
        let c = standard_normal(&mut rng, [1, 2], dev);
        let base = to_vec(made.forward(x.clone(), c.clone()));
        let pos = |v: usize| order.iter().position(|&o| o == v).unwrap();
        for u in 0..d {
            let mut xv = to_vec(x.clone());
            xv[u] += 1.0;
            let xs: Vec<f32> = xv.iter().map(|&v| v as f32).collect();
            let x2 = crate::test_util::tensor2(&xs, [1, d], dev);
            let out = to_vec(made.forward(x2, c.clone()));
            for col in 0..2 * d {
                let v = col % d;
                let changed = (out[col] - base[col]).abs() > 1e-7;
                assert_eq!(changed, pos(u) < pos(v), "order {order:?}: input {u} → output {col}");
            }
        }
        // Every output depends on the context.
        let c2 = c.add_scalar(1.0);
        let out = to_vec(made.forward(x, c2));
        assert!(out.iter().zip(&base).all(|(a, b)| (a - b).abs() > 1e-7));
    }

    #[test]
    fn outputs_are_autoregressive_in_the_given_order() {
        for dev in devices() {
            check_dependencies(1, &[0], &dev);
            check_dependencies(2, &[1, 0], &dev);
            check_dependencies(4, &[2, 0, 3, 1], &dev);
            check_dependencies(5, &[0, 1, 2, 3, 4], &dev);
        }
    }

    #[test]
    fn bad_orders_and_widths_are_errors() {
        for dev in devices() {
            let mut rng = ChaCha8Rng::seed_from_u64(1);
            assert!(MadeConfig::new(3, 2).init(&[0, 1], &dev, &mut rng).is_err());
            assert!(MadeConfig::new(3, 2).init(&[0, 1, 1], &dev, &mut rng).is_err());
            assert!(MadeConfig::new(3, 2).init(&[0, 1, 3], &dev, &mut rng).is_err());
            assert!(MadeConfig::new(0, 2).init(&[], &dev, &mut rng).is_err());
            assert!(MadeConfig::new(2, 2).with_hidden(0).init(&[0, 1], &dev, &mut rng).is_err());
        }
    }
}
