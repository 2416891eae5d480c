//! Adaptive explicit Runge-Kutta ODE solver for the SIR and Lotka-Volterra tasks.
//!
//! sbibm solved both ODEs with Julia's `Tsit5()` at `reltol = abstol = 1e-8`
//! (spec §1.9, §1.10). This module implements the same method — Tsitouras'
//! 5(4) pair (Tsitouras 2011, coefficients as in OrdinaryDiffEq.jl) — and,
//! for cross-checking, the Dormand-Prince 5(4) pair (Hairer, Nørsett & Wanner,
//! *Solving ODEs I*, §II.5). Both are 7-stage FSAL pairs that advance with
//! the 5th-order solution and control the step with the embedded 4th-order
//! error estimate.
//!
//! Design, chosen for millions of small solves:
//! * the state is a stack array `[f64; N]` (const generic); a solve allocates
//!   nothing;
//! * solutions are wanted only at fixed save times; steps are shortened to
//!   land exactly on each save time, so saved values are genuine 5th-order
//!   step results (no interpolation). Julia's `saveat` interpolates instead;
//!   both agree to within the tolerance;
//! * error control as OrdinaryDiffEq.jl: per-component scale
//!   `atol + rtol·max(|y_n|, |y_{n+1}|)`, RMS norm, PI step-size controller
//!   (β₁ = 7/50, β₂ = 2/25, safety 0.9, step ratio in [0.2, 10]), and Hairer's
//!   initial step heuristic;
//! * a failed solve (non-finite state or derivative, step-size underflow,
//!   too many steps) returns an [`OdeError`]; nothing panics.
//!
//! ```
//! use sbi_sim::ode::{Method, OdeOptions, solve};
//! // y' = -y, y(0) = 1, saved at t = 1 and t = 2.
//! let mut out = [[0.0; 1]; 2];
//! solve(Method::Tsit5, |_t, y: &[f64; 1]| [-y[0]], 0.0, [1.0], &[1.0, 2.0], &mut out, &OdeOptions::default())
//!     .unwrap();
//! assert!((out[1][0] - (-2.0f64).exp()).abs() < 1e-8);
//! ```

use thiserror::Error;

/// Errors of an ODE solve. The simulators turn any of these into a NaN row.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum OdeError {
    /// Bad arguments (tolerances, save times, output length).
    #[error("invalid ODE solver input: {0}")]
    InvalidInput(String),
    /// The state or its derivative became NaN/infinite and shrinking the
    /// step did not help.
    #[error("non-finite state or derivative at t = {t}")]
    NonFinite {
        /// Time at which it happened.
        t: f64,
    },
    /// The step size fell below the resolvable minimum (stiff or blowing-up solution).
    #[error("step size underflow at t = {t} (h = {h})")]
    StepSizeUnderflow {
        /// Time at which it happened.
        t: f64,
        /// The step size that was too small.
        h: f64,
    },
    /// More than `max_steps` attempted steps.
    #[error("more than {max_steps} steps needed (reached t = {t})")]
    TooManySteps {
        /// Time reached.
        t: f64,
        /// The limit.
        max_steps: usize,
    },
}

/// The Runge-Kutta pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Method {
    /// Tsitouras 5(4) (Julia's `Tsit5`, the solver sbibm used).
    #[default]
    Tsit5,
    /// Dormand-Prince 5(4) (`DOPRI5`, MATLAB's `ode45`).
    DormandPrince5,
}

/// Solver settings.
#[derive(Debug, Clone, PartialEq)]
pub struct OdeOptions {
    /// Relative tolerance (> 0).
    pub rtol: f64,
    /// Absolute tolerance (> 0).
    pub atol: f64,
    /// Maximum number of attempted (accepted + rejected) steps.
    pub max_steps: usize,
    /// Largest allowed step; `None` = the whole time span.
    pub h_max: Option<f64>,
    /// First step size; `None` = Hairer's heuristic.
    pub h_init: Option<f64>,
}

impl Default for OdeOptions {
    /// The sbibm setting: `rtol = atol = 1e-8`; at most 100,000 steps
    /// (Julia's default `maxiters`).
    fn default() -> Self {
        Self { rtol: 1e-8, atol: 1e-8, max_steps: 100_000, h_max: None, h_init: None }
    }
}

/// Work done by a successful solve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OdeStats {
    /// Accepted steps.
    pub accepted: usize,
    /// Rejected steps.
    pub rejected: usize,
    /// Right-hand-side evaluations.
    pub evaluations: usize,
}

/// A 7-stage FSAL explicit Runge-Kutta pair: nodes `c`, stage matrix `a`
/// (row `s` uses its first `s` entries; row 6 equals the solution weights),
/// and error weights `e = b − b̂`.
struct Tableau {
    c: [f64; 7],
    a: [[f64; 6]; 7],
    e: [f64; 7],
}

/// Tsitouras (2011) 5(4), coefficients of OrdinaryDiffEq.jl's `Tsit5`.
const TSIT5: Tableau = Tableau {
    c: [0.0, 0.161, 0.327, 0.9, 0.980_025_540_904_509_7, 1.0, 1.0],
    a: [
        [0.0; 6],
        [0.161, 0.0, 0.0, 0.0, 0.0, 0.0],
        [-0.008_480_655_492_356_989, 0.335_480_655_492_357, 0.0, 0.0, 0.0, 0.0],
        [2.897_153_057_105_493_5, -6.359_448_489_975_075, 4.362_295_432_869_581_5, 0.0, 0.0, 0.0],
        [
            5.325_864_828_439_257,
            -11.748_883_564_062_828,
            7.495_539_342_889_836_5,
            -0.092_495_066_361_755_25,
            0.0,
            0.0,
        ],
        [
            5.861_455_442_946_42,
            -12.920_969_317_847_11,
            8.159_367_898_576_159,
            -0.071_584_973_281_401,
            -0.028_269_050_394_068_383,
            0.0,
        ],
        [
            0.096_460_766_818_065_23,
            0.01,
            0.479_889_650_414_499_6,
            1.379_008_574_103_742,
            -3.290_069_515_436_081,
            2.324_710_524_099_774,
        ],
    ],
    e: [
        -0.001_780_011_052_225_777,
        -0.000_816_434_459_656_746_9,
        0.007_880_878_010_261_995,
        -0.144_711_007_173_262_9,
        0.582_357_165_452_555_2,
        -0.458_082_105_929_186_97,
        1.0 / 66.0,
    ],
};

/// Dormand-Prince 5(4) (Hairer, Nørsett & Wanner, Table II.5.2).
const DOPRI5: Tableau = Tableau {
    c: [0.0, 0.2, 0.3, 0.8, 8.0 / 9.0, 1.0, 1.0],
    a: [
        [0.0; 6],
        [0.2, 0.0, 0.0, 0.0, 0.0, 0.0],
        [3.0 / 40.0, 9.0 / 40.0, 0.0, 0.0, 0.0, 0.0],
        [44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0, 0.0, 0.0, 0.0],
        [19372.0 / 6561.0, -25360.0 / 2187.0, 64448.0 / 6561.0, -212.0 / 729.0, 0.0, 0.0],
        [9017.0 / 3168.0, -355.0 / 33.0, 46732.0 / 5247.0, 49.0 / 176.0, -5103.0 / 18656.0, 0.0],
        [35.0 / 384.0, 0.0, 500.0 / 1113.0, 125.0 / 192.0, -2187.0 / 6784.0, 11.0 / 84.0],
    ],
    e: [71.0 / 57600.0, 0.0, -71.0 / 16695.0, 71.0 / 1920.0, -17253.0 / 339200.0, 22.0 / 525.0, -1.0 / 40.0],
};

impl Method {
    fn tableau(self) -> &'static Tableau {
        match self {
            Method::Tsit5 => &TSIT5,
            Method::DormandPrince5 => &DOPRI5,
        }
    }
}

// PI controller of OrdinaryDiffEq.jl for a 5th-order method.
const BETA1: f64 = 7.0 / 50.0;
const BETA2: f64 = 2.0 / 25.0;
const SAFETY: f64 = 0.9;
/// Smallest step ratio h_new/h.
const QMIN: f64 = 0.2;
/// Largest step ratio h_new/h.
const QMAX: f64 = 10.0;
const QOLD_INIT: f64 = 1e-4;

#[inline]
fn all_finite<const N: usize>(y: &[f64; N]) -> bool {
    y.iter().all(|v| v.is_finite())
}

/// RMS norm of `v_i / (atol + rtol·max(|a_i|, |b_i|))`.
#[inline]
fn scaled_rms<const N: usize>(v: &[f64; N], a: &[f64; N], b: &[f64; N], rtol: f64, atol: f64) -> f64 {
    let mut s = 0.0;
    for i in 0..N {
        let sc = atol + rtol * a[i].abs().max(b[i].abs());
        let r = v[i] / sc;
        s += r * r;
    }
    (s / N as f64).sqrt()
}

/// `y + h·Σ_{j<S} a_j k_j` (S fixed at compile time so the sums unroll).
#[inline(always)]
fn stage<const N: usize, const S: usize>(y: &[f64; N], h: f64, a: &[f64; 6], k: &[[f64; N]; 7]) -> [f64; N] {
    let mut out = [0.0; N];
    for i in 0..N {
        let mut acc = 0.0;
        for j in 0..S {
            acc += a[j] * k[j][i];
        }
        out[i] = y[i] + h * acc;
    }
    out
}

/// Hairer's starting step (Hairer, Nørsett & Wanner, §II.4), for order 5.
fn initial_step<const N: usize, F>(f: &mut F, t0: f64, y0: &[f64; N], f0: &[f64; N], opts: &OdeOptions) -> f64
where
    F: FnMut(f64, &[f64; N]) -> [f64; N],
{
    let d0 = scaled_rms(y0, y0, y0, opts.rtol, opts.atol);
    let d1 = scaled_rms(f0, y0, y0, opts.rtol, opts.atol);
    let h0 = if d0 < 1e-5 || d1 < 1e-5 { 1e-6 } else { 0.01 * d0 / d1 };
    let mut y1 = [0.0; N];
    for i in 0..N {
        y1[i] = y0[i] + h0 * f0[i];
    }
    let f1 = f(t0 + h0, &y1);
    let mut df = [0.0; N];
    for i in 0..N {
        df[i] = f1[i] - f0[i];
    }
    let d2 = scaled_rms(&df, y0, y0, opts.rtol, opts.atol) / h0;
    let dm = d1.max(d2);
    let h1 = if !dm.is_finite() {
        h0
    } else if dm <= 1e-15 {
        (h0 * 1e-3).max(1e-6)
    } else {
        (0.01 / dm).powf(1.0 / 5.0)
    };
    (100.0 * h0).min(h1)
}

/// Solves `y' = f(t, y)`, `y(t0) = y0` forward in time and writes the
/// solution at each of `save_at` (non-decreasing, all `≥ t0`; a save time
/// equal to `t0` gets `y0`) into `out` (same length as `save_at`).
///
/// Steps are shortened to land exactly on every save time; the solve ends at
/// the last save time. Returns the work done, or an [`OdeError`] when the
/// arguments are invalid or the solve fails (non-finite values, step-size
/// underflow, more than `opts.max_steps` steps); on failure `out` is
/// unspecified.
pub fn solve<const N: usize, F>(
    method: Method,
    mut f: F,
    t0: f64,
    y0: [f64; N],
    save_at: &[f64],
    out: &mut [[f64; N]],
    opts: &OdeOptions,
) -> Result<OdeStats, OdeError>
where
    F: FnMut(f64, &[f64; N]) -> [f64; N],
{
    validate(t0, save_at, out.len(), opts)?;
    let tab = method.tableau();
    let mut stats = OdeStats::default();
    if !all_finite(&y0) {
        return Err(OdeError::NonFinite { t: t0 });
    }
    let Some(&t_end) = save_at.last() else {
        return Ok(stats);
    };
    let span = t_end - t0;
    let h_max = opts.h_max.unwrap_or(span).min(span).max(0.0);
    // Smallest resolvable step: a few ulps of the time span.
    let h_min = 16.0 * f64::EPSILON * t0.abs().max(t_end.abs()).max(span);

    let mut t = t0;
    let mut y = y0;
    let mut k0 = f(t, &y);
    stats.evaluations += 1;
    if !all_finite(&k0) {
        return Err(OdeError::NonFinite { t });
    }
    let mut next = 0;
    while next < save_at.len() && save_at[next] <= t0 {
        out[next] = y0;
        next += 1;
    }
    if next == save_at.len() {
        return Ok(stats);
    }
    let mut h = match opts.h_init {
        Some(h) => h,
        None => {
            stats.evaluations += 1;
            initial_step(&mut f, t, &y, &k0, opts)
        }
    };
    h = h.min(h_max).max(h_min);
    // log of the previous accepted error estimate (PI memory).
    let mut ln_qold = QOLD_INIT.ln();
    let mut attempts = 0usize;
    let mut last_reject_nonfinite = false;

    let mut k = [[0.0; N]; 7];
    while next < save_at.len() {
        attempts += 1;
        if attempts > opts.max_steps {
            return Err(OdeError::TooManySteps { t, max_steps: opts.max_steps });
        }
        if h < h_min {
            return Err(if last_reject_nonfinite {
                OdeError::NonFinite { t }
            } else {
                OdeError::StepSizeUnderflow { t, h }
            });
        }
        // Shorten the step to land on the next save time (and do not leave a
        // sliver smaller than h_min before it).
        let target = save_at[next];
        let remaining = target - t;
        let lands = h >= remaining - h_min;
        let h_step = if lands { remaining } else { h };

        // Stages 1..6; stage 0 is k0 (FSAL). Stage 6 is evaluated at the
        // 5th-order solution y_{n+1}, so k[6] = f(y_{n+1}) is the next k0.
        k[0] = k0;
        let a = &tab.a;
        k[1] = f(t + tab.c[1] * h_step, &stage::<N, 1>(&y, h_step, &a[1], &k));
        k[2] = f(t + tab.c[2] * h_step, &stage::<N, 2>(&y, h_step, &a[2], &k));
        k[3] = f(t + tab.c[3] * h_step, &stage::<N, 3>(&y, h_step, &a[3], &k));
        k[4] = f(t + tab.c[4] * h_step, &stage::<N, 4>(&y, h_step, &a[4], &k));
        k[5] = f(t + tab.c[5] * h_step, &stage::<N, 5>(&y, h_step, &a[5], &k));
        let y_new = stage::<N, 6>(&y, h_step, &a[6], &k);
        k[6] = f(t + h_step, &y_new);
        stats.evaluations += 6;
        let mut err = [0.0; N];
        for (i, ei) in err.iter_mut().enumerate() {
            let mut acc = 0.0;
            for (e, kj) in tab.e.iter().zip(&k) {
                acc += e * kj[i];
            }
            *ei = h_step * acc;
        }
        let e_est = scaled_rms(&err, &y, &y_new, opts.rtol, opts.atol);
        let finite = e_est.is_finite() && all_finite(&y_new) && all_finite(&k[6]);
        if !finite {
            // Treat as a rejection with the largest allowed shrink.
            stats.rejected += 1;
            last_reject_nonfinite = true;
            h = h_step * QMIN;
            continue;
        }
        last_reject_nonfinite = false;
        // One log per step instead of two powers: e^β₁ = exp(β₁ ln e).
        let ln_e = e_est.ln();
        if e_est <= 1.0 {
            stats.accepted += 1;
            t = if lands { target } else { t + h_step };
            y = y_new;
            k0 = k[6];
            // After a step shortened to hit a save time, keep the proposal made
            // before shortening and leave the controller's memory alone: the
            // shortened step's smaller error says little about the natural step.
            if !(lands && h_step < h) {
                let q = ((BETA1 * ln_e - BETA2 * ln_qold).exp() / SAFETY).clamp(1.0 / QMAX, 1.0 / QMIN);
                ln_qold = ln_e.max(QOLD_INIT.ln());
                h = (h_step / q).min(h_max);
            }
            if lands {
                while next < save_at.len() && save_at[next] <= t {
                    out[next] = y;
                    next += 1;
                }
            }
        } else {
            stats.rejected += 1;
            h = h_step / ((BETA1 * ln_e).exp() / SAFETY).min(1.0 / QMIN);
        }
    }
    Ok(stats)
}

fn validate(t0: f64, save_at: &[f64], n_out: usize, opts: &OdeOptions) -> Result<(), OdeError> {
    if !t0.is_finite() {
        return Err(OdeError::InvalidInput(format!("t0 = {t0} is not finite")));
    }
    if n_out != save_at.len() {
        return Err(OdeError::InvalidInput(format!(
            "output has {n_out} rows but there are {} save times",
            save_at.len()
        )));
    }
    if !(opts.rtol > 0.0 && opts.rtol.is_finite() && opts.atol > 0.0 && opts.atol.is_finite()) {
        return Err(OdeError::InvalidInput(format!(
            "tolerances must be finite and > 0 (rtol = {}, atol = {})",
            opts.rtol, opts.atol
        )));
    }
    if let Some(h) = opts.h_max
        && (h.is_nan() || h <= 0.0)
    {
        return Err(OdeError::InvalidInput(format!("h_max = {h} must be > 0")));
    }
    if let Some(h) = opts.h_init
        && !(h > 0.0 && h.is_finite())
    {
        return Err(OdeError::InvalidInput(format!("h_init = {h} must be finite and > 0")));
    }
    let mut prev = t0;
    for (i, &s) in save_at.iter().enumerate() {
        if !s.is_finite() || s < prev {
            return Err(OdeError::InvalidInput(format!(
                "save time {i} = {s} is not finite, before t0 = {t0}, or out of order"
            )));
        }
        prev = s;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const METHODS: [Method; 2] = [Method::Tsit5, Method::DormandPrince5];

    fn grid(t_end: f64, n: usize) -> Vec<f64> {
        (0..=n).map(|i| t_end * i as f64 / n as f64).collect()
    }

    /// Largest |numerical − exact| / max(|exact|, 1) over save points and components.
    fn max_rel_err<const N: usize>(out: &[[f64; N]], times: &[f64], exact: impl Fn(f64) -> [f64; N]) -> f64 {
        let mut m: f64 = 0.0;
        for (y, &t) in out.iter().zip(times) {
            let e = exact(t);
            for i in 0..N {
                m = m.max((y[i] - e[i]).abs() / e[i].abs().max(1.0));
            }
        }
        m
    }

    #[test]
    fn tableaus_satisfy_order_conditions() {
        // Row sums equal the nodes; the weights satisfy the order conditions
        // Σb = 1, Σbc = 1/2, Σbc² = 1/3, Σbc³ = 1/4, Σbc⁴ = 1/5; Σe = 0.
        for tab in [&TSIT5, &DOPRI5] {
            for s in 1..7 {
                let sum: f64 = tab.a[s].iter().take(s).sum();
                assert!((sum - tab.c[s]).abs() < 1e-12, "row {s}: {sum} vs {}", tab.c[s]);
            }
            let b = &tab.a[6];
            for p in 0..5 {
                let v: f64 = (0..6).map(|j| b[j] * tab.c[j].powi(p)).sum();
                assert!((v - 1.0 / (p as f64 + 1.0)).abs() < 1e-12, "order condition c^{p}: {v}");
            }
            assert!(tab.e.iter().sum::<f64>().abs() < 1e-12);
        }
    }

    #[test]
    fn exponential_decay() {
        // y' = -k y, y = y0 e^{-kt}; relative error below 1e-7 at tolerance 1e-8.
        let (k, y0) = (0.8, 3.0);
        let times = grid(10.0, 100);
        for m in METHODS {
            let mut out = vec![[0.0; 1]; times.len()];
            solve(m, |_, y: &[f64; 1]| [-k * y[0]], 0.0, [y0], &times, &mut out, &OdeOptions::default())
                .unwrap();
            let mut rel: f64 = 0.0;
            for (y, &t) in out.iter().zip(&times) {
                let e = y0 * (-k * t).exp();
                rel = rel.max((y[0] - e).abs() / e);
            }
            eprintln!("exponential decay {m:?}: max relative error {rel:e}");
            assert!(rel < 1e-7, "{m:?}: relative error {rel:e}");
            assert_eq!(out[0][0], y0);
        }
    }

    #[test]
    fn harmonic_oscillator() {
        // x'' = -ω²x with x(0) = 1, x'(0) = 0: x = cos ωt, v = -ω sin ωt; 5 periods.
        let w = 2.0;
        let t_end = 5.0 * std::f64::consts::TAU / w;
        let times = grid(t_end, 200);
        for m in METHODS {
            let mut out = vec![[0.0; 2]; times.len()];
            let stats = solve(
                m,
                |_, y: &[f64; 2]| [y[1], -w * w * y[0]],
                0.0,
                [1.0, 0.0],
                &times,
                &mut out,
                &OdeOptions::default(),
            )
            .unwrap();
            let err = max_rel_err(&out, &times, |t| [(w * t).cos(), -w * (w * t).sin()]);
            eprintln!("harmonic oscillator {m:?}: max error {err:e} ({stats:?})");
            assert!(err < 1e-7, "{m:?}: error {err:e} ({stats:?})");
        }
    }

    #[test]
    fn logistic_growth() {
        // y' = r y (1 - y/K): y = K / (1 + (K/y0 - 1) e^{-rt}); relative error.
        let (r, kk, y0) = (1.5, 1000.0, 1.0);
        let times = grid(15.0, 150);
        for m in METHODS {
            let mut out = vec![[0.0; 1]; times.len()];
            solve(
                m,
                |_, y: &[f64; 1]| [r * y[0] * (1.0 - y[0] / kk)],
                0.0,
                [y0],
                &times,
                &mut out,
                &OdeOptions::default(),
            )
            .unwrap();
            let mut rel: f64 = 0.0;
            for (y, &t) in out.iter().zip(&times) {
                let e = kk / (1.0 + (kk / y0 - 1.0) * (-r * t).exp());
                rel = rel.max((y[0] - e).abs() / e);
            }
            eprintln!("logistic growth {m:?}: max relative error {rel:e}");
            assert!(rel < 1e-7, "{m:?}: relative error {rel:e}");
        }
    }

    #[test]
    fn lotka_volterra_invariant_is_conserved() {
        // V = δx − γ ln x + βy − α ln y is constant along trajectories.
        let (a, b, g, d) = (0.69, 0.11, 0.89, 0.12);
        let times = grid(20.0, 200);
        let v = |y: &[f64; 2]| d * y[0] - g * y[0].ln() + b * y[1] - a * y[1].ln();
        for m in METHODS {
            let mut out = vec![[0.0; 2]; times.len()];
            solve(
                m,
                |_, y: &[f64; 2]| [a * y[0] - b * y[0] * y[1], -g * y[1] + d * y[0] * y[1]],
                0.0,
                [30.0, 1.0],
                &times,
                &mut out,
                &OdeOptions::default(),
            )
            .unwrap();
            let v0 = v(&[30.0, 1.0]);
            let drift = out.iter().map(|y| ((v(y) - v0) / v0).abs()).fold(0.0, f64::max);
            eprintln!("Lotka-Volterra invariant {m:?}: max relative drift {drift:e}");
            assert!(drift < 1e-7, "{m:?}: relative drift of V {drift:e}");
        }
    }

    #[test]
    fn error_shrinks_with_tolerance() {
        // The global error of y' = -y at t = 5 falls by well over 10x when
        // the tolerance falls by 100x.
        for m in METHODS {
            let err_at = |tol: f64| {
                let mut out = [[0.0; 1]];
                let o = OdeOptions { rtol: tol, atol: tol, ..Default::default() };
                solve(m, |_, y: &[f64; 1]| [-y[0]], 0.0, [1.0], &[5.0], &mut out, &o).unwrap();
                (out[0][0] - (-5.0f64).exp()).abs()
            };
            let (e1, e2) = (err_at(1e-5), err_at(1e-7));
            assert!(e2 < e1 / 10.0, "{m:?}: {e1:e} -> {e2:e}");
        }
    }

    #[test]
    fn save_times_are_hit_exactly_and_duplicates_allowed() {
        // y' = 1: y = t exactly for any step sequence.
        let times = [0.0, 0.0, 0.3, 0.3, 2.1, 18.9];
        let mut out = [[f64::NAN; 1]; 6];
        solve(Method::Tsit5, |_, _: &[f64; 1]| [1.0], 0.0, [0.0], &times, &mut out, &OdeOptions::default())
            .unwrap();
        for (y, t) in out.iter().zip(times) {
            assert!((y[0] - t).abs() < 1e-12, "{} vs {t}", y[0]);
        }
        // No save times: nothing to do.
        assert!(
            solve(Method::Tsit5, |_, _: &[f64; 1]| [1.0], 0.0, [0.0], &[], &mut [], &OdeOptions::default())
                .is_ok()
        );
    }

    #[test]
    fn failures_are_errors_not_panics() {
        let o = OdeOptions::default();
        let mut out = [[0.0; 1]];
        // Finite-time blow-up: y' = y², y(0) = 1 explodes at t = 1.
        let r = solve(Method::Tsit5, |_, y: &[f64; 1]| [y[0] * y[0]], 0.0, [1.0], &[2.0], &mut out, &o);
        assert!(matches!(r, Err(OdeError::StepSizeUnderflow { .. } | OdeError::NonFinite { .. })), "{r:?}");
        // NaN derivative.
        let r = solve(Method::Tsit5, |_, _: &[f64; 1]| [f64::NAN], 0.0, [1.0], &[1.0], &mut out, &o);
        assert!(matches!(r, Err(OdeError::NonFinite { .. })), "{r:?}");
        // NaN appearing mid-way (sqrt of a negative state).
        let r =
            solve(Method::Tsit5, |_, y: &[f64; 1]| [-1.0 - y[0].sqrt()], 0.0, [1.0], &[5.0], &mut out, &o);
        assert!(matches!(r, Err(OdeError::NonFinite { .. })), "{r:?}");
        // Too many steps.
        let few = OdeOptions { max_steps: 5, ..Default::default() };
        let r = solve(Method::Tsit5, |_, y: &[f64; 1]| [-y[0]], 0.0, [1.0], &[100.0], &mut out, &few);
        assert!(matches!(r, Err(OdeError::TooManySteps { max_steps: 5, .. })), "{r:?}");
        // Invalid inputs.
        let bad = |o: OdeOptions, times: &[f64], n: usize, y0: f64| {
            let mut out = vec![[0.0; 1]; n];
            solve(Method::Tsit5, |_, y: &[f64; 1]| [-y[0]], 0.0, [y0], times, &mut out, &o)
        };
        assert!(matches!(bad(o.clone(), &[1.0, 0.5], 2, 1.0), Err(OdeError::InvalidInput(_))));
        assert!(matches!(bad(o.clone(), &[-1.0], 1, 1.0), Err(OdeError::InvalidInput(_))));
        assert!(matches!(bad(o.clone(), &[1.0], 2, 1.0), Err(OdeError::InvalidInput(_))));
        assert!(matches!(bad(o.clone(), &[f64::NAN], 1, 1.0), Err(OdeError::InvalidInput(_))));
        assert!(matches!(
            bad(OdeOptions { rtol: 0.0, ..o.clone() }, &[1.0], 1, 1.0),
            Err(OdeError::InvalidInput(_))
        ));
        assert!(matches!(bad(o, &[1.0], 1, f64::INFINITY), Err(OdeError::NonFinite { .. })));
    }
}
