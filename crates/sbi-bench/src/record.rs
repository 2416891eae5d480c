//! One finished run as stored in the results store, and the environment it ran in.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::RunKey;

/// Version of the results-store format; a store of another version is refused.
pub const STORE_VERSION: u32 = 1;

/// Burn's version (pinned in the workspace).
pub const BURN_VERSION: &str = "0.22.1";

/// A finished run: identity, metrics, timings and provenance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// [`STORE_VERSION`] of the writer.
    pub version: u32,
    /// What ran.
    pub key: RunKey,
    /// The sweep's name.
    pub sweep: String,
    /// Metrics against the reference posterior.
    pub metrics: Metrics,
    /// Wall-clock seconds per stage.
    pub timings: StageTimes,
    /// Fraction of posterior proposals inside the prior support.
    pub acceptance_rate: f64,
    /// Simulations dropped for NaN or infinite values.
    pub dropped: usize,
    /// Training epochs run (all rounds).
    pub epochs: Option<usize>,
    /// `Some(k)` when the run did not train but reused the model trained for
    /// observation `k`'s run of the same task, method, budget, seed, device and
    /// configuration (methods that are not sequential train the same model for
    /// every observation); its simulation and training figures are then that
    /// training's. `None` (and absent in older stores): trained for this run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_from_observation: Option<usize>,
    /// The posterior draws, relative to the store directory (`samples/<id>.npy`, float32).
    pub samples_file: String,
    /// The method's effective configuration (model, train, sample, num_samples).
    pub config: Value,
    /// Where and with what it ran.
    pub environment: Environment,
    /// Unix time (seconds) when the run finished.
    pub finished_unix: u64,
}

/// The metrics of one run (spec `sbibm-tasks.md` §2–3, `methods.md` §3).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// sbibm C2ST accuracy (0.5 is best), seed 1.
    pub c2st: f64,
    /// sbibm MMD² (Gaussian kernel, median bandwidth, unbiased).
    pub mmd_sbibm: f64,
    /// BayesFlow MMD² with the Gaussian-mixture kernel (the paper's Table 2).
    pub mmd_bayesflow: f64,
    /// BayesFlow MMD² with the inverse-multiquadratic kernel.
    pub mmd_bayesflow_imq: f64,
}

/// Wall-clock seconds of each stage of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StageTimes {
    /// Simulating the training pairs.
    pub simulate_s: f64,
    /// The training loop only (the paper's Table 3).
    pub train_s: f64,
    /// Drawing the posterior samples.
    pub sample_s: f64,
    /// Computing the four metrics.
    pub metrics_s: f64,
}

/// Provenance recorded with every run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    /// This crate's version.
    pub crate_version: String,
    /// Burn's version.
    pub burn_version: String,
    /// `git rev-parse HEAD` of the working directory (`-dirty` when it has
    /// uncommitted changes), or `unknown`.
    pub git_commit: String,
    /// CPU model, logical CPUs and memory.
    pub machine: String,
    /// Operating system and architecture.
    pub os: String,
    /// Number of parallel jobs the sweep ran with (timings are only comparable at 1).
    pub jobs: usize,
}

impl Environment {
    /// Describes this process's environment.
    pub fn detect(jobs: usize) -> Environment {
        Environment {
            crate_version: env!("CARGO_PKG_VERSION").to_string(),
            burn_version: BURN_VERSION.to_string(),
            git_commit: git_commit(),
            machine: machine(),
            os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
            jobs,
        }
    }
}

fn git(args: &[&str]) -> Option<String> {
    let out = std::process::Command::new("git").args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn git_commit() -> String {
    match git(&["rev-parse", "HEAD"]) {
        Some(head) if !head.is_empty() => {
            let dirty =
                git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
            if dirty { format!("{head}-dirty") } else { head }
        }
        _ => "unknown".to_string(),
    }
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .map(|s| cpu_description(&s, vector_extension()))
        .unwrap_or_else(|| "unknown CPU".to_string());
    let threads = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kb| format!(", {:.0} GiB", kb / 1024.0 / 1024.0))
        .unwrap_or_default();
    format!("{cpu}, {threads} logical CPUs{mem}")
}

/// The CPU as `/proc/cpuinfo` names it, with its family and model numbers and the widest
/// vector extension the kernels use: `AMD EPYC (family 25, model 17, AVX-512)`. Virtual
/// machines often report a bare model name ("AMD EPYC" for several generations), so the
/// numbers are what tells two machines' timings apart.
fn cpu_description(cpuinfo: &str, vector: Option<&str>) -> String {
    let field = |key: &str| {
        cpuinfo
            .lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim() == key)
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let name = field("model name").unwrap_or_else(|| "unknown CPU".to_string());
    let mut details = Vec::new();
    if let Some(family) = field("cpu family") {
        details.push(format!("family {family}"));
    }
    if let Some(model) = field("model") {
        details.push(format!("model {model}"));
    }
    details.extend(vector.map(str::to_string));
    if details.is_empty() { name } else { format!("{name} ({})", details.join(", ")) }
}

/// The widest vector extension this CPU offers among those the simulators and the fused
/// engine dispatch on.
fn vector_extension() -> Option<&'static str> {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return Some("AVX-512");
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            return Some("AVX2");
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_is_filled() {
        let env = Environment::detect(2);
        assert_eq!(env.jobs, 2);
        assert_eq!(env.burn_version, BURN_VERSION);
        assert!(!env.git_commit.is_empty());
        assert!(env.machine.contains("logical CPUs"), "{}", env.machine);
    }

    #[test]
    fn cpu_description_names_family_model_and_vector_extension() {
        let info = "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 17\n\
                    model name\t: AMD EPYC\nstepping\t: 1\nprocessor\t: 1\ncpu family\t: 25\n";
        assert_eq!(cpu_description(info, Some("AVX-512")), "AMD EPYC (family 25, model 17, AVX-512)");
        assert_eq!(cpu_description(info, None), "AMD EPYC (family 25, model 17)");
        assert_eq!(cpu_description("model name\t: Some CPU\n", None), "Some CPU");
        assert_eq!(cpu_description("", Some("AVX2")), "unknown CPU (AVX2)");
    }
}
