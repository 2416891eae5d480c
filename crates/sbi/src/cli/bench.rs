//! `sbi bench`: run a benchmark sweep into a results store and write its
//! report; `sbi report`: regenerate the report of a store. See `docs/bench.md`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sbi::bench::{Event, Overrides, Sweep, SweepOptions, run_sweep, write_report};
use sbi::train::Progress;

/// Arguments of `sbi bench`.
#[derive(clap::Args)]
pub struct BenchArgs {
    /// A built-in sweep (`quick`, `paper`, `sbibm`) or a sweep TOML file.
    #[arg(long, default_value = "quick", value_name = "NAME|FILE")]
    sweep: String,
    /// Results directory (store, references, report); default `bench-results/<sweep name>`.
    #[arg(long, value_name = "DIR")]
    output: Option<PathBuf>,
    /// Device for every run (`cpu`/`flex`, `ndarray`, `wgpu`, `cuda`); overrides the sweep's.
    #[arg(long, value_name = "D")]
    device: Option<String>,
    /// Runs at the same time. Above 1 they compete for the cores: not for timing sweeps.
    #[arg(long, default_value_t = 1, value_name = "N")]
    jobs: usize,
    /// Replace the sweep's tasks (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "T,..")]
    tasks: Option<Vec<String>>,
    /// Replace the sweep's methods (comma-separated; `all` = every implemented method).
    #[arg(long, value_delimiter = ',', value_name = "M,..")]
    methods: Option<Vec<String>>,
    /// Replace the sweep's budgets (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "N,..")]
    budgets: Option<Vec<usize>>,
    /// Replace the sweep's seeds (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "S,..")]
    seeds: Option<Vec<u64>>,
    /// Replace the sweep's observations (comma-separated, 1..=10).
    #[arg(long, value_delimiter = ',', value_name = "K,..")]
    observations: Option<Vec<usize>>,
    /// Posterior (and reference) draws per run.
    #[arg(long, value_name = "N")]
    num_samples: Option<usize>,
    /// Stop at the first failed run (default: log it and go on).
    #[arg(long)]
    fail_fast: bool,
    /// Print the runs the sweep would execute and exit.
    #[arg(long)]
    dry_run: bool,
    /// Do not write the report at the end.
    #[arg(long)]
    no_report: bool,
}

/// Arguments of `sbi report`.
#[derive(clap::Args)]
pub struct ReportArgs {
    /// Results directory written by `sbi bench`.
    dir: PathBuf,
}

/// Prints a line above the bar, or plainly on stderr when the bar is hidden
/// (stderr not a terminal: logs, CI).
fn say(bar: &ProgressBar, line: String) {
    if bar.is_hidden() { eprintln!("{line}") } else { bar.println(line) }
}

fn short(key: &sbi::bench::RunKey) -> String {
    format!("{} {} n={} seed={} obs={}", key.task, key.method, key.budget, key.seed, key.observation)
}

/// Runs a sweep, then writes its report.
pub fn bench(args: BenchArgs) -> Result<()> {
    let overrides = Overrides {
        tasks: args.tasks,
        methods: args.methods,
        budgets: args.budgets,
        seeds: args.seeds,
        observations: args.observations,
        num_samples: args.num_samples,
        device: args.device,
    };
    let sweep = Sweep::load(&args.sweep)?.with_overrides(&overrides)?;
    let output = args.output.unwrap_or_else(|| PathBuf::from("bench-results").join(&sweep.name));
    if args.dry_run {
        let plan = sweep.plan()?;
        for run in &plan {
            println!("{} (config {})", short(&run.key), run.key.config_hash);
        }
        println!("{} runs; store: {}", plan.len(), output.display());
        return Ok(());
    }
    if sweep.device.name() != "flex" || args.jobs > 1 {
        eprintln!("device {}, {} parallel job(s)", sweep.device.name(), args.jobs);
    }
    // Fail before the first run when the device is not compiled in or absent.
    sweep.device.device().context("the sweep's device is unavailable")?;
    eprintln!("sweep '{}' into {}", sweep.name, output.display());
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{elapsed_precise}] {wide_bar} {pos}/{len} (eta {eta}) {msg}")
            .expect("constant template is valid"),
    );
    bar.set_prefix("runs");
    let on_event = |e: &Event| match e {
        Event::Planned { total, finished, pending, repaired_bytes } => {
            if *repaired_bytes > 0 {
                say(
                    &bar,
                    format!(
                        "repaired the store: cut {repaired_bytes} bytes of a run interrupted while being written"
                    ),
                );
            }
            say(&bar, format!("{total} runs: {finished} already in the store, {pending} to run"));
            bar.set_length(*pending as u64);
        }
        Event::Started(key) => {
            bar.set_message(short(key));
        }
        Event::Progress(key, p) => {
            let msg = match p {
                Progress::Stage(s) => format!("{}: {s}", short(key)),
                Progress::Epoch(e) => format!(
                    "{}: epoch {} train {:.3} val {}",
                    short(key),
                    e.epoch,
                    e.train_loss,
                    e.val_loss.map_or_else(|| "-".to_string(), |v| format!("{v:.3}"))
                ),
            };
            bar.set_message(msg);
        }
        Event::Reference(info) => say(
            &bar,
            format!(
                "reference posterior {} observation {}: {} in {:.1} s",
                info.task,
                info.observation,
                if info.cached { "read from the cache" } else { "sampled" },
                info.seconds
            ),
        ),
        Event::Finished(r) => {
            bar.inc(1);
            say(
                &bar,
                format!(
                    "{}: C2ST {:.3}  MMD {:.4} (sbibm) {:.4} (BayesFlow)  train {:.2} s  simulate {:.2} s",
                    short(&r.key),
                    r.metrics.c2st,
                    r.metrics.mmd_sbibm,
                    r.metrics.mmd_bayesflow,
                    r.timings.train_s,
                    r.timings.simulate_s
                ),
            );
        }
        Event::Failed(key, error) => {
            bar.inc(1);
            say(&bar, format!("{}: FAILED: {error}", short(key)));
        }
    };
    let options = SweepOptions { output: output.clone(), jobs: args.jobs, fail_fast: args.fail_fast };
    let result = run_sweep(&sweep, &options, &on_event);
    bar.finish_and_clear();
    let summary = result?;
    eprintln!(
        "sweep '{}': {} runs, {} skipped (already stored), {} finished, {} failed",
        sweep.name, summary.total, summary.skipped, summary.finished, summary.failed
    );
    if !args.no_report {
        let files = write_report(&output)?;
        for e in &files.figure_errors {
            eprintln!("warning: {e}");
        }
        println!("report: {} ({} runs)", files.markdown.display(), files.runs);
    }
    if summary.failed > 0 {
        anyhow::bail!("{} run(s) failed; see {}/failures.jsonl", summary.failed, output.display());
    }
    Ok(())
}

/// Regenerates the report of a results directory.
pub fn report(args: ReportArgs) -> Result<()> {
    if !args.dir.join("store.json").exists() {
        anyhow::bail!("{} is not a results directory of `sbi bench` (no store.json)", args.dir.display());
    }
    let files = write_report(&args.dir)?;
    for e in &files.figure_errors {
        eprintln!("warning: {e}");
    }
    eprintln!(
        "{} runs; wrote {}, {}, {} and {} figure files",
        files.runs,
        files.markdown.display(),
        files.results_csv.display(),
        files.summary_csv.display(),
        files.figures.len()
    );
    println!("{}", files.markdown.display());
    Ok(())
}
