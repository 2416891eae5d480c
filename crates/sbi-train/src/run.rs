//! A whole run: simulate a budget, train a method, draw posterior samples at an
//! observation. Used by `sbi run` and by the benchmark sweeps (`sbi-bench`).

use std::time::Instant;

use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sbi_nn::DeviceChoice;
use serde_json::{Value, json};

use crate::{
    CpVaeEstimator, Method, Posterior, Progress, SampleConfig, Settings, TrainError, TrainReport,
    UpVaeEstimator, apply, estimator, sample,
};

/// One run: task × method × budget × seed × observation × device.
#[derive(Clone, Debug)]
pub struct RunSpec {
    /// sbibm task name.
    pub task: String,
    /// Method.
    pub method: Method,
    /// Simulation budget (pairs simulated; sequential methods split it over rounds).
    pub budget: usize,
    /// The run's seed. It determines every random stream: the simulations
    /// (sub-seed 1), the weight initialisation (2), the training split, batch
    /// order and noise (3) and the sampling (4); seeds in `settings` are overridden.
    pub seed: u64,
    /// Observation index, 1..=10.
    pub observation: usize,
    /// Posterior draws to return.
    pub num_samples: usize,
    /// Compute device.
    pub device: DeviceChoice,
    /// Method settings (partial overrides of the defaults).
    pub settings: Settings,
    /// Sampling options.
    pub sample: SampleConfig,
}

/// Wall-clock seconds of each stage of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Timings {
    /// Simulating the training pairs (all rounds for sequential methods).
    pub simulate_s: f64,
    /// Training (the training loop only, all rounds).
    pub train_s: f64,
    /// Drawing the posterior samples (rejection included).
    pub sample_s: f64,
}

/// The result of [`run`].
pub struct RunOutput {
    /// Posterior draws `[num_samples, d_theta]`, inside the prior support.
    pub samples: Array2<f64>,
    /// Fraction of proposals inside the prior support.
    pub acceptance_rate: f64,
    /// Stage timings.
    pub timings: Timings,
    /// Simulations dropped for non-finite values.
    pub dropped: usize,
    /// How training went.
    pub report: Option<TrainReport>,
    /// The effective configuration (`{"model": …, "train": …}`), seeds included.
    pub config: Value,
    /// The trained posterior (e.g. to save it).
    pub posterior: Box<dyn Posterior>,
}

/// Sub-seed `k` of a run seed (SplitMix64 finaliser of `seed + k·golden`).
pub fn sub_seed(seed: u64, k: u64) -> u64 {
    let mut z = seed.wrapping_add(k.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The effective configuration of `method` under `settings`, as JSON
/// (`{"model": …, "train": …}`; the model's dimensions are placeholders).
pub fn settings_json(method: Method, settings: &Settings) -> Result<Value, TrainError> {
    let train = apply(&crate::default_train(method), &settings.train, "train")?;
    let model = match method {
        Method::CpVae => {
            serde_json::to_value(apply(&CpVaeEstimator::default().model, &settings.model, "model")?)
        }
        Method::UpVae => {
            serde_json::to_value(apply(&UpVaeEstimator::default().model, &settings.model, "model")?)
        }
        m @ (Method::NpeMdn | Method::NpeMaf | Method::NpeNsf) => {
            Ok(crate::npe::model_json(m, &settings.model)?)
        }
        m @ (Method::SnpeA | Method::SnpeB | Method::Apt) => {
            Ok(crate::sequential::model_json(m, &settings.model)?)
        }
    }
    .expect("configs serialise");
    Ok(json!({ "model": model, "train": train }))
}

/// Simulates `spec.budget` pairs, trains `spec.method`, and draws
/// `spec.num_samples` posterior samples at observation `spec.observation`.
pub fn run(spec: &RunSpec, progress: &mut dyn FnMut(&Progress)) -> Result<RunOutput, TrainError> {
    let task = sbi_sim::task_by_name(&spec.task)?;
    let x_o = task.observation(spec.observation)?;
    if spec.num_samples == 0 {
        return Err(TrainError::InvalidConfig("num_samples must be at least 1".to_string()));
    }
    let mut settings = spec.settings.clone();
    settings.model.insert("seed".to_string(), json!(sub_seed(spec.seed, 2)));
    settings.train.insert("seed".to_string(), json!(sub_seed(spec.seed, 3)));
    let config = settings_json(spec.method, &settings)?;
    let est = estimator(spec.method, &settings)?;
    let device = spec.device.device()?;
    let (posterior, sim) =
        est.fit_task(task.as_ref(), spec.budget, x_o.view(), sub_seed(spec.seed, 1), &device, progress)?;
    let report = posterior.meta().report.clone();
    let train_s = report.as_ref().map_or(0.0, |r| r.seconds);
    progress(&Progress::Stage(format!("sampling {} draws", spec.num_samples)));
    let start = Instant::now();
    let mut rng = ChaCha8Rng::seed_from_u64(sub_seed(spec.seed, 4));
    let draws =
        sample(posterior.as_ref(), Some(task.prior()), x_o.view(), spec.num_samples, &spec.sample, &mut rng)?;
    let sample_s = start.elapsed().as_secs_f64();
    Ok(RunOutput {
        acceptance_rate: draws.acceptance_rate(),
        samples: draws.samples,
        timings: Timings { simulate_s: sim.seconds, train_s, sample_s },
        dropped: sim.dropped,
        report,
        config,
        posterior,
    })
}
