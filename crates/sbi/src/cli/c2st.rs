//! `sbi c2st`: classifier two-sample test between two sample files.

use super::read_pair;
use anyhow::{Context, Result};
use sbi::metrics::{C2stConfig, Scoring, c2st};
use std::path::PathBuf;

/// Arguments of `sbi c2st`.
#[derive(clap::Args)]
pub struct Args {
    /// Reference samples (label 0; CSV with header, .csv.bz2 or .npy).
    reference: PathBuf,
    /// Samples to compare (label 1; same width).
    samples: PathBuf,
    /// Seed of the fold split and the classifier (sbibm: 1).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Number of cross-validation folds (sbibm: 5).
    #[arg(long, value_name = "K", default_value_t = 5)]
    folds: usize,
    /// Do not z-score the data by the reference's mean and std first.
    #[arg(long)]
    no_z_score: bool,
    /// Score folds by ROC AUC instead of accuracy (sbibm's c2st_auc).
    #[arg(long)]
    auc: bool,
}

/// Prints a summary on stderr and the C2ST value alone on the last stdout line.
pub fn run(args: Args) -> Result<()> {
    let (a, b) = read_pair(&args.reference, &args.samples)?;
    let config = C2stConfig {
        seed: args.seed,
        n_folds: args.folds,
        z_score: !args.no_z_score,
        scoring: if args.auc { Scoring::RocAuc } else { Scoring::Accuracy },
        ..C2stConfig::default()
    };
    eprintln!(
        "c2st ({}, {} folds, seed {}, z-score {}): {} [{} x {}] vs {} [{} x {}]",
        if args.auc { "ROC AUC" } else { "accuracy" },
        config.n_folds,
        config.seed,
        if config.z_score { "on" } else { "off" },
        args.reference.display(),
        a.nrows(),
        a.ncols(),
        args.samples.display(),
        b.nrows(),
        b.ncols()
    );
    if a.nrows() != b.nrows() {
        eprintln!(
            "warning: the sets have different sizes ({} and {}); accuracy is 0.5 for identical \
             distributions only with equal sizes (sbibm compares 10,000 against 10,000)",
            a.nrows(),
            b.nrows()
        );
    }
    let value = c2st(a.view(), b.view(), &config).context("C2ST failed")?;
    println!("{value}");
    Ok(())
}
