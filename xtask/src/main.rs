//! Project automation. `cargo xtask ci` runs what CI runs (`.ci/run`);
//! `cargo xtask bench` runs a benchmark sweep (lands with the sweep issue).

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use std::process::Command;

#[derive(Parser)]
#[command(name = "xtask", about = "Project automation")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Runs the CI checks: tests, clippy (-D warnings) and rustfmt --check.
    Ci,
    /// Runs a benchmark sweep (not available yet).
    Bench,
}

fn run(args: &[&str]) -> Result<()> {
    eprintln!("$ cargo {}", args.join(" "));
    let status = Command::new(env!("CARGO")).args(args).status().context("failed to start cargo")?;
    if !status.success() {
        bail!("`cargo {}` failed with {status}", args.join(" "));
    }
    Ok(())
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Cmd::Ci => {
            run(&["test", "--workspace"])?;
            run(&["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"])?;
            run(&["fmt", "--all", "--check"])?;
            Ok(())
        }
        Cmd::Bench => bail!(
            "the benchmark sweep is not implemented yet; until it lands use `cargo run --release -p sbi -- reference --task two_moons --observation 1 --output ref.csv`"
        ),
    }
}
