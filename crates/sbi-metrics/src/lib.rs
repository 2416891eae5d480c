//! # sbi-metrics
//!
//! Two-sample metrics: C2ST with the sbibm protocol and MMD as sbibm and
//! BayesFlow compute it (spec: `shared/spec/sbibm-tasks.md` §2–3,
//! `shared/spec/methods.md` §3). Bottom layer, independent of `sbi-sim` and `sbi-nn`.
//!
//! * [`c2st`]: classifier two-sample test, scikit-learn `MLPClassifier` semantics
//!   reimplemented as a fused CPU kernel ([`mlp`]), 5-fold shuffled K-fold ([`kfold`]).
//! * [`mmd`]: maximum mean discrepancy with sbibm's median-heuristic Gaussian kernel
//!   (unbiased) or BayesFlow's multi-scale Gaussian / inverse-multiquadratic kernels (biased).

mod c2st;
mod check;
mod error;
mod gemm;
pub mod kfold;
pub mod mlp;
mod mmd;
mod simd;
mod zscore;

pub use c2st::{C2stConfig, Precision, Scoring, c2st};
pub use error::MetricsError;
pub use mlp::MlpConfig;
pub use mmd::{BAYESFLOW_GAUSSIAN_SCALES, MmdKernel, bayesflow_imq_scales, mmd};
pub use zscore::{ZScore, zscore_by_reference};
