//! The fused CPU engine for the VAEs (`[train] engine = "fused"`).
//!
//! Burn's CPU backends run a CP-VAE training step as a few hundred small
//! tensor operations, each allocating its output, plus an autodiff graph, so a
//! step with two hidden layers of 64 units at batch 512 costs ≈ 2–4 ms on one
//! core while its arithmetic is ≈ 45 MFLOP. This engine computes the same loss
//! (spec `methods.md` §1), its hand-derived gradients and Burn's Adam/AdamW
//! update on the host in `f32`, with its own register-tiled matrix products
//! ([`gemm`]) and reused buffers, 64 rows at a time, the batch split in two
//! shards computed in parallel (the second by a helper thread kept awake between
//! batches, [`helper`]). The weights are read from the Burn module before
//! training and written back after it, so model files, sampling and everything
//! downstream are unchanged.
//!
//! Same data split, batch order, noise draws, KL schedule, validation loss and
//! early stopping as [`crate::fit`]; the results differ from the Burn engine's
//! only by floating-point rounding (summation order), which compounds over the
//! run, so the same seed gives a different (equally valid) model. The fused
//! engine's own result does not depend on the thread count. Supported:
//! CP-VAE and UP-VAE with any hidden widths, ReLU/SiLU/tanh, residual
//! connections; not layer normalisation (an error says so).

mod adam;
mod exp;
mod fit;
mod gemm;
mod helper;
mod net;
mod vae;

pub(crate) use fit::fit_fused;
pub(crate) use vae::HostVae;

#[cfg(test)]
mod tests;
