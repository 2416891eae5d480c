//! # sbi-nn
//!
//! Burn 0.22 modules for simulation-based inference: MLPs, Gaussian heads,
//! the CP-VAE and UP-VAE of Nautiyal et al. (arXiv 2411.14511), normalising
//! flows (MDN, MAF, NSF) and classifiers. Bottom layer, independent of
//! `sbi-sim` and `sbi-metrics`.
//!
//! Not implemented yet: this crate is filled by the CP-VAE/UP-VAE and NPE issues.
