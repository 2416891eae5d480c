//! `sbi observation`: prints x_o and the true parameters of one observation.

use super::{join_values, load_task};
use anyhow::Result;

/// Arguments of `sbi observation`.
#[derive(clap::Args)]
pub struct Args {
    /// Task name (see `sbi tasks`).
    #[arg(long)]
    task: String,
    /// Observation number, 1..=10.
    #[arg(long, value_name = "K", allow_negative_numbers = true)]
    observation: usize,
}

/// Prints four labelled lines: `task:`, `observation:`, `x_o:` and
/// `theta_true:` (values comma-separated, full precision).
pub fn run(args: Args) -> Result<()> {
    let task = load_task(&args.task)?;
    let x_o = task.observation(args.observation)?;
    let theta = task.true_parameters(args.observation)?;
    println!("task: {}", task.name());
    println!("observation: {}", args.observation);
    println!("x_o: {}", join_values(&x_o));
    println!("theta_true: {}", join_values(&theta));
    Ok(())
}
