//! # sbi
//!
//! Simulation-based inference in Rust. This facade re-exports the layers:
//!
//! - [`sim`]: simulators, priors, the ten sbibm tasks, reference posteriors;
//! - [`nn`]: Burn modules (VAEs, flows, classifiers);
//! - [`train`]: training loop, estimators, posteriors;
//! - [`metrics`]: C2ST and MMD;
//! - [`bench`]: budget sweeps and reports;
//!
//! plus [`io`], reading and writing sample files (CSV, `.csv.bz2`, `.npy`),
//! and the `sbi` command-line tool.

pub use sbi_bench as bench;
pub use sbi_metrics as metrics;
pub use sbi_nn as nn;
pub use sbi_sim as sim;
pub use sbi_train as train;

pub mod io;

/// Items most users need.
pub mod prelude {
    pub use sbi_sim::prelude::*;
}
