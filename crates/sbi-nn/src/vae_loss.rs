//! The per-pair terms of a VAE loss.

use burn::tensor::Tensor;

/// The terms of a VAE's negative evidence lower bound, one value per training
/// pair (shape `[n]` each), kept apart so that a training loop can log them
/// and apply a KL weight schedule (warm-up, cyclical β).
#[derive(Clone, Debug)]
pub struct VaeLoss {
    /// `−log p(θ | z, x)` under the parameter decoder, `[n]`.
    pub nll_theta: Tensor<1>,
    /// `−log p(x | z)` under the data decoder, `[n]` (UP-VAE only).
    pub nll_x: Option<Tensor<1>>,
    /// Weight λ of `nll_x` in the loss (UP-VAE's `x_weight`; `1` is the bound).
    pub x_weight: f64,
    /// The KL term (`KL(q ‖ p(z|x))` for the CP-VAE, `KL(q ‖ N(0, I))` for the UP-VAE), `[n]`.
    pub kl: Tensor<1>,
}

impl VaeLoss {
    /// Per-pair loss `nll_theta (+ λ · nll_x) + β · kl`, `[n]` (spec `methods.md` §1,
    /// with a KL weight β and a data-term weight λ = `x_weight`).
    pub fn per_pair(&self, beta: f64) -> Tensor<1> {
        let mut total = self.nll_theta.clone() + self.kl.clone().mul_scalar(beta);
        if let Some(nll_x) = &self.nll_x {
            total = total + nll_x.clone().mul_scalar(self.x_weight);
        }
        total
    }

    /// Batch mean of [`VaeLoss::per_pair`], shape `[1]`: the quantity minimised.
    pub fn mean(&self, beta: f64) -> Tensor<1> {
        self.per_pair(beta).mean()
    }
}
