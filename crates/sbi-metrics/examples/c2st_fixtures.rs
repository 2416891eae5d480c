//! Prints our C2ST on the fidelity fixtures (`tests/fixtures/c2st`) for seeds 1..=S next to
//! scikit-learn's values from `sklearn.json`; used for the table in `docs/metrics.md`.
//!
//! `cargo run --release -p sbi-metrics --example c2st_fixtures -- [S|all] [f32|f64] [pair...]`
//! (`all`, the default: as many seeds as scikit-learn was run with for the pair).

use std::path::{Path, PathBuf};
use std::time::Instant;

use ndarray::Array2;
use ndarray_npy::read_npy;
use sbi_metrics::{C2stConfig, Precision, c2st};

fn load(dir: &Path, name: &str, which: &str) -> Array2<f64> {
    let a: Array2<f32> = read_npy(dir.join(format!("{name}_{which}.npy"))).expect("fixture");
    a.mapv(f64::from)
}

fn mean_sd(v: &[f64]) -> (f64, f64) {
    let m = v.iter().sum::<f64>() / v.len() as f64;
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() as f64 - 1.0).max(1.0);
    (m, var.sqrt())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seeds: Option<u64> = args.get(1).filter(|s| *s != "all").map(|s| s.parse().expect("number of seeds"));
    let precision =
        if args.get(2).map(String::as_str) == Some("f64") { Precision::F64 } else { Precision::F32 };
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/c2st");
    let sk: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("sklearn.json")).expect("sklearn.json"))
            .expect("json");
    let mut names: Vec<String> = sk.as_object().expect("object").keys().cloned().collect();
    if args.len() > 3 {
        names = args[3..].to_vec();
    }
    println!(
        "| pair | n | d | sklearn seed 1 | ours seed 1 | diff | sklearn mean ± sd (S) | ours mean ± sd (S) | ours s/run |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for name in names {
        let (x, y) = (load(&dir, &name, "reference"), load(&dir, &name, "samples"));
        let skv: Vec<f64> =
            sk[&name]["c2st"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        let seeds = seeds.unwrap_or(skv.len() as u64);
        let t = Instant::now();
        let ours: Vec<f64> = (1..=seeds)
            .map(|seed| {
                c2st(x.view(), y.view(), &C2stConfig { seed, precision, ..Default::default() }).unwrap()
            })
            .collect();
        let secs = t.elapsed().as_secs_f64() / seeds as f64;
        let (sm, ss) = mean_sd(&skv);
        let (om, os) = mean_sd(&ours);
        println!(
            "| {name} | {} | {} | {:.4} | {:.4} | {:+.4} | {sm:.4} ± {ss:.4} ({}) | {om:.4} ± {os:.4} ({seeds}) | {secs:.2} |",
            x.nrows(),
            x.ncols(),
            skv[0],
            ours[0],
            ours[0] - skv[0],
            skv.len()
        );
    }
}
