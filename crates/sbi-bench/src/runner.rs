//! Running a sweep: each pending run simulates, trains, samples, computes the
//! metrics against the cached reference and is appended to the store. Runs of
//! a method that is not sequential that differ only in the observation train
//! the same model (the training ignores the observation), so it is trained
//! once, kept in the store (`models/`), and sampled at each observation.

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use ndarray::Array2;
use sbi_metrics::{C2stConfig, MmdKernel, c2st, mmd};
use sbi_train::{Progress, RunSpec, Timings, Trained};
use serde_json::json;

use crate::reference::{ReferenceCache, ReferenceInfo};
use crate::store::{Failure, Store, write_atomic};
use crate::sweep::{PlannedRun, RunKey, Sweep};
use crate::{BenchError, Environment, Metrics, RunRecord, STORE_VERSION, StageTimes};

/// How to run a sweep.
#[derive(Clone, Debug)]
pub struct SweepOptions {
    /// The results store directory.
    pub output: PathBuf,
    /// Runs executed at the same time (≥ 1). Above 1 the runs compete for the
    /// cores, so training times are not comparable: use 1 for timing sweeps.
    pub jobs: usize,
    /// Stop at the first failed run instead of logging it and going on.
    pub fail_fast: bool,
}

/// What happens during a sweep, for progress display.
#[derive(Debug)]
pub enum Event<'a> {
    /// The plan: runs in the sweep, already finished, to run now.
    Planned {
        /// Runs in the sweep.
        total: usize,
        /// Runs found finished in the store (skipped).
        finished: usize,
        /// Runs to execute.
        pending: usize,
        /// Bytes of a torn last line removed when opening the store.
        repaired_bytes: u64,
    },
    /// A run started.
    Started(&'a RunKey),
    /// A stage message from inside a run (simulating, training, epochs, ...).
    Progress(&'a RunKey, &'a Progress),
    /// A reference posterior became available.
    Reference(&'a ReferenceInfo),
    /// A run finished and was stored.
    Finished(&'a RunRecord),
    /// A run failed (logged in `failures.jsonl`).
    Failed(&'a RunKey, &'a str),
}

/// What a sweep did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SweepSummary {
    /// Runs in the sweep.
    pub total: usize,
    /// Runs skipped because the store had them.
    pub skipped: usize,
    /// Runs finished now.
    pub finished: usize,
    /// Runs that failed now.
    pub failed: usize,
}

fn now_unix() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Runs every run of `sweep` not yet in the store at `options.output`.
///
/// Each finished run is appended to the store at once, so an interruption
/// loses only the runs in progress and a rerun continues where it stopped.
/// A failing run is logged (and reported through `on_event`) and the sweep goes
/// on, unless `fail_fast`. Errors of the store itself (unreadable, full disk)
/// stop the sweep.
pub fn run_sweep(
    sweep: &Sweep,
    options: &SweepOptions,
    on_event: &(dyn Fn(&Event) + Sync),
) -> Result<SweepSummary, BenchError> {
    if options.jobs == 0 {
        return Err(BenchError::Sweep {
            source_name: sweep.name.clone(),
            line: None,
            reason: "--jobs must be at least 1".into(),
        });
    }
    let plan = sweep.plan()?;
    let store = Store::open(&options.output)?;
    let done = store.finished()?;
    let pending: Vec<&PlannedRun> = plan.iter().filter(|r| !done.contains(&r.key)).collect();
    let groups = group_by_model(&pending);
    let summary = Mutex::new(SweepSummary {
        total: plan.len(),
        skipped: plan.len() - pending.len(),
        ..Default::default()
    });
    on_event(&Event::Planned {
        total: plan.len(),
        finished: plan.len() - pending.len(),
        pending: pending.len(),
        repaired_bytes: store.repaired_bytes,
    });
    let references = ReferenceCache::new(&options.output.join("references"));
    let env = Environment::detect(options.jobs);
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let fatal: Mutex<Option<BenchError>> = Mutex::new(None);

    let worker = || {
        while !stop.load(Ordering::SeqCst) {
            let i = next.fetch_add(1, Ordering::SeqCst);
            let Some(group) = groups.get(i) else { break };
            let mut shared = None;
            for run in group {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                on_event(&Event::Started(&run.key));
                let result = execute(sweep, run, &store, &references, &env, &mut shared, on_event);
                match result {
                    Ok(record) => match store.append(&record) {
                        Ok(()) => {
                            summary.lock().unwrap_or_else(|e| e.into_inner()).finished += 1;
                            on_event(&Event::Finished(&record));
                        }
                        Err(e) => {
                            stop.store(true, Ordering::SeqCst);
                            fatal.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(e);
                        }
                    },
                    Err(e) => {
                        let message = e.to_string();
                        let is_store_error = matches!(e, BenchError::Io { .. });
                        summary.lock().unwrap_or_else(|e| e.into_inner()).failed += 1;
                        on_event(&Event::Failed(&run.key, &message));
                        let logged = store.append_failure(&Failure {
                            key: run.key.clone(),
                            error: message,
                            finished_unix: now_unix(),
                        });
                        if options.fail_fast || is_store_error || logged.is_err() {
                            stop.store(true, Ordering::SeqCst);
                            let err = logged.err().unwrap_or(e);
                            fatal.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(err);
                        }
                    }
                }
            }
        }
    };
    std::thread::scope(|s| {
        for _ in 1..options.jobs.min(groups.len().max(1)) {
            // Burn's autodiff graphs can be deep: give workers the main thread's stack size.
            std::thread::Builder::new()
                .stack_size(8 << 20)
                .spawn_scoped(s, worker)
                .expect("spawning a sweep worker");
        }
        worker();
    });
    if let Some(e) = fatal.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(e);
    }
    Ok(summary.into_inner().unwrap_or_else(|e| e.into_inner()))
}

/// The pending runs in groups that share a trained model, in plan order of
/// each group's first run: the runs of a method that is not sequential that
/// differ only in the observation form one group; every other run is alone.
fn group_by_model<'a>(pending: &[&'a PlannedRun]) -> Vec<Vec<&'a PlannedRun>> {
    let mut groups: Vec<Vec<&PlannedRun>> = Vec::new();
    for &run in pending {
        match groups.iter_mut().find(|g| g[0].key.shares_model_with(&run.key)) {
            Some(g) => g.push(run),
            None => groups.push(vec![run]),
        }
    }
    groups
}

/// The model of the group a worker is running: trained (or loaded) by the
/// group's first run and reused by the others.
struct Shared {
    /// The run that obtained it.
    key: RunKey,
    /// The model, or the error that training it gave.
    trained: Result<Trained, String>,
    /// The observation whose run trained it (another one when it was loaded
    /// from the store's model file).
    trained_at: usize,
}

/// The model for `run`: loaded from the store's model file when the store
/// already holds a run of the same model (an interrupted sweep), else trained
/// and, for a method that is not sequential, written to that file so that a
/// rerun need not train it again. Returns the observation whose run trained it.
fn obtain(
    store: &Store,
    run: &PlannedRun,
    spec: &RunSpec,
    progress: &mut dyn FnMut(&Progress),
) -> Result<(Trained, usize), BenchError> {
    let key = &run.key;
    if key.method.is_sequential() {
        return Ok((sbi_train::train(spec, progress)?, key.observation));
    }
    let path = store.model_path(key);
    if path.exists() {
        let records = store.records()?;
        if let Some(earlier) = records.iter().find(|r| r.key.shares_model_with(key)) {
            progress(&Progress::Stage(format!("loading the trained model {}", path.display())));
            let device = spec.device.device().map_err(sbi_train::TrainError::from)?;
            let posterior = sbi_train::load_posterior(&path, &device)?;
            let meta = posterior.meta();
            let (report, config) =
                (meta.report.clone(), json!({ "model": meta.model_config, "train": meta.train_config }));
            let trained = Trained {
                posterior,
                timings: Timings {
                    simulate_s: earlier.timings.simulate_s,
                    train_s: earlier.timings.train_s,
                    sample_s: 0.0,
                },
                dropped: earlier.dropped,
                report,
                config,
            };
            return Ok((trained, earlier.model_from_observation.unwrap_or(earlier.key.observation)));
        }
    }
    let trained = sbi_train::train(spec, progress)?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| BenchError::io("creating", dir, e))?;
    }
    trained.posterior.save(&path)?;
    Ok((trained, key.observation))
}

/// One run: train (or reuse the group's model), sample, write the draws,
/// compute the metrics.
fn execute(
    sweep: &Sweep,
    run: &PlannedRun,
    store: &Store,
    references: &ReferenceCache,
    env: &Environment,
    shared: &mut Option<Shared>,
    on_event: &(dyn Fn(&Event) + Sync),
) -> Result<RunRecord, BenchError> {
    let key = &run.key;
    let spec = RunSpec {
        task: key.task.clone(),
        method: key.method,
        budget: key.budget,
        seed: key.seed,
        observation: key.observation,
        num_samples: sweep.num_samples,
        device: sweep.device,
        settings: run.settings.clone(),
        sample: sweep.sample.clone(),
    };
    let progress = &mut |p: &Progress| on_event(&Event::Progress(key, p));
    if !matches!(shared, Some(sh) if sh.key.shares_model_with(key)) {
        let (trained, trained_at, failed) = match obtain(store, run, &spec, progress) {
            Ok((t, at)) => (Ok(t), at, None),
            Err(e) => (Err(e.to_string()), key.observation, Some(e)),
        };
        *shared = Some(Shared { key: key.clone(), trained, trained_at });
        if let Some(e) = failed {
            return Err(e);
        }
    }
    let sh = shared.as_ref().expect("set above");
    let trained = sh.trained.as_ref().map_err(|reason| BenchError::SharedTraining {
        observation: sh.trained_at,
        reason: reason.clone(),
    })?;
    // Pending runs are not in the store, so only the run that trained the model has its observation.
    let model_from_observation = (sh.trained_at != key.observation).then_some(sh.trained_at);
    let (draws, sample_s) = sbi_train::draw(&spec, trained, progress)?;
    let samples = &draws.samples;
    let (path, rel) = store.samples_path(key);
    write_samples(&path, samples)?;
    let reference =
        references.get(&key.task, key.observation, sweep.num_samples, &|i| on_event(&Event::Reference(i)))?;
    let start = Instant::now();
    let (r, s) = (reference.view(), samples.view());
    let metrics = Metrics {
        c2st: c2st(r, s, &C2stConfig::default())?,
        mmd_sbibm: mmd(r, s, MmdKernel::Sbibm)?,
        mmd_bayesflow: mmd(r, s, MmdKernel::BayesflowGaussian)?,
        mmd_bayesflow_imq: mmd(r, s, MmdKernel::BayesflowImq)?,
    };
    let metrics_s = start.elapsed().as_secs_f64();
    Ok(RunRecord {
        version: STORE_VERSION,
        key: key.clone(),
        sweep: sweep.name.clone(),
        metrics,
        timings: StageTimes {
            simulate_s: trained.timings.simulate_s,
            train_s: trained.timings.train_s,
            sample_s,
            metrics_s,
        },
        acceptance_rate: draws.acceptance_rate(),
        dropped: trained.dropped,
        epochs: trained.report.as_ref().map(|r| r.epochs),
        model_from_observation,
        samples_file: rel,
        config: run.config.clone(),
        environment: env.clone(),
        finished_unix: now_unix(),
    })
}

fn write_samples(path: &std::path::Path, samples: &Array2<f64>) -> Result<(), BenchError> {
    let mut bytes = Vec::new();
    ndarray_npy::WriteNpyExt::write_npy(&samples.mapv(|v| v as f32), &mut bytes)
        .map_err(|e| BenchError::io("encoding", path, std::io::Error::other(e.to_string())))?;
    write_atomic(path, &bytes)
}
