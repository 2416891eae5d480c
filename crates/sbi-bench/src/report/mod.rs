//! The report of a results store: `report.md` (the paper's Tables 1–3 in its
//! layout, ours beside the paper's numbers with the difference, then every
//! metric per task), `results.csv` (one row per run), `summary.csv` (one row
//! per task × method × budget) and `figures/` (PNG and SVG). Everything is
//! computed from the store alone, so `sbi report DIR` can regenerate it at any
//! time, also while a sweep is still running.

mod figures;
pub mod paper;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use sbi_train::Method;

use crate::store::{Failure, Store, write_atomic};
use crate::{BenchError, RunRecord};
use paper::{PaperCell, PaperMetric, lookup, paper_cells};

/// The files a report consists of.
#[derive(Clone, Debug)]
pub struct ReportFiles {
    /// `report.md`.
    pub markdown: PathBuf,
    /// `results.csv`.
    pub results_csv: PathBuf,
    /// `summary.csv`.
    pub summary_csv: PathBuf,
    /// Figures written (PNG and SVG).
    pub figures: Vec<PathBuf>,
    /// Figures that could not be drawn, with the reason.
    pub figure_errors: Vec<String>,
    /// Runs in the store.
    pub runs: usize,
}

/// Mean and sample standard deviation (n − 1; `None` for one value).
pub fn mean_std(values: &[f64]) -> (f64, Option<f64>) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    if values.len() < 2 {
        return (mean, None);
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, Some(var.sqrt()))
}

/// Runs of one task × method variant × budget, over seeds and observations.
#[derive(Debug)]
pub(crate) struct Group<'a> {
    pub task: String,
    pub method: Method,
    /// The method's name, with the device and configuration when the store
    /// holds several of them for this method.
    pub label: String,
    pub budget: usize,
    pub runs: Vec<&'a RunRecord>,
}

impl Group<'_> {
    fn values(&self, f: impl Fn(&RunRecord) -> f64) -> Vec<f64> {
        self.runs.iter().map(|r| f(r)).collect()
    }
}

/// Groups records by task, method variant and budget, in a stable order
/// (tasks as first seen, methods in [`Method::ALL`] order, budgets ascending).
pub(crate) fn groups(records: &[RunRecord]) -> Vec<Group<'_>> {
    let mut variants: BTreeMap<Method, BTreeSet<(String, String)>> = BTreeMap::new();
    for r in records {
        variants.entry(r.key.method).or_default().insert((r.key.device.clone(), r.key.config_hash.clone()));
    }
    let devices: BTreeSet<&str> = records.iter().map(|r| r.key.device.as_str()).collect();
    let label = |r: &RunRecord| {
        let mut l = r.key.method.name().to_string();
        if variants[&r.key.method].len() > 1 {
            if devices.len() > 1 {
                l += &format!(" [{}]", r.key.device);
            }
            l += &format!(" @{}", &r.key.config_hash[..8.min(r.key.config_hash.len())]);
        }
        l
    };
    let mut tasks: Vec<String> = Vec::new();
    for r in records {
        if !tasks.contains(&r.key.task) {
            tasks.push(r.key.task.clone());
        }
    }
    let mut map: BTreeMap<(usize, Method, String, usize), Vec<&RunRecord>> = BTreeMap::new();
    for r in records {
        let t = tasks.iter().position(|t| *t == r.key.task).expect("task listed");
        map.entry((t, r.key.method, label(r), r.key.budget)).or_default().push(r);
    }
    map.into_iter()
        .map(|((t, method, label, budget), runs)| Group {
            task: tasks[t].clone(),
            method,
            label,
            budget,
            runs,
        })
        .collect()
}

fn fmt_cell(values: &[f64], digits: usize) -> String {
    let (mean, std) = mean_std(values);
    match std {
        Some(s) => format!("{mean:.digits$} ± {s:.digits$} ({})", values.len()),
        None => format!("{mean:.digits$} (1)"),
    }
}

/// One of the paper's tables, in its layout: a row per method variant, a
/// column per task × budget; under each of our rows the paper's number and
/// the difference (ours − paper) where the paper has the cell.
fn paper_table(
    out: &mut String,
    groups: &[Group],
    cells: &[PaperCell],
    metric: PaperMetric,
    value: impl Fn(&RunRecord) -> f64,
    digits: usize,
) {
    let mut columns: Vec<(String, usize)> = Vec::new();
    for g in groups {
        if !columns.contains(&(g.task.clone(), g.budget)) {
            columns.push((g.task.clone(), g.budget));
        }
    }
    columns.sort_by_key(|(t, b)| (groups.iter().position(|g| &g.task == t), *b));
    let mut labels: Vec<(Method, String)> = Vec::new();
    for g in groups {
        if !labels.contains(&(g.method, g.label.clone())) {
            labels.push((g.method, g.label.clone()));
        }
    }
    labels.sort();
    out.push_str("| method | |");
    for (t, b) in &columns {
        write!(out, " {t} {} |", budget_label(*b)).unwrap();
    }
    out.push_str("\n|---|---|");
    out.push_str(&"---|".repeat(columns.len()));
    out.push('\n');
    for (method, label) in &labels {
        let find =
            |t: &str, b: usize| groups.iter().find(|g| g.label == *label && g.task == t && g.budget == b);
        write!(out, "| {label} | ours |").unwrap();
        for (t, b) in &columns {
            match find(t, *b) {
                Some(g) => write!(out, " {} |", fmt_cell(&g.values(&value), digits)).unwrap(),
                None => out.push_str(" |"),
            }
        }
        out.push('\n');
        if columns.iter().any(|(t, b)| lookup(cells, metric, *method, t, *b).is_some()) {
            out.push_str("| | paper |");
            for (t, b) in &columns {
                match lookup(cells, metric, *method, t, *b) {
                    Some(c) => write!(out, " {:.digits$} ± {:.digits$} |", c.mean, c.std).unwrap(),
                    None => out.push_str(" |"),
                }
            }
            out.push_str("\n| | ours − paper |");
            for (t, b) in &columns {
                match (find(t, *b), lookup(cells, metric, *method, t, *b)) {
                    (Some(g), Some(c)) => {
                        let (mean, _) = mean_std(&g.values(&value));
                        write!(out, " {:+.digits$} |", mean - c.mean).unwrap();
                    }
                    _ => out.push_str(" |"),
                }
            }
            out.push('\n');
        }
    }
    out.push('\n');
}

fn budget_label(b: usize) -> String {
    if b >= 1000 && b.is_multiple_of(1000) { format!("{}k", b / 1000) } else { b.to_string() }
}

fn per_task_tables(out: &mut String, groups: &[Group]) {
    let mut tasks: Vec<&str> = Vec::new();
    for g in groups {
        if !tasks.contains(&g.task.as_str()) {
            tasks.push(&g.task);
        }
    }
    for task in tasks {
        writeln!(out, "### {task}\n").unwrap();
        out.push_str(
            "| method | budget | runs | C2ST | MMD (sbibm) | MMD (BayesFlow) | MMD (BayesFlow IMQ) | train s | \
             simulate s | sample s | acceptance | epochs |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n",
        );
        for g in groups.iter().filter(|g| g.task == task) {
            let m = |f: fn(&RunRecord) -> f64, d: usize| {
                let (mean, std) = mean_std(&g.values(f));
                match std {
                    Some(s) => format!("{mean:.d$} ± {s:.d$}"),
                    None => format!("{mean:.d$}"),
                }
            };
            writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                g.label,
                g.budget,
                g.runs.len(),
                m(|r| r.metrics.c2st, 3),
                m(|r| r.metrics.mmd_sbibm, 4),
                m(|r| r.metrics.mmd_bayesflow, 4),
                m(|r| r.metrics.mmd_bayesflow_imq, 4),
                m(|r| r.timings.train_s, 2),
                m(|r| r.timings.simulate_s, 2),
                m(|r| r.timings.sample_s, 2),
                m(|r| r.acceptance_rate, 3),
                m(|r| r.epochs.unwrap_or(0) as f64, 0),
            )
            .unwrap();
        }
        out.push('\n');
    }
}

fn environment_section(out: &mut String, records: &[RunRecord]) {
    let set = |f: fn(&RunRecord) -> String| -> Vec<String> {
        records.iter().map(f).collect::<BTreeSet<_>>().into_iter().collect()
    };
    let sweeps = set(|r| r.sweep.clone());
    writeln!(out, "- runs: {} (sweeps: {})", records.len(), sweeps.join(", ")).unwrap();
    writeln!(out, "- devices: {}", set(|r| r.key.device.clone()).join(", ")).unwrap();
    writeln!(
        out,
        "- machines: {}",
        set(|r| format!("{} ({})", r.environment.machine, r.environment.os)).join("; ")
    )
    .unwrap();
    writeln!(out, "- git commits: {}", set(|r| r.environment.git_commit.clone()).join(", ")).unwrap();
    writeln!(
        out,
        "- versions: {}",
        set(|r| format!("sbi {} / burn {}", r.environment.crate_version, r.environment.burn_version))
            .join(", ")
    )
    .unwrap();
    let jobs = set(|r| r.environment.jobs.to_string());
    writeln!(out, "- parallel jobs: {}", jobs.join(", ")).unwrap();
    if records.iter().any(|r| r.environment.jobs > 1) {
        out.push_str(
            "- **Some runs shared the machine with other runs (`--jobs` > 1): their training \
             times are not comparable.**\n",
        );
    }
    out.push('\n');
}

/// Writes the report of the store in `dir` (see the module docs).
pub fn write_report(dir: &Path) -> Result<ReportFiles, BenchError> {
    let store = Store::open(dir)?;
    let records = store.records()?;
    let failures = store.failures()?;
    let finished: BTreeSet<_> = records.iter().map(|r| r.key.clone()).collect();
    let open_failures: Vec<&Failure> = failures.iter().filter(|f| !finished.contains(&f.key)).collect();
    let groups = groups(&records);
    let cells = paper_cells();

    let fig_dir = dir.join("figures");
    let (figures, figure_errors) = if records.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        figures::draw_all(dir, &fig_dir, &records, &groups)?
    };

    let mut md = String::new();
    md.push_str("# Benchmark report\n\n");
    writeln!(
        md,
        "Generated from `{}` by `sbi report {}` (also `cargo xtask report DIR`); rerun it to \
         refresh. Cells are mean ± sample standard deviation (n − 1) over seeds and \
         observations, with the number of runs in parentheses.\n",
        dir.join("runs.jsonl").display(),
        dir.display()
    )
    .unwrap();
    if records.is_empty() {
        md.push_str("The store holds no finished run yet.\n\n");
    } else {
        environment_section(&mut md, &records);
        md.push_str(
            "## Table 1: C2ST accuracy (0.5 is best)\n\nsbibm protocol, 10,000 posterior draws against \
             10,000 reference draws. The paper's rows: Nautiyal et al., arXiv 2411.14511, observation 1; \
             its NPE row is compared with our `npe-maf`.\n\n",
        );
        paper_table(&mut md, &groups, &cells, PaperMetric::C2st, |r| r.metrics.c2st, 3);
        md.push_str(
            "## Table 2: MMD (lower is better)\n\nBayesFlow's Gaussian-mixture MMD², as the paper's Table 2.\n\n",
        );
        paper_table(&mut md, &groups, &cells, PaperMetric::Mmd, |r| r.metrics.mmd_bayesflow, 4);
        md.push_str(
            "## Table 3: training time (seconds)\n\nThe training loop only (simulation, sampling and \
             metrics are timed separately). The paper's times are on a Tesla T4 GPU; ours on the \
             devices and machines listed above.\n\n",
        );
        paper_table(&mut md, &groups, &cells, PaperMetric::TrainSeconds, |r| r.timings.train_s, 2);
        md.push_str("## Every metric, per task\n\n");
        per_task_tables(&mut md, &groups);
        md.push_str("## Figures\n\n");
        for f in figures.iter().filter(|f| f.extension().is_some_and(|e| e == "png")) {
            let rel = f.strip_prefix(dir).unwrap_or(f);
            let name = rel.file_stem().and_then(|s| s.to_str()).unwrap_or("figure");
            writeln!(md, "![{name}]({})  ", rel.display()).unwrap();
        }
        for e in &figure_errors {
            writeln!(md, "- figure not drawn: {e}").unwrap();
        }
        md.push('\n');
    }
    if !open_failures.is_empty() {
        md.push_str("## Failed runs (retried by the next `bench` on this store)\n\n");
        md.push_str("| task | method | budget | seed | observation | error |\n|---|---|---|---|---|---|\n");
        for f in &open_failures {
            let k = &f.key;
            writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} |",
                k.task,
                k.method,
                k.budget,
                k.seed,
                k.observation,
                f.error.replace('|', "\\|").replace('\n', " ")
            )
            .unwrap();
        }
        md.push('\n');
    }

    let markdown = dir.join("report.md");
    write_atomic(&markdown, md.as_bytes())?;
    let results_csv = dir.join("results.csv");
    write_atomic(&results_csv, &results_csv_bytes(&records))?;
    let summary_csv = dir.join("summary.csv");
    write_atomic(&summary_csv, &summary_csv_bytes(&groups, &cells))?;
    Ok(ReportFiles { markdown, results_csv, summary_csv, figures, figure_errors, runs: records.len() })
}

fn results_csv_bytes(records: &[RunRecord]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "sweep",
        "task",
        "method",
        "budget",
        "seed",
        "observation",
        "device",
        "config_hash",
        "c2st",
        "mmd_sbibm",
        "mmd_bayesflow",
        "mmd_bayesflow_imq",
        "simulate_s",
        "train_s",
        "sample_s",
        "metrics_s",
        "acceptance_rate",
        "dropped",
        "epochs",
        "git_commit",
        "machine",
        "jobs",
        "finished_unix",
        "samples_file",
    ])
    .expect("writing to memory");
    for r in records {
        let k = &r.key;
        w.write_record([
            r.sweep.clone(),
            k.task.clone(),
            k.method.to_string(),
            k.budget.to_string(),
            k.seed.to_string(),
            k.observation.to_string(),
            k.device.clone(),
            k.config_hash.clone(),
            r.metrics.c2st.to_string(),
            r.metrics.mmd_sbibm.to_string(),
            r.metrics.mmd_bayesflow.to_string(),
            r.metrics.mmd_bayesflow_imq.to_string(),
            r.timings.simulate_s.to_string(),
            r.timings.train_s.to_string(),
            r.timings.sample_s.to_string(),
            r.timings.metrics_s.to_string(),
            r.acceptance_rate.to_string(),
            r.dropped.to_string(),
            r.epochs.map(|e| e.to_string()).unwrap_or_default(),
            r.environment.git_commit.clone(),
            r.environment.machine.clone(),
            r.environment.jobs.to_string(),
            r.finished_unix.to_string(),
            r.samples_file.clone(),
        ])
        .expect("writing to memory");
    }
    w.into_inner().expect("in-memory writer")
}

fn summary_csv_bytes(groups: &[Group], cells: &[PaperCell]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["task", "method", "label", "budget", "runs"];
    for m in ["c2st", "mmd_sbibm", "mmd_bayesflow", "mmd_bayesflow_imq", "train_s", "simulate_s", "sample_s"]
    {
        header.push(m);
    }
    let stds = ["c2st_std", "mmd_sbibm_std", "mmd_bayesflow_std", "mmd_bayesflow_imq_std", "train_s_std"];
    header.extend(stds);
    header.extend([
        "paper_c2st",
        "paper_c2st_std",
        "paper_mmd",
        "paper_mmd_std",
        "paper_train_s",
        "paper_train_s_std",
    ]);
    w.write_record(&header).expect("writing to memory");
    let fmt = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    for g in groups {
        let stat = |f: fn(&RunRecord) -> f64| mean_std(&g.values(f));
        let fields: [fn(&RunRecord) -> f64; 7] = [
            |r| r.metrics.c2st,
            |r| r.metrics.mmd_sbibm,
            |r| r.metrics.mmd_bayesflow,
            |r| r.metrics.mmd_bayesflow_imq,
            |r| r.timings.train_s,
            |r| r.timings.simulate_s,
            |r| r.timings.sample_s,
        ];
        let mut row = vec![
            g.task.clone(),
            g.method.to_string(),
            g.label.clone(),
            g.budget.to_string(),
            g.runs.len().to_string(),
        ];
        row.extend(fields.iter().map(|f| stat(*f).0.to_string()));
        row.extend(fields[..5].iter().map(|f| fmt(stat(*f).1)));
        for metric in [PaperMetric::C2st, PaperMetric::Mmd, PaperMetric::TrainSeconds] {
            let c = lookup(cells, metric, g.method, &g.task, g.budget);
            row.push(fmt(c.map(|c| c.mean)));
            row.push(fmt(c.map(|c| c.std)));
        }
        w.write_record(&row).expect("writing to memory");
    }
    w.into_inner().expect("in-memory writer")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_sample_std() {
        let (m, s) = mean_std(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(m, 2.5);
        assert!((s.unwrap() - (5.0f64 / 3.0).sqrt()).abs() < 1e-15);
        assert_eq!(mean_std(&[7.0]), (7.0, None));
    }

    #[test]
    fn budgets_are_labelled_like_the_paper() {
        assert_eq!(budget_label(10_000), "10k");
        assert_eq!(budget_label(2_500), "2500");
        assert_eq!(budget_label(100_000), "100k");
    }
}
