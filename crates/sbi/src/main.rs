//! The `sbi` command-line tool: benchmark tasks, simulation, reference
//! posteriors, two-sample metrics, training and sampling neural estimators, and
//! benchmark sweeps with their reports.
//! See `docs/cli.md`.

mod cli;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

/// Simulation-based inference from the command line.
#[derive(Parser)]
#[command(name = "sbi", version, propagate_version = true)]
struct Cli {
    /// Number of worker threads for parallel work (default, or 0: all cores).
    #[arg(long, global = true, value_name = "N")]
    threads: Option<usize>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Lists the benchmark tasks: names, dimensions, prior, reference method.
    Tasks,
    /// Draws parameters from the prior (or reads them) and simulates data.
    Simulate(cli::simulate::Args),
    /// Prints an observation x_o of a task and the parameters that generated it.
    Observation(cli::observation::Args),
    /// Samples the reference posterior of a task's observation.
    Reference(cli::reference::Args),
    /// Classifier two-sample test (C2ST) between two sample files.
    C2st(cli::c2st::Args),
    /// Maximum mean discrepancy (MMD) between two sample files.
    Mmd(cli::mmd::Args),
    /// Simulates a budget, trains a neural estimator and saves the model.
    Train(cli::train::TrainArgs),
    /// Draws posterior samples from a saved model.
    Sample(cli::train::SampleArgs),
    /// Simulate, train, sample, and compare with the reference posterior (C2ST, MMD).
    Run(cli::train::RunArgs),
    /// Runs a benchmark sweep (tasks × methods × budgets × seeds × observations) and writes its report.
    Bench(cli::bench::BenchArgs),
    /// Regenerates the report (Markdown, CSV, figures) of a results directory of `sbi bench`.
    Report(cli::bench::ReportArgs),
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    if let Some(n) = cli.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .with_context(|| format!("cannot start a pool of {n} threads"))?;
    }
    match cli.command {
        Command::Tasks => cli::tasks::run(),
        Command::Simulate(args) => cli::simulate::run(args),
        Command::Observation(args) => cli::observation::run(args),
        Command::Reference(args) => cli::reference::run(args),
        Command::C2st(args) => cli::c2st::run(args),
        Command::Mmd(args) => cli::mmd::run(args),
        Command::Train(args) => cli::train::train(args),
        Command::Sample(args) => cli::train::sample_cmd(args),
        Command::Run(args) => cli::train::run_cmd(args),
        Command::Bench(args) => cli::bench::bench(args),
        Command::Report(args) => cli::bench::report(args),
    }
}
