//! # sbi
//!
//! Simulation-based inference in Rust. This facade re-exports the layers:
//!
//! - [`sim`]: simulators, priors, the ten sbibm tasks, reference posteriors;
//! - [`nn`]: Burn modules (VAEs, flows, classifiers);
//! - [`train`]: training loop, estimators, posteriors;
//! - [`metrics`]: C2ST and MMD;
//! - [`bench`](mod@bench): budget sweeps and reports;
//!
//! plus [`io`], reading and writing sample files (CSV, `.csv.bz2`, `.npy`),
//! and the `sbi` command-line tool.

pub use sbi_bench as bench;
pub use sbi_metrics as metrics;
pub use sbi_nn as nn;
pub use sbi_sim as sim;
pub use sbi_train as train;

mod error;
pub use error::IoError;

pub mod io;

/// Items most users need: the task traits and registry of [`sim`], the
/// metrics, and sample-file I/O.
///
/// ```
/// use sbi::prelude::*;
/// let task = task_by_name("gaussian_linear").unwrap();
/// assert_eq!(task.theta_dim(), 10);
/// ```
pub mod prelude {
    pub use crate::IoError;
    pub use crate::io::{Table, read_matrix, write_matrix};
    pub use sbi_metrics::{C2stConfig, MmdKernel, c2st, mmd};
    pub use sbi_sim::prelude::*;
}
