//! The `sbi` command-line tool.

use anyhow::Result;
use clap::{Parser, Subcommand};
use sbi::sim::{TASK_NAMES, task_by_name};

/// Simulation-based inference from the command line.
#[derive(Parser)]
#[command(name = "sbi", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Lists the benchmark tasks: names, dimensions, prior, reference method.
    Tasks,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Tasks => {
            println!("{:<24} {:>7} {:>5}  {:<28} reference", "task", "d_theta", "d_x", "prior");
            for name in TASK_NAMES {
                match task_by_name(name) {
                    Ok(t) => println!(
                        "{:<24} {:>7} {:>5}  {:<28} {}",
                        t.name(),
                        t.theta_dim(),
                        t.x_dim(),
                        t.prior().describe(),
                        t.reference_method()
                    ),
                    Err(e) => println!("{name:<24} (unavailable: {e})"),
                }
            }
        }
    }
    Ok(())
}
