//! `sbi tasks`: the table of benchmark tasks.

use anyhow::Result;
use sbi::sim::{TASK_NAMES, task_by_name};

/// Prints one line per task: name, d_theta, d_x, prior, reference method,
/// the prior column as wide as its longest entry. Tasks that fail to build are
/// listed as unavailable with the reason.
pub fn run() -> Result<()> {
    let rows: Vec<Result<[String; 5], String>> = TASK_NAMES
        .iter()
        .map(|name| match task_by_name(name) {
            Ok(t) => Ok([
                t.name().to_string(),
                t.theta_dim().to_string(),
                t.x_dim().to_string(),
                t.prior().describe(),
                t.reference_method().to_string(),
            ]),
            Err(e) => Err(format!("{name:<24} (unavailable: {e})")),
        })
        .collect();
    let wp = rows.iter().flatten().map(|r| r[3].chars().count()).max().unwrap_or(0).max(5);
    let line = |r: [&str; 5]| {
        let pad = wp - r[3].chars().count();
        format!("{:<24} {:>7} {:>5}  {}{}  {}", r[0], r[1], r[2], r[3], " ".repeat(pad), r[4])
    };
    println!("{}", line(["task", "d_theta", "d_x", "prior", "reference"]));
    for row in &rows {
        match row {
            Ok(r) => println!("{}", line([&r[0], &r[1], &r[2], &r[3], &r[4]])),
            Err(msg) => println!("{msg}"),
        }
    }
    Ok(())
}
