//! The hidden-layer activation functions offered by the MLPs.

use burn::config::Config;
use burn::tensor::{Tensor, activation};

/// A hidden-layer non-linearity (spec `methods.md` §1 leaves the choice open).
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum Activation {
    /// `max(0, x)`.
    Relu,
    /// SiLU / swish: `x · sigmoid(x)`.
    Silu,
    /// Hyperbolic tangent.
    Tanh,
}

impl Activation {
    /// Applies the activation element-wise (any shape).
    pub fn forward<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Activation::Relu => activation::relu(x),
            Activation::Silu => activation::silu(x),
            Activation::Tanh => activation::tanh(x),
        }
    }
}
