//! The fused engine's matrix products, for its shapes: a few hundred rows times
//! small weight matrices (64 × 64 by default), all row-major `f32`.
//!
//! `matrixmultiply` packs both operands into panels before every product; at these
//! sizes that packing took about 16 % of a CP-VAE training run (two_moons, 10k
//! simulations) against 40 % for the arithmetic. Here the weight matrix (16 KiB)
//! stays in L1 cache as it is and the other operand is read in place, a register
//! tile of `MR × NR` sums at a time, so there is nothing to pack.
//!
//! Each output element is one `mul_add` chain over `k` in increasing order, started
//! from `c` when accumulating, else from zero: the result does not depend on the
//! tile sizes or the instruction set. The loops are plain Rust, inlined into a
//! [`pulp::Arch::dispatch`] call that compiles them for AVX-512, AVX2+FMA (or NEON)
//! when the CPU has them, so LLVM vectorises the `NR` columns of a tile.

/// Rows of a register tile.
const MR: usize = 4;
/// Columns of a full register tile with 256-bit vectors (two AVX2 vectors): 8 sums
/// in flight, enough to keep two FMA units busy through their latency.
const NR: usize = 16;
/// Columns of a full register tile with 512-bit vectors (two AVX-512 vectors; with
/// [`NR`] columns a tile would hold only four vectors of sums).
const NR_WIDE: usize = 32;
/// Rows of `a` and `b` per panel in [`atb`].
const K_PANEL: usize = 64;

/// What the sums of a product start from.
#[derive(Clone, Copy, Debug)]
pub(super) enum Start<'a> {
    /// Zero: `c = a·b`.
    Zero,
    /// The values in `c`: `c += a·b`.
    C,
    /// A row `r: [n]` added to every row: `c = r + a·b` (a bias).
    Row(&'a [f32]),
}

/// `c[m, n] = start + a·b` for row-major `a: [m, k]`, `b: [k, n]` and `c: [m, n]`.
pub(super) fn ab(a: &[f32], b: &[f32], c: &mut [f32], [m, k, n]: [usize; 3], start: Start) {
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n, "gemm: operand too short");
    if let Start::Row(r) = start {
        assert!(r.len() >= n, "gemm: start row too short");
    }
    pulp::Arch::new().dispatch(Product { a, b, c, dims: [m, k, n], start, transposed: false, wide: None });
}

/// `c[m, n] = aᵀ·b` (or `c += aᵀ·b` when `accumulate`) for row-major `a: [k, m]`,
/// `b: [k, n]` and `c: [m, n]`: the sum runs over the rows of `a` and `b`.
pub(super) fn atb(a: &[f32], b: &[f32], c: &mut [f32], [m, k, n]: [usize; 3], accumulate: bool) {
    assert!(a.len() >= k * m && b.len() >= k * n && c.len() >= m * n, "gemm: operand too short");
    let start = if accumulate { Start::C } else { Start::Zero };
    pulp::Arch::new().dispatch(Product { a, b, c, dims: [m, k, n], start, transposed: true, wide: None });
}

/// One product for [`pulp::Arch::dispatch`] (a struct, not a closure: pulp compiles
/// a closure's body without the target features).
struct Product<'a> {
    a: &'a [f32],
    b: &'a [f32],
    c: &'a mut [f32],
    dims: [usize; 3],
    start: Start<'a>,
    /// `a` is `[k, m]` (for [`atb`]), else `[m, k]`.
    transposed: bool,
    /// Tiles of [`NR_WIDE`] columns (`true`) or [`NR`]; `None`: [`NR_WIDE`] when the
    /// vectors are 512 bits wide. The tests set it, to cover both on any CPU.
    wide: Option<bool>,
}

impl pulp::WithSimd for Product<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        let wide = self.wide.unwrap_or(size_of::<S::f32s>() >= 64);
        if wide { self.run::<NR_WIDE>() } else { self.run::<NR>() }
    }
}

impl Product<'_> {
    /// The product in tiles of up to `W` columns (inlined into the dispatched code).
    #[inline(always)]
    fn run<const W: usize>(self) {
        let Product { a, b, c, dims: [m, k, n], start, transposed, .. } = self;
        if k == 0 {
            match start {
                Start::Zero => c[..m * n].fill(0.0),
                Start::C => {}
                Start::Row(r) => c[..m * n].chunks_exact_mut(n).for_each(|row| row.copy_from_slice(&r[..n])),
            }
            return;
        }
        if transposed {
            // The sum over k in panels of `K_PANEL` rows, so that a panel of `b`
            // stays in L1 cache while every tile of `c` passes over it; each tile
            // carries its sums from panel to panel, so the order of the sums is the
            // same as in one pass.
            let mut k0 = 0;
            while k0 < k {
                let kp = (k - k0).min(K_PANEL);
                let (a, b) = (&a[k0 * m..(k0 + kp) * m], &b[k0 * n..(k0 + kp) * n]);
                let acc = if k0 > 0 { Start::C } else { start };
                let mut i0 = 0;
                while i0 + MR <= m {
                    let lhs =
                        |kk: usize| -> [f32; MR] { a[kk * m + i0..kk * m + i0 + MR].try_into().unwrap() };
                    row_tiles::<MR, W>(kp, lhs, b, n, c, i0, acc);
                    i0 += MR;
                }
                while i0 < m {
                    row_tiles::<1, W>(kp, |kk| [a[kk * m + i0]], b, n, c, i0, acc);
                    i0 += 1;
                }
                k0 += kp;
            }
        } else {
            let mut i0 = 0;
            while i0 + MR <= m {
                let rows: [&[f32]; MR] = std::array::from_fn(|r| &a[(i0 + r) * k..(i0 + r + 1) * k]);
                row_tiles::<MR, W>(k, |kk| std::array::from_fn(|r| rows[r][kk]), b, n, c, i0, start);
                i0 += MR;
            }
            while i0 < m {
                let row = &a[i0 * k..(i0 + 1) * k];
                row_tiles::<1, W>(k, |kk| [row[kk]], b, n, c, i0, start);
                i0 += 1;
            }
        }
    }
}

/// Rows `i0..i0 + R` of `c` (`[.., n]`), whose left-hand values at step `kk` are
/// `lhs(kk)`: tiles of `W`, then 16 (when `W` is wider), 8, 4 and 1 columns.
#[inline(always)]
fn row_tiles<const R: usize, const W: usize>(
    k: usize,
    lhs: impl Fn(usize) -> [f32; R] + Copy,
    b: &[f32],
    n: usize,
    c: &mut [f32],
    i0: usize,
    start: Start,
) {
    let mut j0 = 0;
    while j0 + W <= n {
        tile::<R, W>(k, lhs, b, n, c, i0, j0, start);
        j0 += W;
    }
    while W > 16 && j0 + 16 <= n {
        tile::<R, 16>(k, lhs, b, n, c, i0, j0, start);
        j0 += 16;
    }
    while j0 + 8 <= n {
        tile::<R, 8>(k, lhs, b, n, c, i0, j0, start);
        j0 += 8;
    }
    while j0 + 4 <= n {
        tile::<R, 4>(k, lhs, b, n, c, i0, j0, start);
        j0 += 4;
    }
    while j0 < n {
        tile::<R, 1>(k, lhs, b, n, c, i0, j0, start);
        j0 += 1;
    }
}

/// `c[i0..i0 + R, j0..j0 + C] = start + Σ_kk lhs(kk) ⊗ b[kk, j0..j0 + C]`, the
/// `R × C` sums held in registers.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn tile<const R: usize, const C: usize>(
    k: usize,
    lhs: impl Fn(usize) -> [f32; R],
    b: &[f32],
    n: usize,
    c: &mut [f32],
    i0: usize,
    j0: usize,
    start: Start,
) {
    let mut acc = [[0f32; C]; R];
    match start {
        Start::Zero => {}
        Start::C => {
            for (r, acc) in acc.iter_mut().enumerate() {
                let at = (i0 + r) * n + j0;
                acc.copy_from_slice(&c[at..at + C]);
            }
        }
        Start::Row(row) => {
            let row: &[f32; C] = row[j0..j0 + C].try_into().unwrap();
            acc.iter_mut().for_each(|acc| *acc = *row);
        }
    }
    for kk in 0..k {
        let brow: &[f32; C] = b[kk * n + j0..kk * n + j0 + C].try_into().unwrap();
        let av = lhs(kk);
        for r in 0..R {
            for j in 0..C {
                acc[r][j] = av[r].mul_add(brow[j], acc[r][j]);
            }
        }
    }
    for (r, acc) in acc.iter().enumerate() {
        let at = (i0 + r) * n + j0;
        c[at..at + C].copy_from_slice(acc);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn random(rng: &mut ChaCha8Rng, len: usize) -> Vec<f32> {
        (0..len).map(|_| rng.random_range(-2.0f32..2.0)).collect()
    }

    /// `ab` (`transposed = false`) or `atb` with the tile width set.
    fn product(
        a: &[f32],
        b: &[f32],
        c: &mut [f32],
        dims: [usize; 3],
        start: Start,
        transposed: bool,
        wide: bool,
    ) {
        pulp::Arch::new().dispatch(Product { a, b, c, dims, start, transposed, wide: Some(wide) });
    }

    /// Every shape class (full tiles of both widths, each column remainder, row
    /// remainders, k = 1, several panels of `atb`), both layouts, both tile widths,
    /// each way to start the sums, against an `f64` triple loop: within `2 k`
    /// ulp-sized steps of the sum of absolute products (each of the `k` fused steps
    /// rounds once). The layouts, the widths and the public functions (the width
    /// this CPU gets) agree bit for bit.
    #[test]
    fn products_match_a_triple_loop() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for m in [1, 3, 4, 5, 9, 64] {
            for k in [1, 2, 7, 64, 65, 150] {
                for n in [1, 3, 4, 8, 13, 16, 17, 33, 37, 48, 64] {
                    let (a, b, c0) =
                        (random(&mut rng, m * k), random(&mut rng, k * n), random(&mut rng, m * n));
                    // aᵀ for `atb`: [k, m].
                    let at: Vec<f32> = (0..k * m).map(|t| a[(t % m) * k + t / m]).collect();
                    let bias = random(&mut rng, n);
                    for start in [Start::Zero, Start::C, Start::Row(&bias)] {
                        // `atb` starts from zero or from `c`; from a row through `c`.
                        let mut c_atb = c0.clone();
                        if let Start::Row(r) = start {
                            c_atb.chunks_exact_mut(n).for_each(|row| row.copy_from_slice(r));
                        }
                        let atb_start = if matches!(start, Start::Zero) { Start::Zero } else { Start::C };
                        let mut got = Vec::new();
                        for wide in [false, true] {
                            let mut c = c0.clone();
                            product(&a, &b, &mut c, [m, k, n], start, false, wide);
                            got.push((format!("ab wide={wide}"), c));
                            let mut c = c_atb.clone();
                            product(&at, &b, &mut c, [m, k, n], atb_start, true, wide);
                            got.push((format!("atb wide={wide}"), c));
                        }
                        let mut c = c0.clone();
                        ab(&a, &b, &mut c, [m, k, n], start);
                        got.push(("ab".into(), c));
                        let mut c = c_atb.clone();
                        atb(&at, &b, &mut c, [m, k, n], !matches!(start, Start::Zero));
                        got.push(("atb".into(), c));
                        for i in 0..m {
                            for j in 0..n {
                                let mut want = match start {
                                    Start::Zero => 0.0,
                                    Start::C => c0[i * n + j] as f64,
                                    Start::Row(r) => r[j] as f64,
                                };
                                let mut scale = want.abs();
                                for kk in 0..k {
                                    let p = a[i * k + kk] as f64 * b[kk * n + j] as f64;
                                    want += p;
                                    scale += p.abs();
                                }
                                let tol = 2.0 * (k as f64 + 1.0) * f32::EPSILON as f64 * scale;
                                let first = got[0].1[i * n + j];
                                for (what, got) in &got {
                                    let g = got[i * n + j];
                                    assert!(
                                        (g as f64 - want).abs() <= tol,
                                        "{what} m={m} k={k} n={n} {start:?} [{i},{j}]: {g} vs {want}"
                                    );
                                    // One fused chain in increasing k whatever the layout
                                    // or the tiles.
                                    assert_eq!(
                                        g.to_bits(),
                                        first.to_bits(),
                                        "{what} m={m} k={k} n={n} [{i},{j}]"
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn short_operands_are_refused() {
        let r = std::panic::catch_unwind(|| {
            let mut c = vec![0.0; 4];
            ab(&[1.0; 3], &[1.0; 4], &mut c, [2, 2, 2], Start::Zero);
        });
        assert!(r.is_err());
    }
}
