//! Vectorisable random numbers for the cheap simulators' chunk loops.
//!
//! [`LaneRng`] runs [`LANES`] independent xoshiro256++ generators (Blackman and Vigna
//! 2019) side by side in struct-of-arrays form, so that one step is a handful of
//! vector instructions producing `LANES` 64-bit words. It is seeded from the chunk's
//! ChaCha8 generator ([`crate::row_rng`]), which keeps the crate's determinism
//! contract: the output depends only on θ and the seed, never on the thread count.
//!
//! From the words, branch-free transforms that LLVM vectorises:
//! - [`unit()`]: U[0, 1) and [`unit_open_closed`]: U(0, 1], with 52 random bits;
//! - [`direction`]: a uniform point on the unit circle (two bits choose the quadrant,
//!   52 the angle within it; sine and cosine by polynomials on |φ| ≤ π/4);
//! - [`box_muller`]: two independent standard normals from two words (Box and
//!   Muller 1958: `√(−2 ln u)·(cos φ, sin φ)`), with [`ln_unit`] a polynomial
//!   logarithm.
//!
//! The polynomials agree with `f64::ln`, `f64::sin` and `f64::cos` to a few units in
//! the last place (tested); the normals are checked against Φ by Kolmogorov-Smirnov.
//! Only `+ − × ÷ √`, fused multiply-adds and bit operations are used, all correctly
//! rounded by IEEE 754, so the results are the same at every CPU feature level
//! (`crate::simd`) and on every platform.

use rand::RngCore;
use rand_chacha::ChaCha8Rng;
use std::f64::consts::FRAC_PI_2;

/// Generators run side by side: two AVX-512 or four AVX2 vectors of `u64` (measured
/// fastest on AVX2: with 8 lanes LLVM turns one rotation into scalar code, 32 spill).
pub const LANES: usize = 16;

/// One vector of words, one per lane.
pub type Words = [u64; LANES];

/// `LANES` xoshiro256++ generators in struct-of-arrays form: `s[k][l]` is word `k`
/// of lane `l`'s state.
#[derive(Debug, Clone)]
pub struct LaneRng {
    s: [Words; 4],
}

impl LaneRng {
    /// Seeds the lanes from `rng`: one word `b` from it, then lane `l`'s state words
    /// `k = 0..4` are SplitMix64 outputs at positions `k·LANES + l` of the sequence
    /// started at `b` (the seeding Vigna recommends for xoshiro; cheaper than drawing
    /// all `4·LANES` words from ChaCha8). A lane whose state came out all zero
    /// (xoshiro's one forbidden state, probability 2⁻²⁵⁶) gets a fixed non-zero word.
    pub fn from_rng(rng: &mut ChaCha8Rng) -> Self {
        let b = rng.next_u64();
        let mut s = [[0u64; LANES]; 4];
        for (k, word) in s.iter_mut().enumerate() {
            for (l, v) in word.iter_mut().enumerate() {
                *v = splitmix64(b.wrapping_add(SPLITMIX_GAMMA.wrapping_mul((k * LANES + l) as u64 + 1)));
            }
        }
        let zero: [bool; LANES] = std::array::from_fn(|l| s.iter().all(|w| w[l] == 0));
        for (v, z) in s[0].iter_mut().zip(zero) {
            if z {
                *v = SPLITMIX_GAMMA;
            }
        }
        Self { s }
    }

    /// The next word of every lane (xoshiro256++: `rotl(s0 + s3, 23) + s0`, then the
    /// xorshift state update).
    #[inline(always)]
    pub fn next_words(&mut self) -> Words {
        let [s0, s1, s2, s3] = &mut self.s;
        let mut out = [0u64; LANES];
        for l in 0..LANES {
            out[l] = s0[l].wrapping_add(s3[l]).rotate_left(23).wrapping_add(s0[l]);
            let t = s1[l] << 17;
            s2[l] ^= s0[l];
            s3[l] ^= s1[l];
            s1[l] ^= s2[l];
            s0[l] ^= s3[l];
            s2[l] ^= t;
            s3[l] = s3[l].rotate_left(45);
        }
        out
    }

    /// Fills `out` with words, [`LANES`] per step (a final partial step discards the
    /// rest of its words). Drawing the words in a loop of their own keeps the
    /// generator's state out of the transforms' loops (and their registers).
    #[inline(always)]
    pub fn fill_words(&mut self, out: &mut [u64]) {
        let full = out.len() / LANES;
        for c in 0..full {
            let w = self.next_words();
            out[c * LANES..(c + 1) * LANES].copy_from_slice(&w);
        }
        let rest = &mut out[full * LANES..];
        if !rest.is_empty() {
            let w = self.next_words();
            let k = rest.len();
            rest.copy_from_slice(&w[..k]);
        }
    }

    /// Fills `lo` and `hi` (of equal length) with the low and high 32-bit halves of
    /// words, [`LANES`] per step: word `i` gives `lo[i]` and `hi[i]` (a final partial
    /// step discards the rest of its words). Split so that single-precision transforms
    /// ([`crate::lanes_f32`]) run over 32-bit lanes, twice as many per vector.
    #[inline(always)]
    pub fn fill_halves(&mut self, lo: &mut [u32], hi: &mut [u32]) {
        assert_eq!(lo.len(), hi.len(), "fill_halves: halves of different lengths");
        let mut i = 0;
        while i < lo.len() {
            let w = self.next_words();
            let k = (lo.len() - i).min(LANES);
            for l in 0..k {
                lo[i + l] = w[l] as u32;
                hi[i + l] = (w[l] >> 32) as u32;
            }
            i += k;
        }
    }

    /// Fills `out` with independent standard normals, [`NORMAL_BLOCK`] at a time: the
    /// block's words `w[0..NORMAL_BLOCK]` are drawn, and `(z[i], z[i + B/2])` =
    /// [`box_muller`]`(w[i], w[i + B/2])` (a final partial block discards its unused
    /// draws).
    #[inline(always)]
    pub fn fill_standard_normal(&mut self, out: &mut [f64]) {
        let mut w = [0u64; NORMAL_BLOCK];
        let mut i = 0;
        while let Some(z) = out[i..].first_chunk_mut::<NORMAL_BLOCK>() {
            self.fill_words(&mut w);
            normal_block(&w, z);
            i += NORMAL_BLOCK;
        }
        let rest = &mut out[i..];
        if !rest.is_empty() {
            self.fill_words(&mut w);
            let mut z = [0.0; NORMAL_BLOCK];
            normal_block(&w, &mut z);
            let k = rest.len();
            rest.copy_from_slice(&z[..k]);
        }
    }
}

/// One block of [`LaneRng::fill_standard_normal`]: `(z[i], z[i + B/2])` =
/// [`box_muller`]`(w[i], w[i + B/2])`.
#[inline(always)]
fn normal_block(w: &[u64; NORMAL_BLOCK], z: &mut [f64; NORMAL_BLOCK]) {
    const H: usize = NORMAL_BLOCK / 2;
    for j in 0..H {
        (z[j], z[H + j]) = box_muller(w[j], w[H + j]);
    }
}

/// Normals per block of [`LaneRng::fill_standard_normal`].
pub const NORMAL_BLOCK: usize = 64;

/// SplitMix64's increment (2⁶⁴ divided by the golden ratio, odd).
const SPLITMIX_GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// SplitMix64's output function (Steele, Lea and Flood 2014) of the state `z`.
#[inline(always)]
fn splitmix64(z: u64) -> u64 {
    let z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    let z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Bits of 1.0.
const ONE_BITS: u64 = 0x3ff0_0000_0000_0000;
/// The 52 mantissa bits.
const MANTISSA: u64 = 0x000f_ffff_ffff_ffff;

/// U[0, 1) from the top 52 bits of `w`: a multiple of 2⁻⁵².
#[inline(always)]
pub fn unit(w: u64) -> f64 {
    f64::from_bits(ONE_BITS | (w >> 12)) - 1.0
}

/// U(0, 1] from the top 52 bits of `w`: a multiple of 2⁻⁵², never 0 (so its
/// logarithm is finite). Exact: `2 − y` for `y ∈ [1, 2)` needs no rounding.
#[inline(always)]
pub fn unit_open_closed(w: u64) -> f64 {
    2.0 - f64::from_bits(ONE_BITS | (w >> 12))
}

/// sin φ / φ as a polynomial in φ² on |φ| ≤ π/4 (ascending powers): the Chebyshev
/// fit of degree 6 computed with mpmath's `chebyfit` (40 digits; approximation error
/// 3·10⁻¹⁸), coefficients rounded to `f64`.
const SIN_POLY: [f64; 7] = [
    1.0,
    -0.166_666_666_666_666_16,
    0.008_333_333_333_320_363,
    -0.000_198_412_698_286_503,
    2.755_731_337_640_013e-6,
    -2.505_071_697_410_274_5e-8,
    1.589_473_665_184_909_4e-10,
];

/// cos φ as a polynomial in φ² on |φ| ≤ π/4: the Chebyshev fit of degree 7
/// (approximation error 3·10⁻²⁰), as for [`SIN_POLY`].
const COS_POLY: [f64; 8] = [
    1.0,
    -0.5,
    0.041_666_666_666_666_45,
    -0.001_388_888_888_886_109_5,
    2.480_158_728_388_115_2e-5,
    -2.755_731_309_779_008_6e-7,
    2.087_558_238_066_395_2e-9,
    -1.135_337_963_829_757_5e-11,
];

/// `Σ c[k]·x^k` for `N ≤ 16` coefficients by Estrin's scheme: neighbouring
/// coefficients are paired as `c[2i] + c[2i+1]·x`, then the pairs in powers of `x²`,
/// then in powers of `x⁴`, and so on, so the dependency chain is `log₂ N` multiply-adds
/// deep instead of Horner's `N` (what limits a vectorised loop here). Written as
/// straight-line code over fixed-size arrays, so that it compiles to registers only.
/// The multiply-adds are fused (`mul_add`): one instruction with FMA, a correctly
/// rounded software fma without, so the result is the same either way.
#[inline(always)]
pub(crate) fn estrin<const N: usize>(x: f64, c: &[f64; N]) -> f64 {
    const { assert!(N >= 1 && N <= 16) };
    let pair = |i: usize, x: f64| if 2 * i + 1 < N { c[2 * i + 1].mul_add(x, c[2 * i]) } else { c[2 * i] };
    let x2 = x * x;
    let x4 = x2 * x2;
    let x8 = x4 * x4;
    let p: [f64; 8] = std::array::from_fn(|i| if 2 * i < N { pair(i, x) } else { 0.0 });
    let n1 = N.div_ceil(2);
    let q: [f64; 4] =
        std::array::from_fn(|i| if 2 * i + 1 < n1 { p[2 * i + 1].mul_add(x2, p[2 * i]) } else { p[2 * i] });
    let n2 = n1.div_ceil(2);
    let r0 = if n2 > 1 { q[1].mul_add(x4, q[0]) } else { q[0] };
    let r1 = if n2 > 3 { q[3].mul_add(x4, q[2]) } else { q[2] };
    if n2 > 2 { r1.mul_add(x8, r0) } else { r0 }
}

/// `(cos φ, sin φ)` for `|φ| ≤ π/4` by the polynomials above (in φ², by `estrin`).
#[inline(always)]
pub fn cos_sin_quarter(phi: f64) -> (f64, f64) {
    let p2 = phi * phi;
    (estrin(p2, &COS_POLY), phi * estrin(p2, &SIN_POLY))
}

/// A uniform point `(cos φ, sin φ)` on the unit circle from one word: the top two
/// bits choose a quadrant `q`, the next 52 an angle ψ ∈ [−π/4, π/4) within it, and
/// φ = ψ + q·π/2 (the point `(cos ψ, sin ψ)` turned by `q` right angles, exactly).
/// The low 10 bits of `w` are unused.
#[inline(always)]
pub fn direction(w: u64) -> (f64, f64) {
    let q = w >> 62;
    let t = f64::from_bits(ONE_BITS | ((w >> 10) & MANTISSA)) - 1.0;
    let (c, s) = cos_sin_quarter((t - 0.5) * FRAC_PI_2);
    // Turning by q·90°: q = 0 → (c, s), 1 → (−s, c), 2 → (−c, −s), 3 → (s, −c).
    let (x, y) = if q & 1 == 1 { (s, c) } else { (c, s) };
    let neg_x = (q ^ (q >> 1)) & 1;
    let neg_y = q >> 1;
    (f64::from_bits(x.to_bits() ^ (neg_x << 63)), f64::from_bits(y.to_bits() ^ (neg_y << 63)))
}

/// atanh(s)/s as a polynomial in s² for |s| ≤ (√2 − 1)/(√2 + 1) = 0.1716: the
/// Chebyshev fit of degree 7 (approximation error 1.2·10⁻¹⁸), as for [`SIN_POLY`].
const ATANH_POLY: [f64; 8] = [
    1.0,
    0.333_333_333_333_338_26,
    0.199_999_999_996_511_7,
    0.142_857_143_803_208_4,
    0.111_110_985_283_630_24,
    0.090_918_158_401_146_64,
    0.076_562_640_741_820_95,
    0.074_048_551_803_276_38,
];

/// ln 2 split into a head with trailing zero bits (so `k·LN2_HI` is exact for |k| < 2¹¹)
/// and the remainder.
const LN2_HI: f64 = 6.931_471_803_691_238e-1;
const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;

/// Natural logarithm of a positive normal `u` (here a draw in (0, 1]), branch-free.
///
/// `u = 2^k·z` with `z ∈ [0.7071, 1.4142)` (the exponent split at √½ by an integer
/// add, as in fdlibm), then `ln z = 2·atanh(s)` with `s = (z − 1)/(z + 1)`, |s| ≤ 0.1716,
/// by a polynomial (`ATANH_POLY`), and `ln u = k·ln 2 + ln z`. Error within a few ulp (tested
/// against `f64::ln`). Not for zero, subnormal, negative or non-finite input.
#[inline(always)]
pub fn ln_unit(u: f64) -> f64 {
    // Adding 0x3ff0… − 0x3fe6a09e… moves the exponent boundary to √½: bits 52.. of
    // `v` are k + 1023, and its mantissa with √½'s high bits put back is z.
    const SHIFT: u64 = 0x3ff0_0000_0000_0000 - 0x3fe6_a09e_0000_0000;
    const SQRT_HALF_HI: u64 = 0x3fe6_a09e_0000_0000;
    // 2^52 + 1023: subtracting it from the float with bits 0x433… | (k + 1023) gives k.
    const K_MAGIC: f64 = 4_503_599_627_371_519.0;
    let v = u.to_bits().wrapping_add(SHIFT);
    let k = f64::from_bits(0x4330_0000_0000_0000 | (v >> 52)) - K_MAGIC;
    let z = f64::from_bits((v & MANTISSA).wrapping_add(SQRT_HALF_HI));
    let f = z - 1.0;
    let s = f / (2.0 + f);
    let s2 = s * s;
    k.mul_add(LN2_HI, k.mul_add(LN2_LO, 2.0 * s * estrin(s2, &ATANH_POLY)))
}

/// Two independent standard normals from two words (Box–Muller):
/// `√(−2 ln u)·(cos φ, sin φ)` with `u` = [`unit_open_closed`]`(w1)` and the
/// direction from `w2` ([`direction`]). Uses the top 52 bits of `w1` and the top 54 of
/// `w2`.
#[inline(always)]
pub fn box_muller(w1: u64, w2: u64) -> (f64, f64) {
    let r = (-2.0 * ln_unit(unit_open_closed(w1))).sqrt();
    let (c, s) = direction(w2);
    (r * c, r * s)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn ulps(a: f64, b: f64) -> u64 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs()
    }

    /// Each lane is the reference xoshiro256++ (`rand_xoshiro`) started from the same state.
    #[test]
    fn lanes_are_xoshiro256plusplus() {
        let mut seeder = ChaCha8Rng::seed_from_u64(3);
        let mut lanes = LaneRng::from_rng(&mut seeder);
        let mut refs: Vec<rand_xoshiro::Xoshiro256PlusPlus> = (0..LANES)
            .map(|l| {
                let mut seed = [0u8; 32];
                for k in 0..4 {
                    seed[8 * k..8 * k + 8].copy_from_slice(&lanes.s[k][l].to_le_bytes());
                }
                rand_xoshiro::Xoshiro256PlusPlus::from_seed(seed)
            })
            .collect();
        for _ in 0..1000 {
            let w = lanes.next_words();
            for (l, r) in refs.iter_mut().enumerate() {
                assert_eq!(w[l], r.next_u64(), "lane {l}");
            }
        }
    }

    #[test]
    fn unit_draws_cover_their_intervals_exactly() {
        assert_eq!(unit(0), 0.0);
        assert_eq!(unit(u64::MAX), 1.0 - f64::EPSILON);
        assert_eq!(unit_open_closed(0), 1.0);
        assert_eq!(unit_open_closed(u64::MAX), f64::EPSILON);
        // The low 12 bits do not matter.
        assert_eq!(unit(0xfff), 0.0);
        assert_eq!(unit_open_closed(1 << 12), 1.0 - f64::EPSILON);
    }

    #[test]
    fn ln_unit_matches_std_to_a_few_ulp() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut worst = 0u64;
        let mut check = |u: f64| {
            let (a, b) = (ln_unit(u), u.ln());
            let d = if b == 0.0 {
                assert_eq!(a, 0.0, "ln({u})");
                0
            } else {
                ulps(a, b)
            };
            worst = worst.max(d);
            assert!(d <= 4, "ln({u}): {a} vs {b} ({d} ulp)");
        };
        for _ in 0..200_000 {
            check(unit_open_closed(rng.next_u64()));
            // Wide exponent range and values near 1 and √½.
            check(f64::powi(2.0, -rng.random_range(0..60)) * (1.0 - 0.5 * rng.random::<f64>()));
            check(1.0 - rng.random::<f64>() * 1e-6);
            check(std::f64::consts::FRAC_1_SQRT_2 * (1.0 + (rng.random::<f64>() - 0.5) * 1e-9));
        }
        for u in [1.0, f64::EPSILON, 0.5, 0.25, 1.0 - f64::EPSILON, f64::MIN_POSITIVE, 2.0, 1e300] {
            check(u);
        }
        assert!(worst <= 4);
    }

    #[test]
    fn direction_is_on_the_circle_and_matches_std_trig() {
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        for _ in 0..200_000 {
            let w = rng.next_u64();
            let (c, s) = direction(w);
            // The same ψ turned by q right angles, with libm's cos and sin.
            let t = f64::from_bits(ONE_BITS | ((w >> 10) & MANTISSA)) - 1.0;
            let psi = (t - 0.5) * FRAC_PI_2;
            let (ce, se) = turned(psi, w >> 62);
            assert!(
                (c - ce).abs() <= 2.3e-16 && (s - se).abs() <= 2.3e-16,
                "{w:#x}: ({c}, {s}) vs ({ce}, {se})"
            );
            assert!((c * c + s * s - 1.0).abs() < 5e-16);
        }
        // The quadrants are covered evenly: angles of 100k draws are uniform on (−π, π].
        let mut counts = [0usize; 16];
        for _ in 0..100_000 {
            let (c, s) = direction(rng.next_u64());
            let bin = ((s.atan2(c) + std::f64::consts::PI) / (2.0 * std::f64::consts::PI) * 16.0) as usize;
            counts[bin.min(15)] += 1;
        }
        // χ² with 15 degrees of freedom; the 0.999 quantile is 37.7.
        let e = 100_000.0 / 16.0;
        let chi2: f64 = counts.iter().map(|&k| (k as f64 - e).powi(2) / e).sum();
        assert!(chi2 < 37.7, "angles not uniform: χ² = {chi2}, counts {counts:?}");
    }

    #[test]
    fn normals_pass_kolmogorov_smirnov_and_pairs_are_uncorrelated() {
        let mut lanes = LaneRng::from_rng(&mut ChaCha8Rng::seed_from_u64(7));
        let n = 200_000;
        let mut z = vec![0.0; n + 5]; // a partial final step too
        lanes.fill_standard_normal(&mut z);
        z.truncate(n);
        assert_normal_with_uncorrelated_pairs(&z, NORMAL_BLOCK);
    }

    /// (cos ψ, sin ψ) with libm, turned by `q` right angles: the exact value of a
    /// direction drawn with quadrant `q` and in-quadrant angle ψ.
    pub(crate) fn turned(psi: f64, q: u64) -> (f64, f64) {
        let (c, s) = (psi.cos(), psi.sin());
        match q {
            0 => (c, s),
            1 => (-s, c),
            2 => (-c, -s),
            _ => (s, -c),
        }
    }

    /// `z` passes a Kolmogorov–Smirnov test against N(0, 1) (α = 0.001), and the
    /// Box–Muller pairs, which sit `block/2` apart within each block of `block` draws,
    /// are uncorrelated, as are their squares (each ~N(0, 1/m) over m pairs; 4 sd).
    pub(crate) fn assert_normal_with_uncorrelated_pairs(z: &[f64], block: usize) {
        let n = z.len();
        // KS critical value at α = 0.001: 1.949/√n.
        let d = crate::mcmc::tests::ks_normal(ndarray::ArrayView1::from(z), 0.0, 1.0);
        assert!(d < 1.949 / (n as f64).sqrt(), "KS distance {d}");
        let h = block / 2;
        let (mut xy, mut x2y2, mut m) = (0.0, 0.0, 0.0);
        for c in z.chunks_exact(block) {
            for i in 0..h {
                let (a, b) = (c[i], c[h + i]);
                xy += a * b;
                x2y2 += (a * a - 1.0) * (b * b - 1.0);
                m += 1.0;
            }
        }
        assert!((xy / m).abs() < 4.0 / f64::sqrt(m), "pair correlation {}", xy / m);
        assert!((x2y2 / m / 2.0).abs() < 4.0 / f64::sqrt(m), "squares correlation {}", x2y2 / m / 2.0);
    }

    /// The transforms ignore the low bits they document as unused (free for coins).
    #[test]
    fn transforms_ignore_their_unused_low_bits() {
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        for _ in 0..10_000 {
            let (w1, w2) = (rng.next_u64(), rng.next_u64());
            let (m1, m2) = (rng.next_u64() & 0xfff, rng.next_u64() & 0x3ff);
            assert_eq!(box_muller(w1, w2), box_muller(w1 ^ m1, w2 ^ m2));
            assert_eq!(unit(w1), unit(w1 ^ m1));
        }
    }

    #[test]
    fn tails_reach_past_eight_standard_deviations() {
        // The smallest u is 2⁻⁵², giving |z| up to √(104 ln 2) = 8.49.
        let r = (-2.0 * ln_unit(unit_open_closed(u64::MAX))).sqrt();
        assert!((r - (104.0 * std::f64::consts::LN_2).sqrt()).abs() < 1e-14);
    }
}
