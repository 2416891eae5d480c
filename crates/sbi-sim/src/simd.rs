//! Runtime CPU-feature dispatch for the cheap simulators, without `unsafe`.
//!
//! A simulator's chunk loop is written as plain Rust over fixed-size arrays, marked
//! `#[inline(always)]` down to its innermost helpers, and run through [`dispatch`],
//! which compiles it a second time with the AVX-512 (x86-64-v4) or AVX2 (x86-64-v3)
//! target features via [`pulp`] and picks the best the CPU has, so that LLVM
//! auto-vectorises it for that instruction set. Elsewhere the same code runs with the
//! baseline features.
//!
//! The kernels use only correctly rounded operations (additions, multiplications,
//! divisions, square roots, fused multiply-adds through `mul_add`, which falls back to
//! a correctly rounded software fma without FMA) and bit operations, so every feature
//! level gives bit-identical results (tested per simulator): a seed means the same data
//! on every machine.
//!
//! The simulators' chunk loops work on blocks of rows as plain slices
//! ([`for_each_block`]) with index loops: iterator adapters such as `zip` can end up
//! as separate functions compiled without the target features.

use ndarray::{ArrayView2, ArrayViewMut2, Axis};

/// A computation to run under [`dispatch`]; `run` must be `#[inline(always)]` (and so
/// must everything it calls in its hot loops) for the target features to reach it.
pub(crate) trait Kernel {
    /// Result of the computation.
    type Output;
    /// Runs the computation.
    fn run(self) -> Self::Output;
}

/// Adapter from [`Kernel`] to pulp's `WithSimd`.
struct Op<K>(K);

impl<K: Kernel> pulp::WithSimd for Op<K> {
    type Output = K::Output;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) -> Self::Output {
        self.0.run()
    }
}

/// Runs `kernel` with the best available x86 feature level (AVX-512, else AVX2, else
/// the baseline). The result does not depend on the level (see the module docs).
pub(crate) fn dispatch<K: Kernel>(kernel: K) -> K::Output {
    #[cfg(test)]
    if tests::BASELINE.load(std::sync::atomic::Ordering::Relaxed) {
        return kernel.run();
    }
    #[cfg(target_arch = "x86_64")]
    {
        if let Some(simd) = pulp::x86::V4::try_new() {
            return pulp::Simd::vectorize(simd, Op(kernel));
        }
        if let Some(simd) = pulp::x86::V3::try_new() {
            return pulp::Simd::vectorize(simd, Op(kernel));
        }
    }
    kernel.run()
}

/// The AVX2 token for the few loops written with intrinsics, where LLVM's
/// auto-vectoriser does badly (see their docs). pulp's wrappers make them safe: the
/// token exists only when the CPU has the features.
#[cfg(target_arch = "x86_64")]
pub(crate) type Avx2 = pulp::x86::V3;

/// [`Avx2`] when the CPU has it (and, in tests, unless [`dispatch`] is forced to the
/// baseline features).
#[cfg(target_arch = "x86_64")]
pub(crate) fn avx2() -> Option<Avx2> {
    #[cfg(test)]
    if tests::BASELINE.load(std::sync::atomic::Ordering::Relaxed) {
        return None;
    }
    pulp::x86::V3::try_new()
}

/// A simulator's work on blocks of rows, for [`for_each_block`].
pub(crate) trait RowBlocks {
    /// Rows per block.
    const ROWS: usize;
    /// Simulates one block of `k ≤ ROWS` rows, all slices row-major:
    /// `theta: [k·d_theta]` → `out: [k·d_x]`. Must write every entry of `out`.
    fn block(&mut self, theta: &[f64], out: &mut [f64]);
}

/// A simulator's chunk loop ([`crate::Simulator::simulate_chunk`]): the blocks that
/// `make` builds (holding the chunk's generator and scratch space) run over theta
/// `[m, d_theta]` and `out: [m, d_x]` with [`for_each_block`], under [`dispatch`].
/// They are built inside the kernel, so their scratch arrays (a few KiB) are not
/// copied on the way in.
pub(crate) fn simulate_blocks<K: RowBlocks>(
    theta: ArrayView2<f64>,
    out: ArrayViewMut2<f64>,
    make: impl FnOnce() -> K,
) {
    dispatch(BlockKernel { theta, out, make });
}

/// [`simulate_blocks`] as a [`Kernel`].
struct BlockKernel<'t, 'o, F> {
    theta: ArrayView2<'t, f64>,
    out: ArrayViewMut2<'o, f64>,
    make: F,
}

impl<K: RowBlocks, F: FnOnce() -> K> Kernel for BlockKernel<'_, '_, F> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        let mut blocks = (self.make)();
        for_each_block(self.theta, self.out, &mut blocks);
    }
}

/// Runs `kernel` on consecutive blocks of [`RowBlocks::ROWS`] rows of theta
/// `[m, d_theta]` and `out: [m, d_x]` (the last block may be shorter), as contiguous
/// row-major slices: borrowed when both arrays are in standard layout, else through
/// copies. Index loops only, so that everything inlines into a dispatched kernel.
#[inline(always)]
pub(crate) fn for_each_block<K: RowBlocks>(
    theta: ArrayView2<f64>,
    mut out: ArrayViewMut2<f64>,
    kernel: &mut K,
) {
    let (m, dt, dx) = (theta.nrows(), theta.ncols(), out.ncols());
    if let (Some(ts), Some(os)) = (theta.as_slice(), out.as_slice_mut()) {
        let mut r = 0;
        while r < m {
            let k = (m - r).min(K::ROWS);
            kernel.block(&ts[r * dt..(r + k) * dt], &mut os[r * dx..(r + k) * dx]);
            r += k;
        }
        return;
    }
    let (mut tb, mut ob) = (vec![0.0; K::ROWS * dt], vec![0.0; K::ROWS * dx]);
    for (t, mut o) in theta.axis_chunks_iter(Axis(0), K::ROWS).zip(out.axis_chunks_iter_mut(Axis(0), K::ROWS))
    {
        let k = t.nrows();
        tb.iter_mut().zip(t.iter()).for_each(|(d, s)| *d = *s);
        kernel.block(&tb[..k * dt], &mut ob[..k * dx]);
        o.iter_mut().zip(&ob).for_each(|(d, s)| *d = *s);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::atomic::AtomicBool;

    /// Makes [`super::dispatch`] run every kernel with the baseline features (tests only;
    /// harmless to tests running alongside, since the results do not depend on it).
    pub(crate) static BASELINE: AtomicBool = AtomicBool::new(false);
}
