//! Integration tests of `sbi bench` and `sbi report`: a tiny sweep end to end,
//! a rerun that skips finished runs, and bad input (clear error, no panic).

use std::path::Path;
use std::process::{Command, Output};

fn sbi(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sbi")).args(args).output().expect("run the sbi binary")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ok(o: Output) -> (String, String) {
    assert!(o.status.success(), "failed: {:?}\nstderr:\n{}", o.status, stderr(&o));
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    (String::from_utf8_lossy(&o.stdout).into_owned(), stderr(&o))
}

fn fails(o: Output, needles: &[&str]) {
    let err = stderr(&o);
    assert!(!o.status.success(), "unexpectedly succeeded:\n{err}");
    assert_ne!(o.status.code(), Some(101), "exit code 101 means a panic:\n{err}");
    for n in needles {
        assert!(err.contains(n), "stderr does not mention {n:?}:\n{err}");
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

const TINY: &str = "name = \"tiny\"\ntasks = [\"two_moons\"]\nmethods = [\"cp-vae\"]\nbudgets = [300]\n\
                    seeds = [1, 2]\nobservations = [1]\nnum_samples = 200\n\
                    [settings.cp-vae.train]\nmax_epochs = 2\nbatch_size = 100\n";

#[test]
fn bench_runs_resumes_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    let sweep = dir.path().join("tiny.toml");
    std::fs::write(&sweep, TINY).unwrap();
    let out = dir.path().join("results");
    let (stdout, err) = ok(sbi(&["bench", "--sweep", s(&sweep), "--output", s(&out)]));
    assert!(err.contains("2 runs: 0 already in the store, 2 to run"), "{err}");
    assert!(err.contains("two_moons cp-vae n=300 seed=2 obs=1: C2ST"), "{err}");
    assert!(stdout.contains("report.md (2 runs)"), "{stdout}");
    assert!(out.join("figures/pairs_two_moons_cp-vae.png").exists());

    let (_, err) = ok(sbi(&["bench", "--sweep", s(&sweep), "--output", s(&out)]));
    assert!(err.contains("2 runs: 2 already in the store, 0 to run"), "{err}");
    // One more seed from the command line: only that run is new.
    let (_, err) =
        ok(sbi(&["bench", "--sweep", s(&sweep), "--output", s(&out), "--seeds", "1,2,3", "--no-report"]));
    assert!(err.contains("3 runs: 2 already in the store, 1 to run"), "{err}");

    std::fs::remove_file(out.join("report.md")).unwrap();
    let (stdout, _) = ok(sbi(&["report", s(&out)]));
    assert!(stdout.trim().ends_with("report.md"), "{stdout}");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("| cp-vae | ours | 0."), "{md}");
    assert!(md.contains("(3) |"), "{md}");
}

#[test]
fn bench_dry_run_lists_the_plan() {
    let (stdout, _) = ok(sbi(&["bench", "--sweep", "quick", "--dry-run"]));
    assert!(stdout.contains("12 runs; store: bench-results/quick"), "{stdout}");
    let (stdout, _) = ok(sbi(&["bench", "--sweep", "paper", "--methods", "cp-vae", "--dry-run"]));
    assert!(stdout.contains("45 runs"), "{stdout}");
}

#[test]
fn bench_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, TINY.replace("[\"two_moons\"]", "[\"two_moons\",\n  \"too_moons\"]")).unwrap();
    fails(
        sbi(&["bench", "--sweep", s(&bad), "--dry-run"]),
        &["bad.toml, line 3", "unknown task 'too_moons'"],
    );
    std::fs::write(&bad, TINY.replace("[300]", "[0]")).unwrap();
    fails(sbi(&["bench", "--sweep", s(&bad), "--dry-run"]), &["line 4", "budget must be at least 1"]);
    std::fs::write(&bad, TINY.replace("\"cp-vae\"]", "\"cp-vae\", \"vae\"]")).unwrap();
    fails(sbi(&["bench", "--sweep", s(&bad), "--dry-run"]), &["line 3", "unknown method 'vae'"]);
    fails(sbi(&["bench", "--sweep", "quick", "--budgets", "0", "--dry-run"]), &["got 0"]);
    fails(sbi(&["bench", "--sweep", "nope", "--dry-run"]), &["not a built-in sweep", "quick, paper, sbibm"]);
    fails(
        sbi(&["bench", "--sweep", "quick", "--jobs", "0", "--output", s(&dir.path().join("j"))]),
        &["--jobs"],
    );
    fails(sbi(&["report", s(dir.path())]), &["not a results directory"]);
    // A store of another version is refused and left alone.
    let store = dir.path().join("old");
    std::fs::create_dir_all(&store).unwrap();
    std::fs::write(store.join("store.json"), r#"{"format": "sbi-bench results store", "version": 0}"#)
        .unwrap();
    let sweep = dir.path().join("tiny.toml");
    std::fs::write(&sweep, TINY).unwrap();
    fails(sbi(&["bench", "--sweep", s(&sweep), "--output", s(&store)]), &["store version 0"]);
    assert!(!store.join("runs.jsonl").exists());
}
