//! Priors used by the sbibm tasks: box uniform, Gaussian (diagonal or full
//! covariance) and independent log-normal.

use crate::{Prior, SimError, check_theta};
use nalgebra::{DMatrix, DVector};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use rand::{Rng, RngCore};
use rand_distr::StandardNormal;

const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// Independent uniforms on the box `[lo_i, hi_i]`.
#[derive(Debug, Clone)]
pub struct BoxUniform {
    lo: Array1<f64>,
    hi: Array1<f64>,
    log_density: f64,
}

impl BoxUniform {
    /// A box with lower bounds `lo` and upper bounds `hi` (same length ≥ 1,
    /// finite, `lo < hi` everywhere).
    pub fn new(lo: Vec<f64>, hi: Vec<f64>) -> Result<Self, SimError> {
        if lo.is_empty() || lo.len() != hi.len() {
            return Err(SimError::InvalidArgument(format!(
                "BoxUniform needs bounds of equal, non-zero length (got {} and {})",
                lo.len(),
                hi.len()
            )));
        }
        if lo.iter().zip(&hi).any(|(l, h)| !(l.is_finite() && h.is_finite() && l < h)) {
            return Err(SimError::InvalidArgument("BoxUniform needs finite bounds with lo < hi".into()));
        }
        let log_density = -lo.iter().zip(&hi).map(|(l, h)| (h - l).ln()).sum::<f64>();
        Ok(Self { lo: lo.into(), hi: hi.into(), log_density })
    }

    /// `U[lo, hi]^d`.
    pub fn cube(d: usize, lo: f64, hi: f64) -> Result<Self, SimError> {
        Self::new(vec![lo; d], vec![hi; d])
    }
}

impl Prior for BoxUniform {
    fn dim(&self) -> usize {
        self.lo.len()
    }

    fn sample(&self, n: usize, rng: &mut dyn RngCore) -> Array2<f64> {
        let d = self.dim();
        Array2::from_shape_fn((n, d), |(_, j)| {
            let u: f64 = rng.random();
            self.lo[j] + (self.hi[j] - self.lo[j]) * u
        })
    }

    fn log_prob(&self, theta: ArrayView2<f64>) -> Result<Array1<f64>, SimError> {
        check_theta(theta, self.dim())?;
        Ok(theta
            .rows()
            .into_iter()
            .map(|r| if self.in_support(r) { self.log_density } else { f64::NEG_INFINITY })
            .collect())
    }

    fn in_support(&self, theta: ArrayView1<f64>) -> bool {
        theta.len() == self.dim()
            && theta.iter().zip(self.lo.iter().zip(self.hi.iter())).all(|(t, (l, h))| *t >= *l && *t <= *h)
    }

    fn bounds(&self) -> Option<(Array1<f64>, Array1<f64>)> {
        Some((self.lo.clone(), self.hi.clone()))
    }

    fn describe(&self) -> String {
        let same = self.lo.iter().all(|l| *l == self.lo[0]) && self.hi.iter().all(|h| *h == self.hi[0]);
        if same {
            format!("U[{}, {}]^{}", self.lo[0], self.hi[0], self.dim())
        } else {
            format!("BoxUniform(lo={}, hi={})", self.lo, self.hi)
        }
    }
}

/// Multivariate normal `N(mean, cov)` with a full covariance (held as its
/// lower Cholesky factor).
#[derive(Debug, Clone)]
pub struct MvNormal {
    mean: Array1<f64>,
    chol: DMatrix<f64>,
    /// Inverse of the Cholesky factor, for log-densities.
    chol_inv: DMatrix<f64>,
    log_norm: f64,
}

impl MvNormal {
    /// `N(mean, cov)`; `cov` must be symmetric positive definite, `[d, d]`.
    pub fn new(mean: Vec<f64>, cov: Array2<f64>) -> Result<Self, SimError> {
        let d = mean.len();
        if d == 0 || cov.dim() != (d, d) {
            return Err(SimError::InvalidArgument(format!(
                "MvNormal: mean has {d} entries but covariance is {:?}",
                cov.dim()
            )));
        }
        if mean.iter().chain(cov.iter()).any(|v| !v.is_finite()) {
            return Err(SimError::InvalidArgument("MvNormal: non-finite mean or covariance".into()));
        }
        let m = DMatrix::from_fn(d, d, |i, j| 0.5 * (cov[(i, j)] + cov[(j, i)]));
        let chol = m
            .cholesky()
            .ok_or_else(|| SimError::InvalidArgument("MvNormal: covariance is not positive definite".into()))?
            .l();
        let chol_inv = chol
            .clone()
            .try_inverse()
            .ok_or_else(|| SimError::InvalidArgument("MvNormal: singular covariance".into()))?;
        let log_det: f64 = (0..d).map(|i| chol[(i, i)].ln()).sum::<f64>() * 2.0;
        let log_norm = -0.5 * (d as f64 * LN_2PI + log_det);
        Ok(Self { mean: mean.into(), chol, chol_inv, log_norm })
    }

    /// `N(mean, cov)` given the precision matrix `cov⁻¹`.
    pub fn from_precision(mean: Vec<f64>, precision: Array2<f64>) -> Result<Self, SimError> {
        let d = mean.len();
        if precision.dim() != (d, d) {
            return Err(SimError::InvalidArgument("MvNormal: precision has the wrong shape".into()));
        }
        let p = DMatrix::from_fn(d, d, |i, j| precision[(i, j)]);
        let cov = p
            .try_inverse()
            .ok_or_else(|| SimError::InvalidArgument("MvNormal: singular precision".into()))?;
        Self::new(mean, Array2::from_shape_fn((d, d), |(i, j)| cov[(i, j)]))
    }

    /// Isotropic `N(mean, var·I)`.
    pub fn isotropic(mean: Vec<f64>, var: f64) -> Result<Self, SimError> {
        let d = mean.len();
        Self::new(mean, Array2::eye(d) * var)
    }

    /// The mean `[d]`.
    pub fn mean(&self) -> &Array1<f64> {
        &self.mean
    }

    /// The covariance `[d, d]`.
    pub fn covariance(&self) -> Array2<f64> {
        let c = &self.chol * self.chol.transpose();
        let d = self.mean.len();
        Array2::from_shape_fn((d, d), |(i, j)| c[(i, j)])
    }

    /// The lower Cholesky factor of the covariance as a nalgebra matrix.
    pub fn cholesky(&self) -> &DMatrix<f64> {
        &self.chol
    }

    /// Log-density of one vector.
    pub fn log_density(&self, theta: ArrayView1<f64>) -> f64 {
        let d = self.mean.len();
        let diff = DVector::from_fn(d, |i, _| theta[i] - self.mean[i]);
        let z = &self.chol_inv * diff;
        self.log_norm - 0.5 * z.norm_squared()
    }
}

impl Prior for MvNormal {
    fn dim(&self) -> usize {
        self.mean.len()
    }

    fn sample(&self, n: usize, rng: &mut dyn RngCore) -> Array2<f64> {
        let d = self.dim();
        let mut out = Array2::zeros((n, d));
        let mut z = DVector::<f64>::zeros(d);
        for mut row in out.rows_mut() {
            for zi in z.iter_mut() {
                *zi = rng.sample(StandardNormal);
            }
            let v = &self.chol * &z;
            for j in 0..d {
                row[j] = self.mean[j] + v[j];
            }
        }
        out
    }

    fn log_prob(&self, theta: ArrayView2<f64>) -> Result<Array1<f64>, SimError> {
        check_theta(theta, self.dim())?;
        Ok(theta.rows().into_iter().map(|r| self.log_density(r)).collect())
    }

    fn in_support(&self, theta: ArrayView1<f64>) -> bool {
        theta.len() == self.dim() && theta.iter().all(|v| v.is_finite())
    }

    fn gaussian(&self) -> Option<(Array1<f64>, Array2<f64>)> {
        Some((self.mean.clone(), self.covariance()))
    }

    fn describe(&self) -> String {
        let c = self.covariance();
        let d = self.dim();
        let iso = (0..d)
            .all(|i| (0..d).all(|j| if i == j { c[(i, i)] == c[(0, 0)] } else { c[(i, j)].abs() < 1e-12 }));
        if iso && self.mean.iter().all(|m| *m == 0.0) {
            format!("N(0, {:.3}·I_{d})", c[(0, 0)])
        } else {
            format!("N(m, C), d = {d}")
        }
    }
}

/// Independent log-normals: `log θ_i ~ N(mu_i, sigma_i²)`.
#[derive(Debug, Clone)]
pub struct LogNormal {
    mu: Array1<f64>,
    sigma: Array1<f64>,
}

impl LogNormal {
    /// Log-normals with log-scale means `mu` and standard deviations `sigma > 0`.
    pub fn new(mu: Vec<f64>, sigma: Vec<f64>) -> Result<Self, SimError> {
        if mu.is_empty() || mu.len() != sigma.len() {
            return Err(SimError::InvalidArgument(
                "LogNormal needs mu and sigma of equal, non-zero length".into(),
            ));
        }
        if mu.iter().any(|m| !m.is_finite()) || sigma.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
            return Err(SimError::InvalidArgument("LogNormal needs finite mu and sigma > 0".into()));
        }
        Ok(Self { mu: mu.into(), sigma: sigma.into() })
    }

    /// Log-scale means.
    pub fn mu(&self) -> &Array1<f64> {
        &self.mu
    }

    /// Log-scale standard deviations.
    pub fn sigma(&self) -> &Array1<f64> {
        &self.sigma
    }

    /// Log-density of one vector (`-inf` outside `(0, ∞)^d`).
    pub fn log_density(&self, theta: ArrayView1<f64>) -> f64 {
        let mut lp = 0.0;
        for ((t, m), s) in theta.iter().zip(self.mu.iter()).zip(self.sigma.iter()) {
            if *t <= 0.0 {
                return f64::NEG_INFINITY;
            }
            let l = t.ln();
            let z = (l - m) / s;
            lp += -0.5 * z * z - s.ln() - l - 0.5 * LN_2PI;
        }
        lp
    }
}

impl Prior for LogNormal {
    fn dim(&self) -> usize {
        self.mu.len()
    }

    fn sample(&self, n: usize, rng: &mut dyn RngCore) -> Array2<f64> {
        let d = self.dim();
        Array2::from_shape_fn((n, d), |(_, j)| {
            let z: f64 = rng.sample(StandardNormal);
            (self.mu[j] + self.sigma[j] * z).exp()
        })
    }

    fn log_prob(&self, theta: ArrayView2<f64>) -> Result<Array1<f64>, SimError> {
        check_theta(theta, self.dim())?;
        Ok(theta.rows().into_iter().map(|r| self.log_density(r)).collect())
    }

    fn in_support(&self, theta: ArrayView1<f64>) -> bool {
        theta.len() == self.dim() && theta.iter().all(|t| t.is_finite() && *t > 0.0)
    }

    fn describe(&self) -> String {
        format!("LogNormal(mu={:.3}, sigma={})", self.mu, self.sigma)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use ndarray::array;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn box_uniform_validates() {
        assert!(BoxUniform::new(vec![0.0], vec![0.0]).is_err());
        assert!(BoxUniform::new(vec![0.0, 1.0], vec![1.0]).is_err());
        assert!(BoxUniform::new(vec![], vec![]).is_err());
        assert!(BoxUniform::new(vec![f64::NAN], vec![1.0]).is_err());
    }

    #[test]
    fn box_uniform_log_prob() {
        let p = BoxUniform::cube(2, -1.0, 1.0).unwrap();
        let lp = p.log_prob(array![[0.0, 0.0], [2.0, 0.0]].view()).unwrap();
        assert_relative_eq!(lp[0], -(4.0f64).ln());
        assert_eq!(lp[1], f64::NEG_INFINITY);
        assert!(p.log_prob(array![[0.0, 0.0, 0.0]].view()).is_err());
        assert!(p.log_prob(array![[f64::NAN, 0.0]].view()).is_err());
    }

    #[test]
    fn mvnormal_matches_closed_form_and_moments() {
        let cov = array![[2.0, 0.6], [0.6, 1.0]];
        let p = MvNormal::new(vec![1.0, -1.0], cov.clone()).unwrap();
        // log N(0; m, C) = -log(2π) - 0.5 log|C| - 0.5 mᵀC⁻¹m
        let det: f64 = 2.0 * 1.0 - 0.36;
        let m = [1.0, -1.0];
        let inv = [[1.0 / det, -0.6 / det], [-0.6 / det, 2.0 / det]];
        let q = m[0] * (inv[0][0] * m[0] + inv[0][1] * m[1]) + m[1] * (inv[1][0] * m[0] + inv[1][1] * m[1]);
        let expect = -(2.0 * std::f64::consts::PI).ln() - 0.5 * det.ln() - 0.5 * q;
        assert_relative_eq!(p.log_density(array![0.0, 0.0].view()), expect, epsilon = 1e-12);
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let s = p.sample(200_000, &mut rng);
        let mean = s.mean_axis(ndarray::Axis(0)).unwrap();
        assert!((mean[0] - 1.0).abs() < 0.02 && (mean[1] + 1.0).abs() < 0.02, "{mean}");
        let c01 = s.rows().into_iter().map(|r| (r[0] - mean[0]) * (r[1] - mean[1])).sum::<f64>() / 200_000.0;
        assert!((c01 - 0.6).abs() < 0.02, "{c01}");
        assert!(MvNormal::new(vec![0.0, 0.0], array![[1.0, 2.0], [2.0, 1.0]]).is_err());
    }

    #[test]
    fn lognormal_density_integrates_in_log_space() {
        let p = LogNormal::new(vec![0.4f64.ln()], vec![0.5]).unwrap();
        // Trapezoid over θ of exp(log p(θ)) ≈ 1.
        let (a, b, n) = (1e-6, 20.0, 200_000);
        let h = (b - a) / n as f64;
        let mut total = 0.0;
        for i in 0..=n {
            let t = a + i as f64 * h;
            let w = if i == 0 || i == n { 0.5 } else { 1.0 };
            total += w * p.log_density(array![t].view()).exp();
        }
        assert_relative_eq!(total * h, 1.0, epsilon = 1e-4);
        assert_eq!(p.log_density(array![-1.0].view()), f64::NEG_INFINITY);
    }
}
