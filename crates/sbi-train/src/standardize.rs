//! Z-scoring of θ and x (spec `methods.md`: "all networks see z-scored θ and x,
//! mean/std estimated on the training set and stored with the model").

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use crate::TrainError;

/// Per-column affine standardisation `z = (v − mean) / std`.
///
/// The std is the unbiased sample standard deviation of the training rows.
/// A constant column (std ≤ 1e-12 · max(1, |mean|), or a single row) gets
/// `std = 1`, so it maps to 0 instead of dividing by zero.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Standardizer {
    /// Column means, `[d]`.
    pub mean: Vec<f64>,
    /// Column standard deviations (> 0), `[d]`.
    pub std: Vec<f64>,
}

impl Standardizer {
    /// Fits the column means and stds of `data: [n, d]` (n ≥ 1, finite values).
    pub fn fit(data: ArrayView2<f64>) -> Result<Self, TrainError> {
        let (n, d) = data.dim();
        if n == 0 || d == 0 {
            return Err(TrainError::InvalidData(format!("cannot standardise an empty [{n}, {d}] array")));
        }
        if let Some(v) = data.iter().find(|v| !v.is_finite()) {
            return Err(TrainError::InvalidData(format!("cannot standardise non-finite value {v}")));
        }
        let mean = data.mean_axis(Axis(0)).expect("n ≥ 1");
        let std: Vec<f64> = if n < 2 {
            vec![1.0; d]
        } else {
            data.var_axis(Axis(0), 1.0)
                .iter()
                .zip(mean.iter())
                .map(|(v, m)| {
                    let s = v.sqrt();
                    if s > 1e-12 * m.abs().max(1.0) { s } else { 1.0 }
                })
                .collect()
        };
        Ok(Standardizer { mean: mean.to_vec(), std })
    }

    /// The identity transform of dimension `d`.
    pub fn identity(d: usize) -> Self {
        Standardizer { mean: vec![0.0; d], std: vec![1.0; d] }
    }

    /// Dimension.
    pub fn dim(&self) -> usize {
        self.mean.len()
    }

    /// `(v − mean) / std` for each row of `data: [n, d]`.
    pub fn transform(&self, data: ArrayView2<f64>) -> Array2<f64> {
        let mut out = data.to_owned();
        for mut row in out.rows_mut() {
            for ((v, m), s) in row.iter_mut().zip(&self.mean).zip(&self.std) {
                *v = (*v - m) / s;
            }
        }
        out
    }

    /// [`Standardizer::transform`] of a single row `[d]`.
    pub fn transform_row(&self, row: ArrayView1<f64>) -> Array1<f64> {
        row.iter().zip(&self.mean).zip(&self.std).map(|((v, m), s)| (v - m) / s).collect()
    }

    /// `z · std + mean` for each row of `z: [n, d]`.
    pub fn inverse(&self, z: ArrayView2<f64>) -> Array2<f64> {
        let mut out = z.to_owned();
        for mut row in out.rows_mut() {
            for ((v, m), s) in row.iter_mut().zip(&self.mean).zip(&self.std) {
                *v = *v * s + m;
            }
        }
        out
    }

    /// `Σ log std`: the log-Jacobian of the inverse map, needed to turn a
    /// density over z-scored θ into a density over θ.
    pub fn log_abs_det(&self) -> f64 {
        self.std.iter().map(|s| s.ln()).sum()
    }

    /// Checks a stored standardiser (e.g. from a model file): dimension `d`,
    /// finite means, finite positive stds.
    pub fn validate(&self, d: usize, what: &str) -> Result<(), TrainError> {
        if self.mean.len() != d || self.std.len() != d {
            return Err(TrainError::InvalidData(format!(
                "{what} standardiser has dimension {}/{}, expected {d}",
                self.mean.len(),
                self.std.len()
            )));
        }
        if self.mean.iter().any(|m| !m.is_finite()) || self.std.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
            return Err(TrainError::InvalidData(format!(
                "{what} standardiser has non-finite or zero entries"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn exact_moments_constant_columns_and_round_trip() {
        let data = array![[1.0, 5.0, 2.0], [3.0, 5.0, 4.0], [5.0, 5.0, 9.0]];
        let s = Standardizer::fit(data.view()).unwrap();
        assert_eq!(s.mean, vec![3.0, 5.0, 5.0]);
        // Unbiased std of (1, 3, 5) is 2; of (2, 4, 9) is sqrt(13).
        assert!((s.std[0] - 2.0).abs() < 1e-12);
        assert_eq!(s.std[1], 1.0, "constant column keeps std 1");
        assert!((s.std[2] - 13f64.sqrt()).abs() < 1e-12);
        let z = s.transform(data.view());
        assert_eq!(z.column(1).to_vec(), vec![0.0; 3]);
        assert!((z[[0, 0]] + 1.0).abs() < 1e-12);
        let back = s.inverse(z.view());
        for (a, b) in back.iter().zip(data.iter()) {
            assert!((a - b).abs() < 1e-12);
        }
        assert!((s.log_abs_det() - (2f64.ln() + 13f64.sqrt().ln())).abs() < 1e-12);
        let row = s.transform_row(data.row(2));
        assert_eq!(row.to_vec(), z.row(2).to_vec());
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(Standardizer::fit(Array2::<f64>::zeros((0, 2)).view()).is_err());
        assert!(Standardizer::fit(array![[1.0, f64::NAN]].view()).is_err());
        let one = Standardizer::fit(array![[1.0, 2.0]].view()).unwrap();
        assert_eq!(one.std, vec![1.0, 1.0]);
        assert!(one.validate(3, "theta").is_err());
        assert!(Standardizer { mean: vec![0.0], std: vec![0.0] }.validate(1, "x").is_err());
        assert!(Standardizer::identity(2).validate(2, "x").is_ok());
    }
}
