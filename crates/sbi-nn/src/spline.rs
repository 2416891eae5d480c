//! Monotone rational-quadratic splines with linear tails (Durkan, Bekasov,
//! Murray, Papamakarios 2019, "Neural Spline Flows"; nflows'
//! `unconstrained_rational_quadratic_spline` with `tails="linear"`), the
//! element-wise transform of [`crate::Nsf`] (spec `methods.md` §2, NPE "NSF").

use burn::tensor::activation::{softmax, softplus};
use burn::tensor::{Int, Tensor};

/// The shape constraints of a spline on `[−B, B]`, identity outside.
///
/// With `K` bins, the raw parameters per element are `K` widths, `K` heights
/// (softmax-normalised, each at least `min_bin_width`/`min_bin_height` of the
/// interval) and `K − 1` interior derivatives (`min_derivative + softplus`);
/// the derivatives at `±B` are 1, so the spline joins the identity tails
/// with a continuous first derivative.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct RqSpline {
    /// `B`: the spline acts on `[−B, B]`.
    pub tail_bound: f64,
    /// Minimum bin width as a fraction of the interval (nflows: 1e-3).
    pub min_bin_width: f64,
    /// Minimum bin height as a fraction of the interval (nflows: 1e-3).
    pub min_bin_height: f64,
    /// Minimum interior derivative (nflows: 1e-3).
    pub min_derivative: f64,
}

/// The per-element bin quantities gathered at the bin containing each input.
struct Bin {
    /// Left knot `x_k`.
    x: Tensor<2>,
    /// Bin width `w_k`.
    w: Tensor<2>,
    /// Bottom knot `y_k`.
    y: Tensor<2>,
    /// Bin height `h_k`.
    h: Tensor<2>,
    /// Slope `s_k = h_k / w_k`.
    s: Tensor<2>,
    /// Derivative at the left knot.
    d0: Tensor<2>,
    /// Derivative at the right knot.
    d1: Tensor<2>,
}

/// Knot positions from raw bin sizes `raw: [n, f, K]` on `[−B, B]`:
/// `(left edges [n, f, K], sizes [n, f, K], interior knots [n, f, K−1])`.
fn knots(raw: Tensor<3>, min: f64, b: f64) -> (Tensor<3>, Tensor<3>, Tensor<3>) {
    let [n, f, k] = raw.dims();
    let sizes = softmax(raw, 2).mul_scalar(1.0 - min * k as f64).add_scalar(min);
    let cum = sizes.cumsum(2);
    // Dividing by the last cumulative value makes the last knot exactly B.
    let last = cum.clone().narrow(2, k - 1, 1);
    let right = (cum / last).mul_scalar(2.0 * b).sub_scalar(b);
    let inner = right.clone().narrow(2, 0, k - 1);
    let edge = Tensor::full([n, f, 1], -b, (&inner.device(), inner.dtype()));
    let left = Tensor::cat(vec![edge, inner.clone()], 2);
    (left.clone(), right - left, inner)
}

impl RqSpline {
    /// The bin of each of `v: [n, f]` (clamped to `[−B, B]`) among the interior
    /// knots `inner: [n, f, K−1]`, `[n, f, 1]`.
    fn bin_index(v: Tensor<2>, inner: Tensor<3>) -> Tensor<3, Int> {
        v.unsqueeze_dim::<3>(2).greater_equal(inner).int().sum_dim(2)
    }

    /// Gathers the bin quantities; `search_y` selects the bin by the output knots (inverse).
    fn bin(&self, v: Tensor<2>, uw: Tensor<3>, uh: Tensor<3>, ud: Tensor<3>, search_y: bool) -> Bin {
        let b = self.tail_bound;
        let (xl, xw, x_inner) = knots(uw, self.min_bin_width, b);
        let (yl, yh, y_inner) = knots(uh, self.min_bin_height, b);
        let [n, f, _] = ud.dims();
        let ones = Tensor::ones([n, f, 1], (&ud.device(), ud.dtype()));
        let d = softplus(ud, 1.0).add_scalar(self.min_derivative);
        let d0 = Tensor::cat(vec![ones.clone(), d.clone()], 2);
        let d1 = Tensor::cat(vec![d, ones], 2);
        let idx = Self::bin_index(v, if search_y { y_inner } else { x_inner });
        let g = |t: Tensor<3>| t.gather(2, idx.clone()).squeeze_dim::<2>(2);
        let (w, h) = (g(xw), g(yh));
        Bin { x: g(xl), y: g(yl), s: h.clone() / w.clone(), w, h, d0: g(d0), d1: g(d1) }
    }

    /// `log` of the derivative `dy/dx` at the relative position `t ∈ [0, 1]` of a bin.
    fn log_derivative(bin: &Bin, t: Tensor<2>) -> Tensor<2> {
        let t1m = t.clone() * t.clone().neg().add_scalar(1.0);
        let slope_sum = bin.d0.clone() + bin.d1.clone() - bin.s.clone().mul_scalar(2.0);
        let denom = bin.s.clone() + slope_sum * t1m.clone();
        let num = bin.s.clone().square()
            * (bin.d1.clone() * t.clone().square()
                + bin.s.clone().mul_scalar(2.0) * t1m
                + bin.d0.clone() * t.neg().add_scalar(1.0).square());
        num.log() - denom.log().mul_scalar(2.0)
    }

    /// `y = g(x)` and `log|g'(x)|`, element-wise: `x: [n, f]`, raw widths and
    /// heights `[n, f, K]`, raw interior derivatives `[n, f, K−1]`.
    /// Outside `[−B, B]` the spline is the identity (log-derivative 0).
    pub(crate) fn forward(
        &self,
        x: Tensor<2>,
        uw: Tensor<3>,
        uh: Tensor<3>,
        ud: Tensor<3>,
    ) -> (Tensor<2>, Tensor<2>) {
        let b = self.tail_bound;
        let inside = x.clone().abs().lower_equal_elem(b);
        let xc = x.clone().clamp(-b, b);
        let bin = self.bin(xc.clone(), uw, uh, ud, false);
        let t = (xc - bin.x.clone()) / bin.w.clone();
        let t1m = t.clone() * t.clone().neg().add_scalar(1.0);
        let slope_sum = bin.d0.clone() + bin.d1.clone() - bin.s.clone().mul_scalar(2.0);
        let denom = bin.s.clone() + slope_sum * t1m.clone();
        let num = bin.h.clone() * (bin.s.clone() * t.clone().square() + bin.d0.clone() * t1m);
        let y = bin.y.clone() + num / denom;
        let ld = Self::log_derivative(&bin, t);
        (x.mask_where(inside.clone(), y), ld.zeros_like().mask_where(inside, ld))
    }

    /// The inverse `x = g⁻¹(y)` and `log|dx/dy| = −log|g'(x)|` (root of the
    /// quadratic in the bin, in the numerically stable form of nflows).
    pub(crate) fn inverse(
        &self,
        y: Tensor<2>,
        uw: Tensor<3>,
        uh: Tensor<3>,
        ud: Tensor<3>,
    ) -> (Tensor<2>, Tensor<2>) {
        let b = self.tail_bound;
        let inside = y.clone().abs().lower_equal_elem(b);
        let yc = y.clone().clamp(-b, b);
        let bin = self.bin(yc.clone(), uw, uh, ud, true);
        let dy = yc - bin.y.clone();
        let slope_sum = bin.d0.clone() + bin.d1.clone() - bin.s.clone().mul_scalar(2.0);
        let qa = dy.clone() * slope_sum.clone() + bin.h.clone() * (bin.s.clone() - bin.d0.clone());
        let qb = bin.h.clone() * bin.d0.clone() - dy.clone() * slope_sum;
        let qc = bin.s.clone().neg() * dy;
        let disc = (qb.clone().square() - qa * qc.clone().mul_scalar(4.0)).clamp_min(0.0);
        let t = qc.mul_scalar(2.0) / (qb.neg() - disc.sqrt());
        let x = t.clone() * bin.w.clone() + bin.x.clone();
        let ld = Self::log_derivative(&bin, t).neg();
        (y.mask_where(inside.clone(), x), ld.zeros_like().mask_where(inside, ld))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::standard_normal;
    use crate::test_util::{assert_close, devices, to_vec};
    use burn::tensor::{DType, Device, TensorData};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    const SPLINE: RqSpline =
        RqSpline { tail_bound: 3.0, min_bin_width: 1e-3, min_bin_height: 1e-3, min_derivative: 1e-3 };

    /// Raw parameters for `[n, f]` inputs and `k` bins, scaled so the spline is far from the identity.
    fn raw(n: usize, f: usize, k: usize, dev: &Device, seed: u64) -> (Tensor<3>, Tensor<3>, Tensor<3>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let r = |c: usize, rng: &mut ChaCha8Rng| {
            standard_normal(rng, [n * f, c], dev).mul_scalar(1.5).reshape([n, f, c])
        };
        (r(k, &mut rng), r(k, &mut rng), r(k - 1, &mut rng))
    }

    /// Inputs spread over and beyond [−3, 3], with the knots ±3 themselves.
    fn inputs(n: usize, f: usize, dev: &Device) -> Tensor<2> {
        let v: Vec<f32> = (0..n * f).map(|i| -4.0 + 8.0 * i as f32 / (n * f - 1) as f32).collect();
        let mut v = v;
        v[0] = -3.0;
        v[n * f - 1] = 3.0;
        Tensor::from_data(TensorData::new(v, [n, f]), dev)
    }

    #[test]
    fn inverse_inverts_forward_and_log_dets_are_opposite() {
        for dev in devices() {
            let (n, f, k) = (200, 3, 10);
            let (uw, uh, ud) = raw(n, f, k, &dev, 1);
            // In f64: the round trip error is then rounding times the conditioning of the inverse
            // (slopes down to the 1e-3 minimum), far below 1e-9. (The flows check f32 round trips.)
            let c = |t: Tensor<3>| t.cast(DType::F64);
            let (uw, uh, ud) = (c(uw), c(uh), c(ud));
            let x = inputs(n, f, &dev).cast(DType::F64);
            let (y, ld) = SPLINE.forward(x.clone(), uw.clone(), uh.clone(), ud.clone());
            let (back, ld_inv) = SPLINE.inverse(y.clone(), uw, uh, ud);
            assert_close(&to_vec(back), &to_vec(x.clone()), 1e-9);
            let (ld, ld_inv) = (to_vec(ld), to_vec(ld_inv));
            let sum: Vec<f64> = ld.iter().zip(&ld_inv).map(|(a, b)| a + b).collect();
            assert_close(&sum, &vec![0.0; n * f], 1e-9);
            // Identity beyond the tails, and the interval maps onto itself.
            let (xv, yv) = (to_vec(x), to_vec(y));
            for (i, (&a, &b)) in xv.iter().zip(&yv).enumerate() {
                if a.abs() > 3.0 {
                    assert_eq!(a, b);
                    assert_eq!(ld[i], 0.0);
                } else {
                    assert!(b.abs() <= 3.0 + 1e-12, "{a} → {b}");
                }
            }
            assert!((yv[0] + 3.0).abs() < 1e-12 && (yv[n * f - 1] - 3.0).abs() < 1e-12);
        }
    }

    #[test]
    fn f32_round_trip() {
        for dev in devices() {
            // Moderate parameters (slopes within ~[0.1, 10]): f32 inverts to 1e-5 relative.
            let (n, f, k) = (200, 2, 10);
            let (uw, uh, ud) = raw(n, f, k, &dev, 3);
            let s = |t: Tensor<3>| t.mul_scalar(0.5);
            let x = inputs(n, f, &dev);
            let (y, _) = SPLINE.forward(x.clone(), s(uw.clone()), s(uh.clone()), s(ud.clone()));
            let (back, _) = SPLINE.inverse(y, s(uw), s(uh), s(ud));
            assert_close(&to_vec(back), &to_vec(x), 1e-5);
        }
    }

    /// A `[rows, cols]` f64 tensor (the spline is dtype-generic; f64 makes finite differences sharp).
    fn f64_tensor(v: Vec<f64>, shape: [usize; 2], dev: &Device) -> Tensor<2> {
        Tensor::from_data(TensorData::new(v, shape), (dev, DType::F64))
    }

    #[test]
    fn monotone_and_log_derivative_matches_finite_differences_in_f64() {
        for dev in devices() {
            // One parameter set, broadcast over n inputs in [−3.5, 3.5].
            let (n, k) = (701, 10);
            let (uw, uh, ud) = raw(1, 1, k, &dev, 2);
            let rep = |t: Tensor<3>| t.cast(DType::F64).repeat_dim(0, n);
            let (uw, uh, ud) = (rep(uw), rep(uh), rep(ud));
            let xs: Vec<f64> = (0..n).map(|i| -3.5 + 7.0 * i as f64 / (n - 1) as f64).collect();
            let eval = |s: f64| {
                let v: Vec<f64> = xs.iter().map(|x| x + s).collect();
                let (y, ld) = SPLINE.forward(f64_tensor(v, [n, 1], &dev), uw.clone(), uh.clone(), ud.clone());
                (to_vec(y), to_vec(ld))
            };
            let (y, ld) = eval(0.0);
            assert!(y.windows(2).all(|w| w[1] > w[0]), "strictly increasing");
            // Knots, to skip the points whose difference stencil straddles one (g'' jumps there).
            let (left, _, _) = knots(uw.clone().narrow(0, 0, 1), SPLINE.min_bin_width, 3.0);
            let mut kn = to_vec(left);
            kn.push(3.0);
            let h = 1e-5;
            let (yp, ym) = (eval(h).0, eval(-h).0);
            let mut checked = 0;
            for i in 0..n {
                if kn.iter().any(|k| (xs[i] - k).abs() <= 2.0 * h) {
                    continue;
                }
                let fd = ((yp[i] - ym[i]) / (2.0 * h)).ln();
                // f64, h = 1e-5: rounding ~1e-16·3/1e-5 = 3e-11 on g', truncation h²·g'''/6 below 1e-8.
                assert!(
                    (fd - ld[i]).abs() < 1e-6 * fd.abs().max(1.0),
                    "x = {}: log g' = {}, fd {fd}",
                    xs[i],
                    ld[i]
                );
                checked += 1;
            }
            assert!(checked > 650, "{checked}");
        }
    }
}
