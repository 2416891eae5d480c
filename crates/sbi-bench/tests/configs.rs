//! The committed sweep files (`benchmarks/sweeps/*.toml`) load and expand into runs, and
//! the settings files for `--config` in `benchmarks/configs/` hold exactly the settings of
//! the sweep whose results their comments quote (and of the quick sweep's VAEs).

use std::path::{Path, PathBuf};

use sbi_bench::Sweep;
use sbi_train::{Method, Settings};

fn benchmarks() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../benchmarks")
}

fn toml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_committed_sweep_loads_and_plans() {
    let files = toml_files(&benchmarks().join("sweeps"));
    assert!(files.len() >= 10, "only {} sweep files found", files.len());
    for path in files {
        let sweep = Sweep::load(path.to_str().unwrap()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let runs = sweep.plan().unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(!runs.is_empty(), "{}: no runs", path.display());
    }
}

#[test]
fn settings_files_match_their_sweeps() {
    let dir = benchmarks();
    let pairs = [
        ("cp-vae-fast.toml", "paper-cp-vae-small-raw-p30.toml", Method::CpVae),
        ("up-vae-fast.toml", "paper-up-vae-small-raw.toml", Method::UpVae),
        ("cp-vae-accurate.toml", "paper-cp-vae-small.toml", Method::CpVae),
        ("up-vae-accurate.toml", "paper-up-vae-small.toml", Method::UpVae),
    ];
    for (config, sweep, method) in pairs {
        let settings = Settings::from_file(&dir.join("configs").join(config)).unwrap();
        let sweep = Sweep::load(dir.join("sweeps").join(sweep).to_str().unwrap()).unwrap();
        assert_eq!(sweep.methods, vec![method], "{config}");
        assert_eq!(Some(&settings), sweep.settings.get(&method), "{config} differs from its sweep");
    }
    // The quick sweep (the README's main job) runs the VAEs with the fast files.
    let quick = Sweep::builtin("quick").unwrap();
    for &(config, _, method) in &pairs[..2] {
        let settings = Settings::from_file(&dir.join("configs").join(config)).unwrap();
        assert_eq!(
            Some(&settings),
            quick.settings.get(&method),
            "the quick sweep's {method} differs from {config}"
        );
    }
    // Every settings file there is one of the pairs above.
    let listed: Vec<PathBuf> = pairs.iter().map(|(c, _, _)| dir.join("configs").join(c)).collect();
    for path in toml_files(&dir.join("configs")) {
        assert!(listed.contains(&path), "{} is not checked against a sweep", path.display());
    }
}
