//! Input validation shared by the metrics: shapes and finiteness.

use ndarray::ArrayView2;

use crate::MetricsError;

/// Checks one sample set: at least one row and one column, all entries finite.
pub(crate) fn check_set(which: &'static str, x: ArrayView2<f64>) -> Result<(), MetricsError> {
    let (rows, cols) = x.dim();
    if rows == 0 || cols == 0 {
        return Err(MetricsError::Empty { which, rows, cols });
    }
    let mut count = 0usize;
    let mut first = None;
    for ((r, c), v) in x.indexed_iter() {
        if !v.is_finite() {
            count += 1;
            if first.is_none() {
                first = Some((r, c));
            }
        }
    }
    if let Some((first_row, first_col)) = first {
        return Err(MetricsError::NonFinite { which, count, first_row, first_col });
    }
    Ok(())
}

/// Checks both sets (see [`check_set`]) and that their widths agree; returns the width.
pub(crate) fn check_pair(
    reference: ArrayView2<f64>,
    samples: ArrayView2<f64>,
) -> Result<usize, MetricsError> {
    check_set("reference", reference)?;
    check_set("samples", samples)?;
    if reference.ncols() != samples.ncols() {
        return Err(MetricsError::WidthMismatch { reference: reference.ncols(), samples: samples.ncols() });
    }
    Ok(reference.ncols())
}
