//! Multi-layer perceptron: the trunk of every network in the crate.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{LayerNorm, LayerNormConfig, Linear};
use burn::tensor::{Device, Tensor};
use rand::RngCore;

use crate::{Activation, NnError, seeded_linear};

/// Configuration of an [`Mlp`].
///
/// Layout: `d_input → hidden[0] → … → hidden[k-1] → d_output`. Each hidden
/// layer is `linear → (layer norm) → activation`; the output layer is linear
/// with no activation. With `residual`, a hidden layer whose input and output
/// widths are equal adds its input: `h ← h + act(norm(W h + b))`.
/// Weights and biases are drawn from the caller's RNG by [`seeded_linear`]
/// (PyTorch's `nn.Linear` default); layer norms start at the identity.
#[derive(Config, Debug)]
pub struct MlpConfig {
    /// Input width (> 0).
    pub d_input: usize,
    /// Output width (> 0).
    pub d_output: usize,
    /// Hidden widths, in order; empty gives one linear layer. Default `[128, 128]`.
    #[config(default = "vec![128, 128]")]
    pub hidden: Vec<usize>,
    /// Hidden activation. Default [`Activation::Relu`].
    #[config(default = "Activation::Relu")]
    pub activation: Activation,
    /// Layer normalisation after each hidden linear layer (before the activation). Default `false`.
    #[config(default = false)]
    pub layer_norm: bool,
    /// Residual connections on hidden layers of equal input and output width. Default `false`.
    #[config(default = false)]
    pub residual: bool,
}

impl MlpConfig {
    /// Checks the widths: all must be positive.
    pub fn validate(&self) -> Result<(), NnError> {
        if self.d_input == 0 || self.d_output == 0 || self.hidden.contains(&0) {
            return Err(NnError::InvalidArgument(format!(
                "MLP widths must be positive (d_input {}, hidden {:?}, d_output {})",
                self.d_input, self.hidden, self.d_output
            )));
        }
        Ok(())
    }

    /// Builds the MLP on `device`, weights drawn from `rng`. Use an autodiff
    /// device (`device.autodiff()`) for a trainable module.
    pub fn init(&self, device: &Device, rng: &mut dyn RngCore) -> Result<Mlp, NnError> {
        self.validate()?;
        let trunk = self.init_trunk(device, rng);
        let output = seeded_linear(trunk.d_output, self.d_output, device, rng);
        Ok(Mlp { trunk, output })
    }

    /// Builds only the hidden layers (no output layer); `d_output` is ignored.
    /// Its output width is `hidden.last()` (or `d_input` when `hidden` is empty).
    /// The widths must be valid (see [`MlpConfig::validate`]).
    pub(crate) fn init_trunk(&self, device: &Device, rng: &mut dyn RngCore) -> MlpTrunk {
        let mut layers = Vec::with_capacity(self.hidden.len());
        let mut d_in = self.d_input;
        for &width in &self.hidden {
            layers.push(HiddenLayer {
                linear: seeded_linear(d_in, width, device, rng),
                norm: self.layer_norm.then(|| LayerNormConfig::new(width).init(device)),
                residual: self.residual && d_in == width,
            });
            d_in = width;
        }
        MlpTrunk { layers, activation: self.activation, d_input: self.d_input, d_output: d_in }
    }
}

/// One hidden layer: linear, optional layer norm, activation, optional skip.
#[derive(Module, Debug)]
pub struct HiddenLayer {
    /// `[n, d_in] → [n, width]`.
    pub linear: Linear,
    /// Layer normalisation over the `width` features, if enabled.
    pub norm: Option<LayerNorm>,
    /// Whether the layer input is added to its output (only when `d_in == width`).
    pub residual: bool,
}

impl HiddenLayer {
    /// `h: [n, d_in] → [n, width]`.
    pub fn forward(&self, h: Tensor<2>, activation: Activation) -> Tensor<2> {
        let mut y = self.linear.forward(h.clone());
        if let Some(norm) = &self.norm {
            y = norm.forward(y);
        }
        let y = activation.forward(y);
        if self.residual { y + h } else { y }
    }
}

/// The hidden layers of an MLP, without an output layer (identity when empty).
#[derive(Module, Debug)]
pub struct MlpTrunk {
    /// Hidden layers, input side first.
    pub layers: Vec<HiddenLayer>,
    /// Hidden activation.
    #[module(skip)]
    pub activation: Activation,
    /// Input width.
    pub d_input: usize,
    /// Output width (last hidden width, or `d_input` when there is none).
    pub d_output: usize,
}

impl MlpTrunk {
    /// `x: [n, d_input] → [n, d_output]` (activated features).
    ///
    /// # Panics
    /// If the last dimension of `x` is not `d_input` (Burn's shape check). The
    /// model APIs ([`crate::CpVae`], [`crate::UpVae`]) validate shapes and
    /// return errors instead.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let mut h = x;
        for layer in &self.layers {
            h = layer.forward(h, self.activation);
        }
        h
    }
}

/// A multi-layer perceptron (see [`MlpConfig`] for the layout).
#[derive(Module, Debug)]
pub struct Mlp {
    /// Hidden layers.
    pub trunk: MlpTrunk,
    /// Final linear layer (no activation).
    pub output: Linear,
}

impl Mlp {
    /// `x: [n, d_input] → [n, d_output]`.
    ///
    /// # Panics
    /// If the last dimension of `x` is not `d_input` (see [`MlpTrunk::forward`]).
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.output.forward(self.trunk.forward(x))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{assert_close, devices, tensor2, to_vec};
    use burn::tensor::activation::relu;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn rng() -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(11)
    }

    fn affine(x: Tensor<2>, l: &Linear) -> Tensor<2> {
        x.matmul(l.weight.val()) + l.bias.as_ref().unwrap().val().unsqueeze::<2>()
    }

    #[test]
    fn no_hidden_layer_is_one_affine_map() {
        for dev in devices() {
            let mlp = MlpConfig::new(3, 2).with_hidden(vec![]).init(&dev, &mut rng()).unwrap();
            let x = tensor2(&[0.1, -0.2, 0.3, 1.0, 2.0, -3.0], [2, 3], &dev);
            let want = to_vec(affine(x.clone(), &mlp.output));
            assert_close(&to_vec(mlp.forward(x)), &want, 1e-6);
        }
    }

    #[test]
    fn residual_wiring_matches_hand_composition() {
        for dev in devices() {
            let mlp = MlpConfig::new(3, 2)
                .with_hidden(vec![4, 4])
                .with_residual(true)
                .init(&dev, &mut rng())
                .unwrap();
            // First layer changes width (3 → 4): no skip; second keeps it: skip.
            assert!(!mlp.trunk.layers[0].residual && mlp.trunk.layers[1].residual);
            let x = tensor2(&[0.1, -0.2, 0.3, 1.0, 2.0, -3.0], [2, 3], &dev);
            let h1 = relu(affine(x.clone(), &mlp.trunk.layers[0].linear));
            let h2 = relu(affine(h1.clone(), &mlp.trunk.layers[1].linear)) + h1;
            let want = to_vec(affine(h2, &mlp.output));
            assert_close(&to_vec(mlp.forward(x)), &want, 1e-5);
        }
    }

    #[test]
    fn layer_norm_and_activations_give_finite_outputs_of_the_right_shape() {
        for dev in devices() {
            for act in [Activation::Relu, Activation::Silu, Activation::Tanh] {
                let mlp = MlpConfig::new(2, 5)
                    .with_hidden(vec![16, 16])
                    .with_activation(act)
                    .with_layer_norm(true)
                    .init(&dev, &mut rng())
                    .unwrap();
                assert!(mlp.trunk.layers.iter().all(|l| l.norm.is_some()));
                let y = mlp.forward(tensor2(&[1.0, -1.0, 0.5, 2.0], [2, 2], &dev));
                assert_eq!(y.dims(), [2, 5]);
                assert!(to_vec(y).iter().all(|v| v.is_finite()));
            }
        }
    }

    #[test]
    fn tanh_hidden_features_are_bounded() {
        for dev in devices() {
            let trunk = MlpConfig::new(2, 1)
                .with_hidden(vec![8])
                .with_activation(Activation::Tanh)
                .init_trunk(&dev, &mut rng());
            let h = to_vec(trunk.forward(tensor2(&[100.0, -100.0], [1, 2], &dev)));
            assert!(h.iter().all(|v| v.abs() <= 1.0), "{h:?}");
        }
    }

    #[test]
    fn zero_widths_are_errors() {
        for dev in devices() {
            assert!(MlpConfig::new(0, 2).init(&dev, &mut rng()).is_err());
            assert!(MlpConfig::new(2, 0).init(&dev, &mut rng()).is_err());
            let err = MlpConfig::new(2, 2).with_hidden(vec![4, 0]).init(&dev, &mut rng()).unwrap_err();
            assert!(err.to_string().contains("positive"), "{err}");
        }
    }
}
