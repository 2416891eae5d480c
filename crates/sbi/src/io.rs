//! Reading and writing sample files: CSV with a header row (optionally
//! bz2-compressed, as sbibm ships them) and NumPy `.npy`.
//!
//! The format is chosen by the file name: `*.npy` is NumPy (read: 2-D or 1-D,
//! `float64` or `float32`; written: 2-D `float64`), `*.bz2` is bzip2-compressed
//! CSV, anything else is plain CSV. CSV files have one header row of column
//! names (sbibm's `parameter_1,parameter_2` or `$\beta$,$\gamma$`) and one row
//! per draw; numbers are written in the shortest form that reads back to the
//! identical `f64`.
//!
//! Writes are atomic: the data go to a temporary file in the target directory,
//! which is renamed onto the target only once complete, so an interrupted run
//! never leaves a half-written file under the requested name.
//!
//! ```no_run
//! use sbi::io::{read_matrix, write_matrix};
//! let t = read_matrix("reference_posterior_samples.csv.bz2").unwrap();
//! println!("{} draws of {:?}", t.data.nrows(), t.header);
//! write_matrix("copy.npy", &t.header, t.data.view()).unwrap();
//! ```

use crate::IoError;
use ndarray::{Array1, Array2, ArrayView2};
use ndarray_npy::{ReadNpyError, ReadNpyExt, ReadableElement, WriteNpyExt};
use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A matrix read from a file with its column names.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Column names, one per column of `data` (`column_1..` for `.npy` files).
    pub header: Vec<String>,
    /// The values, `[n_rows, n_columns]`.
    pub data: Array2<f64>,
}

/// File formats, chosen by the file name ([`Format::of`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Plain CSV with a header row.
    Csv,
    /// bzip2-compressed CSV (`*.bz2`, e.g. sbibm's `*.csv.bz2`).
    CsvBz2,
    /// NumPy `.npy`.
    Npy,
}

impl Format {
    /// The format of `path`: `*.npy` → [`Format::Npy`], `*.bz2` →
    /// [`Format::CsvBz2`], anything else → [`Format::Csv`] (case-insensitive).
    pub fn of(path: &Path) -> Format {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("npy") => Format::Npy,
            Some("bz2") => Format::CsvBz2,
            _ => Format::Csv,
        }
    }
}

/// Options for [`read_matrix_with`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadOptions {
    /// Accept NaN and infinite values (e.g. failed simulations in a data file).
    /// When `false` (the default, and [`read_matrix`]'s behaviour) they are an
    /// error ([`IoError::NonFinite`]).
    pub allow_non_finite: bool,
}

/// Reads a matrix with its header from a `.csv`, `.csv.bz2` or `.npy` file;
/// NaN and infinite values are an error (see [`read_matrix_with`] to allow them).
///
/// Returns the header and data `[n_rows, n_columns]`; at least one row is
/// required. A 1-D `.npy` array is read as one column.
pub fn read_matrix(path: impl AsRef<Path>) -> Result<Table, IoError> {
    read_matrix_with(path, ReadOptions::default())
}

/// [`read_matrix`] with options.
pub fn read_matrix_with(path: impl AsRef<Path>, options: ReadOptions) -> Result<Table, IoError> {
    let path = path.as_ref();
    let file = open(path)?;
    let table = match Format::of(path) {
        Format::Npy => read_npy(path, file)?,
        Format::CsvBz2 => read_csv(path, bzip2::read::MultiBzDecoder::new(BufReader::new(file)))?,
        Format::Csv => read_csv(path, file)?,
    };
    if table.data.nrows() == 0 {
        return Err(IoError::Empty { path: path.to_path_buf(), what: "no data rows" });
    }
    if !options.allow_non_finite {
        check_finite(path, table.data.view())?;
    }
    Ok(table)
}

/// Writes `data: [n, d]` with column names `header` (`d` names) to `path`,
/// as `.npy` (`float64`; the header is not stored), `.bz2` (compressed CSV) or
/// CSV, chosen by [`Format::of`]. The write is atomic (temporary file, then rename).
pub fn write_matrix<S: AsRef<str>>(
    path: impl AsRef<Path>,
    header: &[S],
    data: ArrayView2<f64>,
) -> Result<(), IoError> {
    let path = path.as_ref();
    if header.len() != data.ncols() {
        return Err(IoError::HeaderWidth {
            path: path.to_path_buf(),
            header: header.len(),
            columns: data.ncols(),
        });
    }
    match Format::of(path) {
        Format::Npy => write_atomic(path, |w| {
            data.write_npy(w).map_err(|e| match e {
                ndarray_npy::WriteNpyError::Io(e) => e,
                other => std::io::Error::other(other.to_string()),
            })
        }),
        Format::Csv => write_atomic(path, |w| write_csv(w, header, data)),
        Format::CsvBz2 => write_atomic(path, |w| {
            let mut enc = bzip2::write::BzEncoder::new(w, bzip2::Compression::default());
            write_csv(&mut enc, header, data)?;
            enc.finish()?;
            Ok(())
        }),
    }
}

/// Checks, before a long computation, that `path` can be written: its
/// directory exists and accepts new files, and `path` is not a directory.
/// Creates and removes a temporary file in that directory.
pub fn check_writable(path: impl AsRef<Path>) -> Result<(), IoError> {
    let path = path.as_ref();
    let dir = target_dir(path)?;
    let tmp = temp_name(&dir, path);
    OpenOptions::new().write(true).create_new(true).open(&tmp).map_err(|e| write_err(path, &e))?;
    let _ = fs::remove_file(&tmp);
    Ok(())
}

/// Column names `{prefix}_1 .. {prefix}_d`, sbibm's convention
/// (`parameter_i` for θ, `data_i` for x).
pub fn default_header(prefix: &str, d: usize) -> Vec<String> {
    (1..=d).map(|j| format!("{prefix}_{j}")).collect()
}

// ---------------------------------------------------------------------------
// Reading

fn open(path: &Path) -> Result<File, IoError> {
    let read_err = |source| IoError::Read { path: path.to_path_buf(), source };
    let meta = fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => IoError::NotFound { path: path.to_path_buf() },
        _ => read_err(e),
    })?;
    if meta.is_dir() {
        return Err(read_err(std::io::Error::other("it is a directory, not a file")));
    }
    File::open(path).map_err(read_err)
}

fn read_csv<R: Read>(path: &Path, reader: R) -> Result<Table, IoError> {
    let mut rdr =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).trim(csv::Trim::All).from_reader(reader);
    let mut record = csv::StringRecord::new();
    let next = |rdr: &mut csv::Reader<R>, record: &mut csv::StringRecord| -> Result<bool, IoError> {
        rdr.read_record(record).map_err(|e| csv_error(path, e))
    };
    if !next(&mut rdr, &mut record)? {
        return Err(IoError::Empty { path: path.to_path_buf(), what: "no header row" });
    }
    let header: Vec<String> = record.iter().map(str::to_string).collect();
    if header.iter().all(|h| looks_like_data(h)) {
        return Err(IoError::Csv {
            path: path.to_path_buf(),
            line: record.position().map_or(1, |p| p.line()),
            msg: "the first line holds numbers, not column names: the file needs a header row \
                  (e.g. parameter_1,parameter_2)"
                .into(),
        });
    }
    let d = header.len();
    let mut values = Vec::new();
    let mut rows = 0usize;
    while next(&mut rdr, &mut record)? {
        let line = record.position().map_or(0, |p| p.line());
        if record.len() != d {
            return Err(IoError::Ragged { path: path.to_path_buf(), line, expected: d, got: record.len() });
        }
        for (j, field) in record.iter().enumerate() {
            let v: f64 = field.parse().map_err(|_| IoError::Malformed {
                path: path.to_path_buf(),
                line,
                column: j + 1,
                field: field.to_string(),
            })?;
            values.push(v);
        }
        rows += 1;
    }
    let data = Array2::from_shape_vec((rows, d), values).expect("rows * d values were collected");
    Ok(Table { header, data })
}

/// A header field that is clearly a number with a decimal point or exponent
/// (integers such as pandas' default `0,1,2` are accepted as names).
fn looks_like_data(field: &str) -> bool {
    field.parse::<f64>().is_ok() && field.contains(['.', 'e', 'E'])
}

fn csv_error(path: &Path, e: csv::Error) -> IoError {
    let line = e.position().map_or(0, |p| p.line());
    match e.into_kind() {
        csv::ErrorKind::Io(source) => IoError::Read { path: path.to_path_buf(), source },
        csv::ErrorKind::Utf8 { err, .. } => {
            IoError::Csv { path: path.to_path_buf(), line, msg: format!("invalid UTF-8: {err}") }
        }
        other => IoError::Csv { path: path.to_path_buf(), line, msg: format!("{other:?}") },
    }
}

fn read_npy(path: &Path, mut file: File) -> Result<Table, IoError> {
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(|source| IoError::Read { path: path.to_path_buf(), source })?;
    let npy_err = |msg: String| IoError::Npy { path: path.to_path_buf(), msg };
    let data = match npy_as_f64::<f64>(&bytes) {
        Err(ReadNpyError::WrongDescriptor(_)) => match npy_as_f64::<f32>(&bytes) {
            Err(ReadNpyError::WrongDescriptor(descr)) => {
                return Err(npy_err(format!("unsupported dtype {descr}: expected float64 or float32")));
            }
            other => other,
        },
        other => other,
    }
    .map_err(|e| match e {
        ReadNpyError::WrongNdim(_, n) => npy_err(format!("expected a 1-D or 2-D array, found {n}-D")),
        other => npy_err(other.to_string()),
    })?;
    let header = default_header("column", data.ncols());
    Ok(Table { header, data })
}

/// Reads a 2-D array, or a 1-D array as one column, of element type `T`.
fn npy_as_f64<T: ReadableElement + Copy + Into<f64>>(bytes: &[u8]) -> Result<Array2<f64>, ReadNpyError> {
    match Array2::<T>::read_npy(bytes) {
        Ok(a) => Ok(a.mapv(Into::into)),
        Err(ReadNpyError::WrongNdim(_, 1)) => {
            let a = Array1::<T>::read_npy(bytes)?;
            Ok(a.mapv(Into::into).insert_axis(ndarray::Axis(1)))
        }
        Err(e) => Err(e),
    }
}

fn check_finite(path: &Path, data: ArrayView2<f64>) -> Result<(), IoError> {
    let mut bad = data.indexed_iter().filter(|(_, v)| !v.is_finite());
    if let Some(((r, c), v)) = bad.next() {
        return Err(IoError::NonFinite {
            path: path.to_path_buf(),
            count: 1 + bad.count(),
            row: r + 1,
            column: c + 1,
            value: *v,
        });
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Writing

fn write_csv<W: Write, S: AsRef<str>>(w: W, header: &[S], data: ArrayView2<f64>) -> std::io::Result<()> {
    let mut wtr = csv::Writer::from_writer(w);
    wtr.write_record(header.iter().map(|h| h.as_ref()))?;
    let mut buf = String::new();
    for row in data.rows() {
        for v in row {
            buf.clear();
            format_f64(&mut buf, *v);
            wtr.write_field(&buf)?;
        }
        wtr.write_record(None::<&[u8]>)?;
    }
    wtr.flush()?;
    Ok(())
}

/// Shortest text that parses back to exactly `v` (Rust's `{}` / `{:e}` both
/// round-trip); exponent form only for very small or very large magnitudes.
fn format_f64(buf: &mut String, v: f64) {
    let a = v.abs();
    if a == 0.0 || !a.is_finite() || (1e-5..1e16).contains(&a) {
        write!(buf, "{v}").expect("writing to a String cannot fail");
    } else {
        write!(buf, "{v:e}").expect("writing to a String cannot fail");
    }
}

/// The directory a new file `path` would go into, checked to exist.
fn target_dir(path: &Path) -> Result<PathBuf, IoError> {
    let werr = |msg: String| IoError::Write { path: path.to_path_buf(), msg };
    if path.file_name().is_none() {
        return Err(werr("the path does not name a file".into()));
    }
    if path.is_dir() {
        return Err(werr("it is a directory".into()));
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(werr(format!("directory {} does not exist", dir.display())));
    }
    Ok(dir)
}

fn temp_name(dir: &Path, path: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let k = COUNTER.fetch_add(1, Ordering::Relaxed);
    dir.join(format!(".{name}.tmp-{}-{k}", std::process::id()))
}

fn write_err(path: &Path, e: &std::io::Error) -> IoError {
    let msg = match e.kind() {
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    };
    IoError::Write { path: path.to_path_buf(), msg }
}

/// Writes through `f` into a temporary file next to `path`, then renames it
/// onto `path`; on any failure the temporary file is removed.
fn write_atomic(
    path: &Path,
    f: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<(), IoError> {
    let dir = target_dir(path)?;
    let tmp = temp_name(&dir, path);
    let file = OpenOptions::new().write(true).create_new(true).open(&tmp).map_err(|e| write_err(path, &e))?;
    let result = (|| {
        let mut w = BufWriter::new(file);
        f(&mut w)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        write_err(path, &e)
    })
}

#[cfg(test)]
mod tests;
