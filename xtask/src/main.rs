//! Project automation: `cargo xtask ci` runs what CI runs (`.ci/run`);
//! `cargo xtask bench [ARGS]` runs a benchmark sweep and writes its report
//! (`sbi bench` in a release build; default: the `quick` sweep);
//! `cargo xtask report DIR` regenerates a report from its results store.
//! See `docs/bench.md`.

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
    /// Runs the CI script `.ci/run` (tests on both CPU backends, clippy -D warnings,
    /// rustdoc -D warnings, the wgpu build check, rustfmt --check).
    Ci,
    /// Runs a benchmark sweep in a release build and writes its report:
    /// `cargo xtask bench [--sweep quick|paper|sbibm|FILE] [--device D] [--jobs N] [--output DIR] ...`
    /// (every option of `sbi bench`; see `sbi bench --help`).
    Bench {
        /// Arguments passed to `sbi bench`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Regenerates `DIR/report.md`, the CSV files and the figures from the results store in DIR.
    Report {
        /// Results directory of a sweep.
        dir: String,
    },
}

fn run(program: &str, args: &[String]) -> Result<()> {
    eprintln!("$ {program} {}", args.join(" "));
    let status =
        Command::new(program).args(args).status().with_context(|| format!("failed to start {program}"))?;
    if !status.success() {
        bail!("`{program} {}` failed with {status}", args.join(" "));
    }
    Ok(())
}

/// The cargo feature of the `sbi` crate that a `--device` value needs.
fn device_feature(args: &[String]) -> Option<&'static str> {
    let mut it = args.iter();
    let mut device = None;
    while let Some(a) = it.next() {
        if a == "--device" {
            device = it.next().map(String::as_str);
        } else if let Some(v) = a.strip_prefix("--device=") {
            device = Some(v);
        }
    }
    match device?.to_ascii_lowercase().as_str() {
        "ndarray" => Some("sbi/ndarray"),
        "wgpu" => Some("sbi/wgpu"),
        "cuda" => Some("sbi/cuda"),
        _ => None,
    }
}

fn sbi(args: Vec<String>, feature: Option<&str>) -> Result<()> {
    let mut cargo: Vec<String> = ["run", "--release", "--quiet", "-p", "sbi"].map(String::from).to_vec();
    if let Some(f) = feature {
        cargo.extend(["--features".to_string(), f.to_string()]);
    }
    cargo.push("--".to_string());
    cargo.extend(args);
    run(env!("CARGO"), &cargo)
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Cmd::Ci => {
            let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
            run("bash", &[root.join(".ci/run").display().to_string()])
        }
        Cmd::Bench { args } => {
            let feature = device_feature(&args);
            let mut full = vec!["bench".to_string()];
            full.extend(args);
            sbi(full, feature)
        }
        Cmd::Report { dir } => sbi(vec!["report".to_string(), dir], None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn device_selects_the_feature() {
        assert_eq!(device_feature(&v(&["--sweep", "quick"])), None);
        assert_eq!(device_feature(&v(&["--device", "cpu"])), None);
        assert_eq!(device_feature(&v(&["--device", "wgpu", "--jobs", "2"])), Some("sbi/wgpu"));
        assert_eq!(device_feature(&v(&["--device=ndarray"])), Some("sbi/ndarray"));
    }
}
