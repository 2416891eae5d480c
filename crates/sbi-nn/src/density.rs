//! The conditional density estimator interface used by NPE (spec `methods.md` §2).

use burn::config::Config;
use burn::module::Module;
use burn::tensor::{Device, Tensor};
use rand::RngCore;

use crate::check::{check_matrix, check_rows, check_single_observation};
use crate::{Maf, MafConfig, Mdn, MdnConfig, NnError, Nsf, NsfConfig};

/// A conditional density `q(θ | c)` over `R^{d_theta}` with exact log-density
/// and sampling, conditioned on a context `c ∈ R^{d_context}` (for NPE the
/// z-scored data `x`; spec `methods.md` §2, "NPE").
///
/// Implemented by [`crate::Mdn`], [`crate::Maf`] and [`crate::Nsf`] (and the
/// wrapper [`crate::DensityEstimator`]). Training minimises
/// `−mean(log_prob(θ, x))` with a Burn optimiser: build the model on an
/// autodiff device, call [`ConditionalDensity::log_prob`], `backward()`.
/// Sample from `model.valid()` (no autodiff bookkeeping).
///
/// Shapes are batch-first; wrong shapes are [`NnError`]s, never panics.
pub trait ConditionalDensity {
    /// `d_theta`, the dimension of the modelled variable.
    fn d_theta(&self) -> usize;

    /// `d_context`, the dimension of the conditioning variable.
    fn d_context(&self) -> usize;

    /// `log q(θ_i | c_i)` for `theta: [n, d_theta]`, `context: [n, d_context]`
    /// → `[n]`. Differentiable in the module parameters (the training loss is
    /// its negative mean).
    fn log_prob(&self, theta: Tensor<2>, context: Tensor<2>) -> Result<Tensor<1>, NnError>;

    /// One draw `θ_i ~ q(· | c_i)` per context row: `context: [m, d_context]`
    /// → `[m, d_theta]`. All randomness comes from `rng`.
    fn sample_batch(&self, context: Tensor<2>, rng: &mut dyn RngCore) -> Result<Tensor<2>, NnError>;

    /// `n ≥ 1` draws for one context `c_o: [1, d_context]` → `[n, d_theta]`
    /// (see [`ConditionalDensity::sample_batch`]).
    fn sample(&self, context_o: Tensor<2>, n: usize, rng: &mut dyn RngCore) -> Result<Tensor<2>, NnError> {
        check_single_observation(&context_o, self.d_context(), n)?;
        self.sample_batch(context_o.repeat_dim(0, n), rng)
    }
}

/// Checks the arguments of [`ConditionalDensity::log_prob`] and returns `n`.
pub(crate) fn check_log_prob_args(
    theta: &Tensor<2>,
    context: &Tensor<2>,
    d_theta: usize,
    d_context: usize,
) -> Result<usize, NnError> {
    let n = check_matrix("theta", theta, d_theta)?;
    check_rows("theta", n, "context", check_matrix("context", context, d_context)?)?;
    Ok(n)
}

/// Any of the crate's conditional density estimators as one Burn module, for
/// code that picks the estimator at run time (one model type to train, save
/// and load). Delegates [`ConditionalDensity`] to the wrapped model.
// Boxing a variant would make it a non-module field; the value is built once and moved rarely.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum DensityEstimator {
    /// A mixture density network.
    Mdn(Mdn),
    /// A masked autoregressive flow.
    Maf(Maf),
    /// A neural spline flow.
    Nsf(Nsf),
}

/// The configuration of a [`DensityEstimator`].
#[derive(Config, Debug)]
pub enum DensityConfig {
    /// See [`MdnConfig`].
    Mdn(MdnConfig),
    /// See [`MafConfig`].
    Maf(MafConfig),
    /// See [`NsfConfig`].
    Nsf(NsfConfig),
}

impl DensityConfig {
    /// Builds the configured estimator on `device` (seeded by its config).
    pub fn init(&self, device: &Device) -> Result<DensityEstimator, NnError> {
        Ok(match self {
            DensityConfig::Mdn(c) => DensityEstimator::Mdn(c.init(device)?),
            DensityConfig::Maf(c) => DensityEstimator::Maf(c.init(device)?),
            DensityConfig::Nsf(c) => DensityEstimator::Nsf(c.init(device)?),
        })
    }
}

impl DensityEstimator {
    fn inner(&self) -> &dyn ConditionalDensity {
        match self {
            DensityEstimator::Mdn(m) => m,
            DensityEstimator::Maf(m) => m,
            DensityEstimator::Nsf(m) => m,
        }
    }
}

impl ConditionalDensity for DensityEstimator {
    fn d_theta(&self) -> usize {
        self.inner().d_theta()
    }

    fn d_context(&self) -> usize {
        self.inner().d_context()
    }

    fn log_prob(&self, theta: Tensor<2>, context: Tensor<2>) -> Result<Tensor<1>, NnError> {
        self.inner().log_prob(theta, context)
    }

    fn sample_batch(&self, context: Tensor<2>, rng: &mut dyn RngCore) -> Result<Tensor<2>, NnError> {
        self.inner().sample_batch(context, rng)
    }
}

/// Test helpers shared by the estimators' tests: densities on grids, numerical
/// normalisation and Kolmogorov-Smirnov checks of samples against `log_prob`.
#[cfg(test)]
pub(crate) mod testing {
    use burn::tensor::{Device, Tensor, TensorData};
    use rand::RngCore;

    use super::ConditionalDensity;
    use crate::test_util::{tensor2, to_vec};

    /// `exp(log_prob)` of one context on the cell centres of a regular grid
    /// over `[lo, hi]^d` (`d` = 1 or 2) with `m` cells per axis.
    pub(crate) struct Grid {
        /// Cell centres of one axis.
        pub centres: Vec<f64>,
        /// Cell width.
        pub h: f64,
        /// Densities; for `d = 2` row-major, index `i·m + j` for `(centres[i], centres[j])`.
        pub dens: Vec<f64>,
        /// 1 or 2.
        pub d: usize,
    }

    impl Grid {
        /// Evaluates the density of `model` at `context` (length `d_context`) on the grid.
        pub(crate) fn new(
            model: &dyn ConditionalDensity,
            context: &[f32],
            (lo, hi): (f64, f64),
            m: usize,
            device: &Device,
        ) -> Grid {
            let d = model.d_theta();
            assert!(d == 1 || d == 2);
            let h = (hi - lo) / m as f64;
            let centres: Vec<f64> = (0..m).map(|i| lo + (i as f64 + 0.5) * h).collect();
            let pts: Vec<f32> = if d == 1 {
                centres.iter().map(|&c| c as f32).collect()
            } else {
                centres
                    .iter()
                    .flat_map(|&a| centres.iter().flat_map(move |&b| [a as f32, b as f32]))
                    .collect()
            };
            let n = pts.len() / d;
            let theta = Tensor::from_data(TensorData::new(pts, [n, d]), device);
            let ctx = Tensor::<2>::from_data(TensorData::new(context.to_vec(), [1, context.len()]), device)
                .repeat_dim(0, n);
            let dens =
                to_vec(model.log_prob(theta, ctx).expect("log_prob")).iter().map(|l| l.exp()).collect();
            Grid { centres, h, dens, d }
        }

        /// `∫ q` over the box (midpoint rule).
        pub(crate) fn mass(&self) -> f64 {
            self.dens.iter().sum::<f64>() * self.h.powi(self.d as i32)
        }

        /// Marginal density of `axis` at the cell centres.
        pub(crate) fn marginal(&self, axis: usize) -> Vec<f64> {
            let m = self.centres.len();
            if self.d == 1 {
                return self.dens.clone();
            }
            (0..m)
                .map(|i| {
                    (0..m)
                        .map(|j| if axis == 0 { self.dens[i * m + j] } else { self.dens[j * m + i] })
                        .sum::<f64>()
                        * self.h
                })
                .collect()
        }

        /// Marginal CDF of `axis` at `x`, normalised by the grid mass (each
        /// cell's mass spread uniformly over the cell).
        pub(crate) fn marginal_cdf(&self, axis: usize) -> impl Fn(f64) -> f64 {
            let marg = self.marginal(axis);
            let total: f64 = marg.iter().sum::<f64>() * self.h;
            let lo = self.centres[0] - self.h / 2.0;
            let h = self.h;
            move |x: f64| {
                let t = ((x - lo) / h).max(0.0);
                let full = (t.floor() as usize).min(marg.len());
                let mut c: f64 = marg[..full].iter().sum::<f64>() * h;
                if full < marg.len() {
                    c += marg[full] * h * (t - full as f64);
                }
                c / total
            }
        }

        /// Mean and variance of `axis` under the grid density.
        pub(crate) fn marginal_moments(&self, axis: usize) -> (f64, f64) {
            let marg = self.marginal(axis);
            let z: f64 = marg.iter().sum();
            let mean = marg.iter().zip(&self.centres).map(|(p, c)| p * c).sum::<f64>() / z;
            let var = marg.iter().zip(&self.centres).map(|(p, c)| p * (c - mean).powi(2)).sum::<f64>() / z;
            (mean, var)
        }
    }

    /// The Jacobian of `f` at `x` by central differences with step `h`, row-major `[i, j] = ∂f_i/∂x_j`.
    pub(crate) fn central_jacobian(x: &[f64], h: f64, f: impl Fn(&[f64]) -> Vec<f64>) -> Vec<f64> {
        let d = x.len();
        let mut jac = vec![0.0; d * d];
        for j in 0..d {
            let mut xp = x.to_vec();
            let mut xm = x.to_vec();
            xp[j] += h;
            xm[j] -= h;
            let (fp, fm) = (f(&xp), f(&xm));
            for i in 0..d {
                jac[i * d + j] = (fp[i] - fm[i]) / (2.0 * h);
            }
        }
        jac
    }

    /// `log|det ∂f/∂θ|` at `theta` (one row) from the autodiff Jacobian: one
    /// forward and backward pass per output of `f: [1, d] → [1, d]`.
    pub(crate) fn autodiff_log_abs_det(
        theta: &[f64],
        dev: &Device,
        f: impl Fn(Tensor<2>) -> Tensor<2>,
    ) -> f64 {
        let d = theta.len();
        let ad = dev.clone().autodiff();
        let v: Vec<f32> = theta.iter().map(|&x| x as f32).collect();
        let mut jac = vec![0.0; d * d];
        for i in 0..d {
            let th = tensor2(&v, [1, d], &ad).require_grad();
            let grads = f(th.clone()).narrow(1, i, 1).sum().backward();
            let row = to_vec(th.grad(&grads).expect("gradient of θ"));
            jac[i * d..(i + 1) * d].copy_from_slice(&row);
        }
        log_abs_det(jac, d)
    }

    /// `log|det A|` of a row-major `d × d` matrix by Gaussian elimination with partial pivoting.
    pub(crate) fn log_abs_det(mut a: Vec<f64>, d: usize) -> f64 {
        let mut out = 0.0;
        for c in 0..d {
            let p = (c..d).max_by(|&i, &j| a[i * d + c].abs().total_cmp(&a[j * d + c].abs())).unwrap();
            for j in 0..d {
                a.swap(c * d + j, p * d + j);
            }
            let piv = a[c * d + c];
            out += piv.abs().ln();
            for r in c + 1..d {
                let f = a[r * d + c] / piv;
                for j in c..d {
                    a[r * d + j] -= f * a[c * d + j];
                }
            }
        }
        out
    }

    /// The two-sided Kolmogorov-Smirnov statistic of `samples` against `cdf`.
    pub(crate) fn ks_statistic(samples: &[f64], cdf: impl Fn(f64) -> f64) -> f64 {
        let mut s = samples.to_vec();
        s.sort_by(f64::total_cmp);
        let n = s.len() as f64;
        s.iter()
            .enumerate()
            .map(|(i, &x)| {
                let f = cdf(x);
                (f - i as f64 / n).abs().max(((i + 1) as f64 / n - f).abs())
            })
            .fold(0.0, f64::max)
    }

    /// Asserts that the density of `model` at `context` integrates to one on
    /// the box (tolerance `mass_tol`) and that `n` samples pass a KS test per
    /// margin against the numerically integrated marginal CDF: `D < 1.95/√n`
    /// (p ≈ 0.001 for an exact CDF; the grid CDF is accurate to ~1e-3).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn check_density_and_samples(
        model: &dyn ConditionalDensity,
        context: &[f32],
        bounds: (f64, f64),
        m: usize,
        mass_tol: f64,
        n: usize,
        rng: &mut dyn RngCore,
        device: &Device,
    ) {
        let grid = Grid::new(model, context, bounds, m, device);
        let mass = grid.mass();
        assert!((mass - 1.0).abs() < mass_tol, "mass {mass} (d = {})", grid.d);
        let ctx = Tensor::<2>::from_data(TensorData::new(context.to_vec(), [1, context.len()]), device);
        let draws = to_vec(model.sample(ctx, n, rng).expect("sample"));
        let d = grid.d;
        for axis in 0..d {
            let xs: Vec<f64> = draws.iter().skip(axis).step_by(d).copied().collect();
            let ks = ks_statistic(&xs, grid.marginal_cdf(axis));
            let (gm, gv) = grid.marginal_moments(axis);
            let sm = xs.iter().sum::<f64>() / n as f64;
            eprintln!(
                "axis {axis}: mass {mass:.5}, KS {ks:.4}, grid mean/var {gm:.3}/{gv:.3}, sample mean {sm:.3}"
            );
            assert!(ks < 1.95 / (n as f64).sqrt(), "axis {axis}: KS statistic {ks} (n = {n})");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::standard_normal;
    use crate::test_util::{devices, to_vec};
    use burn::config::config_to_json;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn wrapper_delegates_and_configs_round_trip_through_json() {
        for dev in devices() {
            let mut rng = ChaCha8Rng::seed_from_u64(1);
            let theta = standard_normal(&mut rng, [5, 2], &dev);
            let x = standard_normal(&mut rng, [5, 3], &dev);
            let configs = [
                DensityConfig::Mdn(MdnConfig::new(2, 3).with_hidden(vec![8]).with_seed(4)),
                DensityConfig::Maf(MafConfig::new(2, 3).with_hidden(8).with_seed(4)),
                DensityConfig::Nsf(NsfConfig::new(2, 3).with_hidden(8).with_seed(4)),
            ];
            for config in configs {
                let json = config_to_json(&config);
                let back = DensityConfig::load_binary(json.as_bytes()).unwrap();
                let (a, b) = (config.init(&dev).unwrap(), back.init(&dev).unwrap());
                assert_eq!((a.d_theta(), a.d_context()), (2, 3));
                let lp = to_vec(a.log_prob(theta.clone(), x.clone()).unwrap());
                assert_eq!(lp, to_vec(b.log_prob(theta.clone(), x.clone()).unwrap()), "{json}");
                let direct = match &a {
                    DensityEstimator::Mdn(m) => m.log_prob(theta.clone(), x.clone()),
                    DensityEstimator::Maf(m) => m.log_prob(theta.clone(), x.clone()),
                    DensityEstimator::Nsf(m) => m.log_prob(theta.clone(), x.clone()),
                };
                assert_eq!(lp, to_vec(direct.unwrap()));
                assert_eq!(a.sample(x.clone().narrow(0, 0, 1), 7, &mut rng).unwrap().dims(), [7, 2]);
                assert!(a.log_prob(theta.clone(), theta.clone()).is_err());
            }
        }
    }
}
