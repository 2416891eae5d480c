//! Runtime CPU-feature dispatch without `unsafe` in this crate.
//!
//! The hot loops of the classifier and the MMD are written as plain Rust over slices and
//! fixed-size arrays, marked `#[inline(always)]`, and run inside [`pulp`]'s `vectorize`,
//! which compiles them with the AVX-512 (x86-64-v4) or AVX2 + FMA (x86-64-v3) target
//! features when the CPU has them, so that LLVM auto-vectorises them for those
//! instruction sets. Elsewhere the same code runs with the baseline features.

/// A computation to run under [`dispatch`]; `run` must be `#[inline(always)]` (and so
/// must everything it calls in its hot loops) for the target features to reach it.
pub(crate) trait Kernel {
    /// Result of the computation.
    type Output;
    /// Runs the computation; `FMA` tells whether fused multiply-add instructions are
    /// available (with them `mul_add` is one instruction, without it a slow software call).
    fn run<const FMA: bool>(self) -> Self::Output;
}

/// Adapter from [`Kernel`] to pulp's `WithSimd`.
struct Op<K, const FMA: bool>(K);

impl<K: Kernel, const FMA: bool> pulp::WithSimd for Op<K, FMA> {
    type Output = K::Output;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) -> Self::Output {
        self.0.run::<FMA>()
    }
}

/// Runs `kernel` with the best available x86 feature level (AVX-512, else AVX2 + FMA,
/// else the baseline).
pub(crate) fn dispatch<K: Kernel>(kernel: K) -> K::Output {
    #[cfg(target_arch = "x86_64")]
    {
        if let Some(simd) = pulp::x86::V4::try_new() {
            return pulp::Simd::vectorize(simd, Op::<K, true>(kernel));
        }
        if let Some(simd) = pulp::x86::V3::try_new() {
            return pulp::Simd::vectorize(simd, Op::<K, true>(kernel));
        }
    }
    kernel.run::<false>()
}

/// `a·b + c`, fused when `FMA` (see [`dispatch`]).
#[inline(always)]
pub(crate) fn fma64<const FMA: bool>(a: f64, b: f64, c: f64) -> f64 {
    if FMA { a.mul_add(b, c) } else { a * b + c }
}

/// `exp(x)` for `x ≤ 0`, branch-free so that it vectorises; relative error below 3e-16
/// for `x ≥ −708`, and 0 below (where `exp` is under 4e-308 anyway).
///
/// Cody–Waite reduction `x = k·ln2 + r`, `|r| ≤ ln2/2`, Taylor polynomial of degree 13
/// for `e^r` (truncation error `|r|¹⁴/14! < 4e-18`), and `2^k` built from its bits.
#[inline(always)]
pub(crate) fn exp_nonpos<const FMA: bool>(x: f64) -> f64 {
    const LOG2E: f64 = std::f64::consts::LOG2_E;
    const LN2_HI: f64 = 6.931_471_803_691_238e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    // 1.5·2^52: adding it rounds to an integer held in the low mantissa bits.
    const MAGIC: f64 = 6_755_399_441_055_744.0;
    let xc = x.max(-708.0);
    let t = fma64::<FMA>(xc, LOG2E, MAGIC);
    let k = t - MAGIC;
    let r = fma64::<FMA>(-k, LN2_LO, fma64::<FMA>(-k, LN2_HI, xc));
    // Horner, coefficients 1/j!.
    let mut p = 1.0 / 6_227_020_800.0; // 1/13!
    p = fma64::<FMA>(p, r, 1.0 / 479_001_600.0);
    p = fma64::<FMA>(p, r, 1.0 / 39_916_800.0);
    p = fma64::<FMA>(p, r, 1.0 / 3_628_800.0);
    p = fma64::<FMA>(p, r, 1.0 / 362_880.0);
    p = fma64::<FMA>(p, r, 1.0 / 40_320.0);
    p = fma64::<FMA>(p, r, 1.0 / 5_040.0);
    p = fma64::<FMA>(p, r, 1.0 / 720.0);
    p = fma64::<FMA>(p, r, 1.0 / 120.0);
    p = fma64::<FMA>(p, r, 1.0 / 24.0);
    p = fma64::<FMA>(p, r, 1.0 / 6.0);
    p = fma64::<FMA>(p, r, 0.5);
    p = fma64::<FMA>(p, r, 1.0);
    p = fma64::<FMA>(p, r, 1.0);
    // 2^k for k in [−1022, 0]: the exponent field is k + 1023.
    let kbits = t.to_bits().wrapping_sub(MAGIC.to_bits());
    let scale = f64::from_bits(kbits.wrapping_add(1023) << 52);
    let v = p * scale;
    if x < -708.0 { 0.0 } else { v }
}

/// Logistic function `1 / (1 + exp(−z))`, branch-free (see [`exp_nonpos`]).
#[inline(always)]
pub(crate) fn sigmoid<const FMA: bool>(z: f64) -> f64 {
    let e = exp_nonpos::<FMA>(-z.abs());
    let num = if z >= 0.0 { 1.0 } else { e };
    num / (1.0 + e)
}

/// Natural logarithm of a positive normal `x`, branch-free so that it vectorises;
/// relative error below 3e-16.
///
/// `x = 2^e·m` with `m ∈ [√½, √2)`, then `ln m = 2·atanh(s)`, `s = (m − 1)/(m + 1)`,
/// `|s| ≤ 0.172`, by its series to `s²³` (truncation below 1e-18).
#[inline(always)]
pub(crate) fn ln_pos<const FMA: bool>(x: f64) -> f64 {
    const LN2_HI: f64 = 6.931_471_803_691_238e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    let bits = x.to_bits();
    let e = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    let big = m > std::f64::consts::SQRT_2;
    let m = if big { 0.5 * m } else { m };
    let e = (if big { e + 1 } else { e }) as f64;
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut p = 1.0 / 23.0;
    for j in (0..11).rev() {
        p = fma64::<FMA>(p, s2, 1.0 / (2 * j + 1) as f64);
    }
    let ln_m = 2.0 * s * p;
    fma64::<FMA>(e, LN2_HI, fma64::<FMA>(e, LN2_LO, ln_m))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct ExpKernel(f64);

    impl Kernel for ExpKernel {
        type Output = f64;
        #[inline(always)]
        fn run<const FMA: bool>(self) -> f64 {
            exp_nonpos::<FMA>(self.0)
        }
    }

    #[test]
    fn sigmoid_matches_the_definition() {
        for i in -800..=800 {
            let z = i as f64 * 0.93;
            let want = 1.0 / (1.0 + (-z).exp());
            let got = sigmoid::<false>(z);
            // Below z = −708, exp_nonpos flushes to 0 (the true value is under 4e-308).
            assert!((got - want).abs() <= 3e-16 * want + 4e-308, "z = {z}: {got} vs {want}");
        }
        assert_eq!(sigmoid::<false>(0.0), 0.5);
    }

    #[test]
    fn ln_matches_std_to_a_few_ulp() {
        let mut worst: f64 = 0.0;
        let mut x = 1e-300f64;
        while x < 1e300 {
            for v in [x, x * std::f64::consts::SQRT_2, x * 0.999_999_9, 1.0 - x.min(0.5)] {
                let (a, b) = (ln_pos::<false>(v), v.ln());
                let err = if b == 0.0 { a.abs() } else { ((a - b) / b).abs() };
                worst = worst.max(err);
            }
            x *= 1.37;
        }
        assert!(worst < 3e-16, "worst relative error {worst:e}");
        assert_eq!(ln_pos::<false>(1.0), 0.0);
    }

    #[test]
    fn exp_matches_std_to_a_few_ulp() {
        let mut worst: f64 = 0.0;
        let mut x = 0.0f64;
        while x > -708.0 {
            for v in [x, x - 0.123_456_789, x - 0.5 * std::f64::consts::LN_2].map(|v| v.max(-708.0)) {
                let (a, b) = (exp_nonpos::<false>(v), v.exp());
                let c = dispatch(ExpKernel(v));
                worst = worst.max(((a - b) / b).abs()).max(((c - b) / b).abs());
            }
            x -= 0.0371;
        }
        assert!(worst < 3e-16, "worst relative error {worst:e}");
        assert_eq!(exp_nonpos::<false>(0.0), 1.0);
        assert_eq!(exp_nonpos::<false>(-709.0), 0.0);
        assert_eq!(exp_nonpos::<false>(-1e300), 0.0);
        assert_eq!(exp_nonpos::<false>(f64::NEG_INFINITY), 0.0);
    }
}
