//! The fused engine's exponential: `e^x` in `f32` without branches, calls or
//! float-to-integer conversions, so that a loop over it compiles to vector
//! instructions (the platform's `expf` is a call per element: 23 % of a CP-VAE
//! run with hidden widths 32, `perf`, 2026-12-06).
//!
//! Cody–Waite reduction `x = n·ln 2 + r` with `n = round(x·log₂e)`, `|r| ≤ ln 2 / 2`,
//! then the degree-7 Taylor polynomial of `e^r` (truncation error `r⁸/8! ≤ 5.2e-9`
//! relative, below half an `f32` ulp) and the scaling by `2ⁿ` through exponent bits.
//! Every operation is an IEEE add, multiply or fused multiply-add, so the result is
//! the same on every instruction set. Accuracy: within 1 ulp of the correctly rounded value
//! where that is a normal number (tested below); `+∞` above 88.73, `0` below −103.97
//! (through subnormals), NaN for NaN.

/// `1.5·2²³`: adding it to a float of magnitude below 2²² rounds to an integer,
/// which then sits in the low mantissa bits.
const SHIFTER: f32 = 12_582_912.0;
const LOG2_E: f32 = std::f32::consts::LOG2_E;
/// ln 2 = `LN2_HI + LN2_LO` (the `f32` nearest ln 2 and the rest).
const LN2_HI: f32 = std::f32::consts::LN_2;
const LN2_LO: f32 = -1.904_654_2e-9;
/// 1/k! for k = 2..7 (the Taylor coefficients of `e^r` after `1 + r`).
const C: [f32; 6] = [0.5, 1.0 / 6.0, 1.0 / 24.0, 1.0 / 120.0, 1.0 / 720.0, 1.0 / 5040.0];

/// `e^x` (see the module docs for accuracy and special values).
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    // Past ±110 the result is 0 or +∞ anyway; the clamp keeps x·log₂e below 2²².
    // (`clamp` keeps a NaN, which then propagates through `r`.)
    let x = x.clamp(-110.0, 110.0);
    let t = x.mul_add(LOG2_E, SHIFTER);
    let n = t - SHIFTER;
    let n_int = t.to_bits() as i32 - SHIFTER.to_bits() as i32;
    let r = (-n).mul_add(LN2_HI, x);
    let r = (-n).mul_add(LN2_LO, r);
    let mut p = C[5];
    for &c in C[..5].iter().rev() {
        p = p.mul_add(r, c);
    }
    let y = (p * r).mul_add(r, r) + 1.0;
    // 2ⁿ as two normal powers of two, so that n from −159 to 159 scales exactly
    // up to overflow or underflow of the product.
    let n1 = n_int >> 1;
    let n2 = n_int - n1;
    let pow2 = |e: i32| f32::from_bits(((e + 127) as u32) << 23);
    y * pow2(n1) * pow2(n2)
}

/// `out[k] = e^(scale·src[k])`, sized like `src`: a loop that vectorises.
#[inline(always)]
pub(crate) fn exp_into(out: &mut Vec<f32>, src: &[f32], scale: f32) {
    super::net::resize(out, src.len());
    for (o, s) in out.iter_mut().zip(src) {
        *o = exp(scale * *s);
    }
}

#[cfg(test)]
mod tests {
    use super::exp;

    /// Distance in units in the last place between two finite positive floats.
    fn ulps(a: f32, b: f32) -> u32 {
        a.to_bits().abs_diff(b.to_bits())
    }

    #[test]
    fn within_one_ulp_of_the_correctly_rounded_exponential() {
        // Every 97th float in [-87.3, 88.7] (where e^x is a normal f32), both signs.
        let mut worst = (0, 0.0f32);
        let mut bits = 0u32;
        while bits < 0x42B2_0000 {
            for x in [f32::from_bits(bits), -f32::from_bits(bits)] {
                if x > -87.3 {
                    let exact = (x as f64).exp() as f32;
                    let u = ulps(exp(x), exact);
                    if u > worst.0 {
                        worst = (u, x);
                    }
                }
            }
            bits += 97;
        }
        assert!(worst.0 <= 1, "{} ulp at x = {}", worst.0, worst.1);
    }

    #[test]
    fn exact_and_special_values() {
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(-0.0), 1.0);
        assert!(ulps(exp(1.0), std::f32::consts::E) <= 1);
        assert_eq!(exp(f32::INFINITY), f32::INFINITY);
        assert_eq!(exp(89.0), f32::INFINITY);
        assert_eq!(exp(1e30), f32::INFINITY);
        assert_eq!(exp(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp(-104.0), 0.0);
        assert_eq!(exp(-1e30), 0.0);
        assert!(exp(f32::NAN).is_nan());
        // Largest finite result, and gradual underflow into the subnormals.
        assert!(exp(88.72).is_finite());
        let sub = exp(-95.0);
        assert!(sub > 0.0 && !sub.is_normal());
        assert!((sub as f64 / (-95f64).exp() - 1.0).abs() < 1e-3);
    }

    #[test]
    fn vectorised_and_scalar_calls_agree() {
        // The same function in a loop the compiler vectorises, inside the engine's
        // `pulp` dispatch and outside it.
        let xs: Vec<f32> = (0..1000).map(|i| (i as f32 - 500.0) * 0.173).collect();
        let mut ys = vec![0.0f32; xs.len()];
        struct Pass<'a>(&'a [f32], &'a mut [f32]);
        impl pulp::WithSimd for Pass<'_> {
            type Output = ();
            #[inline(always)]
            fn with_simd<S: pulp::Simd>(self, _simd: S) {
                for (y, x) in self.1.iter_mut().zip(self.0) {
                    *y = exp(*x);
                }
            }
        }
        pulp::Arch::new().dispatch(Pass(&xs, &mut ys));
        for (x, y) in xs.iter().zip(&ys) {
            assert_eq!(y.to_bits(), std::hint::black_box(exp as fn(f32) -> f32)(*x).to_bits(), "x = {x}");
        }
    }
}
