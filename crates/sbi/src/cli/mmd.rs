//! `sbi mmd`: maximum mean discrepancy between two sample files.

use super::read_pair;
use anyhow::{Context, Result};
use sbi::metrics::{MmdKernel, mmd};
use std::path::PathBuf;

/// The MMD definitions, as named on the command line.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Kernel {
    /// sbibm: Gaussian kernel, median-heuristic bandwidth, unbiased MMD².
    Sbibm,
    /// BayesFlow: mixture of Gaussian kernels over fixed scales, biased MMD².
    BayesflowGaussian,
    /// BayesFlow: inverse multiquadratic kernels over fixed scales, biased MMD².
    BayesflowImq,
}

impl From<Kernel> for MmdKernel {
    fn from(k: Kernel) -> Self {
        match k {
            Kernel::Sbibm => MmdKernel::Sbibm,
            Kernel::BayesflowGaussian => MmdKernel::BayesflowGaussian,
            Kernel::BayesflowImq => MmdKernel::BayesflowImq,
        }
    }
}

/// Arguments of `sbi mmd`.
#[derive(clap::Args)]
pub struct Args {
    /// Reference samples (CSV with header, .csv.bz2 or .npy).
    reference: PathBuf,
    /// Samples to compare (same width).
    samples: PathBuf,
    /// Which MMD definition.
    #[arg(long, value_enum, default_value = "sbibm")]
    kernel: Kernel,
}

/// Prints a summary on stderr and the MMD value alone on the last stdout line.
pub fn run(args: Args) -> Result<()> {
    let (a, b) = read_pair(&args.reference, &args.samples)?;
    let kernel = MmdKernel::from(args.kernel);
    let name = clap::ValueEnum::to_possible_value(&args.kernel).map(|v| v.get_name().to_string());
    eprintln!(
        "mmd (kernel {}): {} [{} x {}] vs {} [{} x {}]",
        name.unwrap_or_default(),
        args.reference.display(),
        a.nrows(),
        a.ncols(),
        args.samples.display(),
        b.nrows(),
        b.ncols()
    );
    let value = mmd(a.view(), b.view(), kernel).context("MMD failed")?;
    println!("{value}");
    Ok(())
}
