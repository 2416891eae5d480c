//! nflows' `LULinear`: an invertible linear map in LU parameterisation, placed
//! after each coupling layer of [`crate::Nsf`] (sbi's `build_nsf`; spec `methods.md` §2).

use burn::module::{Module, Param};
use burn::tensor::activation::softplus;
use burn::tensor::{Device, Tensor, TensorData};

use crate::flow_util::{const_matrix, host_vec, inverse_softplus};

/// Smallest diagonal entry of the `U` factor of an LU linear layer (nflows' `eps`).
const LU_EPS: f64 = 1e-3;

/// nflows' `LULinear`: `y = W x + b` with `W = L U`, `L` unit lower
/// triangular, `U` upper triangular with diagonal `softplus(·) + 10⁻³`;
/// `log|det W| = Σ log U_jj`. Initialised at the identity.
#[derive(Module, Debug)]
pub struct LuLinear {
    /// Strictly-lower entries of `L`, `[d(d−1)/2]` (row-major order).
    pub lower: Param<Tensor<1>>,
    /// Strictly-upper entries of `U`, `[d(d−1)/2]` (row-major order).
    pub upper: Param<Tensor<1>>,
    /// Raw diagonal of `U`, `[d]`.
    pub raw_diag: Param<Tensor<1>>,
    /// Bias `[d]`.
    pub bias: Param<Tensor<1>>,
    /// Constant scatter `[m, d²]` of the lower entries into a row-major `d × d` matrix.
    lower_scatter: Tensor<2>,
    /// Constant scatter `[m, d²]` of the upper entries.
    upper_scatter: Tensor<2>,
    /// Constant scatter `[d, d²]` of a diagonal.
    diag_scatter: Tensor<2>,
    /// `d`.
    pub d: usize,
}

impl LuLinear {
    pub(crate) fn identity(d: usize, device: &Device) -> LuLinear {
        let m = d * (d - 1) / 2;
        let (mut lo, mut up, mut dg) = (vec![0f32; m * d * d], vec![0f32; m * d * d], vec![0f32; d * d * d]);
        let mut r = 0;
        for i in 0..d {
            for j in i + 1..d {
                up[r * d * d + i * d + j] = 1.0; // U[i, j], i < j
                lo[r * d * d + j * d + i] = 1.0; // L[j, i], j > i
                r += 1;
            }
            dg[i * d * d + i * d + i] = 1.0;
        }
        let vec1 = |v: Vec<f32>| Param::from_data(TensorData::new(v.clone(), [v.len()]), device);
        LuLinear {
            lower: vec1(vec![0.0; m]),
            upper: vec1(vec![0.0; m]),
            raw_diag: vec1(vec![inverse_softplus(1.0 - LU_EPS) as f32; d]),
            bias: vec1(vec![0.0; d]),
            lower_scatter: const_matrix(lo, m, d * d, device),
            upper_scatter: const_matrix(up, m, d * d, device),
            diag_scatter: const_matrix(dg, d, d * d, device),
            d,
        }
    }

    /// `(W [d, d], log|det W| [1])`.
    pub(crate) fn weight(&self) -> (Tensor<2>, Tensor<1>) {
        let d = self.d;
        let diag = softplus(self.raw_diag.val(), 1.0).add_scalar(LU_EPS);
        let eye = Tensor::<2>::eye(d, &diag.device());
        let l = eye + self.lower.val().unsqueeze::<2>().matmul(self.lower_scatter.clone()).reshape([d, d]);
        let u = (self.upper.val().unsqueeze::<2>().matmul(self.upper_scatter.clone())
            + diag.clone().unsqueeze::<2>().matmul(self.diag_scatter.clone()))
        .reshape([d, d]);
        (l.matmul(u), diag.log().sum())
    }

    /// `x: [n, d] → (x Wᵀ + b, log|det W| [1])`.
    pub(crate) fn forward(&self, x: Tensor<2>) -> (Tensor<2>, Tensor<1>) {
        let (w, ld) = self.weight();
        (x.matmul(w.transpose()) + self.bias.val().unsqueeze::<2>(), ld)
    }

    /// `y: [n, d] → (y − b) W⁻ᵀ`, `W⁻¹` computed on the host (sampling only).
    pub(crate) fn inverse(&self, y: Tensor<2>) -> Tensor<2> {
        let d = self.d;
        let (w, _) = self.weight();
        let device = y.device();
        let inv = invert(host_vec(w), d);
        // Row-major W⁻ᵀ.
        let inv_t: Vec<f32> = (0..d * d).map(|ij| inv[(ij % d) * d + ij / d] as f32).collect();
        (y - self.bias.val().unsqueeze::<2>()).matmul(const_matrix(inv_t, d, d, &device))
    }
}

/// Inverse of a row-major `d × d` matrix by Gauss-Jordan elimination with partial pivoting.
fn invert(mut a: Vec<f64>, d: usize) -> Vec<f64> {
    let mut inv: Vec<f64> = (0..d * d).map(|ij| if ij / d == ij % d { 1.0 } else { 0.0 }).collect();
    for c in 0..d {
        let p = (c..d).max_by(|&i, &j| a[i * d + c].abs().total_cmp(&a[j * d + c].abs())).unwrap_or(c);
        for j in 0..d {
            a.swap(c * d + j, p * d + j);
            inv.swap(c * d + j, p * d + j);
        }
        let piv = a[c * d + c];
        for j in 0..d {
            a[c * d + j] /= piv;
            inv[c * d + j] /= piv;
        }
        for r in 0..d {
            if r != c {
                let f = a[r * d + c];
                for j in 0..d {
                    a[r * d + j] -= f * a[c * d + j];
                    inv[r * d + j] -= f * inv[c * d + j];
                }
            }
        }
    }
    inv
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::density::testing::log_abs_det;
    use crate::standard_normal;
    use crate::test_util::{assert_close, devices, to_vec};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn identity_init_forward_inverse_and_log_det() {
        for dev in devices() {
            let mut rng = ChaCha8Rng::seed_from_u64(1);
            let mut lu = LuLinear::identity(3, &dev);
            let x = standard_normal(&mut rng, [10, 3], &dev);
            let (y, ld) = lu.forward(x.clone());
            assert_close(&to_vec(y), &to_vec(x.clone()), 1e-6);
            assert_close(&to_vec(ld), &[0.0], 1e-6);
            // A general W = LU: W from the factors, log|det| against elimination on the host.
            let vec1 = |v: Vec<f32>| Param::from_data(TensorData::new(v.clone(), [v.len()]), &dev);
            lu.lower = vec1(vec![0.5, -0.3, 0.8]);
            lu.upper = vec1(vec![-0.7, 0.2, 0.4]);
            lu.raw_diag = vec1(vec![-1.0, 0.3, 1.5]);
            lu.bias = vec1(vec![0.1, -0.2, 0.3]);
            let (w, ld) = lu.weight();
            let wv = to_vec(w);
            let want = log_abs_det(wv.clone(), 3);
            let got = to_vec(ld)[0];
            assert!((got - want).abs() < 1e-5, "{got} vs {want}");
            // W = L U with L unit lower and U upper triangular: W[0][0] = U[0][0] = softplus(−1) + 1e-3.
            assert!((wv[0] - ((-1f64).exp().ln_1p() + LU_EPS)).abs() < 1e-6);
            let (y, _) = lu.forward(x.clone());
            assert_close(&to_vec(lu.inverse(y)), &to_vec(x), 1e-5);
        }
    }
}
