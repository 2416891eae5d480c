//! # sbi-sim
//!
//! Simulators, priors and the ten benchmark tasks of sbibm 1.1.0 (Lueckmann et
//! al. 2021), with reference posteriors computed by this crate (analytic,
//! rejection, Pólya-Gamma Gibbs, many-chain MCMC). Specification:
//! `shared/spec/sbibm-tasks.md`.
//!
//! All arrays are batch-first `ndarray` arrays of `f64`:
//! parameters `theta: [n, d_theta]`, data `x: [n, d_x]`.
//!
//! Randomness is always passed in (`&mut dyn RngCore`); nothing here uses a
//! global generator. Batched simulation is parallel over rows (rayon) and gives
//! identical output for a given generator state whatever the thread count:
//! one `u64` is drawn from the caller's generator and every fixed chunk of
//! [`Simulator::chunk_rows`] rows ([`SIM_CHUNK`] unless a simulator says otherwise)
//! gets its own generator seeded from that value and the chunk index
//! ([`row_rng`]), used by [`Simulator::simulate_chunk`].
//!
//! ```
//! use sbi_sim::prelude::*;
//! use rand::SeedableRng;
//!
//! let task = task_by_name("two_moons").unwrap();
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
//! let theta = task.prior().sample(100, &mut rng);
//! let x = task.simulator().simulate(theta.view(), &mut rng).unwrap();
//! assert_eq!(x.dim(), (100, 2));
//! ```

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut1, ArrayViewMut2, Axis};
use rand::RngCore;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

mod error;
mod linger;
pub use error::SimError;
pub use linger::LINGER;

pub mod data;
pub mod distributions;
pub mod lanes;
pub mod lanes_f32;
pub mod mcmc;
pub mod ode;
pub mod prior;
mod simd;
pub mod tasks;

pub use tasks::{TASK_NAMES, all_tasks, task_by_name};

/// Items most users need.
pub mod prelude {
    pub use crate::{
        Prior, ReferenceReport, ReferenceSamples, SimError, Simulator, TASK_NAMES, Task, all_tasks,
        count_nan_rows, task_by_name,
    };
}

/// A prior distribution p(θ) over `d_theta` parameters.
pub trait Prior: Send + Sync {
    /// Number of parameters `d_theta`.
    fn dim(&self) -> usize;

    /// Draws `n` parameter vectors. Returns theta: `[n, d_theta]`. Cannot fail.
    fn sample(&self, n: usize, rng: &mut dyn RngCore) -> Array2<f64>;

    /// Log-density of each row. theta: `[n, d_theta]` → `[n]`.
    ///
    /// Finite inside the support, `-inf` outside. Errors on a wrong width or a
    /// NaN entry.
    fn log_prob(&self, theta: ArrayView2<f64>) -> Result<Array1<f64>, SimError>;

    /// Whether one parameter vector `[d_theta]` lies in the support.
    fn in_support(&self, theta: ArrayView1<f64>) -> bool;

    /// Lower and upper bounds when the support is a box (uniform priors), else `None`.
    fn bounds(&self) -> Option<(Array1<f64>, Array1<f64>)> {
        None
    }

    /// Mean `[d]` and covariance `[d, d]` when the prior is a (multivariate)
    /// normal, else `None`. SNPE-A's analytic proposal correction uses it.
    fn gaussian(&self) -> Option<(Array1<f64>, Array2<f64>)> {
        None
    }

    /// Short human-readable description, e.g. `U[-1, 1]^2`.
    fn describe(&self) -> String;
}

/// A stochastic simulator p(x | θ).
pub trait Simulator: Send + Sync {
    /// Number of parameters `d_theta`.
    fn theta_dim(&self) -> usize;

    /// Number of data values `d_x`.
    fn x_dim(&self) -> usize;

    /// Simulates one data set for one parameter vector `theta: [d_theta]`,
    /// writing `[d_x]` values into `out`. A failed simulation (e.g. an ODE
    /// solve that does not converge) writes NaN into every entry of `out`.
    ///
    /// `theta` has already been validated (right width, finite).
    fn simulate_row(&self, theta: ArrayView1<f64>, rng: &mut ChaCha8Rng, out: ArrayViewMut1<f64>);

    /// Rows per chunk of [`Simulator::simulate`]: [`SIM_CHUNK`] (256) by default. The
    /// cheap vectorised simulators use [`VECTOR_CHUNK`] (1024), so that seeding a
    /// chunk's generators costs little per row. Fixed per simulator: the output for a
    /// seed depends on it, never on the thread count.
    fn chunk_rows(&self) -> usize {
        SIM_CHUNK
    }

    /// Simulates a chunk of rows in order with one generator: theta `[m, d_theta]`
    /// → `out: [m, d_x]`. [`Simulator::simulate`] calls it once per chunk of
    /// [`Simulator::chunk_rows`] rows.
    ///
    /// The default calls [`Simulator::simulate_row`] on each row (statically
    /// dispatched, on plain slices when the arrays are contiguous). Cheap
    /// simulators may override it to share work between rows; the result must
    /// depend only on `theta` and the generator's state. `theta` has already
    /// been validated.
    fn simulate_chunk(&self, theta: ArrayView2<f64>, rng: &mut ChaCha8Rng, out: ArrayViewMut2<f64>) {
        for_each_row(theta, out, |t, o| {
            self.simulate_row(ArrayView1::from(t), rng, ArrayViewMut1::from(o));
        });
    }

    /// Batched simulation: theta `[n, d_theta]` → x `[n, d_x]`, parallel over rows.
    ///
    /// Deterministic for a given state of `rng` whatever the number of threads.
    /// Errors on a wrong width or a non-finite θ; failed rows are NaN (see
    /// [`count_nan_rows`]).
    ///
    /// The chunks are shared out through a queue between the calling thread, which takes
    /// them from the back, and up to `rayon::current_num_threads() − 1` helper jobs, which
    /// take them from the front (so each thread writes much the same rows call after call,
    /// and they stay in its core's cache). A caller inside a rayon pool spawns its helpers
    /// on that pool; a caller outside every pool spawns them on a private pool of
    /// `sbi-sim-helper-*` threads, one fewer than the global pool has, so that a call
    /// neither waits for nor wakes a sleeping worker of the global pool (see the `linger`
    /// module). The caller simulates the first chunk alone and timed; helpers are started
    /// only when the rest would take it longer than [`HELPER_THRESHOLD`] (from inside a
    /// pool) or [`LINGER_THRESHOLD`] (from outside), since waking a sleeping worker can
    /// cost more than a short call itself (measured on a 2-vCPU VM: a 10,000-row two_moons
    /// call took 35 µs on one thread and 25–190 µs on average with a helper woken for it).
    /// After a call from outside the pools that used helpers, one job per helper keeps a
    /// helper thread waiting for [`LINGER`]; a call that finds one waiting shares out its
    /// chunks at once, without the timed first chunk (back-to-back calls, as in a
    /// training-data loop or a throughput benchmark, then use both cores of a 2-core
    /// machine). None of these choices changes the output.
    fn simulate(&self, theta: ArrayView2<f64>, rng: &mut dyn RngCore) -> Result<Array2<f64>, SimError> {
        // `simulate_into` validates θ (a wrong width only costs this allocation first).
        let mut x = Array2::<f64>::zeros((theta.nrows(), self.x_dim()));
        self.simulate_into(theta, rng, x.view_mut())?;
        Ok(x)
    }

    /// [`Simulator::simulate`] into a caller's array: theta `[n, d_theta]` → `out: [n, d_x]`
    /// (any memory layout; every entry is overwritten, whatever it held).
    ///
    /// The same output as `simulate` for the same state of `rng`, bit for bit. It spares
    /// the allocation and zeroing of a new output (done before the work is shared out),
    /// so loops that simulate batch after batch can reuse one buffer: on a 2-core VM this
    /// took 19–22 % off 10,000-row two_moons, slcp and gaussian_mixture calls in criterion
    /// (docs/tasks.md, "Speed"). Errors as `simulate` does, and on an `out` of the wrong
    /// shape, before drawing from `rng`.
    fn simulate_into(
        &self,
        theta: ArrayView2<f64>,
        rng: &mut dyn RngCore,
        mut out: ArrayViewMut2<f64>,
    ) -> Result<(), SimError> {
        check_theta(theta, self.theta_dim())?;
        if out.dim() != (theta.nrows(), self.x_dim()) {
            return Err(SimError::InvalidArgument(format!(
                "the output array has shape [{}, {}], expected [{}, {}] (theta's rows, the simulator's d_x)",
                out.nrows(),
                out.ncols(),
                theta.nrows(),
                self.x_dim()
            )));
        }
        let base = rng.next_u64();
        let rows = self.chunk_rows().max(1);
        let mut chunks: std::collections::VecDeque<_> = theta
            .axis_chunks_iter(Axis(0), rows)
            .zip(out.axis_chunks_iter_mut(Axis(0), rows))
            .enumerate()
            .collect();
        // A caller outside rayon's pools shares its chunks with the workers of a private
        // pool (`linger::pool`), which may be asleep. After a call that used helpers, they
        // stay waiting for a while (see `linger`); while they do, the chunks are shared
        // out at once.
        let pool = if rayon::current_thread_index().is_none() { linger::pool() } else { None };
        let outside = pool.is_some();
        let threads = pool.map_or_else(rayon::current_num_threads, |p| p.current_num_threads() + 1);
        let share = |left: usize| threads.min(left).saturating_sub(1);
        let mut helpers = if outside && linger::SIMULATE.running() { share(chunks.len()) } else { 0 };
        #[cfg(test)]
        if helpers > 0 {
            tests::WARM_CALLS.fetch_add(1, Ordering::Relaxed);
        }
        if helpers == 0 {
            let start = Instant::now();
            if let Some((c, (th, out))) = chunks.pop_back() {
                self.simulate_chunk(th, &mut row_rng(base, c as u64), out);
            }
            let projected = start.elapsed().saturating_mul(chunks.len() as u32);
            #[cfg(test)]
            let projected = if tests::FORCE_HELPERS.load(std::sync::atomic::Ordering::Relaxed) {
                Duration::MAX
            } else {
                projected
            };
            let threshold = if outside { LINGER_THRESHOLD } else { HELPER_THRESHOLD };
            if projected > threshold {
                helpers = share(chunks.len());
            }
        }
        let queue = std::sync::Mutex::new(chunks);
        let work = |helper: bool| {
            loop {
                // A poisoned lock only means another thread panicked; its chunks are lost with it.
                let mut q = queue.lock().unwrap_or_else(|e| e.into_inner());
                let job = if helper { q.pop_front() } else { q.pop_back() };
                drop(q);
                let Some((c, (th, out))) = job else { break };
                self.simulate_chunk(th, &mut row_rng(base, c as u64), out);
            }
        };
        if helpers == 0 {
            work(false);
        } else {
            let busy = AtomicUsize::new(0);
            match pool {
                Some(pool) => {
                    pool.in_place_scope(|s| share_out(s, helpers, &work, &busy, true));
                    linger::SIMULATE.linger(pool, helpers);
                }
                None => rayon::in_place_scope(|s| share_out(s, helpers, &work, &busy, false)),
            }
        }
        Ok(())
    }
}

/// Runs `work` on the calling thread and on `helpers` jobs of the scope `s`, which
/// count themselves in `busy` while they run. With `wait_busy` (a caller outside the
/// pool), helpers still on their last chunk are waited for here, yielding, so that the
/// scope's own wait (a sleep, for such a caller) is not entered just before they finish.
fn share_out<'s>(
    s: &rayon::Scope<'s>,
    helpers: usize,
    work: &'s (dyn Fn(bool) + Sync),
    busy: &'s AtomicUsize,
    wait_busy: bool,
) {
    for _ in 0..helpers {
        s.spawn(|_| {
            busy.fetch_add(1, Ordering::AcqRel);
            work(true);
            busy.fetch_sub(1, Ordering::AcqRel);
        });
    }
    work(false);
    while wait_busy && busy.load(Ordering::Acquire) > 0 {
        std::thread::yield_now();
    }
}

/// Projected single-thread time of the rest of a [`Simulator::simulate`] call above
/// which helpers on rayon's pool are started (100 µs).
pub const HELPER_THRESHOLD: Duration = Duration::from_micros(100);

/// Projected single-thread time of the rest of a [`Simulator::simulate`] call from
/// outside rayon's pool above which helpers are started and then kept waiting for the
/// next call (10 µs; see [`HELPER_THRESHOLD`] and the `linger` module).
pub const LINGER_THRESHOLD: Duration = Duration::from_micros(10);

/// Default rows per generator in batched simulation: rows `[c·SIM_CHUNK, (c+1)·SIM_CHUNK)`
/// are simulated in order with the generator `row_rng(base, c)`. The chunking is
/// fixed, so the output does not depend on the number of threads; seeding one
/// generator per chunk rather than per row keeps cheap simulators fast.
pub const SIM_CHUNK: usize = 256;

/// Rows per chunk of the vectorised simulators ([`Simulator::chunk_rows`]), whose
/// per-row cost is a few nanoseconds: seeding a chunk (ChaCha8 and the
/// [`lanes::LaneRng`]) then costs well under a nanosecond per row.
pub const VECTOR_CHUNK: usize = 1024;

/// The generator for stream `i` (a chunk of rows, or an MCMC chain) of a batch
/// whose base seed is `base`.
///
/// ChaCha8 with the seed `base` and stream `i`, so streams are independent and
/// the result does not depend on how work is split between threads.
pub fn row_rng(base: u64, i: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(base);
    r.set_stream(i);
    r
}

/// Calls `f(theta_row, out_row)` on each row of theta `[m, d_theta]` and
/// `out: [m, d_x]` in order, as plain slices.
///
/// Contiguous (standard-layout) arrays are walked in place; otherwise each row
/// goes through a small copy. Both arrays should have the same number of rows;
/// rows past the shorter one are not visited.
pub fn for_each_row(
    theta: ArrayView2<f64>,
    mut out: ArrayViewMut2<f64>,
    mut f: impl FnMut(&[f64], &mut [f64]),
) {
    debug_assert_eq!(theta.nrows(), out.nrows(), "for_each_row: theta and out differ in rows");
    let (dt, dx) = (theta.ncols(), out.ncols());
    if dt > 0
        && dx > 0
        && let (Some(ts), Some(os)) = (theta.as_slice(), out.as_slice_mut())
    {
        ts.chunks_exact(dt).zip(os.chunks_exact_mut(dx)).for_each(|(t, o)| f(t, o));
        return;
    }
    let (mut t, mut o) = (vec![0.0; dt], vec![0.0; dx]);
    for (mut orow, trow) in out.rows_mut().into_iter().zip(theta.rows()) {
        t.iter_mut().zip(trow).for_each(|(a, b)| *a = *b);
        o.iter_mut().zip(orow.iter()).for_each(|(a, b)| *a = *b);
        f(&t, &mut o);
        orow.iter_mut().zip(&o).for_each(|(a, b)| *a = *b);
    }
}

/// Validates a parameter batch: width `d` and finite entries.
pub fn check_theta(theta: ArrayView2<f64>, d: usize) -> Result<(), SimError> {
    check_matrix(theta, d, "theta")
}

/// Validates a batch: width `d` and finite entries; `what` names it in errors.
pub fn check_matrix(a: ArrayView2<f64>, d: usize, what: &'static str) -> Result<(), SimError> {
    if a.ncols() != d {
        return Err(SimError::Dimension { what, expected: d, got: a.ncols() });
    }
    // Fast scan first; the indexed search only runs to name a bad entry.
    let all_finite = match a.as_slice_memory_order() {
        Some(s) => simd::dispatch(AllFinite(s)),
        None => a.iter().all(|v| v.is_finite()),
    };
    if all_finite {
        return Ok(());
    }
    if let Some((idx, v)) = a.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(SimError::NonFinite { what, row: idx.0, col: idx.1, value: *v });
    }
    Ok(())
}

/// Whether every value of a slice is finite, as a [`simd::Kernel`]: a value is not
/// finite exactly when its exponent bits are all ones.
struct AllFinite<'a>(&'a [f64]);

impl simd::Kernel for AllFinite<'_> {
    type Output = bool;

    #[inline(always)]
    fn run(self) -> bool {
        const EXP: u64 = 0x7ff0_0000_0000_0000;
        let mut bad = 0u64;
        for v in self.0 {
            bad |= u64::from(v.to_bits() & EXP == EXP);
        }
        bad == 0
    }
}

/// Number of rows of `x: [n, d]` that contain at least one NaN (failed simulations).
pub fn count_nan_rows(x: ArrayView2<f64>) -> usize {
    x.axis_iter(Axis(0)).filter(|r| r.iter().any(|v| v.is_nan())).count()
}

/// Version of the reference-posterior samplers. Bump it whenever a sampler's
/// draws for a given seed change, so that caches keyed by it (the benchmark
/// sweeps' `references/`) are recomputed.
pub const REFERENCE_SAMPLER_VERSION: u32 = 1;

/// Reference posterior draws with a report on how they were made.
#[derive(Debug, Clone)]
pub struct ReferenceSamples {
    /// The draws, `[n, d_theta]`.
    pub samples: Array2<f64>,
    /// How they were made and how well it went.
    pub report: ReferenceReport,
}

/// Diagnostics of a reference-posterior sampler.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct ReferenceReport {
    /// Method name, e.g. `"analytic"`, `"rejection"`, `"polya-gamma gibbs"`, `"mcmc"`.
    pub method: String,
    /// Acceptance rate of a rejection step, when there is one.
    pub acceptance_rate: Option<f64>,
    /// Largest split-R-hat over parameters, for MCMC samplers.
    pub max_rhat: Option<f64>,
    /// Smallest bulk effective sample size over parameters, for MCMC samplers.
    pub min_ess: Option<f64>,
    /// Number of likelihood (or simulator) evaluations spent.
    pub evaluations: Option<u64>,
    /// Free-form notes (settings, warnings).
    pub notes: Vec<String>,
}

/// A benchmark task: prior, simulator, observations and reference posteriors.
pub trait Task: Send + Sync {
    /// sbibm name, e.g. `"two_moons"`.
    fn name(&self) -> &'static str;

    /// The prior.
    fn prior(&self) -> &dyn Prior;

    /// The simulator.
    fn simulator(&self) -> &dyn Simulator;

    /// Number of parameters.
    fn theta_dim(&self) -> usize {
        self.simulator().theta_dim()
    }

    /// Number of data values.
    fn x_dim(&self) -> usize {
        self.simulator().x_dim()
    }

    /// Number of observations (10 for every sbibm task); they are numbered `1..=n`.
    fn num_observations(&self) -> usize {
        10
    }

    /// Observation `k` (1-based): x_o `[d_x]`.
    fn observation(&self, k: usize) -> Result<Array1<f64>, SimError>;

    /// The parameter that generated observation `k` (1-based): `[d_theta]`.
    fn true_parameters(&self, k: usize) -> Result<Array1<f64>, SimError>;

    /// Name of the reference-posterior method (for `sbi tasks`).
    fn reference_method(&self) -> &'static str;

    /// Draws `n` samples from the reference posterior of observation `k`.
    fn reference_posterior(
        &self,
        k: usize,
        n: usize,
        rng: &mut dyn RngCore,
    ) -> Result<ReferenceSamples, SimError>;

    /// Exact log-likelihood log p(x | θ) of one data set for each row of
    /// theta `[n, d_theta]` → `[n]`, where tractable (`None` otherwise).
    fn log_likelihood(
        &self,
        _theta: ArrayView2<f64>,
        _x: ArrayView1<f64>,
    ) -> Option<Result<Array1<f64>, SimError>> {
        None
    }
}

/// Checks an observation number against `1..=n`.
pub fn check_observation(k: usize, n: usize) -> Result<(), SimError> {
    if k == 0 || k > n {
        return Err(SimError::Observation { k, n });
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use ndarray::ShapeBuilder;
    use std::sync::atomic::AtomicBool;

    /// Makes [`Simulator::simulate`] start its helpers whatever the first chunk took
    /// (tests only; harmless to tests running alongside, since the output does not
    /// depend on it).
    pub(crate) static FORCE_HELPERS: AtomicBool = AtomicBool::new(false);

    /// Calls of [`Simulator::simulate`] that found a lingering worker and shared out
    /// their chunks at once.
    pub(crate) static WARM_CALLS: AtomicUsize = AtomicUsize::new(0);

    fn bits(x: &Array2<f64>) -> Vec<u64> {
        x.iter().map(|v| v.to_bits()).collect()
    }

    /// Over several chunks (and a partial last one), every task's batched
    /// simulation is the documented sequence of `simulate_chunk` calls with
    /// `row_rng(base, c)`, whatever the thread count and the memory layout of θ.
    #[test]
    fn batched_simulation_is_chunked_and_layout_and_thread_independent() {
        let n = 2 * VECTOR_CHUNK + 77;
        for task in all_tasks().unwrap() {
            let sim = task.simulator();
            let theta = task.prior().sample(n, &mut ChaCha8Rng::seed_from_u64(4));
            let a = sim.simulate(theta.view(), &mut ChaCha8Rng::seed_from_u64(8)).unwrap();
            let base = ChaCha8Rng::seed_from_u64(8).next_u64();
            let mut manual = Array2::<f64>::zeros((n, task.x_dim()));
            let rows = sim.chunk_rows();
            assert!(n > 2 * rows, "{}: the test needs several chunks", task.name());
            for (c, (th, out)) in theta
                .axis_chunks_iter(Axis(0), rows)
                .zip(manual.axis_chunks_iter_mut(Axis(0), rows))
                .enumerate()
            {
                sim.simulate_chunk(th, &mut row_rng(base, c as u64), out);
            }
            assert_eq!(bits(&a), bits(&manual), "{}: not the chunked sequence", task.name());
            for (threads, force) in [(1, false), (3, false), (3, true)] {
                FORCE_HELPERS.store(force, std::sync::atomic::Ordering::Relaxed);
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                let b =
                    pool.install(|| sim.simulate(theta.view(), &mut ChaCha8Rng::seed_from_u64(8)).unwrap());
                FORCE_HELPERS.store(false, std::sync::atomic::Ordering::Relaxed);
                assert_eq!(
                    bits(&a),
                    bits(&b),
                    "{}: differs with {threads} threads (helpers forced: {force})",
                    task.name()
                );
            }
            // Column-major θ takes the copying path of `for_each_row`.
            let mut fortran = Array2::<f64>::zeros((n, task.theta_dim()).f());
            fortran.assign(&theta);
            let c = sim.simulate(fortran.view(), &mut ChaCha8Rng::seed_from_u64(8)).unwrap();
            assert_eq!(bits(&a), bits(&c), "{}: depends on the layout of theta", task.name());
        }
    }

    /// `simulate_into` writes `simulate`'s bits into an array of either layout whatever
    /// it held before (NaN, huge values: a simulator that accumulated into its output
    /// instead of overwriting it would show), and takes the same draws from `rng`.
    #[test]
    fn simulate_into_overwrites_any_content_with_the_bits_of_simulate() {
        let n = 2 * VECTOR_CHUNK + 77;
        for task in all_tasks().unwrap() {
            let sim = task.simulator();
            let theta = task.prior().sample(n, &mut ChaCha8Rng::seed_from_u64(4));
            let mut r1 = ChaCha8Rng::seed_from_u64(9);
            let a = sim.simulate(theta.view(), &mut r1).unwrap();
            for (fill, fortran) in [(f64::NAN, false), (1e300, true), (-0.0, false)] {
                let shape = (n, task.x_dim());
                let mut out =
                    if fortran { Array2::from_elem(shape.f(), fill) } else { Array2::from_elem(shape, fill) };
                let mut r2 = ChaCha8Rng::seed_from_u64(9);
                sim.simulate_into(theta.view(), &mut r2, out.view_mut()).unwrap();
                let b = out.as_standard_layout().to_owned();
                assert_eq!(
                    bits(&a),
                    bits(&b),
                    "{}: simulate_into over {fill} (column-major: {fortran})",
                    task.name()
                );
                assert_eq!(r1.clone().next_u64(), r2.next_u64(), "{}: other draws from rng", task.name());
            }
        }
    }

    /// A wrong output shape or a bad θ is an error naming the problem, and the generator
    /// is left as it was.
    #[test]
    fn simulate_into_rejects_a_wrong_output_shape_before_drawing() {
        let task = crate::task_by_name("two_moons").unwrap();
        let sim = task.simulator();
        let theta = task.prior().sample(10, &mut ChaCha8Rng::seed_from_u64(1));
        let fresh = ChaCha8Rng::seed_from_u64(2).next_u64();
        for shape in [(9, 2), (10, 3), (0, 2)] {
            let mut rng = ChaCha8Rng::seed_from_u64(2);
            let mut out = Array2::<f64>::zeros(shape);
            let err = sim.simulate_into(theta.view(), &mut rng, out.view_mut()).unwrap_err();
            let msg = err.to_string();
            assert!(msg.contains(&format!("[{}, {}], expected [10, 2]", shape.0, shape.1)), "{msg}");
            assert_eq!(rng.next_u64(), fresh, "the generator moved on a rejected call");
        }
        let mut bad = theta.clone();
        bad[[3, 1]] = f64::INFINITY;
        let mut out = Array2::<f64>::zeros((10, 2));
        let err =
            sim.simulate_into(bad.view(), &mut ChaCha8Rng::seed_from_u64(2), out.view_mut()).unwrap_err();
        assert!(matches!(err, SimError::NonFinite { row: 3, col: 1, .. }), "{err}");
    }

    /// Back-to-back calls from outside rayon's pool (the test thread): after a call that
    /// used a helper, a worker is kept waiting ([`linger`]) and a later call shares out
    /// its chunks at once, without the timed first chunk. That path is taken within a
    /// few calls when the pool has two or more threads, and every call gives the bits of
    /// a one-thread pool.
    #[test]
    fn calls_that_find_a_lingering_worker_give_the_same_output() {
        let task = crate::task_by_name("two_moons").unwrap();
        let sim = task.simulator();
        // 50 chunks: the projected rest of the call is far above LINGER_THRESHOLD.
        let theta = task.prior().sample(50 * VECTOR_CHUNK + 3, &mut ChaCha8Rng::seed_from_u64(5));
        let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let expected =
            bits(&one.install(|| sim.simulate(theta.view(), &mut ChaCha8Rng::seed_from_u64(6)).unwrap()));
        let before = WARM_CALLS.load(Ordering::Relaxed);
        let start = Instant::now();
        let mut calls = 0;
        while calls < 5
            || (start.elapsed() < Duration::from_secs(10) && WARM_CALLS.load(Ordering::Relaxed) == before)
        {
            let x = sim.simulate(theta.view(), &mut ChaCha8Rng::seed_from_u64(6)).unwrap();
            assert_eq!(bits(&x), expected, "call {calls} from outside the pool differs");
            calls += 1;
        }
        if rayon::current_num_threads() > 1 {
            assert!(
                WARM_CALLS.load(Ordering::Relaxed) > before,
                "no call found a lingering worker in {calls} calls ({:?})",
                start.elapsed()
            );
        }
    }

    /// Records the thread that simulates each chunk (for the test below).
    struct Recorder(std::sync::Mutex<Vec<(std::thread::ThreadId, Option<String>)>>);

    impl Simulator for Recorder {
        fn theta_dim(&self) -> usize {
            1
        }
        fn x_dim(&self) -> usize {
            1
        }
        fn simulate_row(&self, theta: ArrayView1<f64>, _rng: &mut ChaCha8Rng, mut out: ArrayViewMut1<f64>) {
            out[0] = theta[0];
        }
        fn simulate_chunk(&self, theta: ArrayView2<f64>, _rng: &mut ChaCha8Rng, mut out: ArrayViewMut2<f64>) {
            let me = std::thread::current();
            self.0.lock().unwrap().push((me.id(), me.name().map(String::from)));
            // Long enough (about 50 µs a chunk) for a helper to take part.
            let start = Instant::now();
            while start.elapsed() < Duration::from_micros(50) {
                std::hint::spin_loop();
            }
            out.assign(&theta);
        }
    }

    /// A call from outside rayon's pools simulates its chunks on the calling thread and
    /// on the helper pool's threads (`sbi-sim-helper-*`, [`linger::pool`]), never on the
    /// global pool's workers (whose wake-up for each call that pool cost); the helpers
    /// take part within a few calls when the global pool has two or more threads.
    #[test]
    fn calls_from_outside_the_pools_share_chunks_only_with_the_helper_pool() {
        let sim = Recorder(std::sync::Mutex::new(Vec::new()));
        let theta = Array2::from_shape_fn((40 * SIM_CHUNK, 1), |(i, _)| i as f64);
        let caller = std::thread::current().id();
        let start = Instant::now();
        let mut helped = false;
        let mut calls = 0;
        while calls < 3 || (!helped && start.elapsed() < Duration::from_secs(10)) {
            sim.0.lock().unwrap().clear();
            let x = sim.simulate(theta.view(), &mut ChaCha8Rng::seed_from_u64(1)).unwrap();
            assert_eq!(x, theta, "call {calls}: a chunk was lost or misplaced");
            let seen = std::mem::take(&mut *sim.0.lock().unwrap());
            assert_eq!(seen.len(), 40, "call {calls}: every chunk once");
            for (id, name) in seen {
                if id == caller {
                    continue;
                }
                let name = name.unwrap_or_default();
                assert!(name.starts_with("sbi-sim-helper-"), "call {calls}: a chunk ran on thread {name:?}");
                helped = true;
            }
            calls += 1;
        }
        if rayon::current_num_threads() > 1 {
            assert!(helped, "no helper took part in {calls} calls ({:?})", start.elapsed());
        }
    }

    /// The dispatched (AVX2/AVX-512) simulator kernels give the same bits as the
    /// baseline build of the same code, so a seed means the same data on every machine.
    #[test]
    fn vectorised_kernels_match_the_baseline_features_bit_for_bit() {
        use std::sync::atomic::Ordering;
        let n = VECTOR_CHUNK + 301; // odd: the last block has an unpaired row
        for name in ["two_moons", "gaussian_mixture", "slcp", "gaussian_linear", "gaussian_linear_uniform"] {
            let task = task_by_name(name).unwrap();
            let theta = task.prior().sample(n, &mut ChaCha8Rng::seed_from_u64(2));
            let fast = task.simulator().simulate(theta.view(), &mut ChaCha8Rng::seed_from_u64(3)).unwrap();
            simd::tests::BASELINE.store(true, Ordering::Relaxed);
            let base = task.simulator().simulate(theta.view(), &mut ChaCha8Rng::seed_from_u64(3));
            simd::tests::BASELINE.store(false, Ordering::Relaxed);
            assert_eq!(bits(&fast), bits(&base.unwrap()), "{name}: feature levels differ");
        }
        // The finiteness check too.
        let mut a = Array2::<f64>::zeros((40, 3));
        a[(33, 1)] = f64::NEG_INFINITY;
        assert!(check_matrix(a.view(), 3, "theta").is_err());
        simd::tests::BASELINE.store(true, Ordering::Relaxed);
        let base = check_matrix(a.view(), 3, "theta");
        simd::tests::BASELINE.store(false, Ordering::Relaxed);
        assert!(matches!(base, Err(SimError::NonFinite { row: 33, col: 1, .. })));
    }

    #[test]
    fn check_matrix_names_the_first_bad_entry() {
        let mut a = Array2::<f64>::zeros((3, 2));
        assert!(check_matrix(a.view(), 2, "theta").is_ok());
        a[(1, 0)] = f64::INFINITY;
        a[(2, 1)] = f64::NAN;
        match check_matrix(a.view(), 2, "theta") {
            Err(SimError::NonFinite { row: 1, col: 0, .. }) => {}
            other => panic!("unexpected {other:?}"),
        }
        match check_matrix(a.t(), 3, "theta") {
            Err(SimError::NonFinite { row: 0, col: 1, .. }) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}
