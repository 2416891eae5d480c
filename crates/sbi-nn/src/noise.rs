//! Host-side noise: standard-normal tensors drawn from a caller-supplied RNG.
//!
//! Burn's `Tensor::random` uses a per-device generator seeded globally
//! (`Device::seed`); the project's rule is that randomness is passed in, so
//! noise is drawn on the host from the caller's RNG and uploaded. For the
//! batch sizes of SBI (≤ 10⁴ × tens of dimensions) the upload is cheap.

use burn::tensor::{Device, Tensor, TensorData};
use rand::{Rng, RngCore};
use rand_distr::StandardNormal;

/// A `[rows, cols]` tensor of independent N(0, 1) draws from `rng`, on `device`.
pub fn standard_normal(rng: &mut dyn RngCore, shape: [usize; 2], device: &Device) -> Tensor<2> {
    let values: Vec<f32> = (0..shape[0] * shape[1]).map(|_| rng.sample(StandardNormal)).collect();
    Tensor::from_data(TensorData::new(values, shape), device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{devices, to_vec};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn moments_and_determinism() {
        for dev in devices() {
            let a = to_vec(standard_normal(&mut ChaCha8Rng::seed_from_u64(3), [200, 50], &dev));
            let b = to_vec(standard_normal(&mut ChaCha8Rng::seed_from_u64(3), [200, 50], &dev));
            assert_eq!(a, b);
            let n = a.len() as f64;
            let mean = a.iter().sum::<f64>() / n;
            let var = a.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
            // n = 10⁴: sd(mean) = 0.01, sd(var) ≈ 0.014; 5-sigma tolerances.
            assert!(mean.abs() < 0.05, "mean {mean}");
            assert!((var - 1.0).abs() < 0.07, "var {var}");
        }
    }
}
