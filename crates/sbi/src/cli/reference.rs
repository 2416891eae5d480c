//! `sbi reference`: reference posterior samples of one observation.

use super::{check_count, load_task, reserve, spinner};
use anyhow::{Context, Result};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sbi::io::{check_writable, default_header, write_matrix};
use sbi::sim::{ReferenceReport, check_matrix};
use std::path::PathBuf;
use std::time::Instant;

/// Arguments of `sbi reference`.
#[derive(clap::Args)]
pub struct Args {
    /// Task name (see `sbi tasks`).
    #[arg(long)]
    task: String,
    /// Observation number, 1..=10.
    #[arg(long, value_name = "K", allow_negative_numbers = true)]
    observation: usize,
    /// Number of posterior draws.
    #[arg(long, value_name = "N", default_value_t = 10_000, allow_negative_numbers = true)]
    num_samples: usize,
    /// Seed of the random generator.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output file: columns parameter_1..parameter_d (`.npy` for NumPy).
    #[arg(long, value_name = "FILE")]
    output: PathBuf,
}

/// Samples the task's reference posterior and writes `[num_samples, d_theta]`;
/// prints the sampler's report on stderr.
pub fn run(args: Args) -> Result<()> {
    let task = load_task(&args.task)?;
    task.observation(args.observation)?;
    check_count(args.num_samples, "--num-samples")?;
    // The sampler holds at least the draws; refuse sizes that cannot be allocated.
    drop(reserve(args.num_samples, task.theta_dim(), "the reference samples")?);
    check_writable(&args.output)?;

    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let pb = spinner(format!(
        "sampling the reference posterior of {}, observation {} ({} draws)",
        task.name(),
        args.observation,
        args.num_samples
    ));
    let start = Instant::now();
    let result = task.reference_posterior(args.observation, args.num_samples, &mut rng);
    let seconds = start.elapsed().as_secs_f64();
    pb.finish_and_clear();
    let reference = result.with_context(|| {
        format!("reference posterior of {}, observation {} failed", task.name(), args.observation)
    })?;
    check_matrix(reference.samples.view(), task.theta_dim(), "reference samples")
        .context("the reference sampler returned invalid samples")?;

    eprintln!(
        "reference posterior of {}, observation {}: {} draws",
        task.name(),
        args.observation,
        reference.samples.nrows()
    );
    eprint!("{}", format_report(&reference.report, seconds));
    write_matrix(&args.output, &default_header("parameter", task.theta_dim()), reference.samples.view())?;
    eprintln!("wrote {}", args.output.display());
    Ok(())
}

/// The report as indented `key: value` lines (`-` where not applicable).
fn format_report(r: &ReferenceReport, seconds: f64) -> String {
    let opt = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:.4}"));
    let mut s = format!("  method:          {}\n", r.method);
    s += &format!("  acceptance rate: {}\n", opt(r.acceptance_rate));
    s += &format!("  max R-hat:       {}\n", opt(r.max_rhat));
    s +=
        &format!("  min ESS:         {}\n", r.min_ess.map_or_else(|| "-".to_string(), |v| format!("{v:.0}")));
    s +=
        &format!("  evaluations:     {}\n", r.evaluations.map_or_else(|| "-".to_string(), |v| v.to_string()));
    s += &format!("  seconds:         {seconds:.2}\n");
    for note in &r.notes {
        s += &format!("  note: {note}\n");
    }
    s
}
