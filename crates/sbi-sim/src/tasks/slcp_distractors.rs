//! slcp_distractors (spec §1.4): the slcp task (§1.3) with 92 uninformative
//! "distractor" values appended and the 100 columns permuted (x ∈ R^100).
//!
//! Distractors are iid draws, independent of θ, from an equal-weight mixture of
//! 20 multivariate Student-t distributions (df = 2) in 92 dimensions, whose
//! parameters sbibm generated once and shipped (embedded here as
//! `slcp/distractor_mixture.json`). Output column `j` is input column `perm[j]`
//! of `[slcp(8), distractors(92)]`, with `perm` the embedded
//! `slcp/permutation_idx.csv`; the slcp values land in columns
//! 22, 33, 23, 67, 42, 21, 16, 90 (0-based). The reference posterior is the slcp
//! one for the slcp observation ([`super::slcp::reference_posterior_for`]).

use super::slcp::{self, SlcpSimulator};
use crate::prior::BoxUniform;
use crate::{Prior, ReferenceSamples, SimError, Simulator, Task, check_matrix, check_observation, data};
use ndarray::{Array1, ArrayView1, ArrayView2, ArrayViewMut1, Axis};
use rand::{Rng, RngCore};
use rand_chacha::ChaCha8Rng;
use rand_distr::{ChiSquared, Distribution, StandardNormal};
use statrs::function::gamma::ln_gamma;
use std::sync::OnceLock;

/// Number of data values.
pub const X_DIM: usize = 100;
/// Number of distractor values.
pub const NUM_DISTRACTORS: usize = X_DIM - slcp::X_DIM;
const MIXTURE_FILE: &str = "slcp/distractor_mixture.json";
const PERMUTATION_FILE: &str = "slcp/permutation_idx.csv";

/// One multivariate Student-t component: `x = loc + L·z·sqrt(df/g)`,
/// `z ~ N(0, I)`, `g ~ χ²(df)`.
#[derive(Clone)]
struct StudentT {
    df: f64,
    loc: Vec<f64>,
    /// Lower-triangular scale factor `L`, row-major `[p, p]`. Its diagonal may hold
    /// negative entries (as shipped); only `L·Lᵀ` matters.
    scale_tril: Vec<f64>,
    /// Σ ln|L_ii| + the normalising constant of the density.
    log_norm: f64,
    chi2: ChiSquared<f64>,
}

/// A finite mixture of multivariate Student-t distributions (spec §1.4).
#[derive(Clone)]
pub struct StudentTMixture {
    dim: usize,
    /// Mixture weights normalised to sum to 1.
    weights: Vec<f64>,
    components: Vec<StudentT>,
}

impl std::fmt::Debug for StudentTMixture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StudentTMixture {{ dim: {}, components: {} }}", self.dim, self.components.len())
    }
}

#[derive(serde::Deserialize)]
struct MixtureJson {
    weights: Vec<f64>,
    df: Vec<f64>,
    loc: Vec<Vec<f64>>,
    scale_tril: Vec<Vec<Vec<f64>>>,
}

impl StudentTMixture {
    /// Builds a mixture from weights `[K]` (non-negative, positive sum), degrees of
    /// freedom `[K]` (> 0), locations `[K][p]` and lower-triangular scale factors
    /// `[K][p][p]` (non-zero diagonal; entries above the diagonal are ignored).
    pub fn new(
        weights: Vec<f64>,
        df: Vec<f64>,
        loc: Vec<Vec<f64>>,
        scale_tril: Vec<Vec<Vec<f64>>>,
    ) -> Result<Self, SimError> {
        let k = weights.len();
        let bad = |msg: String| SimError::InvalidArgument(format!("StudentTMixture: {msg}"));
        if k == 0 || df.len() != k || loc.len() != k || scale_tril.len() != k {
            return Err(bad(format!(
                "need K ≥ 1 equally long weights/df/loc/scale_tril, got {}, {}, {}, {}",
                k,
                df.len(),
                loc.len(),
                scale_tril.len()
            )));
        }
        let p = loc[0].len();
        if p == 0 {
            return Err(bad("zero dimension".into()));
        }
        if weights.iter().any(|w| !(w.is_finite() && *w >= 0.0)) || weights.iter().sum::<f64>() <= 0.0 {
            return Err(bad("weights must be finite, non-negative, with a positive sum".into()));
        }
        let total: f64 = weights.iter().sum();
        let mut components = Vec::with_capacity(k);
        for c in 0..k {
            let nu = df[c];
            if !(nu.is_finite() && nu > 0.0) {
                return Err(bad(format!("component {c}: df must be positive, got {nu}")));
            }
            if loc[c].len() != p || loc[c].iter().any(|v| !v.is_finite()) {
                return Err(bad(format!("component {c}: loc must hold {p} finite values")));
            }
            if scale_tril[c].len() != p || scale_tril[c].iter().any(|r| r.len() != p) {
                return Err(bad(format!("component {c}: scale_tril must be {p}×{p}")));
            }
            let mut l = vec![0.0; p * p];
            for i in 0..p {
                for j in 0..=i {
                    l[i * p + j] = scale_tril[c][i][j];
                }
            }
            if l.iter().any(|v| !v.is_finite()) || (0..p).any(|i| l[i * p + i] == 0.0) {
                return Err(bad(format!(
                    "component {c}: scale_tril must be finite with a non-zero diagonal"
                )));
            }
            let log_det: f64 = (0..p).map(|i| l[i * p + i].abs().ln()).sum();
            let pf = p as f64;
            // ln Γ((ν+p)/2) − ln Γ(ν/2) − (p/2)·ln(νπ) − Σ ln|L_ii|
            let log_norm = ln_gamma(0.5 * (nu + pf))
                - ln_gamma(0.5 * nu)
                - 0.5 * pf * (nu * std::f64::consts::PI).ln()
                - log_det;
            let chi2 = ChiSquared::new(nu).map_err(|e| bad(format!("component {c}: {e}")))?;
            components.push(StudentT { df: nu, loc: loc[c].clone(), scale_tril: l, log_norm, chi2 });
        }
        Ok(Self { dim: p, weights: weights.iter().map(|w| w / total).collect(), components })
    }

    /// Parses the JSON layout of `slcp/distractor_mixture.json` (keys `weights`, `df`,
    /// `loc`, `scale_tril`).
    pub fn from_json(text: &str) -> Result<Self, SimError> {
        let m: MixtureJson = serde_json::from_str(text)
            .map_err(|e| SimError::Data { file: MIXTURE_FILE, msg: e.to_string() })?;
        Self::new(m.weights, m.df, m.loc, m.scale_tril)
    }

    /// Dimension `p`.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of components.
    pub fn num_components(&self) -> usize {
        self.components.len()
    }

    /// Draws one vector from component `c` into `out: [p]` (`c` < number of components).
    pub fn sample_component_into(&self, c: usize, rng: &mut dyn RngCore, out: &mut [f64]) {
        let comp = &self.components[c];
        let p = self.dim;
        let z: Vec<f64> = (0..p).map(|_| rng.sample(StandardNormal)).collect();
        let g: f64 = comp.chi2.sample(rng);
        let w = (comp.df / g).sqrt();
        for (i, o) in out.iter_mut().enumerate().take(p) {
            let row = &comp.scale_tril[i * p..i * p + i + 1];
            let lz: f64 = row.iter().zip(&z).map(|(a, b)| a * b).sum();
            *o = comp.loc[i] + w * lz;
        }
    }

    /// Draws one vector from the mixture into `out: [p]`: a component by weight, then
    /// `loc + L·z·sqrt(df/g)`.
    pub fn sample_into(&self, rng: &mut dyn RngCore, out: &mut [f64]) {
        let u: f64 = rng.random();
        let mut acc = 0.0;
        let mut c = self.components.len() - 1;
        for (i, w) in self.weights.iter().enumerate() {
            acc += w;
            if u < acc {
                c = i;
                break;
            }
        }
        self.sample_component_into(c, rng, out);
    }

    /// Log-density of one vector `x: [p]`: `ln Σ_k w_k t_k(x)` with the multivariate
    /// Student-t density `t(x) = Γ((ν+p)/2) / (Γ(ν/2)·(νπ)^{p/2}·|det L|) ·
    /// (1 + ‖L⁻¹(x − loc)‖²/ν)^{−(ν+p)/2}`.
    pub fn log_density(&self, x: ArrayView1<f64>) -> f64 {
        let p = self.dim;
        let pf = p as f64;
        let terms: Vec<f64> = self
            .components
            .iter()
            .zip(&self.weights)
            .map(|(comp, w)| {
                // forward substitution: y = L⁻¹(x − loc)
                let mut y = vec![0.0; p];
                for i in 0..p {
                    let row = &comp.scale_tril[i * p..i * p + i];
                    let s: f64 = row.iter().zip(&y).map(|(a, b)| a * b).sum();
                    y[i] = (x[i] - comp.loc[i] - s) / comp.scale_tril[i * p + i];
                }
                let q: f64 = y.iter().map(|v| v * v).sum();
                w.ln() + comp.log_norm - 0.5 * (comp.df + pf) * (q / comp.df).ln_1p()
            })
            .collect();
        let max = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if !max.is_finite() {
            return max;
        }
        max + terms.iter().map(|t| (t - max).exp()).sum::<f64>().ln()
    }
}

/// The embedded distractor mixture, parsed once.
pub fn distractor_mixture() -> Result<&'static StudentTMixture, SimError> {
    static CELL: OnceLock<Result<StudentTMixture, String>> = OnceLock::new();
    let parsed = CELL.get_or_init(|| {
        let m = data::file(MIXTURE_FILE).and_then(StudentTMixture::from_json).map_err(|e| e.to_string())?;
        if m.dim() != NUM_DISTRACTORS {
            return Err(format!("expected {NUM_DISTRACTORS} dimensions, found {}", m.dim()));
        }
        Ok(m)
    });
    parsed.as_ref().map_err(|msg| SimError::Data { file: MIXTURE_FILE, msg: msg.clone() })
}

/// The embedded column permutation `perm[100]` (output column `j` = input column `perm[j]`).
pub fn permutation() -> Result<Vec<usize>, SimError> {
    let a = data::parse_csv(PERMUTATION_FILE)?;
    let err = |msg: String| SimError::Data { file: PERMUTATION_FILE, msg };
    if a.dim() != (X_DIM, 1) {
        return Err(err(format!("expected {X_DIM} rows of one column, found {:?}", a.dim())));
    }
    let perm: Vec<usize> = a
        .iter()
        .map(|v| {
            if v.fract() == 0.0 && *v >= 0.0 && *v < X_DIM as f64 {
                Ok(*v as usize)
            } else {
                Err(err(format!("entry {v} is not an index in 0..{X_DIM}")))
            }
        })
        .collect::<Result<_, _>>()?;
    let mut seen = [false; X_DIM];
    for &i in &perm {
        if std::mem::replace(&mut seen[i], true) {
            return Err(err(format!("index {i} appears twice")));
        }
    }
    Ok(perm)
}

/// The slcp_distractors simulator (§1.4).
#[derive(Debug, Clone)]
pub struct SlcpDistractorsSimulator {
    mixture: &'static StudentTMixture,
    perm: Vec<usize>,
}

impl SlcpDistractorsSimulator {
    /// Builds the simulator from the embedded mixture and permutation.
    pub fn new() -> Result<Self, SimError> {
        Ok(Self { mixture: distractor_mixture()?, perm: permutation()? })
    }

    /// Output columns (0-based) holding slcp values x1..x8.
    pub fn slcp_columns(&self) -> [usize; slcp::X_DIM] {
        let mut cols = [0; slcp::X_DIM];
        for (j, &src) in self.perm.iter().enumerate() {
            if src < slcp::X_DIM {
                cols[src] = j;
            }
        }
        cols
    }
}

impl Simulator for SlcpDistractorsSimulator {
    fn theta_dim(&self) -> usize {
        slcp::THETA_DIM
    }
    fn x_dim(&self) -> usize {
        X_DIM
    }
    /// The 8 slcp values first, then the 92 distractors, from the row generator; then permuted.
    fn simulate_row(&self, theta: ArrayView1<f64>, rng: &mut ChaCha8Rng, mut out: ArrayViewMut1<f64>) {
        let mut input = [0.0; X_DIM];
        SlcpSimulator::simulate_into(theta, rng, &mut input[..slcp::X_DIM]);
        self.mixture.sample_into(rng, &mut input[slcp::X_DIM..]);
        for (o, &src) in out.iter_mut().zip(&self.perm) {
            *o = input[src];
        }
    }
}

/// The slcp_distractors task.
#[derive(Debug, Clone)]
pub struct SlcpDistractors {
    prior: BoxUniform,
    simulator: SlcpDistractorsSimulator,
}

impl SlcpDistractors {
    /// Builds the task (parses the embedded mixture on first use).
    pub fn new() -> Result<Self, SimError> {
        Ok(Self {
            prior: BoxUniform::cube(slcp::THETA_DIM, -3.0, 3.0)?,
            simulator: SlcpDistractorsSimulator::new()?,
        })
    }
}

impl Task for SlcpDistractors {
    fn name(&self) -> &'static str {
        "slcp_distractors"
    }
    fn prior(&self) -> &dyn Prior {
        &self.prior
    }
    fn simulator(&self) -> &dyn Simulator {
        &self.simulator
    }
    fn observation(&self, k: usize) -> Result<Array1<f64>, SimError> {
        check_observation(k, 10)?;
        data::observation_file("slcp", k, "observation_distractors.csv")
    }
    fn true_parameters(&self, k: usize) -> Result<Array1<f64>, SimError> {
        check_observation(k, 10)?;
        data::observation_file("slcp", k, "true_parameters.csv")
    }
    fn reference_method(&self) -> &'static str {
        "= slcp (distractors are independent of θ)"
    }
    fn reference_posterior(
        &self,
        k: usize,
        n: usize,
        rng: &mut dyn RngCore,
    ) -> Result<ReferenceSamples, SimError> {
        check_observation(k, 10)?;
        let x_o = data::observation_file("slcp", k, "observation.csv")?;
        slcp::reference_posterior_for(x_o.view(), n, rng)
    }
    /// Exact: slcp log-likelihood of the 8 slcp columns plus the mixture log-density of
    /// the 92 distractor columns (the same for every θ).
    fn log_likelihood(
        &self,
        theta: ArrayView2<f64>,
        x: ArrayView1<f64>,
    ) -> Option<Result<Array1<f64>, SimError>> {
        Some((|| {
            check_matrix(x.insert_axis(Axis(0)), X_DIM, "x")?;
            let mut input = [0.0; X_DIM];
            for (&v, &src) in x.iter().zip(&self.simulator.perm) {
                input[src] = v;
            }
            let x_slcp = ArrayView1::from(&input[..slcp::X_DIM]);
            let distract = self.simulator.mixture.log_density(ArrayView1::from(&input[slcp::X_DIM..]));
            Ok(slcp::checked_log_likelihood(theta, x_slcp)? + distract)
        })())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;
    use rand::SeedableRng;
    use statrs::distribution::{ContinuousCDF, StudentsT};

    /// Columns of the slcp values x1..x8 stated by the spec (§1.4).
    const SPEC_COLUMNS: [usize; 8] = [22, 33, 23, 67, 42, 21, 16, 90];

    #[test]
    fn permutation_puts_slcp_values_where_the_spec_says() {
        let sim = SlcpDistractorsSimulator::new().unwrap();
        assert_eq!(sim.slcp_columns(), SPEC_COLUMNS);
        let task = SlcpDistractors::new().unwrap();
        for k in 1..=10 {
            let x = task.observation(k).unwrap();
            let x8 = data::observation_file("slcp", k, "observation.csv").unwrap();
            assert_eq!(x.len(), 100);
            for (i, &c) in SPEC_COLUMNS.iter().enumerate() {
                assert_eq!(x[c], x8[i], "observation {k}, x{}", i + 1);
            }
        }
    }

    #[test]
    fn mixture_is_parsed_with_the_documented_shape() {
        let m = distractor_mixture().unwrap();
        assert_eq!((m.dim(), m.num_components()), (92, 20));
        assert!(m.weights.iter().all(|w| (w - 0.05).abs() < 1e-12));
        assert!(m.components.iter().all(|c| c.df == 2.0));
    }

    /// Margins of one component: univariate t(df = 2) with location loc_j and scale
    /// sqrt((L·Lᵀ)_jj); KS per margin against the exact CDF, and the median = loc.
    #[test]
    fn student_t_component_sampling_has_the_right_margins() {
        let m = distractor_mixture().unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let n = 20_000;
        for c in [0, 13] {
            let comp = &m.components[c];
            let mut draws = Array2::<f64>::zeros((n, 92));
            for mut row in draws.outer_iter_mut() {
                m.sample_component_into(c, &mut rng, row.as_slice_mut().unwrap());
            }
            for j in 0..92 {
                let scale = (0..=j).map(|k| comp.scale_tril[j * 92 + k].powi(2)).sum::<f64>().sqrt();
                let t = StudentsT::new(comp.loc[j], scale, 2.0).unwrap();
                let mut v = draws.column(j).to_vec();
                v.sort_by(f64::total_cmp);
                let ks = v
                    .iter()
                    .enumerate()
                    .map(|(i, x)| {
                        let f = t.cdf(*x);
                        (f - i as f64 / n as f64).abs().max((f - (i + 1) as f64 / n as f64).abs())
                    })
                    .fold(0.0, f64::max);
                // 184 KS tests: Bonferroni-corrected 1e-5 level, critical value ≈ 2.5/√n
                assert!(ks < 2.5 / (n as f64).sqrt(), "component {c}, margin {j}: KS {ks}");
                // median = loc; s.e. of the sample median = 1/(2·f(loc)·√n) = √2·scale/√n
                let med = 0.5 * (v[n / 2 - 1] + v[n / 2]);
                assert!((med - comp.loc[j]).abs() < 5.0 * 2f64.sqrt() * scale / (n as f64).sqrt());
            }
        }
    }

    #[test]
    fn student_t_log_density_is_exact() {
        // bivariate t with df = 2: density = 1/(2π·|det L|)·(1 + q/2)^(−2)
        let l = vec![vec![2.0, 0.0], vec![0.5, -1.5]];
        let m = StudentTMixture::new(vec![1.0], vec![2.0], vec![vec![1.0, -1.0]], vec![l]).unwrap();
        let x = Array1::from(vec![2.0, 0.5]);
        let y1 = (2.0 - 1.0) / 2.0;
        let y2 = (0.5 + 1.0 - 0.5 * y1) / -1.5;
        let q: f64 = y1 * y1 + y2 * y2;
        let expect = -(2.0 * std::f64::consts::PI * 3.0).ln() - 2.0 * (1.0 + q / 2.0).ln();
        assert!((m.log_density(x.view()) - expect).abs() < 1e-12);
        // one dimension: the univariate Student-t; a two-component mixture adds densities
        let m1 = StudentTMixture::new(
            vec![1.0, 3.0],
            vec![3.0, 5.0],
            vec![vec![0.5], vec![-1.0]],
            vec![vec![vec![2.0]], vec![vec![0.7]]],
        )
        .unwrap();
        use statrs::distribution::Continuous;
        let (a, b) = (StudentsT::new(0.5, 2.0, 3.0).unwrap(), StudentsT::new(-1.0, 0.7, 5.0).unwrap());
        for v in [-3.0, -0.2, 0.0, 1.7] {
            let expect = (0.25 * a.pdf(v) + 0.75 * b.pdf(v)).ln();
            assert!((m1.log_density(Array1::from(vec![v]).view()) - expect).abs() < 1e-12);
        }
        // bad parameters
        assert!(StudentTMixture::new(vec![1.0], vec![0.0], vec![vec![0.0]], vec![vec![vec![1.0]]]).is_err());
        assert!(StudentTMixture::new(vec![1.0], vec![2.0], vec![vec![0.0]], vec![vec![vec![0.0]]]).is_err());
        assert!(StudentTMixture::new(vec![-1.0], vec![2.0], vec![vec![0.0]], vec![vec![vec![1.0]]]).is_err());
        assert!(StudentTMixture::from_json("{\"weights\": [1.0]}").is_err());
    }

    #[test]
    fn only_the_slcp_columns_depend_on_theta() {
        let task = SlcpDistractors::new().unwrap();
        let n = 50;
        let ta = Array2::from_shape_fn((n, 5), |(_, j)| [-2.0, 1.0, 1.5, 0.5, 0.3][j]);
        let tb = Array2::from_shape_fn((n, 5), |(_, j)| [2.5, -1.0, 0.7, 2.0, -1.0][j]);
        // the same generator state: the rows draw the same normals for the slcp part and
        // then the same distractors, which do not depend on θ
        let xa = task.simulator().simulate(ta.view(), &mut ChaCha8Rng::seed_from_u64(8)).unwrap();
        let xb = task.simulator().simulate(tb.view(), &mut ChaCha8Rng::seed_from_u64(8)).unwrap();
        assert_eq!(xa.dim(), (n, 100));
        for j in 0..100 {
            let same = xa.column(j) == xb.column(j);
            assert_eq!(same, !SPEC_COLUMNS.contains(&j), "column {j}");
        }
        // the slcp columns are the slcp simulator's row-wise output: the first row of
        // a chunk starts from the chunk's fresh generator (later rows differ because
        // the distractors consume further draws from it)
        let base = ChaCha8Rng::seed_from_u64(8).next_u64();
        let mut x8 = Array1::<f64>::zeros(8);
        super::super::slcp::SlcpSimulator.simulate_row(
            ta.row(0),
            &mut crate::row_rng(base, 0),
            x8.view_mut(),
        );
        for (i, &c) in SPEC_COLUMNS.iter().enumerate() {
            assert_eq!(xa[(0, c)], x8[i]);
        }
    }

    #[test]
    fn log_likelihood_is_slcp_plus_a_theta_free_term() {
        let task = SlcpDistractors::new().unwrap();
        let slcp_task = super::super::slcp::Slcp::new().unwrap();
        let x = task.observation(1).unwrap();
        let x8 = data::observation_file("slcp", 1, "observation.csv").unwrap();
        let th = task.prior().sample(10, &mut ChaCha8Rng::seed_from_u64(1));
        let a = task.log_likelihood(th.view(), x.view()).unwrap().unwrap();
        let b = slcp_task.log_likelihood(th.view(), x8.view()).unwrap().unwrap();
        let m = distractor_mixture().unwrap();
        let perm = permutation().unwrap();
        let distract: Vec<f64> = (8..100).map(|i| x[perm.iter().position(|&p| p == i).unwrap()]).collect();
        let c = m.log_density(Array1::from(distract).view());
        assert!(c.is_finite());
        for (u, v) in a.iter().zip(b.iter()) {
            assert!((u - v - c).abs() < 1e-9 * c.abs(), "{u} vs {v} + {c}");
        }
        assert!(task.log_likelihood(th.view(), x8.view()).unwrap().is_err());
    }

    #[test]
    fn reference_posterior_is_the_slcp_one() {
        let task = SlcpDistractors::new().unwrap();
        let slcp_task = super::super::slcp::Slcp::new().unwrap();
        let a = task.reference_posterior(2, 200, &mut ChaCha8Rng::seed_from_u64(3)).unwrap();
        let b = slcp_task.reference_posterior(2, 200, &mut ChaCha8Rng::seed_from_u64(3)).unwrap();
        assert_eq!(a.samples, b.samples);
        assert_eq!(task.true_parameters(4).unwrap(), slcp_task.true_parameters(4).unwrap());
    }
}
