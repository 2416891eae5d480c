//! The `sbi` command-line tool: benchmark tasks, simulation, reference
//! posteriors, two-sample metrics, training and sampling neural estimators, and
//! benchmark sweeps with their reports.
//! See `docs/cli.md`.

mod cli;

use std::process::ExitCode;

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

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}", report(&e));
            ExitCode::FAILURE
        }
    }
}

/// What a failed command prints: `Error: …` and its causes, one per line. These are
/// the user's errors (a bad argument, a missing file), not the program's, so no
/// backtrace is printed whatever `RUST_BACKTRACE` says (anyhow's default `main`
/// prints one when it is set), and a cause whose text the message above it already
/// holds (an I/O error quoted in its context) is not repeated.
fn report(e: &anyhow::Error) -> String {
    let mut out = format!("Error: {e}");
    let mut above = e.to_string();
    let mut causes = Vec::new();
    for cause in e.chain().skip(1) {
        let text = cause.to_string();
        if !above.contains(&text) {
            causes.push(format!("    {text}"));
        }
        above = text;
    }
    if !causes.is_empty() {
        out.push_str("\n\nCaused by:\n");
        out.push_str(&causes.join("\n"));
    }
    out
}

fn run(cli: Cli) -> Result<()> {
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

#[cfg(test)]
mod tests {
    use super::report;

    #[test]
    fn errors_print_their_causes_once_and_no_backtrace() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory");
        // The context quotes the cause: printed once.
        let quoted = anyhow::Error::new(io).context("f.toml: No such file or directory");
        assert_eq!(report(&quoted), "Error: f.toml: No such file or directory");
        // A cause the message does not hold is listed.
        let chained = anyhow::anyhow!("xo.csv: 1 non-finite value").context("cannot read the observation");
        assert_eq!(
            report(&chained),
            "Error: cannot read the observation\n\nCaused by:\n    xo.csv: 1 non-finite value"
        );
    }
}
