//! `sbi train`, `sbi sample` and `sbi run` with the NPE methods, through the
//! generic command-line code.

use sbi::io::read_matrix;
use std::path::Path;
use std::process::{Command, Output};

fn sbi(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sbi")).args(args).output().expect("run the sbi binary")
}

fn ok(o: Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "failed: {:?}\nstderr:\n{err}", o.status);
    assert!(!err.contains("panicked"), "{err}");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn npe_methods_train_sample_and_run() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("quick.toml");
    std::fs::write(&cfg, "[train]\nmax_epochs = 3\n").unwrap();
    for method in ["npe-mdn", "npe-maf", "npe-nsf"] {
        let model = dir.path().join(format!("{method}.sbi"));
        let common = ["--task", "two_moons", "--method", method, "--budget", "500", "--seed", "2"];
        let mut args = vec!["train"];
        args.extend(common);
        args.extend(["--config", s(&cfg), "--model", s(&model)]);
        ok(sbi(&args));
        let draws = |name: &str| {
            let out = dir.path().join(name);
            let a = ["sample", "--model", s(&model), "--observation", "1", "--num-samples", "300"];
            ok(sbi(&[&a[..], &["--seed", "5", "--output", s(&out)]].concat()));
            read_matrix(&out).unwrap().data
        };
        let (a, b) = (draws("a.csv"), draws("b.csv"));
        assert_eq!(a.dim(), (300, 2));
        assert_eq!(a, b, "{method}: same seed, same draws");
        // two_moons' prior is U(-1, 1)^2: rejection keeps every draw inside.
        assert!(a.iter().all(|v| (-1.0..=1.0).contains(v)), "{method}");

        let mut args = vec!["run"];
        args.extend(common);
        args.extend(["--config", s(&cfg), "--observation", "1", "--num-samples", "500"]);
        let stdout = ok(sbi(&args));
        let last = stdout.lines().last().unwrap();
        for key in [format!("method={method}"), "train_s=".into(), "c2st=".into()] {
            assert!(last.contains(&key), "{key} missing from {last}");
        }
    }
}
