//! The results store: a directory holding `store.json` (format and version),
//! `runs.jsonl` (one [`RunRecord`] per line, appended as each run finishes),
//! `failures.jsonl` (runs that errored; retried by a rerun), `samples/` (each
//! run's posterior draws) and `references/` (the reference-posterior cache).
//!
//! Every record is written with a single `write` of one complete line to a file
//! opened for appending, then flushed to disk, so an interrupted sweep loses
//! at most the run in progress. A line torn by a crash or a full disk (the
//! only way to get one) is detected on the next open: it is cut off, reported,
//! and its run is redone; no earlier record is touched.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::{BenchError, RunKey, RunRecord, STORE_VERSION};

/// The store's header file.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Header {
    format: String,
    version: u32,
}

const FORMAT: &str = "sbi-bench results store";
const HEADER: &str = "store.json";
const RUNS: &str = "runs.jsonl";
const FAILURES: &str = "failures.jsonl";

/// A failed run, as logged in `failures.jsonl`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// What ran.
    pub key: RunKey,
    /// The error message.
    pub error: String,
    /// Unix time (seconds).
    pub finished_unix: u64,
}

/// An open results store.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    append: Mutex<()>,
    /// Bytes cut off a torn last line when the store was opened (0 normally).
    pub repaired_bytes: u64,
}

impl Store {
    /// Opens the store in `dir`, creating the directory and an empty store if
    /// needed. Errors on a store of another format version or on a directory
    /// that holds a `runs.jsonl` but no header.
    pub fn open(dir: &Path) -> Result<Store, BenchError> {
        std::fs::create_dir_all(dir.join("samples"))
            .map_err(|e| BenchError::io("creating", dir.join("samples"), e))?;
        let header_path = dir.join(HEADER);
        if header_path.exists() {
            let text = std::fs::read_to_string(&header_path)
                .map_err(|e| BenchError::io("reading", &header_path, e))?;
            let header: Header = serde_json::from_str(&text).map_err(|e| BenchError::IncompatibleStore {
                path: header_path.clone(),
                reason: format!("not a results-store header: {e}"),
            })?;
            if header.format != FORMAT {
                return Err(BenchError::IncompatibleStore {
                    path: header_path,
                    reason: format!("format '{}' is not '{FORMAT}'", header.format),
                });
            }
            if header.version != STORE_VERSION {
                return Err(BenchError::IncompatibleStore {
                    path: header_path,
                    reason: format!(
                        "written by store version {}, this build reads version {STORE_VERSION}; \
                         use another --output directory or the matching build",
                        header.version
                    ),
                });
            }
        } else {
            if dir.join(RUNS).exists() {
                return Err(BenchError::IncompatibleStore {
                    path: dir.to_path_buf(),
                    reason: format!("{RUNS} exists but {HEADER} is missing"),
                });
            }
            let header = Header { format: FORMAT.to_string(), version: STORE_VERSION };
            write_atomic(
                &header_path,
                serde_json::to_string_pretty(&header).expect("serialises").as_bytes(),
            )?;
        }
        let mut repaired_bytes = 0;
        for name in [RUNS, FAILURES] {
            repaired_bytes += repair_torn_tail(&dir.join(name))?;
        }
        Ok(Store { dir: dir.to_path_buf(), append: Mutex::new(()), repaired_bytes })
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Path of a run's samples file (`samples/<id>.npy`), and its relative name.
    pub fn samples_path(&self, key: &RunKey) -> (PathBuf, String) {
        let rel = format!("samples/{}.npy", key.id());
        (self.dir.join(&rel), rel)
    }

    /// Path of the model file shared by the runs that differ from `key` only in
    /// the observation (`models/<task>-<method>-n<budget>-s<seed>-<device>-<hash>.sbi`).
    pub fn model_path(&self, key: &RunKey) -> PathBuf {
        self.dir.join("models").join(format!("{}.sbi", key.model_id()))
    }

    /// Every finished run, in the order written. Errors name the line of a
    /// record that does not parse or has another version.
    pub fn records(&self) -> Result<Vec<RunRecord>, BenchError> {
        read_lines(&self.dir.join(RUNS), |line, n, path| {
            let value: serde_json::Value = serde_json::from_str(line).map_err(|e| {
                BenchError::CorruptStore { path: path.to_path_buf(), line: n, reason: e.to_string() }
            })?;
            let version = value.get("version").and_then(|v| v.as_u64());
            if version != Some(u64::from(STORE_VERSION)) {
                return Err(BenchError::IncompatibleStore {
                    path: path.to_path_buf(),
                    reason: format!(
                        "line {n} has record version {version:?}, this build reads {STORE_VERSION}"
                    ),
                });
            }
            serde_json::from_value(value).map_err(|e| BenchError::CorruptStore {
                path: path.to_path_buf(),
                line: n,
                reason: e.to_string(),
            })
        })
    }

    /// The logged failures.
    pub fn failures(&self) -> Result<Vec<Failure>, BenchError> {
        read_lines(&self.dir.join(FAILURES), |line, n, path| {
            serde_json::from_str(line).map_err(|e| BenchError::CorruptStore {
                path: path.to_path_buf(),
                line: n,
                reason: e.to_string(),
            })
        })
    }

    /// Keys of the finished runs.
    pub fn finished(&self) -> Result<BTreeSet<RunKey>, BenchError> {
        Ok(self.records()?.into_iter().map(|r| r.key).collect())
    }

    /// Appends a finished run (one line, flushed to disk).
    pub fn append(&self, record: &RunRecord) -> Result<(), BenchError> {
        self.append_line(RUNS, &serde_json::to_string(record).expect("records serialise"))
    }

    /// Logs a failed run.
    pub fn append_failure(&self, failure: &Failure) -> Result<(), BenchError> {
        self.append_line(FAILURES, &serde_json::to_string(failure).expect("failures serialise"))
    }

    fn append_line(&self, name: &str, line: &str) -> Result<(), BenchError> {
        let path = self.dir.join(name);
        let _guard = self.append.lock().unwrap_or_else(|e| e.into_inner());
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| BenchError::io("opening", &path, e))?;
        let mut buf = Vec::with_capacity(line.len() + 1);
        buf.extend_from_slice(line.as_bytes());
        buf.push(b'\n');
        if let Err(e) = file.write_all(&buf).and_then(|()| file.sync_data()) {
            drop(file);
            // Leave no torn line behind (e.g. disk full mid-write).
            repair_torn_tail(&path).ok();
            return Err(BenchError::io("appending to", &path, e));
        }
        Ok(())
    }
}

fn read_lines<T>(
    path: &Path,
    mut parse: impl FnMut(&str, usize, &Path) -> Result<T, BenchError>,
) -> Result<Vec<T>, BenchError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(BenchError::io("reading", path, e)),
    };
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if !line.trim().is_empty() {
            out.push(parse(line, i + 1, path)?);
        }
    }
    Ok(out)
}

/// Cuts a last line that lacks its newline (a torn write); returns the bytes removed.
fn repair_torn_tail(path: &Path) -> Result<u64, BenchError> {
    let mut file = match OpenOptions::new().read(true).write(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(BenchError::io("opening", path, e)),
    };
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(|e| BenchError::io("reading", path, e))?;
    if bytes.is_empty() || bytes.ends_with(b"\n") {
        return Ok(0);
    }
    let keep = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    file.set_len(keep as u64).map_err(|e| BenchError::io("repairing", path, e))?;
    file.seek(SeekFrom::End(0)).map_err(|e| BenchError::io("repairing", path, e))?;
    Ok((bytes.len() - keep) as u64)
}

/// Writes `bytes` to `path` through a temporary file and a rename, so that
/// `path` is either absent, the old content or the complete new content.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), BenchError> {
    let tmp =
        path.with_extension(format!("{}.tmp", path.extension().and_then(|e| e.to_str()).unwrap_or("part")));
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_data()?;
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        std::fs::remove_file(&tmp).ok();
        BenchError::io("writing", path, e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Environment, Metrics, StageTimes};
    use sbi_train::Method;

    fn record(seed: u64) -> RunRecord {
        RunRecord {
            version: STORE_VERSION,
            key: RunKey {
                task: "two_moons".into(),
                method: Method::CpVae,
                budget: 100,
                seed,
                observation: 1,
                device: "flex".into(),
                config_hash: "0123456789abcdef".into(),
            },
            sweep: "test".into(),
            metrics: Metrics { c2st: 0.6, mmd_sbibm: 0.01, mmd_bayesflow: 0.02, mmd_bayesflow_imq: 0.03 },
            timings: StageTimes { simulate_s: 0.1, train_s: 1.0, sample_s: 0.2, metrics_s: 0.3 },
            acceptance_rate: 1.0,
            dropped: 0,
            epochs: Some(3),
            model_from_observation: None,
            samples_file: "samples/x.npy".into(),
            config: serde_json::json!({"train": {"lr": 0.002}}),
            environment: Environment::detect(1),
            finished_unix: 1,
        }
    }

    #[test]
    fn append_reopen_and_resume() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert!(store.records().unwrap().is_empty());
        store.append(&record(1)).unwrap();
        store.append(&record(2)).unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.repaired_bytes, 0);
        assert_eq!(store.records().unwrap(), vec![record(1), record(2)]);
        assert_eq!(store.finished().unwrap().len(), 2);
    }

    #[test]
    fn a_torn_last_line_is_cut_and_earlier_records_survive() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.append(&record(1)).unwrap();
        let line = serde_json::to_string(&record(2)).unwrap();
        let mut f = OpenOptions::new().append(true).open(dir.path().join(RUNS)).unwrap();
        f.write_all(&line.as_bytes()[..line.len() / 2]).unwrap();
        drop(f);
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.repaired_bytes, (line.len() / 2) as u64);
        assert_eq!(store.records().unwrap(), vec![record(1)]);
        store.append(&record(2)).unwrap();
        assert_eq!(store.records().unwrap(), vec![record(1), record(2)]);
    }

    #[test]
    fn other_versions_and_corrupt_lines_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        Store::open(dir.path()).unwrap();
        std::fs::write(dir.path().join(HEADER), r#"{"format": "sbi-bench results store", "version": 99}"#)
            .unwrap();
        let e = Store::open(dir.path()).unwrap_err().to_string();
        assert!(e.contains("store version 99"), "{e}");

        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.append(&record(1)).unwrap();
        let mut text = std::fs::read_to_string(dir.path().join(RUNS)).unwrap();
        text.push_str("{not json}\n");
        std::fs::write(dir.path().join(RUNS), &text).unwrap();
        let e = store.records().unwrap_err().to_string();
        assert!(e.contains("line 2"), "{e}");

        let mut old = serde_json::to_value(record(1)).unwrap();
        old["version"] = 0.into();
        std::fs::write(dir.path().join(RUNS), format!("{old}\n")).unwrap();
        let e = store.records().unwrap_err().to_string();
        assert!(e.contains("line 1") && e.contains("version"), "{e}");

        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(RUNS), "").unwrap();
        assert!(Store::open(dir.path()).unwrap_err().to_string().contains("store.json is missing"));
    }

    #[test]
    fn failures_are_logged() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let f = Failure { key: record(1).key, error: "boom".into(), finished_unix: 5 };
        store.append_failure(&f).unwrap();
        assert_eq!(store.failures().unwrap(), vec![f]);
        assert!(store.finished().unwrap().is_empty());
    }
}
