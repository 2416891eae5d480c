//! The error type of the facade crate ([`IoError`]).

use std::path::PathBuf;
use thiserror::Error;

/// Errors reading or writing sample files ([`crate::io`]).
///
/// Every variant names the file; line, row and column numbers are 1-based.
#[derive(Debug, Error)]
pub enum IoError {
    /// The file does not exist.
    #[error("file not found: {}", path.display())]
    NotFound {
        /// The missing file.
        path: PathBuf,
    },
    /// The file exists but could not be read (permissions, a directory, a corrupt bz2 stream, ...).
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file holds no header or no data rows.
    #[error("{} is empty: {what}", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
        /// What is missing, e.g. `"no header row"` or `"no data rows"`.
        what: &'static str,
    },
    /// A CSV field is not a number, or the CSV structure is broken.
    #[error("{}: line {line}, column {column}: cannot parse '{field}' as a number", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// 1-based line number in the (decompressed) file.
        line: u64,
        /// 1-based column number.
        column: usize,
        /// The offending field, as written.
        field: String,
    },
    /// The CSV structure itself is broken (e.g. invalid UTF-8 or quoting).
    #[error("{}: line {line}: {msg}", path.display())]
    Csv {
        /// The file.
        path: PathBuf,
        /// 1-based line number, 0 when unknown.
        line: u64,
        /// What went wrong.
        msg: String,
    },
    /// A row has a different number of fields than the header.
    #[error("{}: line {line} has {got} fields, but the header has {expected}", path.display())]
    Ragged {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// Number of header fields.
        expected: usize,
        /// Number of fields on the line.
        got: usize,
    },
    /// The data hold NaN or infinite values where finite values are required.
    #[error(
        "{}: {count} non-finite value(s) (NaN or infinite); the first is {value} at row {row}, column {column} \
         (1-based, header not counted)",
        path.display()
    )]
    NonFinite {
        /// The file.
        path: PathBuf,
        /// Number of non-finite entries.
        count: usize,
        /// 1-based data row of the first one.
        row: usize,
        /// 1-based column of the first one.
        column: usize,
        /// Its value.
        value: f64,
    },
    /// A `.npy` file could not be decoded.
    #[error("{}: invalid .npy file: {msg}", path.display())]
    Npy {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        msg: String,
    },
    /// The header does not match the data width (when writing).
    #[error("cannot write {}: the header has {header} names but the data have {columns} columns", path.display())]
    HeaderWidth {
        /// The file.
        path: PathBuf,
        /// Number of header names.
        header: usize,
        /// Number of data columns.
        columns: usize,
    },
    /// The file could not be written (missing directory, permissions, disk full, ...).
    #[error("cannot write {}: {msg}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        msg: String,
    },
}
