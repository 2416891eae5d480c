//! `sbi simulate`: parameters from the prior (or a file) and simulated data.

use super::{check_count, load_task, progress_bar, try_zeros};
use anyhow::{Context, Result, bail};
use ndarray::{Array2, ArrayView2, Axis, Slice};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sbi::io::{check_writable, default_header, read_matrix, write_matrix};
use sbi::sim::{Task, count_nan_rows};
use std::path::PathBuf;
use std::time::Instant;

/// Rows simulated per chunk (between progress-bar updates). Fixed: the output
/// for a seed depends on it, since each chunk draws from the one generator in turn.
pub const CHUNK: usize = 10_000;

/// Arguments of `sbi simulate`.
#[derive(clap::Args)]
pub struct Args {
    /// Task name (see `sbi tasks`).
    #[arg(long)]
    task: String,
    /// Number of simulations (parameters drawn from the prior).
    #[arg(long, value_name = "N", allow_negative_numbers = true, required_unless_present = "theta")]
    num: Option<usize>,
    /// Simulate at the parameters in this file (CSV/.csv.bz2/.npy, one row per
    /// simulation) instead of drawing them from the prior.
    #[arg(long, value_name = "FILE", conflicts_with = "num")]
    theta: Option<PathBuf>,
    /// Seed of the random generator.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output file: columns parameter_1..parameter_d, data_1..data_k (`.npy` for NumPy).
    #[arg(long, value_name = "FILE")]
    output: PathBuf,
}

/// Simulates and writes `[n, d_theta + d_x]`; reports failed (NaN) rows on stderr.
pub fn run(args: Args) -> Result<()> {
    let task = load_task(&args.task)?;
    let given = match &args.theta {
        Some(path) => Some(read_theta(task.as_ref(), path)?),
        None => None,
    };
    let n = match (&given, args.num) {
        (Some(theta), _) => theta.nrows(),
        (None, Some(n)) => n,
        (None, None) => bail!("give --num N (or --theta FILE)"),
    };
    check_count(n, "--num")?;
    check_writable(&args.output)?;

    let start = Instant::now();
    let table = simulate(task.as_ref(), n, given.as_ref().map(|t| t.view()), args.seed)?;
    let (d, k) = (task.theta_dim(), task.x_dim());
    let failed = count_nan_rows(table.slice_axis(Axis(1), Slice::from(d..)));
    eprintln!(
        "simulated {n} rows of task {} in {:.2} s; failed simulations (NaN rows): {failed}",
        task.name(),
        start.elapsed().as_secs_f64()
    );
    if failed > 0 {
        eprintln!("warning: {failed} of {n} simulations failed; their data columns are NaN");
    }
    let mut header = default_header("parameter", d);
    header.extend(default_header("data", k));
    write_matrix(&args.output, &header, table.view())?;
    eprintln!("wrote {} ({n} rows, {} columns)", args.output.display(), d + k);
    Ok(())
}

/// Reads and validates parameters for `--theta`: the task's width, finite values.
fn read_theta(task: &dyn Task, path: &std::path::Path) -> Result<Array2<f64>> {
    let t = read_matrix(path).with_context(|| format!("cannot read parameters from {}", path.display()))?;
    let d = task.theta_dim();
    if t.data.ncols() != d {
        bail!(
            "{} has {} columns, but task {} has {d} parameters (theta must be [n, {d}])",
            path.display(),
            t.data.ncols(),
            task.name()
        );
    }
    let outside = t.data.axis_iter(Axis(0)).filter(|r| !task.prior().in_support(*r)).count();
    if outside > 0 {
        eprintln!("warning: {outside} parameter rows lie outside the prior's support");
    }
    Ok(t.data)
}

/// Simulates `n` rows in chunks of [`CHUNK`], drawing everything from one
/// ChaCha8 generator seeded with `seed`, used sequentially: per chunk, the
/// prior draws (unless `theta` is given) and then the simulation. Returns
/// `[n, d_theta + d_x]`. Deterministic for a seed, whatever the thread count.
pub fn simulate(task: &dyn Task, n: usize, theta: Option<ArrayView2<f64>>, seed: u64) -> Result<Array2<f64>> {
    let (d, k) = (task.theta_dim(), task.x_dim());
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = try_zeros(n, d + k, "the simulations")?;
    let pb = (n > CHUNK).then(|| progress_bar(n as u64, format!("simulating {}", task.name())));
    for start in (0..n).step_by(CHUNK) {
        let end = (start + CHUNK).min(n);
        let th = match theta {
            Some(t) => t.slice_axis(Axis(0), Slice::from(start..end)).to_owned(),
            None => task.prior().sample(end - start, &mut rng),
        };
        let x = task.simulator().simulate(th.view(), &mut rng).context("simulation failed")?;
        let mut rows = out.slice_axis_mut(Axis(0), Slice::from(start..end));
        rows.slice_axis_mut(Axis(1), Slice::from(..d)).assign(&th);
        rows.slice_axis_mut(Axis(1), Slice::from(d..)).assign(&x);
        if let Some(pb) = &pb {
            pb.set_position(end as u64);
        }
    }
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
    Ok(out)
}
