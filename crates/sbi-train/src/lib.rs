//! # sbi-train
//!
//! Losses, the training loop, the `Estimator` and `Posterior` traits and the
//! estimators (CP-VAE, UP-VAE, NPE, sequential NPE, NLE, NRE, ...). Builds on
//! `sbi-sim` and `sbi-nn`.
//!
//! Not implemented yet: this crate is filled by the CP-VAE/UP-VAE and NPE issues.
