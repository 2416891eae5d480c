//! nflows' `ResidualNet` with context gating: the spline conditioner of the
//! coupling layers of [`crate::Nsf`] (sbi's `build_nsf`; spec `methods.md` §2).

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::activation::{relu, sigmoid};
use burn::tensor::{Device, Tensor};
use rand::RngCore;

use crate::flow_util::uniform_linear;
use crate::seeded_linear;

/// Sizes of a [`ResidualNet`].
pub(crate) struct ResidualNetConfig {
    pub(crate) d_input: usize,
    pub(crate) d_output: usize,
    pub(crate) hidden: usize,
    pub(crate) num_blocks: usize,
    pub(crate) d_context: usize,
}

impl ResidualNetConfig {
    pub(crate) fn init(&self, device: &Device, rng: &mut dyn RngCore) -> ResidualNet {
        let h = self.hidden;
        let initial = seeded_linear(self.d_input, h, device, rng);
        let blocks = (0..self.num_blocks)
            .map(|_| ResidualBlock {
                context: seeded_linear(self.d_context, h, device, rng),
                linear0: seeded_linear(h, h, device, rng),
                // nflows' zero_initialization: the last layer of a block starts near zero.
                linear1: uniform_linear(h, h, 1e-3, 0.0, device, rng),
            })
            .collect();
        let output = seeded_linear(h, self.d_output, device, rng);
        ResidualNet { initial, blocks, output }
    }
}

/// nflows' `ResidualBlock` with context: `h + (W₁ relu(W₀ relu(h))) ⊙ σ(C c)`.
#[derive(Module, Debug)]
pub struct ResidualBlock {
    /// Context gate `[d_context, h]`.
    pub context: Linear,
    /// First linear layer `[h, h]`.
    pub linear0: Linear,
    /// Second linear layer `[h, h]` (initialised near zero).
    pub linear1: Linear,
}

/// nflows' `ResidualNet`: `Linear([x, c]) → residual blocks → Linear`, the
/// spline conditioner of an NSF coupling layer.
#[derive(Module, Debug)]
pub struct ResidualNet {
    /// Input layer `[d_identity + d_context, h]`.
    pub initial: Linear,
    /// Residual blocks.
    pub blocks: Vec<ResidualBlock>,
    /// Output layer `[h, n_transform · (3K − 1)]`.
    pub output: Linear,
}

impl ResidualNet {
    /// `input: [n, d_input]` (the identity features and the context, concatenated), `context: [n, d_context]`.
    pub(crate) fn forward(&self, input: Tensor<2>, context: Tensor<2>) -> Tensor<2> {
        let mut h = self.initial.forward(input);
        for b in &self.blocks {
            let t = b.linear1.forward(relu(b.linear0.forward(relu(h.clone()))));
            h = h + t * sigmoid(b.context.forward(context.clone()));
        }
        self.output.forward(h)
    }
}
