//! The CP-VAE and UP-VAE estimators (spec `methods.md` §1) and their posteriors.

use std::path::Path;

use burn::module::Module;
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, Device, Tensor};
use ndarray::{Array1, Array2, ArrayView1};
use rand::RngCore;
use sbi_nn::{CpVae, CpVaeConfig, UpVae, UpVaeConfig, burn};

use crate::fused::{HostVae, fit_fused};
use crate::model_file::{self, CRATE_VERSION, FORMAT_VERSION, ModelMeta};
use crate::posterior::{check_observation, unsupported_log_prob};
use crate::trainer::{Fitted, StepContext, fit, noise, to_array, to_tensor};
use crate::{Dataset, Engine, Estimator, Method, Posterior, Progress, SampleConfig, TrainConfig, TrainError};

/// The CP-VAE estimator: network config (its `d_theta`/`d_x` are taken from
/// the data at fit time) and training config.
#[derive(Clone, Debug)]
pub struct CpVaeEstimator {
    /// Network configuration.
    pub model: CpVaeConfig,
    /// Training configuration.
    pub train: TrainConfig,
}

/// The UP-VAE estimator: network config (dims from the data) and training config.
#[derive(Clone, Debug)]
pub struct UpVaeEstimator {
    /// Network configuration.
    pub model: UpVaeConfig,
    /// Training configuration.
    pub train: TrainConfig,
}

impl Default for CpVaeEstimator {
    fn default() -> Self {
        CpVaeEstimator { model: CpVaeConfig::new(1, 1), train: TrainConfig::new() }
    }
}

impl Default for UpVaeEstimator {
    fn default() -> Self {
        UpVaeEstimator { model: UpVaeConfig::new(1, 1), train: TrainConfig::new() }
    }
}

fn meta_for(
    method: Method,
    data: &Dataset,
    task: Option<&str>,
    model_config: serde_json::Value,
    train: &TrainConfig,
) -> ModelMeta {
    ModelMeta {
        format_version: FORMAT_VERSION,
        crate_version: CRATE_VERSION.to_string(),
        method,
        d_theta: data.d_theta(),
        d_x: data.d_x(),
        task: task.map(str::to_string),
        model_config,
        train_config: serde_json::to_value(train).expect("config serialises"),
        theta_std: crate::Standardizer::identity(data.d_theta()),
        x_std: crate::Standardizer::identity(data.d_x()),
        report: None,
    }
}

/// Reads a VAE's weights for the fused engine, and writes trained ones back.
type FusedIo<M> = (fn(&M) -> Result<HostVae, TrainError>, fn(&HostVae, M, &[f32], &Device) -> M);

/// Trains a VAE on the engine `train.engine` selects: Burn's loop with `loss`,
/// or the fused engine through `fused`'s reader and writer.
fn fit_vae<M: Module>(
    model: M,
    data: &Dataset,
    ad: &Device,
    train: &TrainConfig,
    fused: FusedIo<M>,
    progress: &mut dyn FnMut(&Progress),
    loss: impl FnMut(&M, Tensor<2>, Tensor<2>, &mut StepContext) -> Result<Tensor<1>, TrainError>,
) -> Result<Fitted<M>, TrainError> {
    if train.engine != Engine::Fused {
        return fit(model, data, ad, train, loss, progress);
    }
    let (read, write) = fused;
    let host = read(&model)?;
    let f = fit_fused(&host, data, train, progress)?;
    Ok(Fitted {
        model: write(&host, model, &f.values, ad),
        theta_std: f.theta_std,
        x_std: f.x_std,
        report: f.report,
    })
}

/// [`Estimator::check`] of a VAE: the training config is valid, `model` (built
/// with the task's dimensions) could be built, and the fused engine can read it.
fn check_vae<M>(
    train: &TrainConfig,
    model: Result<M, sbi_nn::NnError>,
    read: fn(&M) -> Result<HostVae, TrainError>,
) -> Result<(), TrainError> {
    train.validate()?;
    let model = model?;
    if train.engine == Engine::Fused {
        read(&model)?;
    }
    Ok(())
}

impl Estimator for CpVaeEstimator {
    fn method(&self) -> Method {
        Method::CpVae
    }

    fn check(&self, d_theta: usize, d_x: usize, device: &Device) -> Result<(), TrainError> {
        let model = CpVaeConfig { d_theta, d_x, ..self.model.clone() }.init(device);
        check_vae(&self.train, model, HostVae::from_cp)
    }

    fn fit(
        &self,
        data: &Dataset,
        device: &Device,
        task: Option<&str>,
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<Box<dyn Posterior>, TrainError> {
        let mut cfg = self.model.clone();
        (cfg.d_theta, cfg.d_x) = (data.d_theta(), data.d_x());
        let ad = device.clone().autodiff();
        let model = cfg.init(&ad)?;
        let dz = cfg.latent_dim;
        let fused: FusedIo<CpVae> = (HostVae::from_cp, HostVae::write_cp);
        let fitted = fit_vae(model, data, &ad, &self.train, fused, progress, |m: &CpVae, theta, x, ctx| {
            let eps = noise(ctx.rng, theta.dims()[0], dz, &theta.device());
            Ok(m.loss_terms(theta, x, eps)?.mean(m.beta * ctx.kl_factor))
        })?;
        let mut meta =
            meta_for(Method::CpVae, data, task, serde_json::to_value(&cfg).expect("serialises"), &self.train);
        (meta.theta_std, meta.x_std, meta.report) = (fitted.theta_std, fitted.x_std, Some(fitted.report));
        Ok(Box::new(VaePosterior { model: Vae::Cp(fitted.model.valid()), meta, device: device.clone() }))
    }
}

impl Estimator for UpVaeEstimator {
    fn method(&self) -> Method {
        Method::UpVae
    }

    fn check(&self, d_theta: usize, d_x: usize, device: &Device) -> Result<(), TrainError> {
        let model = UpVaeConfig { d_theta, d_x, ..self.model.clone() }.init(device);
        check_vae(&self.train, model, HostVae::from_up)
    }

    fn fit(
        &self,
        data: &Dataset,
        device: &Device,
        task: Option<&str>,
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<Box<dyn Posterior>, TrainError> {
        let mut cfg = self.model.clone();
        (cfg.d_theta, cfg.d_x) = (data.d_theta(), data.d_x());
        let ad = device.clone().autodiff();
        let model = cfg.init(&ad)?;
        let dz = cfg.latent_dim;
        let fused: FusedIo<UpVae> = (HostVae::from_up, HostVae::write_up);
        let fitted = fit_vae(model, data, &ad, &self.train, fused, progress, |m: &UpVae, theta, x, ctx| {
            let eps = noise(ctx.rng, theta.dims()[0], dz, &theta.device());
            Ok(m.loss_terms(theta, x, eps)?.mean(m.beta * ctx.kl_factor))
        })?;
        let mut meta =
            meta_for(Method::UpVae, data, task, serde_json::to_value(&cfg).expect("serialises"), &self.train);
        (meta.theta_std, meta.x_std, meta.report) = (fitted.theta_std, fitted.x_std, Some(fitted.report));
        Ok(Box::new(VaePosterior { model: Vae::Up(fitted.model.valid()), meta, device: device.clone() }))
    }
}

/// The trained network of a [`VaePosterior`].
#[derive(Clone, Debug)]
enum Vae {
    Cp(CpVae),
    Up(UpVae),
}

/// The posterior of a trained CP-VAE or UP-VAE: samples only (no tractable `log_prob`).
#[derive(Clone, Debug)]
pub struct VaePosterior {
    model: Vae,
    meta: ModelMeta,
    device: Device,
}

impl VaePosterior {
    /// Rebuilds a posterior from a model file's metadata and record bytes, on `device`.
    pub fn from_parts(
        meta: ModelMeta,
        record: Vec<u8>,
        device: &Device,
        path: &Path,
    ) -> Result<Self, TrainError> {
        let bad_config =
            |e: serde_json::Error| TrainError::model_file(path, format!("bad model config: {e}"));
        let load = |r: Vec<u8>| {
            ModuleRecord::from_bytes(Bytes::from_bytes_vec(r))
                .map_err(|e| TrainError::model_file(path, format!("unreadable weights: {e}")))
        };
        let mismatch = |e: burn::store::RecordError| {
            TrainError::model_file(path, format!("weights do not match the stored configuration: {e}"))
        };
        let model = match meta.method {
            Method::CpVae => {
                let cfg: CpVaeConfig =
                    serde_json::from_value(meta.model_config.clone()).map_err(bad_config)?;
                check_dims(path, &meta, cfg.d_theta, cfg.d_x)?;
                Vae::Cp(cfg.init(device)?.try_load_record(load(record)?).map_err(mismatch)?)
            }
            Method::UpVae => {
                let stored = crate::run::fill_later_model_defaults(Method::UpVae, &meta.model_config);
                let cfg: UpVaeConfig = serde_json::from_value(stored).map_err(bad_config)?;
                check_dims(path, &meta, cfg.d_theta, cfg.d_x)?;
                Vae::Up(cfg.init(device)?.try_load_record(load(record)?).map_err(mismatch)?)
            }
            other => {
                return Err(TrainError::model_file(path, format!("holds a '{other}' model, not a VAE")));
            }
        };
        Ok(VaePosterior { model, meta, device: device.clone() })
    }
}

fn check_dims(path: &Path, meta: &ModelMeta, d_theta: usize, d_x: usize) -> Result<(), TrainError> {
    if (d_theta, d_x) != (meta.d_theta, meta.d_x) {
        return Err(TrainError::model_file(
            path,
            format!("model config dimensions ({d_theta}, {d_x}) differ from the metadata's"),
        ));
    }
    Ok(())
}

impl Posterior for VaePosterior {
    fn meta(&self) -> &ModelMeta {
        &self.meta
    }

    fn sample_unconstrained(
        &self,
        x_o: ArrayView1<f64>,
        n: usize,
        config: &SampleConfig,
        rng: &mut dyn RngCore,
    ) -> Result<Array2<f64>, TrainError> {
        check_observation(x_o, self.meta.d_x)?;
        let xs = self.meta.x_std.transform_row(x_o);
        let x_t = to_tensor(xs.view().insert_axis(ndarray::Axis(0)), &self.device);
        let z: Tensor<2> = match (&self.model, config.latent_importance) {
            (Vae::Cp(m), _) => m.sample(x_t, n, rng)?,
            (Vae::Up(m), None) => m.sample(x_t, n, rng)?,
            (Vae::Up(m), Some(proposals)) => m.sample_importance(x_t, n, proposals.max(n), rng)?.theta,
        };
        Ok(self.meta.theta_std.inverse(to_array(z).view()))
    }

    fn log_prob(
        &self,
        _theta: ndarray::ArrayView2<f64>,
        _x_o: ArrayView1<f64>,
    ) -> Result<Array1<f64>, TrainError> {
        unsupported_log_prob(self.meta.method)
    }

    fn save(&self, path: &Path) -> Result<(), TrainError> {
        let record = match &self.model {
            Vae::Cp(m) => m.clone().into_record(),
            Vae::Up(m) => m.clone().into_record(),
        };
        let bytes = record
            .into_bytes()
            .map_err(|e| TrainError::model_file(path, format!("cannot serialise the weights: {e}")))?;
        model_file::write(path, &self.meta, &bytes)
    }
}
