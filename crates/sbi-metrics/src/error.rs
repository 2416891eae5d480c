//! Errors of the metrics (spec `sbibm-tasks.md` §2–3: bad input gets a clear error, never a panic).

use thiserror::Error;

/// Why a metric could not be computed.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum MetricsError {
    /// One of the two sample sets has no rows or no columns.
    #[error(
        "{which} is empty ({rows} rows × {cols} columns); both sample sets need at least one row and one column"
    )]
    Empty {
        /// `"reference"` or `"samples"`.
        which: &'static str,
        /// Number of rows.
        rows: usize,
        /// Number of columns.
        cols: usize,
    },
    /// The two sample sets have different numbers of columns.
    #[error(
        "the two sample sets have different widths: reference has {reference} columns, samples has {samples}"
    )]
    WidthMismatch {
        /// Columns of the reference.
        reference: usize,
        /// Columns of the samples.
        samples: usize,
    },
    /// Too few rows for the requested cross-validation folds (or for the estimator).
    #[error("{which} has {rows} rows but at least {needed} are needed ({reason})")]
    TooFewRows {
        /// `"reference"`, `"samples"` or `"reference + samples"`.
        which: &'static str,
        /// Rows present.
        rows: usize,
        /// Rows needed.
        needed: usize,
        /// What needs them.
        reason: String,
    },
    /// NaN or infinite entries.
    #[error(
        "{which} contains {count} non-finite value(s) (NaN or ±inf); the first is at row {first_row}, column {first_col} (0-based)"
    )]
    NonFinite {
        /// `"reference"` or `"samples"`.
        which: &'static str,
        /// Number of non-finite entries.
        count: usize,
        /// Row of the first one (0-based).
        first_row: usize,
        /// Column of the first one (0-based).
        first_col: usize,
    },
    /// The reference has a column with zero standard deviation, so z-scoring by it is undefined.
    #[error(
        "reference column {column} has zero standard deviation, so z-scoring by the reference is undefined; disable z-scoring"
    )]
    ZeroStd {
        /// The constant column (0-based).
        column: usize,
    },
    /// A configuration value is out of range.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
}
