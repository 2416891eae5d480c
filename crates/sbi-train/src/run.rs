//! A whole run: simulate a budget, train a method, draw posterior samples at an
//! observation. Used by `sbi run` and by the benchmark sweeps (`sbi-bench`).

use std::time::Instant;

use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sbi_nn::DeviceChoice;
use serde_json::{Value, json};

use crate::{
    CpVaeEstimator, Draws, Method, Posterior, Progress, SampleConfig, Settings, TrainConfig, TrainError,
    TrainReport, UpVaeEstimator, apply, estimator, sample,
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

/// Model options added after results had been stored, with their defaults.
/// [`settings_json`] leaves each out while it is at its default, so that the
/// configuration (and the fingerprint `sbi bench` resumes by) of a run with
/// the defaults is what it was before the option existed.
const LATER_MODEL_DEFAULTS: &[(Method, &str, f64)] = &[(Method::UpVae, "x_weight", 1.0)];

/// Training options added after results were stored: left out of
/// [`settings_json`] while at [`TrainConfig`]'s default, as `LATER_MODEL_DEFAULTS` are.
const LATER_TRAIN_OPTIONS: &[&str] = &["engine", "lr_schedule", "ema_decay", "min_delta"];

/// `method`'s entries of `LATER_MODEL_DEFAULTS`: (key, default).
fn later_model_defaults(method: Method) -> impl Iterator<Item = (&'static str, f64)> {
    LATER_MODEL_DEFAULTS.iter().filter(move |(m, _, _)| *m == method).map(|&(_, key, default)| (key, default))
}

/// Fills the options of `LATER_MODEL_DEFAULTS` that a stored model
/// configuration of `method` lacks with their defaults, so that model files
/// written before an option existed still load (as the model they were).
pub(crate) fn fill_later_model_defaults(method: Method, model_config: &Value) -> Value {
    let mut config = model_config.clone();
    if let Value::Object(m) = &mut config {
        for (key, default) in later_model_defaults(method) {
            m.entry(key).or_insert(json!(default));
        }
    }
    config
}

/// The effective configuration of `method` under `settings`, as JSON
/// (`{"model": …, "train": …}`; the model's dimensions are placeholders).
/// Options in `LATER_MODEL_DEFAULTS` are omitted at their defaults.
pub fn settings_json(method: Method, settings: &Settings) -> Result<Value, TrainError> {
    let train = apply(&crate::default_train(method), &settings.train, "train")?;
    let mut model = match method {
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
    if let Value::Object(m) = &mut model {
        for (key, default) in later_model_defaults(method) {
            if m.get(key).and_then(Value::as_f64) == Some(default) {
                m.remove(key);
            }
        }
    }
    let mut train = serde_json::to_value(train).expect("configs serialise");
    if let Value::Object(t) = &mut train {
        let defaults = serde_json::to_value(TrainConfig::new()).expect("configs serialise");
        for key in LATER_TRAIN_OPTIONS {
            if t.get(*key).is_some() && t.get(*key) == defaults.get(*key) {
                t.remove(*key);
            }
        }
    }
    Ok(json!({ "model": model, "train": train }))
}

/// A trained model with what its training did: [`train`]'s result, which
/// [`draw`] samples at an observation. For a method that is not sequential the
/// training does not depend on the observation, so one `Trained` serves every
/// observation of the same task, method, budget, seed, settings and device.
pub struct Trained {
    /// The trained posterior.
    pub posterior: Box<dyn Posterior>,
    /// Simulation and training seconds (`sample_s` is 0).
    pub timings: Timings,
    /// Simulations dropped for non-finite values.
    pub dropped: usize,
    /// How training went.
    pub report: Option<TrainReport>,
    /// The effective configuration (`{"model": …, "train": …}`), seeds included.
    pub config: Value,
}

/// Simulates `spec.budget` pairs and trains `spec.method` (at `spec.observation`
/// for the sequential methods, which simulate in rounds there).
pub fn train(spec: &RunSpec, progress: &mut dyn FnMut(&Progress)) -> Result<Trained, TrainError> {
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
    Ok(Trained {
        posterior,
        timings: Timings { simulate_s: sim.seconds, train_s, sample_s: 0.0 },
        dropped: sim.dropped,
        report,
        config,
    })
}

/// `spec.num_samples` posterior draws at `spec.observation` from `trained`
/// (the sampling stream is the run seed's sub-seed 4), and the seconds spent.
///
/// Errors if `trained` holds another method or other dimensions than `spec`'s
/// task. (A sequential model is only right at the observation it was trained
/// at, which this cannot check: pass a sequential run its own [`train`] result.)
pub fn draw(
    spec: &RunSpec,
    trained: &Trained,
    progress: &mut dyn FnMut(&Progress),
) -> Result<(Draws, f64), TrainError> {
    let task = sbi_sim::task_by_name(&spec.task)?;
    let x_o = task.observation(spec.observation)?;
    let meta = trained.posterior.meta();
    if meta.method != spec.method || (meta.d_theta, meta.d_x) != (task.theta_dim(), task.x_dim()) {
        return Err(TrainError::InvalidConfig(format!(
            "the trained model is a {} for d_theta {}, d_x {}; the run needs a {} for task {} (d_theta {}, d_x {})",
            meta.method,
            meta.d_theta,
            meta.d_x,
            spec.method,
            spec.task,
            task.theta_dim(),
            task.x_dim()
        )));
    }
    if spec.num_samples == 0 {
        return Err(TrainError::InvalidConfig("num_samples must be at least 1".to_string()));
    }
    progress(&Progress::Stage(format!("sampling {} draws", spec.num_samples)));
    let start = Instant::now();
    let mut rng = ChaCha8Rng::seed_from_u64(sub_seed(spec.seed, 4));
    let draws = sample(
        trained.posterior.as_ref(),
        Some(task.prior()),
        x_o.view(),
        spec.num_samples,
        &spec.sample,
        &mut rng,
    )?;
    Ok((draws, start.elapsed().as_secs_f64()))
}

/// Simulates `spec.budget` pairs, trains `spec.method`, and draws
/// `spec.num_samples` posterior samples at observation `spec.observation`
/// ([`train`], then [`draw`]).
pub fn run(spec: &RunSpec, progress: &mut dyn FnMut(&Progress)) -> Result<RunOutput, TrainError> {
    let trained = train(spec, progress)?;
    let (draws, sample_s) = draw(spec, &trained, progress)?;
    let Trained { posterior, timings, dropped, report, config } = trained;
    Ok(RunOutput {
        acceptance_rate: draws.acceptance_rate(),
        samples: draws.samples,
        timings: Timings { sample_s, ..timings },
        dropped,
        report,
        config,
        posterior,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_options_are_left_out_of_the_configuration_at_their_defaults() {
        let json =
            |toml: &str| settings_json(Method::UpVae, &Settings::from_toml_str(toml).unwrap()).unwrap();
        for toml in ["", "[model]\nx_weight = 1.0\n"] {
            let c = json(toml);
            assert!(c["model"].get("x_weight").is_none(), "{toml:?}: {c}");
            assert_eq!(c["model"]["beta"], 1.0);
        }
        assert_eq!(json("[model]\nx_weight = 0.0\n")["model"]["x_weight"], 0.0);
        assert_eq!(json("[model]\nx_weight = 0.25\n")["model"]["x_weight"], 0.25);
        // A stored configuration without the option gets its default back.
        let mut stored = json("")["model"].clone();
        stored["d_theta"] = json!(2);
        stored["d_x"] = json!(2);
        let filled = fill_later_model_defaults(Method::UpVae, &stored);
        assert_eq!(filled["x_weight"], 1.0);
        let cfg: sbi_nn::UpVaeConfig = serde_json::from_value(filled).unwrap();
        assert_eq!(cfg.x_weight, 1.0);
        assert!(serde_json::from_value::<sbi_nn::UpVaeConfig>(stored).is_err(), "the field is required");
        let explicit = json!({ "x_weight": 0.0 });
        assert_eq!(fill_later_model_defaults(Method::UpVae, &explicit)["x_weight"], 0.0);
        // Other methods are untouched.
        let cp = settings_json(Method::CpVae, &Settings::default()).unwrap();
        assert_eq!(cp["model"]["beta"], 1.0);
        // Training options: left out at their defaults, kept otherwise.
        for toml in ["", "[train]\nengine = \"burn\"\nlr_schedule = { kind = \"constant\" }\n"] {
            let t = json(toml)["train"].clone();
            assert!(t.get("engine").is_none() && t.get("lr_schedule").is_none(), "{toml:?}: {t}");
            assert_eq!(t["learning_rate"], 2e-3);
        }
        let t = json("[train]\nengine = \"fused\"\nlr_schedule = { kind = \"cosine\", epochs = 30.0 }\n")["train"].clone();
        assert_eq!(t["engine"], "fused");
        assert_eq!(t["lr_schedule"], json!({ "kind": "cosine", "epochs": 30.0, "final_factor": 0.0 }));
    }
}
