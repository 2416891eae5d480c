//! Integration tests of `sbi train`, `sbi sample` and `sbi run`: round trips
//! through model files and every bad-input case (clear error, no panic).

use sbi::io::{read_matrix, write_matrix};
use std::path::Path;
use std::process::{Command, Output};

fn sbi(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sbi")).args(args).output().expect("run the sbi binary")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ok(o: Output) -> String {
    assert!(o.status.success(), "failed: {:?}\nstderr:\n{}", o.status, stderr(&o));
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn fails(o: Output, needles: &[&str]) {
    let err = stderr(&o);
    assert!(!o.status.success(), "unexpectedly succeeded:\n{err}");
    assert_ne!(o.status.code(), Some(101), "exit code 101 means a panic:\n{err}");
    assert!(!err.contains("panicked"), "{err}");
    for n in needles {
        assert!(err.contains(n), "stderr does not mention {n:?}:\n{err}");
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A settings file for short training runs.
fn quick_config(dir: &Path) -> std::path::PathBuf {
    let p = dir.join("quick.toml");
    std::fs::write(&p, "[model]\nnet = { hidden = [16, 16] }\n[train]\nmax_epochs = 3\n").unwrap();
    p
}

#[test]
fn train_then_sample_round_trips_and_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = quick_config(dir.path());
    let model = dir.path().join("m.sbi");
    for method in ["cp-vae", "up-vae"] {
        ok(sbi(&[
            "train",
            "--task",
            "two_moons",
            "--method",
            method,
            "--budget",
            "500",
            "--seed",
            "2",
            "--config",
            s(&cfg),
            "--device",
            "cpu",
            "--model",
            s(&model),
        ]));
        let out_a = dir.path().join("a.csv");
        let out_b = dir.path().join("b.npy");
        for out in [&out_a, &out_b] {
            ok(sbi(&[
                "sample",
                "--model",
                s(&model),
                "--observation",
                "3",
                "--num-samples",
                "200",
                "--seed",
                "5",
                "--output",
                s(out),
            ]));
        }
        let a = read_matrix(&out_a).unwrap();
        let b = read_matrix(&out_b).unwrap();
        assert_eq!(a.data.dim(), (200, 2));
        assert_eq!(a.header, vec!["parameter_1", "parameter_2"]);
        assert_eq!(a.data, b.data, "{method}: same seed, same draws in both formats");
        // two_moons' prior is U(-1, 1)^2: rejection keeps every draw inside.
        assert!(a.data.iter().all(|v| (-1.0..=1.0).contains(v)), "{method}");

        // --x-o with observation 3 gives the same draws as --observation 3.
        let x_o = sbi::sim::task_by_name("two_moons").unwrap().observation(3).unwrap();
        let xo_file = dir.path().join("xo.csv");
        write_matrix(&xo_file, &["data_1", "data_2"], x_o.view().insert_axis(ndarray::Axis(0))).unwrap();
        let out_c = dir.path().join("c.csv");
        ok(sbi(&[
            "sample",
            "--model",
            s(&model),
            "--x-o",
            s(&xo_file),
            "--num-samples",
            "200",
            "--seed",
            "5",
            "--output",
            s(&out_c),
        ]));
        assert_eq!(read_matrix(&out_c).unwrap().data, a.data, "{method}");
    }
}

#[test]
fn run_prints_metrics_and_a_summary_line() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = quick_config(dir.path());
    let out = dir.path().join("draws.csv");
    let model = dir.path().join("run.sbi");
    let stdout = ok(sbi(&[
        "run",
        "--task",
        "gaussian_linear",
        "--method",
        "cp-vae",
        "--budget",
        "400",
        "--observation",
        "1",
        "--seed",
        "1",
        "--num-samples",
        "600",
        "--config",
        s(&cfg),
        "--output",
        s(&out),
        "--model",
        s(&model),
        "--engine",
        "fused",
    ]));
    let last = stdout.lines().last().unwrap();
    for key in ["task=gaussian_linear", "method=cp-vae", "budget=400", "train_s=", "c2st=", "mmd_sbibm="] {
        assert!(last.contains(key), "{key} missing from {last}");
    }
    let c2st: f64 = last.split("c2st=").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    assert!((0.0..=1.0).contains(&c2st), "{c2st}");
    assert_eq!(read_matrix(&out).unwrap().data.dim(), (600, 10));
    assert!(model.exists());
}

#[test]
fn bad_input_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = quick_config(dir.path());
    let model = dir.path().join("m.sbi");
    let m = s(&model);
    let base = |method: &str, budget: &str| {
        vec![
            "train".to_string(),
            "--task".into(),
            "two_moons".into(),
            "--method".into(),
            method.into(),
            "--budget".into(),
            budget.into(),
            "--config".into(),
            s(&cfg).into(),
            "--model".into(),
            m.into(),
        ]
    };
    let run = |a: Vec<String>| sbi(&a.iter().map(String::as_str).collect::<Vec<_>>());
    fails(run(base("vae", "100")), &["unknown method", "cp-vae"]);
    let mut a = base("cp-vae", "100");
    a.extend(["--rounds".into(), "2".into()]);
    fails(run(a), &["--rounds", "sequential"]);
    // The VAE settings file does not fit APT: drop `--config F`.
    let mut a: Vec<String> = base("apt", "100");
    let i = a.iter().position(|v| v == "--config").unwrap();
    a.drain(i..i + 2);
    a.extend(["--rounds".into(), "80".into()]);
    fails(run(a), &["too small", "80 rounds"]);
    fails(run(base("cp-vae", "0")), &["--budget"]);
    let mut a = base("cp-vae", "100");
    a.extend(["--device".into(), "tpu".into()]);
    fails(run(a), &["tpu"]);
    let mut a = base("cp-vae", "100");
    a.extend(["--engine".into(), "turbo".into()]);
    fails(run(a), &["turbo", "fused"]);
    let mut a = base("npe-maf", "100");
    let i = a.iter().position(|v| v == "--config").unwrap();
    a.drain(i..i + 2);
    a.extend(["--engine".into(), "fused".into()]);
    fails(run(a), &["--engine fused", "npe-maf"]);
    let bad_cfg = dir.path().join("bad.toml");
    std::fs::write(&bad_cfg, "[train]\nlerning_rate = 1.0\n").unwrap();
    let mut a = base("cp-vae", "100");
    a[8] = s(&bad_cfg).into();
    fails(run(a), &["lerning_rate", "learning_rate"]);
    fails(
        sbi(&["sample", "--model", "/nonexistent/m.sbi", "--observation", "1", "--output", "x.csv"]),
        &["m.sbi"],
    );
    let junk = dir.path().join("junk.sbi");
    std::fs::write(&junk, "not a model").unwrap();
    let out = dir.path().join("o.csv");
    fails(
        sbi(&["sample", "--model", s(&junk), "--observation", "1", "--output", s(&out)]),
        &["junk.sbi", "magic"],
    );

    ok(run(base("cp-vae", "200")));
    fails(sbi(&["sample", "--model", m, "--observation", "11", "--output", s(&out)]), &["11"]);
    let xo = dir.path().join("xo.csv");
    std::fs::write(&xo, "a,b,c\n1,2,3\n").unwrap();
    fails(
        sbi(&["sample", "--model", m, "--x-o", s(&xo), "--output", s(&out)]),
        &["3 columns", "dimension 2"],
    );
    std::fs::write(&xo, "a,b\n1,nan\n").unwrap();
    fails(sbi(&["sample", "--model", m, "--x-o", s(&xo), "--output", s(&out)]), &["xo.csv"]);
    fails(
        sbi(&["sample", "--model", m, "--observation", "1", "--num-samples", "0", "--output", s(&out)]),
        &["--num-samples"],
    );
}

/// `--config cp-vae-fast` (built in) trains the same model, bit for bit, as the file
/// `benchmarks/configs/cp-vae-fast.toml` (the same draws from it); built-in settings for
/// another method, or a name that is neither built in nor a file, are clear errors.
#[test]
fn builtin_settings_train_what_their_file_trains() {
    let dir = tempfile::tempdir().unwrap();
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../benchmarks/configs/cp-vae-fast.toml");
    let (model, out) = (dir.path().join("m.sbi"), dir.path().join("draws.csv"));
    let train = |method: &str, budget: &str, config: &str| {
        let args = ["--task", "two_moons", "--method", method, "--budget", budget, "--seed", "3"];
        sbi(&[&["train"], &args[..], &["--config", config, "--model", s(&model)]].concat())
    };
    let mut draws = Vec::new();
    for config in ["cp-vae-fast", s(&file)] {
        ok(train("cp-vae", "1000", config));
        let args = ["--observation", "1", "--num-samples", "300", "--seed", "4", "--output", s(&out)];
        ok(sbi(&[&["sample", "--model", s(&model)], &args[..]].concat()));
        draws.push(std::fs::read_to_string(&out).unwrap());
    }
    assert_eq!(draws[0], draws[1], "the built-in settings and the file trained different models");
    fails(
        train("up-vae", "100", "cp-vae-fast"),
        &["the built-in settings 'cp-vae-fast' are for cp-vae, not up-vae", "up-vae-fast (up-vae)"],
    );
    fails(
        train("cp-vae", "100", "fast"),
        &[
            "fast: not built-in settings (cp-vae-fast (cp-vae), up-vae-fast (up-vae), cp-vae-accurate (cp-vae), \
             up-vae-accurate (up-vae)) and not a readable file",
        ],
    );
}
