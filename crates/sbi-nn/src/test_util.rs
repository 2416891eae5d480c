//! Test helpers: the backend-generic device list and tensor conversions.

use burn::tensor::{Device, Tensor, TensorData};

use crate::DeviceChoice;

/// Every CPU device compiled into this build (`flex` by default, plus
/// `ndarray` with that feature). Tests loop over it, so the whole suite runs
/// once per enabled backend. GPU backends are left out: they need hardware.
pub(crate) fn devices() -> Vec<Device> {
    let out: Vec<Device> = DeviceChoice::available_cpu()
        .into_iter()
        .map(|c| c.device().expect("a compiled backend constructs"))
        .collect();
    assert!(!out.is_empty(), "the sbi-nn tests need the `flex` or `ndarray` feature");
    out
}

/// A `[rows, cols]` f32 tensor from row-major values.
pub(crate) fn tensor2(values: &[f32], shape: [usize; 2], device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(values.to_vec(), shape), device)
}

/// The values of a tensor, row-major, as f64.
pub(crate) fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.into_data().try_into_vec_as::<f64>().expect("f64 data")
}

/// Asserts element-wise `|a − b| ≤ tol · max(1, |b|)`.
pub(crate) fn assert_close(got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "length: got {got:?}, want {want:?}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol * w.abs().max(1.0), "element {i}: got {g}, want {w} (tol {tol})");
    }
}

/// `n` pairs of the 1-D conjugate problem `θ ~ N(0, 1)`, `x | θ ~ N(θ, 1)`
/// (posterior `N(x/2, 1/2)`): `(theta [n, 1], x [n, 1])`.
pub(crate) fn conjugate_pairs(
    rng: &mut dyn rand::RngCore,
    n: usize,
    device: &Device,
) -> (Tensor<2>, Tensor<2>) {
    use rand::Rng;
    use rand_distr::StandardNormal;
    let theta: Vec<f32> = (0..n).map(|_| rng.sample(StandardNormal)).collect();
    let x: Vec<f32> = theta.iter().map(|t| t + rng.sample::<f32, _>(StandardNormal)).collect();
    (tensor2(&theta, [n, 1], device), tensor2(&x, [n, 1], device))
}
