//! # sbi-train
//!
//! Training and sampling of neural SBI estimators: z-scoring ([`Standardizer`]),
//! the training loop ([`fit`]: Adam/AdamW, validation split, early stopping
//! restoring the best weights, gradient clipping, KL-weight schedules, NaN
//! detection, progress callbacks), the [`Estimator`] and [`Posterior`]
//! traits, support-rejection sampling ([`sample`]), model files
//! ([`model_file`]), TOML settings ([`Settings`]) and whole runs ([`mod@run`]:
//! simulate → train → sample, as the `sbi run` command and the benchmark sweeps use).
//!
//! Implemented methods ([`Method::implemented`]): CP-VAE, UP-VAE, NPE with
//! MDN, MAF or NSF, and sequential NPE ([`sequential`]: SNPE-A, SNPE-B, APT). Builds on
//! `sbi-sim` (tasks) and `sbi-nn` (networks).
//!
//! ```
//! use sbi_train::{Dataset, Estimator, Method, SampleConfig, TrainConfig, estimator, Settings};
//! use rand::SeedableRng;
//! # fn main() -> Result<(), sbi_train::TrainError> {
//! let task = sbi_sim::task_by_name("gaussian_linear")?;
//! let data = Dataset::simulate(task.as_ref(), 500, 1)?;
//! let mut est = estimator(Method::CpVae, &Settings::default())?;
//! let device = sbi_nn::DeviceChoice::available()[0].device()?;
//! # let settings = Settings::from_toml_str("[train]\nmax_epochs = 2\n")?;
//! # est = estimator(Method::CpVae, &settings)?;
//! let posterior = est.fit(&data, &device, Some(task.name()), &mut |_| {})?;
//! let x_o = task.observation(1)?;
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
//! let draws = sbi_train::sample(posterior.as_ref(), Some(task.prior()), x_o.view(), 100,
//!                               &SampleConfig::default(), &mut rng)?;
//! assert_eq!(draws.samples.dim(), (100, 10));
//! # Ok(())
//! # }
//! ```

mod config;
mod data;
mod ema;
mod error;
mod fused;
mod method;
pub mod model_file;
pub mod npe;
mod posterior;
pub mod run;
mod schedule;
pub mod sequential;
mod settings;
mod standardize;
mod trainer;
mod vae;

use std::path::Path;

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use rand::RngCore;
use sbi_nn::burn::tensor::Device;
use sbi_sim::Task;

pub use config::{Engine, OptimizerKind, TrainConfig};
pub use data::Dataset;
pub use error::TrainError;
pub use method::Method;
pub use model_file::ModelMeta;
pub use npe::{NpeEstimator, NpePosterior};
pub use posterior::{Draws, SampleConfig, check_observation, sample};
pub use run::{RunOutput, RunSpec, Timings, Trained, draw, run, settings_json, train};
pub use schedule::{KlSchedule, LrSchedule};
pub use sequential::{SequentialConfig, SequentialEstimator, SnpeAPosterior};
pub use settings::{BUILTIN as BUILTIN_SETTINGS, Settings, apply};
pub use standardize::Standardizer;
pub use trainer::{
    EpochStats, Fitted, Progress, StepContext, TrainReport, fit, fit_with, to_array, to_tensor, to_tensor1,
};
pub use vae::{CpVaeEstimator, UpVaeEstimator, VaePosterior};

/// A trained conditional estimate of `p(θ | x)`, usable for any observation
/// (amortised) or for the one it was trained at (sequential methods).
///
/// Implementations hold their standardisation: inputs and outputs are in the
/// task's original units.
pub trait Posterior: Send {
    /// Everything about the model except its weights.
    fn meta(&self) -> &ModelMeta;

    /// The estimation method.
    fn method(&self) -> Method {
        self.meta().method
    }

    /// Parameter dimension.
    fn d_theta(&self) -> usize {
        self.meta().d_theta
    }

    /// Data dimension.
    fn d_x(&self) -> usize {
        self.meta().d_x
    }

    /// `n ≥ 1` raw draws `[n, d_theta]` at `x_o: [d_x]`, with no support
    /// rejection (see [`sample`] for that). Errors on a bad observation.
    fn sample_unconstrained(
        &self,
        x_o: ArrayView1<f64>,
        n: usize,
        config: &SampleConfig,
        rng: &mut dyn RngCore,
    ) -> Result<Array2<f64>, TrainError>;

    /// `log q(θ_i | x_o)` for `theta: [n, d_theta]`, when the method has a
    /// tractable density; [`TrainError::Unsupported`] otherwise (the VAEs).
    fn log_prob(&self, theta: ArrayView2<f64>, x_o: ArrayView1<f64>) -> Result<Array1<f64>, TrainError>;

    /// Writes a model file ([`model_file`]) that [`load_posterior`] reads back.
    fn save(&self, path: &Path) -> Result<(), TrainError>;
}

/// What [`Estimator::fit_task`] did besides training.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SimulationInfo {
    /// Simulations run.
    pub simulations: usize,
    /// Simulations dropped for NaN or infinite values.
    pub dropped: usize,
    /// Wall-clock seconds spent simulating.
    pub seconds: f64,
}

/// A method that turns simulations into a [`Posterior`].
pub trait Estimator {
    /// The method.
    fn method(&self) -> Method;

    /// Trains on precomputed pairs (amortised methods). `device` is the
    /// inference device (autodiff is added for training); `task` is recorded
    /// in the model file.
    fn fit(
        &self,
        data: &Dataset,
        device: &Device,
        task: Option<&str>,
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<Box<dyn Posterior>, TrainError>;

    /// Checks, before any simulation is spent, that the model can be built for
    /// `d_theta` parameters and `d_x` data dimensions on `device` with this
    /// estimator's settings (a zero latent dimension, a negative β, a setting the
    /// training engine does not support): the error [`Estimator::fit`] would give
    /// after simulating. [`Estimator::fit_task`] calls it first. The default has
    /// nothing to check.
    fn check(&self, d_theta: usize, d_x: usize, device: &Device) -> Result<(), TrainError> {
        let _ = (d_theta, d_x, device);
        Ok(())
    }

    /// Spends `budget` simulations of `task` and trains. The default checks the
    /// settings ([`Estimator::check`]), simulates from the prior with `seed` and
    /// calls [`Estimator::fit`]; sequential methods override it to propose later
    /// rounds at `x_o`.
    fn fit_task(
        &self,
        task: &dyn Task,
        budget: usize,
        _x_o: ArrayView1<f64>,
        seed: u64,
        device: &Device,
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<(Box<dyn Posterior>, SimulationInfo), TrainError> {
        self.check(task.theta_dim(), task.x_dim(), device)?;
        progress(&Progress::Stage(format!("simulating {budget} pairs")));
        let start = std::time::Instant::now();
        let data = Dataset::simulate(task, budget, seed)?;
        let info = SimulationInfo {
            simulations: budget,
            dropped: data.dropped(),
            seconds: start.elapsed().as_secs_f64(),
        };
        progress(&Progress::Stage("training".to_string()));
        Ok((self.fit(&data, device, Some(task.name()), progress)?, info))
    }
}

/// The training defaults of `method`: [`TrainConfig::new`], except for the
/// sequential methods, which use sbi's learning rate 5e-4 and a batch of 100
/// ([`sequential::default_train`]).
pub fn default_train(method: Method) -> TrainConfig {
    if method.is_sequential() { sequential::default_train() } else { TrainConfig::new() }
}

/// The estimator for `method` with `settings` applied over its defaults.
/// Errors on a method not implemented in this build or bad settings.
pub fn estimator(method: Method, settings: &Settings) -> Result<Box<dyn Estimator>, TrainError> {
    let train = apply(&default_train(method), &settings.train, "train")?;
    train.validate()?;
    match method {
        Method::CpVae => {
            let d = CpVaeEstimator::default();
            Ok(Box::new(CpVaeEstimator { model: apply(&d.model, &settings.model, "model")?, train }))
        }
        Method::UpVae => {
            let d = UpVaeEstimator::default();
            Ok(Box::new(UpVaeEstimator { model: apply(&d.model, &settings.model, "model")?, train }))
        }
        m @ (Method::NpeMdn | Method::NpeMaf | Method::NpeNsf) => {
            Ok(Box::new(NpeEstimator::with_settings(m, &settings.model, train)?))
        }
        m @ (Method::SnpeA | Method::SnpeB | Method::Apt) => {
            Ok(Box::new(SequentialEstimator::with_settings(m, &settings.model, train)?))
        }
    }
}

/// Reads a model file written by [`Posterior::save`] and rebuilds the
/// posterior on `device`. Errors name the file and the problem (truncated,
/// corrupted, incompatible version, unknown method, mismatched weights).
pub fn load_posterior(path: &Path, device: &Device) -> Result<Box<dyn Posterior>, TrainError> {
    let (meta, record) = model_file::read(path)?;
    match meta.method {
        Method::CpVae | Method::UpVae => Ok(Box::new(VaePosterior::from_parts(meta, record, device, path)?)),
        Method::NpeMdn | Method::NpeMaf | Method::NpeNsf => {
            Ok(Box::new(NpePosterior::from_parts(meta, record, device, path)?))
        }
        Method::SnpeB | Method::Apt => Ok(Box::new(sequential::load_npe_like(meta, record, device, path)?)),
        Method::SnpeA => Ok(Box::new(SnpeAPosterior::from_parts(meta, record, device, path)?)),
    }
}

/// The most used items.
pub mod prelude {
    pub use crate::{
        Dataset, Estimator, Method, Posterior, Progress, SampleConfig, Settings, TrainConfig, TrainError,
        estimator, load_posterior, sample,
    };
}
