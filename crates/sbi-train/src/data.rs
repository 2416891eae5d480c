//! Training pairs (θ, x): validation, dropping of failed simulations, splits.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use rand::seq::SliceRandom;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sbi_sim::Task;

use crate::TrainError;

/// Simulated pairs `theta: [n, d_theta]`, `x: [n, d_x]` with only finite values.
#[derive(Clone, Debug)]
pub struct Dataset {
    theta: Array2<f64>,
    x: Array2<f64>,
    aux: Option<Array1<f64>>,
    dropped: usize,
}

impl Dataset {
    /// Pairs from `theta: [n, d_theta]` and `x: [n, d_x]`.
    ///
    /// Rows with a NaN or infinite value in θ or x (failed simulations) are
    /// dropped and counted ([`Dataset::dropped`]). Errors on a row-count
    /// mismatch, a zero dimension, or when no finite row is left.
    pub fn new(theta: Array2<f64>, x: Array2<f64>) -> Result<Self, TrainError> {
        let (n, d_theta) = theta.dim();
        let (n_x, d_x) = x.dim();
        if n != n_x {
            return Err(TrainError::InvalidData(format!("theta has {n} rows but x has {n_x}")));
        }
        if d_theta == 0 || d_x == 0 {
            return Err(TrainError::InvalidData(format!(
                "theta and x need at least one column (got {d_theta} and {d_x})"
            )));
        }
        if n == 0 {
            return Err(TrainError::InvalidData("no training pairs (0 rows)".to_string()));
        }
        let keep: Vec<usize> =
            (0..n).filter(|&i| theta.row(i).iter().chain(x.row(i).iter()).all(|v| v.is_finite())).collect();
        let dropped = n - keep.len();
        if keep.is_empty() {
            return Err(TrainError::InvalidData(format!(
                "all {n} training pairs contain NaN or infinite values"
            )));
        }
        let (theta, x) =
            if dropped == 0 { (theta, x) } else { (theta.select(Axis(0), &keep), x.select(Axis(0), &keep)) };
        Ok(Dataset { theta, x, aux: None, dropped })
    }

    /// `n` pairs simulated from the task's prior and simulator, with a
    /// ChaCha8 stream seeded by `seed` (θ first, then x).
    pub fn simulate(task: &dyn Task, n: usize, seed: u64) -> Result<Self, TrainError> {
        if n == 0 {
            return Err(TrainError::InvalidConfig("the simulation budget must be at least 1".to_string()));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let theta = task.prior().sample(n, &mut rng);
        let x = task.simulator().simulate(theta.view(), &mut rng)?;
        Self::new(theta, x)
    }

    /// This dataset with a per-row auxiliary value `aux: [n]` that the training
    /// loop hands to the loss with each batch ([`crate::StepContext::aux`]):
    /// SNPE-B's log importance weights, APT's log prior densities. Errors on a
    /// length mismatch or a non-finite value (naming its row).
    pub fn with_aux(mut self, aux: Array1<f64>) -> Result<Self, TrainError> {
        if aux.len() != self.len() {
            return Err(TrainError::InvalidData(format!(
                "{} auxiliary values for {} training pairs",
                aux.len(),
                self.len()
            )));
        }
        if let Some(i) = aux.iter().position(|v| !v.is_finite()) {
            return Err(TrainError::InvalidData(format!("auxiliary value of row {} is {}", i + 1, aux[i])));
        }
        self.aux = Some(aux);
        Ok(self)
    }

    /// The per-row auxiliary values, if any (see [`Dataset::with_aux`]).
    pub fn aux(&self) -> Option<ArrayView1<'_, f64>> {
        self.aux.as_ref().map(|a| a.view())
    }

    /// Parameters, `[n, d_theta]`.
    pub fn theta(&self) -> ArrayView2<'_, f64> {
        self.theta.view()
    }

    /// Data, `[n, d_x]`.
    pub fn x(&self) -> ArrayView2<'_, f64> {
        self.x.view()
    }

    /// Number of (finite) pairs.
    pub fn len(&self) -> usize {
        self.theta.nrows()
    }

    /// Always false: a dataset holds at least one pair.
    pub fn is_empty(&self) -> bool {
        self.theta.nrows() == 0
    }

    /// `d_theta`.
    pub fn d_theta(&self) -> usize {
        self.theta.ncols()
    }

    /// `d_x`.
    pub fn d_x(&self) -> usize {
        self.x.ncols()
    }

    /// Rows dropped at construction because of NaN or infinite values.
    pub fn dropped(&self) -> usize {
        self.dropped
    }

    /// The rows `idx` (in that order) as a new dataset.
    pub fn select(&self, idx: &[usize]) -> Dataset {
        Dataset {
            theta: self.theta.select(Axis(0), idx),
            x: self.x.select(Axis(0), idx),
            aux: self.aux.as_ref().map(|a| a.select(Axis(0), idx)),
            dropped: 0,
        }
    }

    /// This dataset followed by `other` (same dimensions; both with or both
    /// without auxiliary values), e.g. to pool rounds.
    pub fn concat(&self, other: &Dataset) -> Result<Dataset, TrainError> {
        if self.d_theta() != other.d_theta() || self.d_x() != other.d_x() {
            return Err(TrainError::InvalidData("cannot pool datasets of different dimensions".to_string()));
        }
        let aux = match (&self.aux, &other.aux) {
            (Some(a), Some(b)) => Some(ndarray::concatenate(Axis(0), &[a.view(), b.view()]).expect("1-D")),
            (None, None) => None,
            _ => {
                return Err(TrainError::InvalidData(
                    "cannot pool a dataset with auxiliary values and one without".to_string(),
                ));
            }
        };
        let theta =
            ndarray::concatenate(Axis(0), &[self.theta.view(), other.theta.view()]).expect("same width");
        let x = ndarray::concatenate(Axis(0), &[self.x.view(), other.x.view()]).expect("same width");
        Ok(Dataset { theta, x, aux, dropped: self.dropped + other.dropped })
    }

    /// A random split into `(training, validation)` index sets: the validation
    /// set has `round(n · fraction)` rows, at least 1 when `fraction > 0`, and
    /// the training set keeps at least 1 row.
    pub fn split_indices(
        &self,
        fraction: f64,
        rng: &mut dyn RngCore,
    ) -> Result<(Vec<usize>, Vec<usize>), TrainError> {
        if !(0.0..1.0).contains(&fraction) {
            return Err(TrainError::InvalidConfig(format!(
                "validation_fraction must be in [0, 1), got {fraction}"
            )));
        }
        let n = self.len();
        let mut idx: Vec<usize> = (0..n).collect();
        idx.shuffle(rng);
        let mut n_val = (n as f64 * fraction).round() as usize;
        if fraction > 0.0 {
            n_val = n_val.max(1);
        }
        if n_val >= n {
            return Err(TrainError::InvalidData(format!(
                "{n} pairs are too few for a validation split of {fraction}: need at least 2"
            )));
        }
        let train = idx.split_off(n_val);
        Ok((train, idx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn non_finite_rows_are_dropped_and_counted() {
        let theta = array![[1.0], [2.0], [f64::NAN], [4.0]];
        let x = array![[1.0, 1.0], [f64::INFINITY, 0.0], [3.0, 3.0], [4.0, 4.0]];
        let d = Dataset::new(theta, x).unwrap();
        assert_eq!((d.len(), d.dropped(), d.d_theta(), d.d_x()), (2, 2, 1, 2));
        assert_eq!(d.theta().column(0).to_vec(), vec![1.0, 4.0]);
    }

    #[test]
    fn bad_shapes_and_empty_data_are_errors() {
        assert!(Dataset::new(Array2::zeros((3, 1)), Array2::zeros((2, 1))).is_err());
        assert!(Dataset::new(Array2::zeros((0, 1)), Array2::zeros((0, 1))).is_err());
        assert!(Dataset::new(Array2::zeros((2, 0)), Array2::zeros((2, 1))).is_err());
        let e = Dataset::new(array![[f64::NAN]], array![[1.0]]).unwrap_err().to_string();
        assert!(e.contains("NaN"), "{e}");
    }

    #[test]
    fn split_sizes_are_exact_and_disjoint() {
        let d = Dataset::new(Array2::zeros((10, 1)), Array2::zeros((10, 1))).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let (tr, va) = d.split_indices(0.1, &mut rng).unwrap();
        assert_eq!((tr.len(), va.len()), (9, 1));
        let mut all: Vec<usize> = tr.iter().chain(&va).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        assert_eq!(d.split_indices(0.0, &mut rng).unwrap().1.len(), 0);
        assert!(d.split_indices(1.0, &mut rng).is_err());
        let one = Dataset::new(Array2::zeros((1, 1)), Array2::zeros((1, 1))).unwrap();
        assert!(one.split_indices(0.1, &mut rng).is_err());
    }

    #[test]
    fn aux_values_follow_selection_and_pooling() {
        let d = Dataset::new(array![[1.0], [2.0], [3.0]], array![[1.0], [2.0], [3.0]]).unwrap();
        assert!(d.aux().is_none());
        assert!(d.clone().with_aux(array![1.0, 2.0]).is_err());
        let e = d.clone().with_aux(array![1.0, f64::NAN, 0.0]).unwrap_err().to_string();
        assert!(e.contains("row 2"), "{e}");
        let a = d.clone().with_aux(array![10.0, 20.0, 30.0]).unwrap();
        assert_eq!(a.select(&[2, 0]).aux().unwrap().to_vec(), vec![30.0, 10.0]);
        let pooled = a.concat(&a.select(&[1])).unwrap();
        assert_eq!(pooled.aux().unwrap().to_vec(), vec![10.0, 20.0, 30.0, 20.0]);
        assert!(a.concat(&d).is_err());
    }

    #[test]
    fn simulated_data_is_seeded() {
        let task = sbi_sim::task_by_name("two_moons").unwrap();
        let a = Dataset::simulate(task.as_ref(), 50, 3).unwrap();
        let b = Dataset::simulate(task.as_ref(), 50, 3).unwrap();
        assert_eq!(a.x(), b.x());
        assert_eq!((a.len(), a.d_theta(), a.d_x()), (50, 2, 2));
        assert!(Dataset::simulate(task.as_ref(), 0, 3).is_err());
    }
}
