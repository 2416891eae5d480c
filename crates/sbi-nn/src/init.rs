//! Seeded parameter initialisation.
//!
//! Burn's initialisers draw from a global per-backend RNG (`Device::seed`
//! seeds it for every thread at once), so two models built concurrently, as
//! in parallel tests or runs, are not reproducible. The project rule is that
//! randomness is passed in, so layers with random weights are built here
//! from the caller's RNG.

use burn::module::Param;
use burn::nn::Linear;
use burn::tensor::{Device, TensorData};
use rand::{Rng, RngCore};

/// A linear layer `[n, d_input] → [n, d_output]` with weight `[d_input, d_output]`
/// and bias `[d_output]` drawn i.i.d. from `U(−1/√d_input, 1/√d_input)`: the
/// PyTorch `nn.Linear` default, equal to Burn's default
/// `KaimingUniform { gain: 1/√3 }`. `d_input` must be positive.
pub fn seeded_linear(d_input: usize, d_output: usize, device: &Device, rng: &mut dyn RngCore) -> Linear {
    let bound = 1.0 / (d_input as f64).sqrt();
    let mut draw = |k: usize| -> Vec<f32> {
        (0..k).map(|_| ((2.0 * rng.random::<f64>() - 1.0) * bound) as f32).collect()
    };
    let weight = draw(d_input * d_output);
    let bias = draw(d_output);
    Linear {
        weight: Param::from_data(TensorData::new(weight, [d_input, d_output]), device),
        bias: Some(Param::from_data(TensorData::new(bias, [d_output]), device)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{devices, to_vec};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn bounds_moments_and_determinism() {
        for dev in devices() {
            let a = seeded_linear(100, 50, &dev, &mut ChaCha8Rng::seed_from_u64(1));
            let b = seeded_linear(100, 50, &dev, &mut ChaCha8Rng::seed_from_u64(1));
            let w = to_vec(a.weight.val());
            assert_eq!(w, to_vec(b.weight.val()));
            assert_eq!(a.weight.val().dims(), [100, 50]);
            assert_eq!(a.bias.as_ref().unwrap().val().dims(), [50]);
            assert!(w.iter().all(|v| v.abs() <= 0.1));
            // U(−a, a), a = 0.1: E v² = a²/3, Var v² = 4a⁴/45; 5000 draws: sd ≈ 4.2e-5, 5σ ≈ 2.1e-4.
            let var = w.iter().map(|v| v * v).sum::<f64>() / w.len() as f64;
            assert!((var - 0.01 / 3.0).abs() < 2.1e-4, "var {var}");
        }
    }

    #[test]
    fn parameters_are_trainable_on_an_autodiff_device() {
        for dev in devices() {
            let l = seeded_linear(3, 2, &dev.autodiff(), &mut ChaCha8Rng::seed_from_u64(2));
            assert!(l.weight.val().is_require_grad());
        }
    }
}
