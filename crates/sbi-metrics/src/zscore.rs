//! Z-scoring by the reference (spec `sbibm-tasks.md` §2 step 1): per-column mean and
//! unbiased (n − 1) standard deviation of the reference only, applied to both sets.

use ndarray::{Array1, Array2, ArrayView2, Axis};

use crate::MetricsError;

/// Per-column location and scale estimated from the reference.
#[derive(Debug, Clone, PartialEq)]
pub struct ZScore {
    /// Column means of the reference, `[d]`.
    pub mean: Array1<f64>,
    /// Column standard deviations of the reference with the n − 1 denominator, `[d]`.
    pub std: Array1<f64>,
}

impl ZScore {
    /// Estimates mean and unbiased std of `reference: [n, d]` (n ≥ 2).
    ///
    /// Errors with [`MetricsError::TooFewRows`] for n < 2 and [`MetricsError::ZeroStd`]
    /// for a constant column (its z-score would divide by zero).
    pub fn fit(reference: ArrayView2<f64>) -> Result<Self, MetricsError> {
        let n = reference.nrows();
        if n < 2 {
            return Err(MetricsError::TooFewRows {
                which: "reference",
                rows: n,
                needed: 2,
                reason: "the unbiased standard deviation for z-scoring".into(),
            });
        }
        let mean = reference.mean_axis(Axis(0)).expect("n >= 2 rows");
        let mut var = Array1::<f64>::zeros(reference.ncols());
        for row in reference.rows() {
            for ((v, x), m) in var.iter_mut().zip(row.iter()).zip(mean.iter()) {
                let d = x - m;
                *v += d * d;
            }
        }
        let std = var.mapv(|v| (v / (n - 1) as f64).sqrt());
        if let Some(column) = std.iter().position(|&s| s == 0.0 || !s.is_finite()) {
            return Err(MetricsError::ZeroStd { column });
        }
        Ok(Self { mean, std })
    }

    /// Applies `(x − mean) / std` column-wise to `x: [m, d]`.
    pub fn apply(&self, x: ArrayView2<f64>) -> Array2<f64> {
        let mut out = x.to_owned();
        for mut row in out.rows_mut() {
            for ((v, m), s) in row.iter_mut().zip(self.mean.iter()).zip(self.std.iter()) {
                *v = (*v - m) / s;
            }
        }
        out
    }
}

/// Z-scores both sets by the reference: returns `(reference', samples')`.
pub fn zscore_by_reference(
    reference: ArrayView2<f64>,
    samples: ArrayView2<f64>,
) -> Result<(Array2<f64>, Array2<f64>), MetricsError> {
    let z = ZScore::fit(reference)?;
    Ok((z.apply(reference), z.apply(samples)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn uses_the_reference_mean_and_unbiased_std() {
        let x = array![[1.0, 10.0], [2.0, 10.0], [3.0, 13.0], [4.0, 15.0]];
        let z = ZScore::fit(x.view()).unwrap();
        assert_eq!(z.mean, array![2.5, 12.0]);
        // Σ(x − x̄)² = 5 and 18, divided by n − 1 = 3.
        assert!((z.std[0] - (5.0f64 / 3.0).sqrt()).abs() < 1e-15);
        assert!((z.std[1] - 6.0f64.sqrt()).abs() < 1e-15);
        let y = array![[2.5, 12.0], [2.5 + (5.0f64 / 3.0).sqrt(), 12.0 - 6.0f64.sqrt()]];
        let (zx, zy) = zscore_by_reference(x.view(), y.view()).unwrap();
        assert!(zx.column(0).sum().abs() < 1e-14);
        assert!(
            (zy[[0, 0]]).abs() < 1e-15
                && (zy[[1, 0]] - 1.0).abs() < 1e-15
                && (zy[[1, 1]] + 1.0).abs() < 1e-15
        );
        assert!(matches!(
            ZScore::fit(x.slice_axis(ndarray::Axis(0), (..1).into())),
            Err(MetricsError::TooFewRows { .. })
        ));
    }
}
