//! Integration tests of the `sbi` binary: every subcommand and every bad-input case
//! (non-zero exit, the problem named on stderr, never a panic).

use ndarray::{Array2, ArrayView2, Axis, Slice};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use sbi::io::{ReadOptions, read_matrix, read_matrix_with, write_matrix};
use sbi::sim::{TASK_NAMES, task_by_name};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Columns `r` of `a` (ndarray's `s!` macro is unusable under `forbid(unsafe_code)`).
fn cols(a: ArrayView2<f64>, r: impl Into<Slice>) -> ArrayView2<f64> {
    a.slice_axis_move(Axis(1), r.into())
}

/// Rows `r` of `a`.
fn rows(a: ArrayView2<f64>, r: impl Into<Slice>) -> ArrayView2<f64> {
    a.slice_axis_move(Axis(0), r.into())
}

fn sbi(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sbi")).args(args).output().expect("run the sbi binary")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts success and no panic; returns stdout.
fn ok(o: Output) -> String {
    assert!(o.status.success(), "failed: {:?}\nstderr:\n{}", o.status, stderr(&o));
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    stdout(&o)
}

/// Asserts a clean failure whose stderr mentions every one of `needles`.
fn fails(o: Output, needles: &[&str]) {
    let err = stderr(&o);
    assert!(!o.status.success(), "unexpectedly succeeded; stdout:\n{}", stdout(&o));
    assert_ne!(o.status.code(), Some(101), "exit code 101 means a panic:\n{err}");
    assert!(!err.contains("panicked"), "{err}");
    for n in needles {
        assert!(err.contains(n), "stderr does not mention {n:?}:\n{err}");
    }
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// The last line of stdout, parsed as one number.
fn last_value(out: &str) -> f64 {
    let last = out.lines().last().expect("some output");
    last.trim().parse().unwrap_or_else(|_| panic!("last line is not a number: {last:?}"))
}

fn gaussian_file(dir: &Path, name: &str, n: usize, d: usize, shift: f64, seed: u64) -> PathBuf {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let a = Array2::from_shape_fn((n, d), |_| shift + rng.sample::<f64, _>(StandardNormal));
    let p = dir.join(name);
    let header: Vec<String> = (1..=d).map(|j| format!("parameter_{j}")).collect();
    write_matrix(&p, &header, a.view()).unwrap();
    p
}

// ---------------------------------------------------------------------------
// tasks, observation

#[test]
fn tasks_lists_gaussian_linear() {
    let out = ok(sbi(&["tasks"]));
    assert!(out.lines().next().unwrap().starts_with("task"), "{out}");
    let line = out.lines().find(|l| l.starts_with("gaussian_linear ")).expect("gaussian_linear row");
    let cols: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(&cols[1..3], ["10", "10"], "{line}");
    assert!(line.contains("analytic"), "{line}");
    assert_eq!(out.lines().count(), 1 + TASK_NAMES.len());
}

#[test]
fn observation_prints_x_o_and_true_theta() {
    let out = ok(sbi(&["observation", "--task", "gaussian_linear", "--observation", "3"]));
    let task = task_by_name("gaussian_linear").unwrap();
    let field = |label: &str| -> Vec<f64> {
        let line =
            out.lines().find(|l| l.starts_with(label)).unwrap_or_else(|| panic!("no {label} in {out}"));
        line[label.len()..].trim().split(',').map(|v| v.parse().unwrap()).collect()
    };
    assert_eq!(field("x_o:"), task.observation(3).unwrap().to_vec());
    assert_eq!(field("theta_true:"), task.true_parameters(3).unwrap().to_vec());
    assert!(out.contains("observation: 3"));
}

#[test]
fn every_available_task_has_observations_and_simulates() {
    let dir = tempfile::tempdir().unwrap();
    for name in TASK_NAMES {
        let Ok(task) = task_by_name(name) else {
            eprintln!("note: task {name} not available yet; skipped");
            continue;
        };
        let out = ok(sbi(&["observation", "--task", name, "--observation", "1"]));
        let x_line = out.lines().find(|l| l.starts_with("x_o:")).unwrap();
        assert_eq!(x_line.split(',').count(), task.x_dim(), "{name}");
        let f = dir.path().join(format!("{name}.csv"));
        ok(sbi(&["simulate", "--task", name, "--num", "20", "--seed", "1", "--output", path_str(&f)]));
        let t = read_matrix_with(&f, ReadOptions { allow_non_finite: true }).unwrap();
        assert_eq!(t.data.dim(), (20, task.theta_dim() + task.x_dim()), "{name}");
    }
}

#[test]
fn observation_out_of_range_is_an_error() {
    for k in ["0", "11"] {
        fails(
            sbi(&["observation", "--task", "gaussian_linear", "--observation", k]),
            &[&format!("observation {k} does not exist"), "1..=10"],
        );
    }
    fails(sbi(&["observation", "--task", "gaussian_linear", "--observation", "-1"]), &["-1"]);
}

#[test]
fn unknown_task_lists_the_known_ones() {
    for cmd in [
        vec!["observation", "--task", "nope", "--observation", "1"],
        vec!["simulate", "--task", "nope", "--num", "5", "--output", "/tmp/never-written.csv"],
        vec!["reference", "--task", "nope", "--observation", "1", "--output", "/tmp/never-written.csv"],
    ] {
        fails(sbi(&cmd), &["unknown task 'nope'", "gaussian_linear", "two_moons", "lotka_volterra"]);
    }
    assert!(!Path::new("/tmp/never-written.csv").exists());
}

/// A user's error is one message on stderr, with no backtrace even where
/// `RUST_BACKTRACE=1` is set (as it is on many developers' machines), and an I/O
/// error quoted by its context is not printed twice.
#[test]
fn errors_print_no_backtrace_and_no_repeated_cause() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.toml");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_sbi")).args(args).env("RUST_BACKTRACE", "1").output().unwrap()
    };
    let o = run(&["observation", "--task", "nope", "--observation", "1"]);
    let err = stderr(&o);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.starts_with("Error: unknown task 'nope'"), "{err}");
    assert_eq!(o.status.code(), Some(1));
    let o = run(&[
        "train",
        "--task",
        "two_moons",
        "--method",
        "cp-vae",
        "--budget",
        "10",
        "--model",
        path_str(&dir.path().join("m.sbi")),
        "--config",
        path_str(&missing),
    ]);
    let err = stderr(&o);
    assert!(!err.contains("backtrace"), "{err}");
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
    assert!(err.contains("missing.toml"), "{err}");
}

// ---------------------------------------------------------------------------
// simulate

#[test]
fn simulate_writes_parameters_then_data() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("sims.csv");
    let o = sbi(&[
        "simulate",
        "--task",
        "gaussian_linear",
        "--num",
        "2000",
        "--seed",
        "7",
        "--output",
        path_str(&f),
    ]);
    assert!(stderr(&o).contains("failed simulations (NaN rows): 0"), "{}", stderr(&o));
    ok(o);
    let t = read_matrix(&f).unwrap();
    assert_eq!(t.data.dim(), (2000, 20));
    let expect: Vec<String> =
        (1..=10).map(|j| format!("parameter_{j}")).chain((1..=10).map(|j| format!("data_{j}"))).collect();
    assert_eq!(t.header, expect);
    // Columns are aligned: x_j - θ_j ~ N(0, 0.1), while x_j - θ_{j+1} has variance 0.3
    // (spec §1.1). With 2000 rows the variance's standard error is 0.1·sqrt(2/2000) ≈ 0.0032.
    let theta = cols(t.data.view(), ..10);
    let x = cols(t.data.view(), 10..);
    for j in 0..10 {
        let diff = &x.column(j) - &theta.column(j);
        let (m, v) = (diff.mean().unwrap(), diff.var(1.0));
        assert!(m.abs() < 0.03, "mean of x_{j} - theta_{j}: {m}");
        assert!((v - 0.1).abs() < 0.016, "variance of x_{j} - theta_{j}: {v}");
        let cross = &x.column(j) - &theta.column((j + 1) % 10);
        assert!((cross.var(1.0) - 0.3).abs() < 0.05, "cross variance {}", cross.var(1.0));
    }
}

#[test]
fn simulate_is_deterministic_per_seed_and_matches_the_library() {
    let dir = tempfile::tempdir().unwrap();
    let run = |seed: &str, name: &str, extra: &[&str]| {
        let f = dir.path().join(name);
        let mut args = vec!["simulate", "--task", "gaussian_linear", "--num", "300", "--seed", seed];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--output", path_str(&f)]);
        ok(sbi(&args));
        std::fs::read(&f).unwrap()
    };
    let a = run("11", "a.csv", &[]);
    assert_eq!(a, run("11", "b.csv", &[]), "same seed, different output");
    assert_eq!(a, run("11", "c.csv", &["--threads", "1"]), "output depends on the thread count");
    assert_ne!(a, run("12", "d.csv", &[]), "different seeds, same output");

    // The documented algorithm: one ChaCha8 generator seeded with S, prior draws then simulation.
    let task = task_by_name("gaussian_linear").unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let theta = task.prior().sample(300, &mut rng);
    let x = task.simulator().simulate(theta.view(), &mut rng).unwrap();
    let t = read_matrix(dir.path().join("a.csv")).unwrap();
    assert_eq!(cols(t.data.view(), ..10), theta);
    assert_eq!(cols(t.data.view(), 10..), x);
}

#[test]
fn simulate_in_chunks_extends_smaller_runs() {
    // 25,000 rows are simulated in three chunks; the first chunk equals a 10,000-row run.
    let dir = tempfile::tempdir().unwrap();
    let (big, small) = (dir.path().join("big.npy"), dir.path().join("small.npy"));
    ok(sbi(&[
        "simulate",
        "--task",
        "gaussian_linear",
        "--num",
        "25000",
        "--seed",
        "5",
        "--output",
        path_str(&big),
    ]));
    ok(sbi(&[
        "simulate",
        "--task",
        "gaussian_linear",
        "--num",
        "10000",
        "--seed",
        "5",
        "--output",
        path_str(&small),
    ]));
    let (b, s_) = (read_matrix(&big).unwrap().data, read_matrix(&small).unwrap().data);
    assert_eq!(b.dim(), (25_000, 20));
    assert_eq!(rows(b.view(), ..10_000), s_);
    // Later chunks are new draws, not repeats of the first.
    assert_ne!(rows(b.view(), 10_000..20_000), s_);
}

#[test]
fn simulate_at_given_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let theta_file = gaussian_file(dir.path(), "theta.csv", 6, 10, 0.0, 3);
    let out = dir.path().join("x.npy");
    ok(sbi(&[
        "simulate",
        "--task",
        "gaussian_linear",
        "--theta",
        path_str(&theta_file),
        "--output",
        path_str(&out),
    ]));
    let theta = read_matrix(&theta_file).unwrap().data;
    let t = read_matrix(&out).unwrap();
    assert_eq!(t.data.dim(), (6, 20));
    assert_eq!(cols(t.data.view(), ..10), theta);
}

#[test]
fn simulate_rejects_bad_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.csv");
    let narrow = gaussian_file(dir.path(), "narrow.csv", 4, 3, 0.0, 1);
    fails(
        sbi(&[
            "simulate",
            "--task",
            "gaussian_linear",
            "--theta",
            path_str(&narrow),
            "--output",
            path_str(&out),
        ]),
        &["narrow.csv has 3 columns", "10 parameters"],
    );
    let nan = dir.path().join("nan.csv");
    std::fs::write(&nan, format!("{}\n{}\n", ["a"; 10].join(","), ["1", "nan"].repeat(5).join(","))).unwrap();
    fails(
        sbi(&[
            "simulate",
            "--task",
            "gaussian_linear",
            "--theta",
            path_str(&nan),
            "--output",
            path_str(&out),
        ]),
        &["nan.csv", "5 non-finite", "row 1, column 2"],
    );
    assert!(!out.exists());
}

#[test]
fn simulate_rejects_bad_counts_and_paths() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.csv");
    fails(
        sbi(&["simulate", "--task", "gaussian_linear", "--num", "0", "--output", path_str(&out)]),
        &["--num must be at least 1"],
    );
    fails(
        sbi(&["simulate", "--task", "gaussian_linear", "--num", "-3", "--output", path_str(&out)]),
        &["-3"],
    );
    fails(sbi(&["simulate", "--task", "gaussian_linear", "--output", path_str(&out)]), &["--num"]);
    fails(
        sbi(&[
            "simulate",
            "--task",
            "gaussian_linear",
            "--num",
            "18446744073709551615",
            "--output",
            path_str(&out),
        ]),
        &["too large to hold in memory"],
    );
    let missing = dir.path().join("no_dir").join("x.csv");
    fails(
        sbi(&["simulate", "--task", "gaussian_linear", "--num", "5", "--output", path_str(&missing)]),
        &["cannot write", "no_dir", "does not exist"],
    );
    fails(
        sbi(&["simulate", "--task", "gaussian_linear", "--num", "5", "--output", path_str(dir.path())]),
        &["is a directory"],
    );
    assert!(!out.exists());
}

// ---------------------------------------------------------------------------
// reference

#[test]
fn reference_gaussian_linear_has_the_analytic_mean() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("ref.csv");
    let o = sbi(&[
        "reference",
        "--task",
        "gaussian_linear",
        "--observation",
        "2",
        "--num-samples",
        "2000",
        "--seed",
        "4",
        "--output",
        path_str(&f),
    ]);
    let err = stderr(&o);
    ok(o);
    assert!(err.contains("method:") && err.contains("analytic") && err.contains("seconds:"), "{err}");
    let t = read_matrix(&f).unwrap();
    assert_eq!(t.header, (1..=10).map(|j| format!("parameter_{j}")).collect::<Vec<_>>());
    assert_eq!(t.data.dim(), (2000, 10));
    // Posterior N(0.5·x_o, 0.05·I) (spec §1.1); standard error of the mean sqrt(0.05/2000) = 0.005.
    let x_o = task_by_name("gaussian_linear").unwrap().observation(2).unwrap();
    let mean = t.data.mean_axis(Axis(0)).unwrap();
    for j in 0..10 {
        assert!((mean[j] - 0.5 * x_o[j]).abs() < 0.025, "mean {j}: {} vs {}", mean[j], 0.5 * x_o[j]);
    }
}

#[test]
fn reference_is_deterministic_and_writes_npy() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str| {
        let f = dir.path().join(name);
        ok(sbi(&[
            "reference",
            "--task",
            "gaussian_linear",
            "--observation",
            "1",
            "--num-samples",
            "50",
            "--seed",
            "9",
            "--output",
            path_str(&f),
        ]));
        read_matrix(&f).unwrap().data
    };
    let a = run("a.npy");
    assert_eq!(a.dim(), (50, 10));
    assert_eq!(a, run("b.csv"));
}

#[test]
fn reference_for_fast_tasks() {
    // Tasks whose reference posterior is analytic or cheap rejection (spec §1).
    let dir = tempfile::tempdir().unwrap();
    for name in ["gaussian_linear", "gaussian_linear_uniform", "gaussian_mixture", "two_moons"] {
        let Ok(task) = task_by_name(name) else {
            eprintln!("note: task {name} not available yet; skipped");
            continue;
        };
        let f = dir.path().join(format!("{name}.csv"));
        ok(sbi(&[
            "reference",
            "--task",
            name,
            "--observation",
            "1",
            "--num-samples",
            "100",
            "--output",
            path_str(&f),
        ]));
        assert_eq!(read_matrix(&f).unwrap().data.dim(), (100, task.theta_dim()), "{name}");
    }
}

#[test]
fn reference_rejects_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.csv");
    let base = ["reference", "--task", "gaussian_linear"];
    let with = |extra: &[&str]| {
        let mut a = base.to_vec();
        a.extend_from_slice(extra);
        sbi(&a)
    };
    fails(with(&["--observation", "11", "--output", path_str(&out)]), &["observation 11 does not exist"]);
    fails(
        with(&["--observation", "1", "--num-samples", "0", "--output", path_str(&out)]),
        &["--num-samples must be at least 1"],
    );
    fails(
        with(&["--observation", "1", "--num-samples", "100000000000000000", "--output", path_str(&out)]),
        &["too large to hold in memory"],
    );
    let missing = dir.path().join("nowhere").join("r.csv");
    fails(with(&["--observation", "1", "--output", path_str(&missing)]), &["cannot write", "does not exist"]);
    assert!(!out.exists());
}

// ---------------------------------------------------------------------------
// c2st, mmd

#[test]
fn c2st_same_and_shifted_distributions() {
    let dir = tempfile::tempdir().unwrap();
    let a = gaussian_file(dir.path(), "a.csv", 300, 2, 0.0, 1);
    let b = gaussian_file(dir.path(), "b.npy", 300, 2, 0.0, 2);
    let c = gaussian_file(dir.path(), "c.csv", 300, 2, 6.0, 3);
    // Same distribution: accuracy near 0.5 (binomial s.d. of 600 test predictions ≈ 0.02).
    let same = last_value(&ok(sbi(&["c2st", path_str(&a), path_str(&b)])));
    assert!((0.38..=0.62).contains(&same), "c2st same: {same}");
    // Means 6 s.d. apart: almost perfectly separable.
    let far = last_value(&ok(sbi(&["c2st", path_str(&a), path_str(&c)])));
    assert!(far > 0.97, "c2st shifted: {far}");
    let auc =
        last_value(&ok(sbi(&["c2st", path_str(&a), path_str(&c), "--auc", "--no-z-score", "--seed", "2"])));
    assert!(auc > 0.97, "c2st auc: {auc}");
    // Deterministic for a seed.
    assert_eq!(same, last_value(&ok(sbi(&["c2st", path_str(&a), path_str(&b), "--seed", "1"]))));
}

#[test]
fn mmd_same_and_shifted_distributions() {
    let dir = tempfile::tempdir().unwrap();
    let a = gaussian_file(dir.path(), "a.csv", 300, 2, 0.0, 1);
    let b = gaussian_file(dir.path(), "b.csv", 300, 2, 0.0, 2);
    let c = gaussian_file(dir.path(), "c.csv", 300, 2, 3.0, 3);
    for kernel in ["sbibm", "bayesflow-gaussian", "bayesflow-imq"] {
        let same = last_value(&ok(sbi(&["mmd", path_str(&a), path_str(&b), "--kernel", kernel])));
        let far = last_value(&ok(sbi(&["mmd", path_str(&a), path_str(&c), "--kernel", kernel])));
        assert!(same.is_finite() && far.is_finite());
        assert!(far > 10.0 * same.abs().max(1e-3), "{kernel}: same {same}, far {far}");
    }
}

#[test]
fn metrics_reject_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    let a = gaussian_file(dir.path(), "a.csv", 50, 2, 0.0, 1);
    let wide = gaussian_file(dir.path(), "wide.csv", 50, 3, 0.0, 2);
    let nan = dir.path().join("nan.csv");
    std::fs::write(&nan, "parameter_1,parameter_2\n1,2\nNaN,3\n").unwrap();
    let missing = dir.path().join("missing.csv");
    for cmd in ["c2st", "mmd"] {
        fails(
            sbi(&[cmd, path_str(&a), path_str(&wide)]),
            &["different widths", "a.csv has 2", "wide.csv has 3"],
        );
        fails(sbi(&[cmd, path_str(&a), path_str(&nan)]), &["nan.csv", "1 non-finite", "row 2, column 1"]);
        fails(sbi(&[cmd, path_str(&missing), path_str(&a)]), &["not found", "missing.csv"]);
    }
    fails(sbi(&["mmd", path_str(&a), path_str(&a), "--kernel", "gauss"]), &["gauss", "bayesflow-imq"]);
}

#[test]
fn help_lists_the_subcommands() {
    let out = ok(sbi(&["--help"]));
    for c in ["tasks", "simulate", "observation", "reference", "c2st", "mmd", "--threads"] {
        assert!(out.contains(c), "help lacks {c}:\n{out}");
    }
}
