//! The subcommands of the `sbi` binary, one module each, and their shared helpers.

pub mod bench;
pub mod c2st;
pub mod mmd;
pub mod observation;
pub mod reference;
pub mod simulate;
pub mod tasks;
pub mod train;

use anyhow::{Result, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sbi::sim::{Task, task_by_name};
use std::time::Duration;

/// Builds the task called `name`; the error lists the known tasks.
pub fn load_task(name: &str) -> Result<Box<dyn Task>> {
    Ok(task_by_name(name)?)
}

/// Checks a count given on the command line (`--num`, `--num-samples`).
pub fn check_count(n: usize, flag: &str) -> Result<()> {
    if n == 0 {
        bail!("{flag} must be at least 1 (got 0)");
    }
    Ok(())
}

/// A progress bar on stderr (drawn only when stderr is a terminal).
pub fn progress_bar(len: u64, message: String) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    pb.set_style(
        ProgressStyle::with_template(
            "{msg} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} (eta {eta})",
        )
        .expect("constant template is valid"),
    );
    pb.set_message(message);
    pb
}

/// A ticking spinner on stderr (drawn only when stderr is a terminal).
pub fn spinner(message: String) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{elapsed_precise}]")
            .expect("constant template is valid"),
    );
    pb.set_message(message);
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}

/// Comma-separated values in full (round-trip) precision.
pub fn join_values<'a>(values: impl IntoIterator<Item = &'a f64>) -> String {
    values.into_iter().map(|v| v.to_string()).collect::<Vec<_>>().join(",")
}

/// Reads two sample files to compare (finite values required) and checks
/// that they have the same number of columns.
pub fn read_pair(
    a: &std::path::Path,
    b: &std::path::Path,
) -> Result<(ndarray::Array2<f64>, ndarray::Array2<f64>)> {
    use anyhow::Context;
    let ta = sbi::io::read_matrix(a).with_context(|| format!("cannot read samples from {}", a.display()))?;
    let tb = sbi::io::read_matrix(b).with_context(|| format!("cannot read samples from {}", b.display()))?;
    if ta.data.ncols() != tb.data.ncols() {
        bail!(
            "the two sample sets have different widths: {} has {} columns, {} has {}",
            a.display(),
            ta.data.ncols(),
            b.display(),
            tb.data.ncols()
        );
    }
    Ok((ta.data, tb.data))
}

/// An empty buffer with room for `rows * cols` values, or a clear error when
/// that is too large to allocate (instead of an overflow panic or an
/// allocation abort).
pub fn reserve(rows: usize, cols: usize, what: &str) -> Result<Vec<f64>> {
    let too_big = || {
        let gib = rows as f64 * cols as f64 * 8.0 / (1u64 << 30) as f64;
        anyhow::anyhow!("{what}: {rows} rows x {cols} columns ({gib:.1} GiB) is too large to hold in memory")
    };
    let len = rows.checked_mul(cols).filter(|&l| l <= isize::MAX as usize / 8).ok_or_else(too_big)?;
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| too_big())?;
    Ok(v)
}

/// A zeroed `[rows, cols]` matrix, allocated through [`reserve`].
pub fn try_zeros(rows: usize, cols: usize, what: &str) -> Result<ndarray::Array2<f64>> {
    let mut v = reserve(rows, cols, what)?;
    v.resize(rows * cols, 0.0);
    Ok(ndarray::Array2::from_shape_vec((rows, cols), v).expect("length is rows * cols"))
}
