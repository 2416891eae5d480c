//! Small dense matrix kernels for the classifier ([`crate::mlp`]): `C = op(A) · B` with
//! register-blocked tiles written so that LLVM auto-vectorises them under
//! [`crate::simd::dispatch`].
//!
//! All matrices are flat row-major slices. `A` is read through two strides (`a_rs` between
//! rows of `op(A)`, `a_cs` between its columns), so `A` and `Aᵀ` use the same kernel.
//! The number of columns `n` of `B` and `C` must be a multiple of 8 (the classifier pads
//! its hidden layers to a multiple of 16). `f32` products with a multiple of 16 columns
//! and `A` stored row- or column-major take, on AVX-512 machines, explicit 16-lane
//! kernels (`v4`); the others the auto-vectorised ones. Both accumulate each entry over `k` in order with fused
//! multiply-adds, so they give the same bits. An [`Epilogue`] (bias + ReLU, ReLU mask)
//! is applied as the tiles are stored, saving a pass over `C`.

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
    /// The slice as `f32` when the type is `f32` (for the explicit AVX-512 kernels).
    fn as_f32(s: &[Self]) -> Option<&[f32]>;
    /// The mutable slice as `f32` when the type is `f32`.
    fn as_f32_mut(s: &mut [Self]) -> Option<&mut [f32]>;
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
    #[inline(always)]
    fn as_f32(s: &[Self]) -> Option<&[f32]> {
        Some(s)
    }
    #[inline(always)]
    fn as_f32_mut(s: &mut [Self]) -> Option<&mut [f32]> {
        Some(s)
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
    #[inline(always)]
    fn as_f32(_: &[Self]) -> Option<&[f32]> {
        None
    }
    #[inline(always)]
    fn as_f32_mut(_: &mut [Self]) -> Option<&mut [f32]> {
        None
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

/// What happens to `C = op(A)·B` as it is stored.
#[derive(Clone, Copy)]
pub(crate) enum Epilogue<'a, F> {
    /// `C` as computed.
    None,
    /// `C[i, j] = max(C[i, j] + bias[j], 0)` (`t > 0 ? t : 0`): a ReLU layer's output.
    BiasRelu(&'a [F]),
    /// `C[i, j] = act[i, j] > 0 ? C[i, j] : 0`, `act` laid out as `C`: back-propagation
    /// through a ReLU.
    ReluMask(&'a [F]),
}

impl<F: Real> Epilogue<'_, F> {
    /// Applies the epilogue to the `m` rows of `n` columns of `c` (row stride `ldc`).
    #[inline(always)]
    fn apply(self, m: usize, n: usize, c: &mut [F], ldc: usize) {
        for i in 0..m {
            let row = &mut c[i * ldc..i * ldc + n];
            match self {
                Epilogue::None => {}
                Epilogue::BiasRelu(bias) => {
                    for (v, &bi) in row.iter_mut().zip(bias) {
                        let t = *v + bi;
                        *v = if t > F::ZERO { t } else { F::ZERO };
                    }
                }
                Epilogue::ReluMask(act) => {
                    for (v, &a) in row.iter_mut().zip(&act[i * ldc..i * ldc + n]) {
                        *v = if a > F::ZERO { *v } else { F::ZERO };
                    }
                }
            }
        }
    }
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

/// `C[m × n] = op(A)[m × k] · B[k × n]` (overwrites `C`), then `epi`; `n` must be a
/// multiple of 8. Each entry is accumulated over `k` in order, so the result does not
/// depend on the tiling.
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
    epi: Epilogue<'_, F>,
) {
    assert!(n.is_multiple_of(8), "gemm needs a multiple of 8 columns, got {n}");
    #[cfg(target_arch = "x86_64")]
    if FMA
        && n.is_multiple_of(16)
        && (a.cs == 1 || a.rs == 1)
        && let Some(simd) = pulp::x86::V4::try_new()
        && let (Some(a32), Some(b32)) = (F::as_f32(a.data), F::as_f32(b))
        && let Some(c32) = F::as_f32_mut(c)
        && let Some(epi32) = match epi {
            Epilogue::None => Some(Epilogue::None),
            Epilogue::BiasRelu(x) => F::as_f32(x).map(Epilogue::BiasRelu),
            Epilogue::ReluMask(x) => F::as_f32(x).map(Epilogue::ReluMask),
        }
    {
        v4::gemm(simd, m, n, k, Lhs { data: a32, rs: a.rs, cs: a.cs }, b32, ldb, c32, ldc, epi32);
        return;
    }
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
    epi.apply(m, n, c, ldc);
}

/// The `f32` products with AVX-512, written with explicit 16-lane vectors.
///
/// Auto-vectorised tiles wider than 48 columns compiled badly (B reloaded for every row,
/// row pointers spilled), so a hidden width of 100 (padded to 104: panels 48 + 48 + 8)
/// spent a third of each product in the 8-column panel, whose cost is set by the
/// broadcasts of `A`, not by its arithmetic. With explicit vectors a width padded to 112
/// runs as one 8 × 48 and one 6 × 64 panel: 7 vector FMAs per row and step of `k`.
#[cfg(target_arch = "x86_64")]
mod v4 {
    use super::{Epilogue, Lhs};
    use pulp::Simd;
    use pulp::f32x16;
    use pulp::x86::V4;

    #[inline(always)]
    fn load(s: &[f32], at: usize) -> f32x16 {
        let arr: [f32; 16] = s[at..at + 16].try_into().expect("16 lanes");
        pulp::cast(arr)
    }

    /// One step of `k`: `acc[r] += op(A)[r, kk] · B[kk, j0..]`, with `B`'s row at `start`
    /// and `av(r)` reading `op(A)`.
    #[inline(always)]
    fn step<const R: usize, const NV: usize>(
        simd: V4,
        acc: &mut [[f32x16; NV]; R],
        b: &[f32],
        start: usize,
        av: impl Fn(usize) -> f32,
    ) {
        let mut bv = [simd.splat_f32s(0.0); NV];
        for (v, bvv) in bv.iter_mut().enumerate() {
            *bvv = load(b, start + 16 * v);
        }
        for (r, acc_r) in acc.iter_mut().enumerate() {
            let av = simd.splat_f32s(av(r));
            for (acc_rv, &bvv) in acc_r.iter_mut().zip(&bv) {
                *acc_rv = simd.mul_add_e_f32s(av, bvv, *acc_rv);
            }
        }
    }

    /// One `R × 16·NV` tile at rows `i0..`, columns `j0..`.
    ///
    /// (`kk` indexes both `A`'s rows and `B`'s offset; iterator forms of these loops
    /// changed the generated code for the worse, hence the range loops.)
    #[inline(always)]
    #[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
    fn tile<const R: usize, const NV: usize>(
        simd: V4,
        i0: usize,
        j0: usize,
        k: usize,
        a: Lhs<'_, f32>,
        b: &[f32],
        ldb: usize,
        c: &mut [f32],
        ldc: usize,
        epi: Epilogue<'_, f32>,
    ) {
        let mut acc = [[simd.splat_f32s(0.0); NV]; R];
        if a.cs == 1 {
            // Rows of `op(A)` sliced to length `k` once: no bounds check in the loop.
            let mut rows: [&[f32]; R] = [&[]; R];
            for (r, row) in rows.iter_mut().enumerate() {
                *row = &a.data[(i0 + r) * a.rs..][..k];
            }
            for kk in 0..k {
                step(simd, &mut acc, b, kk * ldb + j0, |r| rows[r][kk]);
            }
        } else {
            // `op(A)` column-major (`rs == 1`, see [`gemm`]): the tile's `R` entries are
            // consecutive.
            for kk in 0..k {
                let col: &[f32; R] = a.data[kk * a.cs + i0..][..R].try_into().expect("R rows");
                step(simd, &mut acc, b, kk * ldb + j0, |r| col[r]);
            }
        }
        let zero = simd.splat_f32s(0.0);
        for (r, acc_r) in acc.iter().enumerate() {
            for (v, &x) in acc_r.iter().enumerate() {
                let start = (i0 + r) * ldc + j0 + 16 * v;
                let x = match epi {
                    Epilogue::None => x,
                    Epilogue::BiasRelu(bias) => {
                        let t = simd.add_f32s(x, load(bias, j0 + 16 * v));
                        simd.select_f32s(simd.greater_than_f32s(t, zero), t, zero)
                    }
                    Epilogue::ReluMask(act) => {
                        simd.select_f32s(simd.greater_than_f32s(load(act, start), zero), x, zero)
                    }
                };
                let arr: [f32; 16] = pulp::cast(x);
                c[start..start + 16].copy_from_slice(&arr);
            }
        }
    }

    /// All row tiles of one panel of `16·NV` columns, `R` rows at a time.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn panel<const R: usize, const NV: usize>(
        simd: V4,
        m: usize,
        j0: usize,
        k: usize,
        a: Lhs<'_, f32>,
        b: &[f32],
        ldb: usize,
        c: &mut [f32],
        ldc: usize,
        epi: Epilogue<'_, f32>,
    ) {
        let mut i0 = 0;
        while i0 + R <= m {
            tile::<R, NV>(simd, i0, j0, k, a, b, ldb, c, ldc, epi);
            i0 += R;
        }
        if R > 4 && i0 + 4 <= m {
            tile::<4, NV>(simd, i0, j0, k, a, b, ldb, c, ldc, epi);
            i0 += 4;
        }
        while i0 < m {
            tile::<1, NV>(simd, i0, j0, k, a, b, ldb, c, ldc, epi);
            i0 += 1;
        }
    }

    /// [`super::gemm`] for `f32`, `n` a multiple of 16, `op(A)` row- or column-major
    /// (`a.cs == 1` or `a.rs == 1`).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub(super) fn gemm(
        simd: V4,
        m: usize,
        n: usize,
        k: usize,
        a: Lhs<'_, f32>,
        b: &[f32],
        ldb: usize,
        c: &mut [f32],
        ldc: usize,
        epi: Epilogue<'_, f32>,
    ) {
        let mut j0 = 0;
        while j0 < n {
            match n - j0 {
                64 => {
                    panel::<6, 4>(simd, m, j0, k, a, b, ldb, c, ldc, epi);
                    j0 += 64;
                }
                16 => {
                    panel::<8, 1>(simd, m, j0, k, a, b, ldb, c, ldc, epi);
                    j0 += 16;
                }
                32 => {
                    panel::<8, 2>(simd, m, j0, k, a, b, ldb, c, ldc, epi);
                    j0 += 32;
                }
                _ => {
                    panel::<8, 3>(simd, m, j0, k, a, b, ldb, c, ldc, epi);
                    j0 += 48;
                }
            }
        }
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
            gemm::<f64, FMA>(self.m, self.n, self.k, self.a, self.b, self.n, self.c, self.n, Epilogue::None);
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
            gemm::<f64, false>(m, n, k, Lhs { data: &a, rs: k, cs: 1 }, &b, n, &mut c, n, Epilogue::None);
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

    struct Gemm32<'a> {
        m: usize,
        n: usize,
        k: usize,
        a: Lhs<'a, f32>,
        b: &'a [f32],
        c: &'a mut [f32],
        epi: Epilogue<'a, f32>,
    }

    impl crate::simd::Kernel for Gemm32<'_> {
        type Output = ();
        #[inline(always)]
        fn run<const FMA: bool>(self) {
            gemm::<f32, FMA>(self.m, self.n, self.k, self.a, self.b, self.n, self.c, self.n, self.epi);
        }
    }

    #[test]
    fn f32_products_and_epilogues_match_a_direct_loop() {
        // Through `dispatch`: on AVX-512 machines the explicit 16-lane kernels (panels of
        // 64, 48, 32 and 16 columns, 8-, 6-, 4- and 1-row tiles), elsewhere the generic
        // ones. Each entry is a sum over k in order, so only the FMA rounding may differ.
        for &(m, n, k) in
            &[(1, 16, 1), (7, 32, 5), (13, 48, 9), (9, 64, 17), (5, 80, 3), (4, 16, 0), (200, 112, 100)]
        {
            let a: Vec<f32> = (0..m * k).map(|i| ((i * 37 % 11) as f32 - 5.0) * 0.25).collect();
            let b: Vec<f32> = (0..k * n).map(|i| ((i * 13 % 7) as f32 - 3.0) * 0.5).collect();
            let bias: Vec<f32> = (0..n).map(|j| (j % 5) as f32 - 2.0).collect();
            let act: Vec<f32> = (0..m * n).map(|i| if i % 3 == 0 { 0.0 } else { 1.5 }).collect();
            let mut prod = vec![0.0f32; m * n];
            for i in 0..m {
                for j in 0..n {
                    prod[i * n + j] = (0..k).fold(0.0f32, |s, l| a[i * k + l].mul_add(b[l * n + j], s));
                }
            }
            let at: Vec<f32> = (0..k * m).map(|idx| a[(idx % m) * k + idx / m]).collect();
            let epilogues = [Epilogue::None, Epilogue::BiasRelu(&bias), Epilogue::ReluMask(&act)];
            for (e, &epi) in epilogues.iter().enumerate() {
                let want: Vec<f32> = (0..m * n)
                    .map(|idx| match e {
                        0 => prod[idx],
                        1 => (prod[idx] + bias[idx % n]).max(0.0),
                        _ => {
                            if act[idx] > 0.0 {
                                prod[idx]
                            } else {
                                0.0
                            }
                        }
                    })
                    .collect();
                for lhs in [Lhs { data: &a, rs: k, cs: 1 }, Lhs { data: &at, rs: 1, cs: m }] {
                    let mut c = vec![f32::NAN; m * n];
                    crate::simd::dispatch(Gemm32 { m, n, k, a: lhs, b: &b, c: &mut c, epi });
                    for (idx, (x, y)) in c.iter().zip(&want).enumerate() {
                        assert!(
                            (x - y).abs() <= 1e-5 * (1.0 + y.abs()),
                            "{m}x{n}x{k} epilogue {e} [{idx}]: {x} vs {y}"
                        );
                    }
                }
            }
        }
    }
}
