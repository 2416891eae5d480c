//! The error type of `sbi-nn`.

use thiserror::Error;

/// Errors of `sbi-nn`: bad shapes, bad configurations and unavailable devices.
#[derive(Debug, Error)]
pub enum NnError {
    /// A tensor argument has the wrong shape.
    #[error("{what} has shape {got:?}, expected {expected}")]
    Shape {
        /// What was checked (e.g. `"theta"`).
        what: &'static str,
        /// The expected shape, in words (e.g. `"[n, 2]"`).
        expected: String,
        /// The actual shape.
        got: Vec<usize>,
    },
    /// Two batch arguments disagree on the number of rows.
    #[error("{a} has {n_a} rows but {b} has {n_b}")]
    BatchMismatch {
        /// First argument.
        a: &'static str,
        /// Its number of rows.
        n_a: usize,
        /// Second argument.
        b: &'static str,
        /// Its number of rows.
        n_b: usize,
    },
    /// An invalid configuration or argument (zero dimension, bad bounds, ...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A device name that is unknown or whose backend was not compiled in.
    #[error("device '{name}' is not available: {reason}; available devices: {available}")]
    Device {
        /// The requested name.
        name: String,
        /// Why it is not available.
        reason: String,
        /// The devices this build offers, comma-separated.
        available: String,
    },
}
