//! # sbi-bench
//!
//! Benchmark sweeps and the reports that reproduce the CP-VAE/UP-VAE paper's
//! tables (`cargo xtask bench`, `sbi bench`, `sbi report`; guide: `docs/bench.md`).
//!
//! * [`Sweep`]: tasks × methods × budgets × seeds × observations on one device,
//!   from TOML (`benchmarks/sweeps/*.toml`, built in: `quick`, `paper`, `sbibm`)
//!   with command-line [`Overrides`];
//! * [`run_sweep`]: simulate, train, draw 10,000 samples and compute C2ST and
//!   the sbibm and BayesFlow MMDs against the task's reference posterior
//!   (computed once and cached on disk: [`ReferenceCache`]); each finished run
//!   is appended at once to the results [`Store`] (JSON lines), so an
//!   interrupted sweep loses nothing and a rerun skips finished runs;
//! * [`write_report`]: `report.md` with the paper's tables (mean ± std over
//!   seeds, the paper's numbers and the difference), `results.csv`,
//!   `summary.csv` and figures (posterior pair plots, C2ST against budget) as
//!   PNG and SVG, regenerated from the store without rerunning anything.
//!
//! Builds on every other layer (`sbi-sim`, `sbi-nn`, `sbi-train`, `sbi-metrics`).

mod error;
mod record;
pub mod reference;
pub mod report;
mod runner;
pub mod store;
pub mod sweep;

pub use error::BenchError;
pub use record::{BURN_VERSION, Environment, Metrics, RunRecord, STORE_VERSION, StageTimes};
pub use reference::ReferenceCache;
pub use report::{ReportFiles, write_report};
pub use runner::{Event, SweepOptions, SweepSummary, run_sweep};
pub use store::Store;
pub use sweep::{Overrides, PlannedRun, RunKey, Sweep};

/// The most used items.
pub mod prelude {
    pub use crate::{BenchError, Overrides, Sweep, SweepOptions, run_sweep, write_report};
}
