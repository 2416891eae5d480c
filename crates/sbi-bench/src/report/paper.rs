//! The paper's published numbers (Tables 1–3 of Nautiyal et al., arXiv
//! 2411.14511; spec `paper-tables.md`), carried as data in `data/paper_tables.csv`.

use sbi_train::Method;

/// Which table a number belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum PaperMetric {
    /// Table 1: C2ST accuracy.
    C2st,
    /// Table 2: BayesFlow MMD.
    Mmd,
    /// Table 3: training seconds (Tesla T4).
    TrainSeconds,
}

/// One cell of the paper's tables.
#[derive(Clone, Debug, PartialEq)]
pub struct PaperCell {
    /// The table.
    pub metric: PaperMetric,
    /// The paper's row (`cp-vae`, `up-vae`, `npe`, `apt`, `jana`, `gatsbi`).
    pub method: String,
    /// Task.
    pub task: String,
    /// Simulation budget.
    pub budget: usize,
    /// Mean over the paper's 5 runs.
    pub mean: f64,
    /// Standard deviation over the paper's 5 runs.
    pub std: f64,
}

const DATA: &str = include_str!("../../data/paper_tables.csv");

/// Every cell of Tables 1–3.
pub fn paper_cells() -> Vec<PaperCell> {
    DATA.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("metric,") && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let metric = match f[0] {
                "c2st" => PaperMetric::C2st,
                "mmd" => PaperMetric::Mmd,
                "train_s" => PaperMetric::TrainSeconds,
                other => panic!("paper_tables.csv: unknown metric {other}"),
            };
            PaperCell {
                metric,
                method: f[1].to_string(),
                task: f[2].to_string(),
                budget: f[3].parse().expect("paper_tables.csv: budget"),
                mean: f[4].parse().expect("paper_tables.csv: mean"),
                std: f[5].parse().expect("paper_tables.csv: std"),
            }
        })
        .collect()
}

/// The paper's row that one of our methods is compared with: CP-VAE and
/// UP-VAE with themselves, APT with APT, and our NPE-MAF with the paper's NPE
/// (sbi's default density estimator is a MAF).
pub fn paper_row(method: Method) -> Option<&'static str> {
    match method {
        Method::CpVae => Some("cp-vae"),
        Method::UpVae => Some("up-vae"),
        Method::Apt => Some("apt"),
        Method::NpeMaf => Some("npe"),
        _ => None,
    }
}

/// The paper's number for `method` on `task` at `budget`, if it has one.
pub fn lookup<'a>(
    cells: &'a [PaperCell],
    metric: PaperMetric,
    method: Method,
    task: &str,
    budget: usize,
) -> Option<&'a PaperCell> {
    let row = paper_row(method)?;
    cells.iter().find(|c| c.metric == metric && c.method == row && c.task == task && c.budget == budget)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_complete_and_match_the_spec() {
        let cells = paper_cells();
        // 3 tables × 6 methods × 3 tasks × 3 budgets.
        assert_eq!(cells.len(), 3 * 6 * 9);
        // Spot checks against paper-tables.md.
        let c = lookup(&cells, PaperMetric::C2st, Method::CpVae, "two_moons", 10_000).unwrap();
        assert_eq!((c.mean, c.std), (0.6443, 0.0288));
        let t = lookup(&cells, PaperMetric::TrainSeconds, Method::CpVae, "two_moons", 10_000).unwrap();
        assert_eq!(t.mean, 2.23);
        let m = lookup(&cells, PaperMetric::Mmd, Method::UpVae, "sir", 30_000).unwrap();
        assert_eq!((m.mean, m.std), (0.6487, 0.1087));
        assert!(lookup(&cells, PaperMetric::C2st, Method::NpeNsf, "two_moons", 10_000).is_none());
        assert!(lookup(&cells, PaperMetric::C2st, Method::CpVae, "slcp", 10_000).is_none());
    }
}
