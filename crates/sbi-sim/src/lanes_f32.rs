//! Single-precision versions of [`crate::lanes`]' transforms, for the simulators whose
//! noise sbibm draws in `float32` (torch's default) and whose cost is the noise:
//! two_moons, slcp and gaussian_mixture.
//!
//! One 64-bit word gives two standard normals by Box–Muller (its low 32 bits the
//! radius, its high 32 the angle), or two directions on the unit circle. In `f32` a
//! vector holds twice as many lanes as in `f64`, and the polynomials are half as long
//! (measured speed-ups per simulator: docs/tasks.md, "Speed").
//!
//! Precision: the results are within a few `f32` ulp of the exact values (tested
//! against the `f64` functions), i.e. relative errors of a few 10⁻⁷, the precision of
//! sbibm's own simulators. The smallest radius uniform is 2⁻³¹, so the normals reach
//! |z| = √(62 ln 2) = 6.56 (a tail of probability 5·10⁻¹¹ is cut off).
//!
//! As in [`crate::lanes`], only `+ − × ÷ √`, `mul_add`, integer-to-float conversions
//! and bit operations are used, all correctly rounded by IEEE 754, so the results are
//! the same at every CPU feature level and on every platform.

use crate::lanes::LaneRng;
use std::f32::consts::FRAC_PI_2;

/// Bits of 1.0f32.
const ONE_BITS: u32 = 0x3f80_0000;
/// The 23 mantissa bits of an `f32`.
const MANTISSA: u32 = 0x007f_ffff;

/// U(0, 1] from the top 31 bits of `w`: `(k + 1)·2⁻³¹` for `k = w >> 1` rounded to
/// `f32`, never 0 (so its logarithm is finite). The lowest bit of `w` is unused.
#[inline(always)]
pub fn unit_open_closed(w: u32) -> f32 {
    ((w >> 1) as i32 as f32 + 1.0) * (1.0 / 2_147_483_648.0)
}

/// `Σ c[k]·x^k` for 5 coefficients (Estrin's scheme, fused multiply-adds).
#[inline(always)]
fn poly5(x: f32, c: &[f32; 5]) -> f32 {
    let x2 = x * x;
    let p0 = c[1].mul_add(x, c[0]);
    let p1 = c[3].mul_add(x, c[2]);
    let q = c[4].mul_add(x2, p1);
    q.mul_add(x2, p0)
}

/// atanh(s)/s in powers of s² (its Taylor series to s⁸; for |s| ≤ 0.1716 the first
/// omitted term is below 2·10⁻⁹).
const ATANH_POLY: [f32; 5] = [1.0, 1.0 / 3.0, 1.0 / 5.0, 1.0 / 7.0, 1.0 / 9.0];

/// ln 2 split into a head with trailing zero bits (so `k·LN2_HI` is exact for |k| < 2⁸)
/// and the remainder.
const LN2_HI: f32 = 0.693_145_75;
const LN2_LO: f32 = 1.428_606_8e-6;

/// Natural logarithm of a positive normal `u` (here a draw in (0, 1]), branch-free:
/// the `f32` form of [`crate::lanes::ln_unit`] (split at √½, `ln z = 2·atanh(s)`).
#[inline(always)]
pub fn ln_unit(u: f32) -> f32 {
    const SQRT_HALF_BITS: u32 = 0x3f35_04f3;
    const SHIFT: u32 = ONE_BITS - SQRT_HALF_BITS;
    let v = u.to_bits().wrapping_add(SHIFT);
    let k = ((v >> 23) as i32 - 127) as f32;
    let z = f32::from_bits((v & MANTISSA).wrapping_add(SQRT_HALF_BITS));
    let f = z - 1.0;
    let s = f / (2.0 + f);
    let s2 = s * s;
    k.mul_add(LN2_HI, k.mul_add(LN2_LO, 2.0 * s * poly5(s2, &ATANH_POLY)))
}

/// cos φ in powers of φ² on |φ| ≤ π/4 (Taylor to φ⁸; first omitted term 2.4·10⁻⁸).
const COS_POLY: [f32; 5] = [1.0, -1.0 / 2.0, 1.0 / 24.0, -1.0 / 720.0, 1.0 / 40_320.0];
/// sin φ / φ in powers of φ² on |φ| ≤ π/4 (Taylor to φ⁸; first omitted term 3·10⁻⁹).
const SIN_POLY: [f32; 5] = [1.0, -1.0 / 6.0, 1.0 / 120.0, -1.0 / 5040.0, 1.0 / 362_880.0];

/// A uniform point `(cos φ, sin φ)` on the unit circle from the 32-bit `w`: the top two
/// bits choose a quadrant, the next 23 an angle within it (as [`crate::lanes::direction`]
/// does with 52). The low 7 bits are unused.
#[inline(always)]
pub fn direction(w: u32) -> (f32, f32) {
    let q = w >> 30;
    let t = f32::from_bits(ONE_BITS | ((w >> 7) & MANTISSA)) - 1.0;
    let phi = (t - 0.5) * FRAC_PI_2;
    let p2 = phi * phi;
    let (c, s) = (poly5(p2, &COS_POLY), phi * poly5(p2, &SIN_POLY));
    let (x, y) = if q & 1 == 1 { (s, c) } else { (c, s) };
    let neg_x = (q ^ (q >> 1)) & 1;
    let neg_y = q >> 1;
    (f32::from_bits(x.to_bits() ^ (neg_x << 31)), f32::from_bits(y.to_bits() ^ (neg_y << 31)))
}

/// Two independent standard normals from one word, given as its low and high 32-bit
/// halves (Box–Muller): `√(−2 ln u)·(cos φ, sin φ)` with `u` from `lo`
/// ([`unit_open_closed`]) and the direction from `hi` ([`direction`]).
#[inline(always)]
pub fn box_muller(lo: u32, hi: u32) -> (f32, f32) {
    let r = (-2.0 * ln_unit(unit_open_closed(lo))).sqrt();
    let (c, s) = direction(hi);
    (r * c, r * s)
}

/// e^r on |r| ≤ ln2/2 (Taylor to r⁷; first omitted term below 5·10⁻⁹).
const EXP_POLY: [f32; 8] = [1.0, 1.0, 0.5, 1.0 / 6.0, 1.0 / 24.0, 1.0 / 120.0, 1.0 / 720.0, 1.0 / 5040.0];

/// `e^x` for `x ≤ 0`, branch-free: `x = k·ln 2 + r` with |r| ≤ ln2/2 (Cody–Waite,
/// ln 2 in two parts), `EXP_POLY` for `e^r` and `2^k` built from its bits. Within a few ulp of the
/// exact value down to −87; inputs below −87 give e^−87 (≈ 1.6·10⁻³⁸).
#[inline(always)]
pub fn exp_nonpos(x: f32) -> f32 {
    // 1.5·2^23: adding it rounds to an integer held in the low mantissa bits.
    const MAGIC: f32 = 12_582_912.0;
    let x = x.max(-87.0);
    let t = x.mul_add(std::f32::consts::LOG2_E, MAGIC);
    let k = t - MAGIC;
    let r = (-k).mul_add(LN2_LO, (-k).mul_add(LN2_HI, x));
    let k_bits = t.to_bits().wrapping_sub(MAGIC.to_bits());
    let scale = f32::from_bits(k_bits.wrapping_add(127) << 23);
    let r2 = r * r;
    let r4 = r2 * r2;
    let p01 = EXP_POLY[1].mul_add(r, EXP_POLY[0]);
    let p23 = EXP_POLY[3].mul_add(r, EXP_POLY[2]);
    let p45 = EXP_POLY[5].mul_add(r, EXP_POLY[4]);
    let p67 = EXP_POLY[7].mul_add(r, EXP_POLY[6]);
    let lo = p23.mul_add(r2, p01);
    let hi = p67.mul_add(r2, p45);
    hi.mul_add(r4, lo) * scale
}

/// Normals per block of [`fill_standard_normal`].
pub const NORMAL_BLOCK: usize = 64;

/// Fills `out` with independent standard normals from `lanes`, [`NORMAL_BLOCK`] at a
/// time: the block's words `w[0..NORMAL_BLOCK/2]` are drawn and `(z[i], z[i + B/2])` =
/// [`box_muller`] of `w[i]`'s halves (a final partial block discards its unused draws).
#[inline(always)]
pub fn fill_standard_normal(lanes: &mut LaneRng, out: &mut [f32]) {
    let mut i = 0;
    while let Some(z) = out[i..].first_chunk_mut::<NORMAL_BLOCK>() {
        normal_block(lanes, z);
        i += NORMAL_BLOCK;
    }
    let rest = &mut out[i..];
    if !rest.is_empty() {
        let mut z = [0.0f32; NORMAL_BLOCK];
        normal_block(lanes, &mut z);
        let k = rest.len();
        rest.copy_from_slice(&z[..k]);
    }
}

/// One block of [`fill_standard_normal`].
#[inline(always)]
fn normal_block(lanes: &mut LaneRng, z: &mut [f32; NORMAL_BLOCK]) {
    const H: usize = NORMAL_BLOCK / 2;
    let (mut lo, mut hi) = ([0u32; H], [0u32; H]);
    lanes.fill_halves(&mut lo, &mut hi);
    for j in 0..H {
        (z[j], z[H + j]) = box_muller(lo[j], hi[j]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, RngCore, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn unit_draws_cover_their_interval() {
        assert_eq!(unit_open_closed(0), 2f32.powi(-31));
        assert_eq!(unit_open_closed(1), 2f32.powi(-31), "the lowest bit is unused");
        assert_eq!(unit_open_closed(u32::MAX), 1.0);
        assert_eq!(unit_open_closed(2), 2.0 * 2f32.powi(-31));
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for _ in 0..100_000 {
            let u = unit_open_closed(rng.next_u32());
            assert!(u > 0.0 && u <= 1.0);
        }
    }

    #[test]
    fn ln_unit_matches_f64_to_a_few_f32_ulp() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let check = |u: f32| {
            let (a, b) = (ln_unit(u) as f64, (u as f64).ln());
            // A few ulp of the result, or (near u = 1, where ln u → 0) of the argument.
            let tol = 3.0 * f32::EPSILON as f64 * b.abs().max(1e-30)
                + 2.0 * f32::EPSILON as f64 * (1.0 - u as f64).abs();
            assert!((a - b).abs() <= tol, "ln({u}): {a} vs {b}");
        };
        for _ in 0..200_000 {
            check(unit_open_closed(rng.next_u32()));
            check(1.0 - rng.random::<f32>() * 1e-3);
            check(std::f32::consts::FRAC_1_SQRT_2 * (1.0 + (rng.random::<f32>() - 0.5) * 1e-5));
        }
        for u in [1.0, 0.5, 0.25, 2f32.powi(-31), 1.0 - f32::EPSILON / 2.0, f32::MIN_POSITIVE] {
            check(u);
        }
        assert_eq!(ln_unit(1.0), 0.0);
    }

    #[test]
    fn exp_matches_f64_to_a_few_f32_ulp() {
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        for _ in 0..200_000 {
            let x = -87.0 * rng.random::<f32>().powi(3);
            let (a, b) = (exp_nonpos(x) as f64, (x as f64).exp());
            assert!((a - b).abs() <= 3.0 * f32::EPSILON as f64 * b, "exp({x}): {a} vs {b}");
        }
        assert_eq!(exp_nonpos(0.0), 1.0);
        assert_eq!(exp_nonpos(-1e4), exp_nonpos(-87.0));
        assert!(exp_nonpos(-87.0) > 0.0);
    }

    #[test]
    fn direction_is_on_the_circle_and_matches_f64_trig() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut counts = [0usize; 16];
        for _ in 0..200_000 {
            let w = rng.next_u32();
            let (c, s) = direction(w);
            let t = f32::from_bits(ONE_BITS | ((w >> 7) & MANTISSA)) as f64 - 1.0;
            let psi = (t - 0.5) * std::f64::consts::FRAC_PI_2;
            let (ce, se) = crate::lanes::tests::turned(psi, u64::from(w >> 30));
            assert!(
                (c as f64 - ce).abs() <= 2.5e-7 && (s as f64 - se).abs() <= 2.5e-7,
                "{w:#x}: ({c}, {s}) vs ({ce}, {se})"
            );
            let bin =
                ((s as f64).atan2(c as f64) + std::f64::consts::PI) / (2.0 * std::f64::consts::PI) * 16.0;
            counts[(bin as usize).min(15)] += 1;
        }
        // χ² with 15 degrees of freedom; the 0.999 quantile is 37.7.
        let e = 200_000.0 / 16.0;
        let chi2: f64 = counts.iter().map(|&k| (k as f64 - e).powi(2) / e).sum();
        assert!(chi2 < 37.7, "angles not uniform: χ² = {chi2}, counts {counts:?}");
    }

    #[test]
    fn box_muller_matches_the_f64_formula() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        for _ in 0..100_000 {
            let (lo, hi) = (rng.next_u32(), rng.next_u32());
            let (a, b) = box_muller(lo, hi);
            let u = unit_open_closed(lo) as f64;
            let (c, s) = direction(hi);
            let r = (-2.0 * u.ln()).sqrt();
            // Relative error of a few f32 ulp in the radius, and the direction's 2.5e-7.
            let tol = 1e-6 * r + 3e-7;
            assert!(
                (a as f64 - r * c as f64).abs() <= tol && (b as f64 - r * s as f64).abs() <= tol,
                "{lo:#x} {hi:#x}"
            );
        }
    }

    #[test]
    fn normals_pass_kolmogorov_smirnov_and_pairs_are_uncorrelated() {
        let mut lanes = LaneRng::from_rng(&mut ChaCha8Rng::seed_from_u64(5));
        let n = 200_000;
        let mut z = vec![0.0f32; n + 5]; // a partial final block too
        fill_standard_normal(&mut lanes, &mut z);
        let z: Vec<f64> = z[..n].iter().map(|v| *v as f64).collect();
        crate::lanes::tests::assert_normal_with_uncorrelated_pairs(&z, NORMAL_BLOCK);
        // The radius's tail ends at √(62 ln 2).
        let r = (-2.0 * ln_unit(unit_open_closed(0)) as f64).sqrt();
        assert!((r - (62.0 * std::f64::consts::LN_2).sqrt()).abs() < 1e-5);
    }
}
