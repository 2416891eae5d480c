//! The error type of `sbi-train`.

use thiserror::Error;

/// Errors of `sbi-train`: bad data, failed training, failed sampling, bad model files.
#[derive(Debug, Error)]
pub enum TrainError {
    /// An error from the network layer (shapes, configurations, devices).
    #[error(transparent)]
    Nn(#[from] sbi_nn::NnError),
    /// An error from the simulation layer (tasks, priors, simulators).
    #[error(transparent)]
    Sim(#[from] sbi_sim::SimError),
    /// Training data or an observation is unusable (wrong width, empty, non-finite, ...).
    #[error("invalid data: {0}")]
    InvalidData(String),
    /// An invalid configuration value.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// The training loss became NaN or infinite.
    #[error(
        "the {which} loss became {value} at epoch {epoch}; try a lower learning rate, \
         gradient clipping or a KL warm-up"
    )]
    NonFiniteLoss {
        /// `"training"` or `"validation"`.
        which: &'static str,
        /// The epoch (1-based) in which it happened.
        epoch: usize,
        /// The value (NaN or ±∞).
        value: f64,
    },
    /// Too few posterior draws fall inside the prior support.
    #[error(
        "posterior sampling collapsed: only {accepted} of {proposed} draws ({rate:.2e}) fell inside the \
         prior support, below the limit {min_rate:.1e}; the estimator puts its mass outside the prior"
    )]
    SupportCollapse {
        /// Draws accepted.
        accepted: usize,
        /// Draws proposed.
        proposed: usize,
        /// `accepted / proposed`.
        rate: f64,
        /// The configured minimum acceptance rate.
        min_rate: f64,
    },
    /// The method is known but not (yet) implemented in this build.
    #[error("method '{0}' is not implemented yet")]
    NotImplemented(String),
    /// The operation is not offered by this method (e.g. `log_prob` of a VAE).
    #[error("{what} is not supported by method '{method}'")]
    Unsupported {
        /// The operation.
        what: &'static str,
        /// The method's name.
        method: String,
    },
    /// A model file that cannot be read: truncated, corrupted, of another
    /// format version, another method or other dimensions.
    #[error("model file {path}: {reason}")]
    ModelFile {
        /// The file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An I/O error while reading or writing a file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl TrainError {
    pub(crate) fn model_file(path: &std::path::Path, reason: impl Into<String>) -> Self {
        TrainError::ModelFile { path: path.display().to_string(), reason: reason.into() }
    }
}
