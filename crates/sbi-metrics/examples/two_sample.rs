//! Computes C2ST or MMD of two CSV files (comma-separated numbers, no header) and prints
//! the value and the wall time; used for the comparisons in `docs/metrics.md`.
//!
//! `cargo run --release -p sbi-metrics --example two_sample -- c2st X.csv Y.csv [seed] [f32|f64] [auc]`
//! `cargo run --release -p sbi-metrics --example two_sample -- mmd X.csv Y.csv sbibm|bayesflow-gaussian|bayesflow-imq`

use std::time::Instant;

use ndarray::Array2;
use sbi_metrics::{C2stConfig, MmdKernel, Precision, Scoring, c2st, mmd};

fn read_csv(path: &str) -> Array2<f64> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let rows: Vec<Vec<f64>> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').map(|v| v.trim().parse().expect("a number")).collect())
        .collect();
    let d = rows[0].len();
    Array2::from_shape_vec((rows.len(), d), rows.concat()).expect("rectangular CSV")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (x, y) = (read_csv(&args[2]), read_csv(&args[3]));
    let t = Instant::now();
    let value = match args[1].as_str() {
        "c2st" => {
            let mut config = C2stConfig::default();
            if let Some(s) = args.get(4) {
                config.seed = s.parse().expect("seed");
            }
            if args.get(5).map(String::as_str) == Some("f64") {
                config.precision = Precision::F64;
            }
            if args.get(6).map(String::as_str) == Some("auc") {
                config.scoring = Scoring::RocAuc;
            }
            c2st(x.view(), y.view(), &config)
        }
        "mmd" => mmd(x.view(), y.view(), args[4].parse::<MmdKernel>().expect("kernel")),
        other => panic!("unknown metric {other}"),
    };
    match value {
        Ok(v) => println!("value={v:.8} seconds={:.3}", t.elapsed().as_secs_f64()),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
