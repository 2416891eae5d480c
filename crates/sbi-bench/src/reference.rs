//! Reference posteriors, computed once per (task, observation, number of draws,
//! sampler version) and cached on disk as `references/<task>-o<k>-n<n>-v<version>.npy`
//! (float64) beside a `.json` holding the sampler's report.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sbi_sim::{REFERENCE_SAMPLER_VERSION, ReferenceReport, check_matrix};

use crate::BenchError;
use crate::store::write_atomic;

/// Seed of every reference sample (as `sbi run` uses).
pub const REFERENCE_SEED: u64 = 0;

type Slot = Arc<Mutex<Option<Arc<Array2<f64>>>>>;

/// How a reference was obtained.
#[derive(Clone, Debug)]
pub struct ReferenceInfo {
    /// Task name.
    pub task: String,
    /// Observation.
    pub observation: usize,
    /// Whether it came from the disk cache.
    pub cached: bool,
    /// Seconds spent (sampling or reading).
    pub seconds: f64,
}

/// A disk-backed cache of reference samples, safe to share between threads;
/// each reference is computed by one thread while the others wait for it.
#[derive(Debug)]
pub struct ReferenceCache {
    dir: PathBuf,
    slots: Mutex<HashMap<(String, usize, usize), Slot>>,
}

impl ReferenceCache {
    /// A cache in `dir` (created on first write).
    pub fn new(dir: &Path) -> ReferenceCache {
        ReferenceCache { dir: dir.to_path_buf(), slots: Mutex::new(HashMap::new()) }
    }

    /// The cache file of a reference.
    pub fn path(&self, task: &str, observation: usize, n: usize) -> PathBuf {
        self.dir.join(format!("{task}-o{observation}-n{n}-v{REFERENCE_SAMPLER_VERSION}.npy"))
    }

    /// `n` reference draws of `task` at `observation`: `[n, d_theta]`.
    /// `on_done` is told whether they were cached and how long they took.
    pub fn get(
        &self,
        task: &str,
        observation: usize,
        n: usize,
        on_done: &dyn Fn(&ReferenceInfo),
    ) -> Result<Arc<Array2<f64>>, BenchError> {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            slots.entry((task.to_string(), observation, n)).or_default().clone()
        };
        let mut guard = slot.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(samples) = guard.as_ref() {
            return Ok(samples.clone());
        }
        let start = Instant::now();
        let task_obj = sbi_sim::task_by_name(task)?;
        let path = self.path(task, observation, n);
        let cached = match ndarray_npy::read_npy::<_, Array2<f64>>(&path) {
            Ok(a)
                if a.dim() == (n, task_obj.theta_dim()) && check_matrix(a.view(), a.ncols(), "").is_ok() =>
            {
                Some(a)
            }
            _ => None,
        };
        let (samples, was_cached) = match cached {
            Some(a) => (a, true),
            None => {
                let mut rng = ChaCha8Rng::seed_from_u64(REFERENCE_SEED);
                let r = task_obj.reference_posterior(observation, n, &mut rng)?;
                check_matrix(r.samples.view(), task_obj.theta_dim(), "reference samples")?;
                self.write(&path, &r.samples, &r.report)?;
                (r.samples, false)
            }
        };
        on_done(&ReferenceInfo {
            task: task.to_string(),
            observation,
            cached: was_cached,
            seconds: start.elapsed().as_secs_f64(),
        });
        let samples = Arc::new(samples);
        *guard = Some(samples.clone());
        Ok(samples)
    }

    fn write(&self, path: &Path, samples: &Array2<f64>, report: &ReferenceReport) -> Result<(), BenchError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| BenchError::io("creating", &self.dir, e))?;
        let mut bytes = Vec::new();
        ndarray_npy::WriteNpyExt::write_npy(samples, &mut bytes)
            .map_err(|e| BenchError::io("encoding", path, std::io::Error::other(e.to_string())))?;
        write_atomic(path, &bytes)?;
        let json = serde_json::to_string_pretty(report).expect("reports serialise");
        write_atomic(&path.with_extension("json"), json.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn computed_once_then_read_back_identically() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ReferenceCache::new(dir.path());
        let infos = Mutex::new(Vec::new());
        let log = |i: &ReferenceInfo| infos.lock().unwrap().push(i.cached);
        let a = cache.get("gaussian_linear", 1, 200, &log).unwrap();
        let b = cache.get("gaussian_linear", 1, 200, &log).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(a.dim(), (200, 10));
        assert!(cache.path("gaussian_linear", 1, 200).exists());
        // A fresh cache on the same directory reads the file.
        let fresh = ReferenceCache::new(dir.path());
        let c = fresh.get("gaussian_linear", 1, 200, &log).unwrap();
        assert_eq!(*a, *c);
        assert_eq!(*infos.lock().unwrap(), vec![false, true]);
        // A corrupt file is recomputed, not trusted.
        std::fs::write(cache.path("gaussian_linear", 1, 200), b"garbage").unwrap();
        let d = ReferenceCache::new(dir.path()).get("gaussian_linear", 1, 200, &log).unwrap();
        assert_eq!(*a, *d);
    }
}
