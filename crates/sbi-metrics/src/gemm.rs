//! Small dense matrix kernels for the classifier ([`crate::mlp`]): `C = op(A) · B` with
//! register-blocked tiles written so that LLVM auto-vectorises them under
//! [`crate::simd::dispatch`].
//!
//! All matrices are flat row-major slices. `A` is read through two strides (`a_rs` between
//! rows of `op(A)`, `a_cs` between its columns), so `A` and `Aᵀ` use the same kernel.
//! The number of columns `n` of `B` and `C` must be a multiple of 8 (the classifier pads
//! its hidden layers to that).

use std::fmt::Debug;
use std::ops::{Add, Div, Mul, Sub};

/// Floating-point element type of the classifier (`f32` or `f64`).
pub trait Real:
    Copy
    + Default
    + PartialOrd
    + Debug
    + Send
    + Sync
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
{
    /// Machine epsilon of the type (scikit-learn clips probabilities with it).
    const EPS: f64;
    /// Zero.
    const ZERO: Self;
    /// Converts from `f64` (rounding for `f32`).
    fn from_f64(v: f64) -> Self;
    /// Converts to `f64`.
    fn to_f64(self) -> f64;
    /// Square root.
    fn sqrt(self) -> Self;
    /// `a·b + c`, fused when `FMA`.
    fn fma<const FMA: bool>(a: Self, b: Self, c: Self) -> Self;
}

impl Real for f32 {
    const EPS: f64 = f32::EPSILON as f64;
    const ZERO: Self = 0.0;
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        f32::sqrt(self)
    }
    #[inline(always)]
    fn fma<const FMA: bool>(a: Self, b: Self, c: Self) -> Self {
        if FMA { a.mul_add(b, c) } else { a * b + c }
    }
}

impl Real for f64 {
    const EPS: f64 = f64::EPSILON;
    const ZERO: Self = 0.0;
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn sqrt(self) -> Self {
        f64::sqrt(self)
    }
    #[inline(always)]
    fn fma<const FMA: bool>(a: Self, b: Self, c: Self) -> Self {
        if FMA { a.mul_add(b, c) } else { a * b + c }
    }
}

/// Strided read access to the left operand.
#[derive(Clone, Copy)]
pub(crate) struct Lhs<'a, F> {
    /// Backing storage.
    pub data: &'a [F],
    /// Distance between consecutive rows of `op(A)`.
    pub rs: usize,
    /// Distance between consecutive columns of `op(A)`.
    pub cs: usize,
}

/// Rows of `op(A)` per register tile (8 × 32 `f32` accumulators fill 16 AVX-512 registers;
/// 12 rows spill, 4 and 6 rows measured slower).
const MR: usize = 8;

/// One `R × NR` tile of `C = op(A)·B` at rows `i0..i0+R`, columns `j0..j0+NR`.
///
/// (Packing `A` into a contiguous buffer made LLVM vectorise along the rows with
/// gathers and scatters, ten times slower; the strided scalar reads keep it on columns.)
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn tile<F: Real, const FMA: bool, const R: usize, const NR: usize>(
    i0: usize,
    j0: usize,
    k: usize,
    a: Lhs<'_, F>,
    b: &[F],
    ldb: usize,
    c: &mut [F],
    ldc: usize,
) {
    let mut acc = [[F::ZERO; NR]; R];
    for kk in 0..k {
        let start = kk * ldb + j0;
        let brow: &[F; NR] = b[start..start + NR].try_into().expect("NR columns");
        for (r, acc_r) in acc.iter_mut().enumerate() {
            let av = a.data[(i0 + r) * a.rs + kk * a.cs];
            for (acc_rc, &bc) in acc_r.iter_mut().zip(brow) {
                *acc_rc = F::fma::<FMA>(av, bc, *acc_rc);
            }
        }
    }
    for (r, acc_r) in acc.iter().enumerate() {
        let start = (i0 + r) * ldc + j0;
        c[start..start + NR].copy_from_slice(acc_r);
    }
}

/// All row tiles of one column panel of width `NR`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn panel<F: Real, const FMA: bool, const NR: usize>(
    m: usize,
    j0: usize,
    k: usize,
    a: Lhs<'_, F>,
    b: &[F],
    ldb: usize,
    c: &mut [F],
    ldc: usize,
) {
    let mut i0 = 0;
    while i0 + MR <= m {
        tile::<F, FMA, MR, NR>(i0, j0, k, a, b, ldb, c, ldc);
        i0 += MR;
    }
    // A 4-row tile for the remainder (the weight gradients have 100 rows).
    if i0 + 4 <= m {
        tile::<F, FMA, 4, NR>(i0, j0, k, a, b, ldb, c, ldc);
        i0 += 4;
    }
    while i0 < m {
        tile::<F, FMA, 1, NR>(i0, j0, k, a, b, ldb, c, ldc);
        i0 += 1;
    }
}

/// `C[m × n] = op(A)[m × k] · B[k × n]` (overwrites `C`); `n` must be a multiple of 8.
/// Each entry is accumulated over `k` in order, so the result does not depend on the tiling.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm<F: Real, const FMA: bool>(
    m: usize,
    n: usize,
    k: usize,
    a: Lhs<'_, F>,
    b: &[F],
    ldb: usize,
    c: &mut [F],
    ldc: usize,
) {
    assert!(n.is_multiple_of(8), "gemm needs a multiple of 8 columns, got {n}");
    let mut j0 = 0;
    // 8 × 48 `f32` accumulators fill 24 AVX-512 registers (measured ~3 % faster than
    // 8 × 32 for the 10-D classifier); in `f64` they would spill.
    if std::mem::size_of::<F>() == 4 {
        while j0 + 48 <= n {
            panel::<F, FMA, 48>(m, j0, k, a, b, ldb, c, ldc);
            j0 += 48;
        }
    }
    while j0 + 32 <= n {
        panel::<F, FMA, 32>(m, j0, k, a, b, ldb, c, ldc);
        j0 += 32;
    }
    if j0 + 16 <= n {
        panel::<F, FMA, 16>(m, j0, k, a, b, ldb, c, ldc);
        j0 += 16;
    }
    if j0 + 8 <= n {
        panel::<F, FMA, 8>(m, j0, k, a, b, ldb, c, ldc);
    }
}

/// `Σ_j a[j]·b[j]` over slices whose length is a multiple of 8.
#[inline(always)]
pub(crate) fn dot<F: Real, const FMA: bool>(a: &[F], b: &[F]) -> F {
    let mut acc = [F::ZERO; 8];
    for (ac, bc) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        for l in 0..8 {
            acc[l] = F::fma::<FMA>(ac[l], bc[l], acc[l]);
        }
    }
    let s4 = [acc[0] + acc[4], acc[1] + acc[5], acc[2] + acc[6], acc[3] + acc[7]];
    (s4[0] + s4[2]) + (s4[1] + s4[3])
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Gemm<'a> {
        m: usize,
        n: usize,
        k: usize,
        a: Lhs<'a, f64>,
        b: &'a [f64],
        c: &'a mut [f64],
    }

    impl crate::simd::Kernel for Gemm<'_> {
        type Output = ();
        #[inline(always)]
        fn run<const FMA: bool>(self) {
            gemm::<f64, FMA>(self.m, self.n, self.k, self.a, self.b, self.n, self.c, self.n);
        }
    }

    #[test]
    fn gemm_matches_a_triple_loop_for_a_and_a_transposed() {
        for &(m, n, k) in &[(1, 8, 1), (7, 24, 5), (13, 56, 9), (4, 32, 0), (9, 104, 17), (211, 112, 100)] {
            let a: Vec<f64> = (0..m * k).map(|i| ((i * 37 % 11) as f64 - 5.0) * 0.25).collect();
            let b: Vec<f64> = (0..k * n).map(|i| ((i * 13 % 7) as f64 - 3.0) * 0.5).collect();
            let mut want = vec![0.0; m * n];
            for i in 0..m {
                for j in 0..n {
                    want[i * n + j] = (0..k).map(|l| a[i * k + l] * b[l * n + j]).sum();
                }
            }
            let mut c = vec![f64::NAN; m * n];
            gemm::<f64, false>(m, n, k, Lhs { data: &a, rs: k, cs: 1 }, &b, n, &mut c, n);
            assert_eq!(c, want);
            // The same product through Aᵀ stored as [k × m].
            let at: Vec<f64> = (0..k * m).map(|idx| a[(idx % m) * k + idx / m]).collect();
            let mut c2 = vec![f64::NAN; m * n];
            crate::simd::dispatch(Gemm { m, n, k, a: Lhs { data: &at, rs: 1, cs: m }, b: &b, c: &mut c2 });
            for (x, y) in c2.iter().zip(&want) {
                assert!((x - y).abs() <= 1e-12 * (1.0 + y.abs()));
            }
        }
        let a: Vec<f32> = (0..24).map(|i| i as f32 * 0.5).collect();
        let b: Vec<f32> = (0..24).map(|i| 1.0 - i as f32 * 0.125).collect();
        let want: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot::<f32, false>(&a, &b) - want).abs() < 1e-4);
    }
}
