use thiserror::Error;

/// Errors of `sbi-sim`.
#[derive(Debug, Error)]
pub enum SimError {
    /// An array has the wrong number of columns.
    #[error("{what} has {got} columns, expected {expected}")]
    Dimension {
        /// What was checked (e.g. `"theta"`).
        what: &'static str,
        /// Expected width.
        expected: usize,
        /// Actual width.
        got: usize,
    },
    /// An array holds NaN or an infinite value.
    #[error("{what} holds a non-finite value {value} at row {row}, column {col}")]
    NonFinite {
        /// What was checked.
        what: &'static str,
        /// 0-based row.
        row: usize,
        /// 0-based column.
        col: usize,
        /// The offending value.
        value: f64,
    },
    /// Unknown task name.
    #[error("unknown task '{0}'; known tasks: {known}", known = crate::TASK_NAMES.join(", "))]
    UnknownTask(String),
    /// Observation number outside `1..=n`.
    #[error("observation {k} does not exist: observations are numbered 1..={n}")]
    Observation {
        /// Requested observation.
        k: usize,
        /// Number of observations.
        n: usize,
    },
    /// An invalid argument (constructor parameters, sample counts, ...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// Embedded task data could not be parsed (a bug or a corrupt build).
    #[error("corrupt embedded data {file}: {msg}")]
    Data {
        /// File name.
        file: &'static str,
        /// What went wrong.
        msg: String,
    },
    /// A reference sampler failed (e.g. did not converge or collapsed).
    #[error("reference posterior sampler failed: {0}")]
    Sampler(String),
}
