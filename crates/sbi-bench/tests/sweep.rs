//! End to end: a tiny sweep runs, is stored, resumes after an interruption,
//! skips finished runs, and its report is regenerated from the store alone.

use std::io::Write;
use std::sync::Mutex;

use sbi_bench::{Event, Store, Sweep, SweepOptions, run_sweep, write_report};

/// A tiny sweep over `tasks`, CP-VAE and NPE-MDN, 300 simulations, 3 epochs.
fn tiny_sweep(name: &str, tasks: &str, seeds: &str, observations: &str) -> Sweep {
    let text = format!(
        r#"
name = "{name}"
tasks = {tasks}
methods = ["cp-vae", "npe-mdn"]
budgets = [300]
seeds = {seeds}
observations = {observations}
num_samples = 300

[settings.cp-vae.train]
max_epochs = 3
batch_size = 100

[settings.npe-mdn.train]
max_epochs = 3
batch_size = 100
"#
    );
    Sweep::from_toml_str(&text, &format!("{name}.toml")).unwrap()
}

fn events(sweep: &Sweep, dir: &std::path::Path, jobs: usize) -> (sbi_bench::SweepSummary, Vec<String>) {
    let log = Mutex::new(Vec::new());
    let summary =
        run_sweep(sweep, &SweepOptions { output: dir.to_path_buf(), jobs, fail_fast: true }, &|e| {
            let line = match e {
                Event::Planned { total, finished, pending, repaired_bytes } => {
                    format!("planned {total} {finished} {pending} {repaired_bytes}")
                }
                Event::Finished(r) => format!("finished {}", r.key.id()),
                Event::Failed(k, e) => format!("failed {} {e}", k.id()),
                Event::Reference(i) => format!("reference {} {}", i.task, i.cached),
                _ => return,
            };
            log.lock().unwrap().push(line);
        })
        .unwrap();
    (summary, log.into_inner().unwrap())
}

#[test]
fn sweep_stores_resumes_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    let sweep = tiny_sweep("tiny", r#"["two_moons", "gaussian_linear"]"#, "[1, 2]", "[1]");
    let (summary, log) = events(&sweep, dir.path(), 2);
    assert_eq!((summary.total, summary.skipped, summary.finished, summary.failed), (8, 0, 8, 0), "{log:?}");
    assert_eq!(log[0], "planned 8 0 8 0");
    // Each reference was sampled once (two tasks, one observation), then reused.
    assert_eq!(
        log.iter().filter(|l| l.starts_with("reference") && l.ends_with("false")).count(),
        2,
        "{log:?}"
    );

    let store = Store::open(dir.path()).unwrap();
    let records = store.records().unwrap();
    assert_eq!(records.len(), 8);
    for r in &records {
        assert!((0.0..=1.0).contains(&r.metrics.c2st), "{}", r.metrics.c2st);
        assert!(r.metrics.mmd_bayesflow >= 0.0 && r.metrics.mmd_bayesflow_imq >= 0.0);
        assert!(r.timings.train_s > 0.0);
        assert_eq!(r.epochs, Some(3));
        assert_eq!(r.environment.jobs, 2);
        let samples: ndarray::Array2<f32> = ndarray_npy::read_npy(dir.path().join(&r.samples_file)).unwrap();
        let d = if r.key.task == "two_moons" { 2 } else { 10 };
        assert_eq!(samples.dim(), (300, d));
    }

    // A rerun skips everything.
    let (summary, log) = events(&sweep, dir.path(), 1);
    assert_eq!((summary.skipped, summary.finished), (8, 0), "{log:?}");

    // Interrupt: drop the last record and tear the line before it in half, as a
    // crash mid-write would; the rerun repairs the store and redoes exactly those two runs.
    let runs = dir.path().join("runs.jsonl");
    let text = std::fs::read_to_string(&runs).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut kept = lines[..6].join("\n");
    kept.push('\n');
    kept.push_str(&lines[6][..lines[6].len() / 2]);
    std::fs::write(&runs, &kept).unwrap();
    let (summary, log) = events(&sweep, dir.path(), 1);
    assert_eq!((summary.skipped, summary.finished), (6, 2), "{log:?}");
    assert!(log[0].starts_with("planned 8 6 2 ") && !log[0].ends_with(" 0"), "{log:?}");
    // Reruns are deterministic: the redone runs match the first ones.
    let again = Store::open(dir.path()).unwrap().records().unwrap();
    for r in &again[6..] {
        let first = records.iter().find(|f| f.key == r.key).unwrap();
        assert_eq!(first.metrics, r.metrics, "{}", r.key.id());
    }

    // The report is made from the store alone.
    let files = write_report(dir.path()).unwrap();
    assert_eq!(files.runs, 8);
    assert!(files.figure_errors.is_empty(), "{:?}", files.figure_errors);
    let md = std::fs::read_to_string(&files.markdown).unwrap();
    for needle in [
        "Table 1: C2ST",
        "Table 3: training time",
        "| cp-vae | ours |",
        "two_moons 300",
        "### gaussian_linear",
    ] {
        assert!(md.contains(needle), "report lacks {needle:?}:\n{md}");
    }
    // Two pair plots per task and one budget curve per task, each as PNG and SVG.
    assert_eq!(files.figures.len(), 2 * (2 * 2 + 2), "{:?}", files.figures);
    for f in &files.figures {
        assert!(std::fs::metadata(f).unwrap().len() > 1000, "{}", f.display());
    }
    let csv = std::fs::read_to_string(&files.results_csv).unwrap();
    assert_eq!(csv.lines().count(), 1 + 8);
    let summary_csv = std::fs::read_to_string(&files.summary_csv).unwrap();
    assert_eq!(summary_csv.lines().count(), 1 + 4);
}

#[test]
fn a_store_of_another_version_is_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let header = r#"{"format": "sbi-bench results store", "version": 999}"#;
    std::fs::write(dir.path().join("store.json"), header).unwrap();
    let mut f = std::fs::File::create(dir.path().join("runs.jsonl")).unwrap();
    f.write_all(b"{\"version\": 999}\n").unwrap();
    let sweep = tiny_sweep("tiny", r#"["two_moons", "gaussian_linear"]"#, "[1, 2]", "[1]");
    let err =
        run_sweep(&sweep, &SweepOptions { output: dir.path().into(), jobs: 1, fail_fast: true }, &|_| {})
            .unwrap_err()
            .to_string();
    assert!(err.contains("version 999"), "{err}");
    assert_eq!(std::fs::read_to_string(dir.path().join("runs.jsonl")).unwrap(), "{\"version\": 999}\n");
    assert!(write_report(dir.path()).is_err());
}

#[test]
fn observations_share_one_training_and_a_rerun_loads_it() {
    let dir = tempfile::tempdir().unwrap();
    let sweep = tiny_sweep("shared", r#"["two_moons"]"#, "[1]", "[1, 2]");
    let (summary, log) = events(&sweep, dir.path(), 2);
    assert_eq!((summary.finished, summary.failed), (4, 0), "{log:?}");
    let records = Store::open(dir.path()).unwrap().records().unwrap();
    let find = |records: &[sbi_bench::RunRecord], method: &str, obs: usize| {
        records.iter().find(|r| r.key.method.name() == method && r.key.observation == obs).cloned().unwrap()
    };
    for method in ["cp-vae", "npe-mdn"] {
        let (first, second) = (find(&records, method, 1), find(&records, method, 2));
        assert_eq!(first.model_from_observation, None, "{method}");
        assert_eq!(second.model_from_observation, Some(1), "{method}");
        assert_eq!(first.timings.train_s, second.timings.train_s, "{method}: one training");
        assert_eq!((first.epochs, first.dropped), (second.epochs, second.dropped));
        assert_ne!(first.metrics, second.metrics, "{method}: sampled at different observations");
    }
    let models = std::fs::read_dir(dir.path().join("models")).unwrap().count();
    assert_eq!(models, 2, "one model file per method");

    // Reusing the model gives the draws a run at observation 2 alone trains and gets.
    let alone = tempfile::tempdir().unwrap();
    let only_2 = tiny_sweep("shared", r#"["two_moons"]"#, "[1]", "[2]");
    events(&only_2, alone.path(), 1);
    let alone_records = Store::open(alone.path()).unwrap().records().unwrap();
    for method in ["cp-vae", "npe-mdn"] {
        let (shared, own) = (find(&records, method, 2), find(&alone_records, method, 2));
        assert_eq!(own.model_from_observation, None);
        assert_eq!(shared.key, own.key);
        assert_eq!(shared.metrics, own.metrics, "{method}");
        let a: ndarray::Array2<f32> = ndarray_npy::read_npy(dir.path().join(&shared.samples_file)).unwrap();
        let b: ndarray::Array2<f32> = ndarray_npy::read_npy(alone.path().join(&own.samples_file)).unwrap();
        assert_eq!(a, b, "{method}: the same draws");
    }

    // Interrupted after observation 1: the rerun loads the stored model instead of training.
    let runs = dir.path().join("runs.jsonl");
    let text = std::fs::read_to_string(&runs).unwrap();
    let kept: String =
        text.lines().filter(|l| l.contains("\"observation\":1,")).map(|l| format!("{l}\n")).collect();
    assert_eq!(kept.lines().count(), 2);
    std::fs::write(&runs, &kept).unwrap();
    let (summary, log) = events(&sweep, dir.path(), 1);
    assert_eq!((summary.skipped, summary.finished), (2, 2), "{log:?}");
    let again = Store::open(dir.path()).unwrap().records().unwrap();
    for method in ["cp-vae", "npe-mdn"] {
        let (before, after) = (find(&records, method, 2), find(&again, method, 2));
        assert_eq!(after.model_from_observation, Some(1), "{method}: loaded, not trained");
        assert_eq!(after.timings.train_s, before.timings.train_s);
        assert_eq!(after.metrics, before.metrics, "{method}");
    }

    // A corrupt model file is an error naming it, not a silent retraining.
    std::fs::write(&runs, &kept).unwrap();
    for entry in std::fs::read_dir(dir.path().join("models")).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    }
    let result = run_sweep(
        &sweep,
        &SweepOptions { output: dir.path().to_path_buf(), jobs: 1, fail_fast: true },
        &|_| {},
    );
    let err = result.unwrap_err().to_string();
    assert!(err.contains("models") && err.contains(".sbi"), "{err}");
}
