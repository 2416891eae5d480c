//! Shape checks for the public model APIs (bad input is an error, not a panic).

use burn::tensor::Tensor;

use crate::NnError;

/// Checks that `t` is `[n, d]` with `n ≥ 1` and returns `n`.
pub(crate) fn check_matrix(what: &'static str, t: &Tensor<2>, d: usize) -> Result<usize, NnError> {
    let [n, cols] = t.dims();
    if cols != d || n == 0 {
        return Err(NnError::Shape { what, expected: format!("[n ≥ 1, {d}]"), got: vec![n, cols] });
    }
    Ok(n)
}

/// Checks that two batch arguments have the same number of rows.
pub(crate) fn check_rows(a: &'static str, n_a: usize, b: &'static str, n_b: usize) -> Result<(), NnError> {
    if n_a != n_b {
        return Err(NnError::BatchMismatch { a, n_a, b, n_b });
    }
    Ok(())
}

/// Checks `x_o: [1, d_x]` and `n ≥ 1`.
pub(crate) fn check_single_observation(x_o: &Tensor<2>, d_x: usize, n: usize) -> Result<(), NnError> {
    let [rows, cols] = x_o.dims();
    if rows != 1 || cols != d_x {
        return Err(NnError::Shape { what: "x_o", expected: format!("[1, {d_x}]"), got: vec![rows, cols] });
    }
    if n == 0 {
        return Err(NnError::InvalidArgument("the number of samples must be at least 1".to_string()));
    }
    Ok(())
}
