//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong in a sweep or a report.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A sweep description that cannot be used: unknown task or method, zero
    /// budget, empty list, bad TOML. `line` is 1-based when known.
    #[error("sweep {source_name}{}: {reason}", line.map(|l| format!(", line {l}")).unwrap_or_default())]
    Sweep {
        /// The file name or the built-in sweep's name.
        source_name: String,
        /// The line of the offending value, when known.
        line: Option<usize>,
        /// What is wrong.
        reason: String,
    },
    /// A results store written by another format version, or not a store.
    #[error("results store {path}: {reason}")]
    IncompatibleStore {
        /// The store's directory or file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A file could not be read or written (a full disk lands here); nothing
    /// already in the store is affected.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done (`"appending to"`, `"reading"`, ...).
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A corrupt line in the results store.
    #[error("results store {path}, line {line}: {reason}")]
    CorruptStore {
        /// The store file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A run failed to train or sample.
    #[error(transparent)]
    Train(#[from] sbi_train::TrainError),
    /// The training that this run shares with an earlier run of the same
    /// model (another observation) failed.
    #[error("the training shared with observation {observation}'s run failed: {reason}")]
    SharedTraining {
        /// The observation of the run that trained.
        observation: usize,
        /// Its error.
        reason: String,
    },
    /// A task or reference posterior failed.
    #[error(transparent)]
    Sim(#[from] sbi_sim::SimError),
    /// A metric could not be computed.
    #[error(transparent)]
    Metrics(#[from] sbi_metrics::MetricsError),
    /// A figure could not be drawn.
    #[error("figure {path}: {reason}")]
    Figure {
        /// The figure file.
        path: PathBuf,
        /// The drawing backend's message.
        reason: String,
    },
}

impl BenchError {
    /// An I/O error while `action` on `path`.
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        BenchError::Io { action, path: path.into(), source }
    }
}
