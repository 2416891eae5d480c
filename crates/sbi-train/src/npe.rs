//! One-round neural posterior estimation (NPE; spec `methods.md` §2, "NPE"):
//! a conditional density estimator `q(θ | x)` (MDN, MAF or NSF from `sbi-nn`)
//! trained by maximum likelihood on prior simulations, and its posterior.
//!
//! The estimator sees z-scored θ and x (spec `methods.md` §2: "all networks
//! see z-scored θ and x"); the loss is `−mean log q(θ_z | x_z)` over a
//! minibatch. The posterior's density in the task's units is
//! `log p(θ | x) = log q((θ − m)/s | x_z) − Σ log s` (change of variables).

use std::path::Path;

use burn::module::Module;
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, Device, Tensor};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use rand::RngCore;
use sbi_nn::{ConditionalDensity, DensityConfig, DensityEstimator, MafConfig, MdnConfig, NsfConfig, burn};
use serde_json::{Map, Value};

use crate::model_file::{self, CRATE_VERSION, FORMAT_VERSION, ModelMeta};
use crate::posterior::check_observation;
use crate::trainer::{StepContext, fit, to_array, to_tensor};
use crate::{Dataset, Estimator, Method, Posterior, Progress, SampleConfig, TrainConfig, TrainError, apply};

/// Rows per forward pass of [`NpePosterior::log_prob`].
const LOG_PROB_CHUNK: usize = 8192;

/// The NPE estimators `npe-mdn`, `npe-maf` and `npe-nsf`: which method, the
/// density estimator's config (its `d_theta`/`d_context` are taken from the
/// data at fit time) and the training config.
#[derive(Clone, Debug)]
pub struct NpeEstimator {
    /// [`Method::NpeMdn`], [`Method::NpeMaf`] or [`Method::NpeNsf`].
    pub method: Method,
    /// The density estimator's configuration; its variant matches `method`.
    pub model: DensityConfig,
    /// Training configuration.
    pub train: TrainConfig,
}

impl NpeEstimator {
    /// The estimator for `method` with the density estimator's defaults
    /// (sbi's, see [`MdnConfig`], [`MafConfig`], [`NsfConfig`]) and `train`.
    /// Errors if `method` is not an NPE method.
    pub fn new(method: Method, train: TrainConfig) -> Result<Self, TrainError> {
        Ok(NpeEstimator { method, model: default_config(method)?, train })
    }

    /// Like [`NpeEstimator::new`], with `[model]` settings (keys of the
    /// method's density config, e.g. `hidden = 64` for npe-maf) applied over
    /// the defaults.
    pub fn with_settings(
        method: Method,
        model: &Map<String, Value>,
        train: TrainConfig,
    ) -> Result<Self, TrainError> {
        let model = density_from_json(method, &model_json(method, model)?)
            .map_err(|e| TrainError::InvalidConfig(format!("[model]: {e}")))?;
        Ok(NpeEstimator { method, model, train })
    }
}

/// The effective density config of an NPE `method` with `overrides` applied,
/// as JSON (the method's own config, e.g. a [`MafConfig`]; dimensions are
/// placeholders). Errors on a non-NPE method, an unknown key or a bad value.
pub fn model_json(method: Method, overrides: &Map<String, Value>) -> Result<Value, TrainError> {
    if let Some(k) = ["d_theta", "d_context"].into_iter().find(|k| overrides.contains_key(*k)) {
        return Err(TrainError::InvalidConfig(format!("[model] {k} cannot be set: it comes from the data")));
    }
    let json = |v: Result<Value, serde_json::Error>| v.expect("configs serialise");
    Ok(match default_config(method)? {
        DensityConfig::Mdn(c) => json(serde_json::to_value(apply(&c, overrides, "model")?)),
        DensityConfig::Maf(c) => json(serde_json::to_value(apply(&c, overrides, "model")?)),
        DensityConfig::Nsf(c) => json(serde_json::to_value(apply(&c, overrides, "model")?)),
    })
}

fn default_config(method: Method) -> Result<DensityConfig, TrainError> {
    match method {
        Method::NpeMdn => Ok(DensityConfig::Mdn(MdnConfig::new(1, 1))),
        Method::NpeMaf => Ok(DensityConfig::Maf(MafConfig::new(1, 1))),
        Method::NpeNsf => Ok(DensityConfig::Nsf(NsfConfig::new(1, 1))),
        other => Err(TrainError::InvalidConfig(format!("'{other}' is not an NPE method"))),
    }
}

/// Parses the NPE method's own density config from JSON.
pub(crate) fn density_from_json(method: Method, value: &Value) -> Result<DensityConfig, String> {
    let v = value.clone();
    let r = match method {
        Method::NpeMdn => serde_json::from_value(v).map(DensityConfig::Mdn),
        Method::NpeMaf => serde_json::from_value(v).map(DensityConfig::Maf),
        Method::NpeNsf => serde_json::from_value(v).map(DensityConfig::Nsf),
        other => return Err(format!("'{other}' is not an NPE method")),
    };
    r.map_err(|e| e.to_string())
}

/// The method's own config as JSON (without the enum wrapper).
pub(crate) fn density_to_json(config: &DensityConfig) -> Value {
    match config {
        DensityConfig::Mdn(c) => serde_json::to_value(c),
        DensityConfig::Maf(c) => serde_json::to_value(c),
        DensityConfig::Nsf(c) => serde_json::to_value(c),
    }
    .expect("configs serialise")
}

/// `(d_theta, d_context)` of a density config.
fn dims(config: &DensityConfig) -> (usize, usize) {
    match config {
        DensityConfig::Mdn(c) => (c.d_theta, c.d_context),
        DensityConfig::Maf(c) => (c.d_theta, c.d_context),
        DensityConfig::Nsf(c) => (c.d_theta, c.d_context),
    }
}

pub(crate) fn with_dims(config: &DensityConfig, d_theta: usize, d_context: usize) -> DensityConfig {
    let mut c = config.clone();
    match &mut c {
        DensityConfig::Mdn(c) => (c.d_theta, c.d_context) = (d_theta, d_context),
        DensityConfig::Maf(c) => (c.d_theta, c.d_context) = (d_theta, d_context),
        DensityConfig::Nsf(c) => (c.d_theta, c.d_context) = (d_theta, d_context),
    }
    c
}

fn variant_method(config: &DensityConfig) -> Method {
    match config {
        DensityConfig::Mdn(_) => Method::NpeMdn,
        DensityConfig::Maf(_) => Method::NpeMaf,
        DensityConfig::Nsf(_) => Method::NpeNsf,
    }
}

impl NpeEstimator {
    fn check_variant(&self) -> Result<(), TrainError> {
        if variant_method(&self.model) != self.method {
            return Err(TrainError::InvalidConfig(format!(
                "method '{}' with a density config for '{}'",
                self.method,
                variant_method(&self.model)
            )));
        }
        Ok(())
    }
}

impl Estimator for NpeEstimator {
    fn method(&self) -> Method {
        self.method
    }

    fn check(&self, d_theta: usize, d_x: usize, device: &Device) -> Result<(), TrainError> {
        self.check_variant()?;
        self.train.validate()?;
        with_dims(&self.model, d_theta, d_x).init(device)?;
        Ok(())
    }

    fn fit(
        &self,
        data: &Dataset,
        device: &Device,
        task: Option<&str>,
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<Box<dyn Posterior>, TrainError> {
        self.check_variant()?;
        let cfg = with_dims(&self.model, data.d_theta(), data.d_x());
        let ad = device.clone().autodiff();
        let model = cfg.init(&ad)?;
        let fitted = fit(
            model,
            data,
            &ad,
            &self.train,
            |m: &DensityEstimator, theta, x, _ctx: &mut StepContext| Ok(m.log_prob(theta, x)?.mean().neg()),
            progress,
        )?;
        let meta = ModelMeta {
            format_version: FORMAT_VERSION,
            crate_version: CRATE_VERSION.to_string(),
            method: self.method,
            d_theta: data.d_theta(),
            d_x: data.d_x(),
            task: task.map(str::to_string),
            model_config: density_to_json(&cfg),
            train_config: serde_json::to_value(&self.train).expect("config serialises"),
            theta_std: fitted.theta_std,
            x_std: fitted.x_std,
            report: Some(fitted.report),
        };
        Ok(Box::new(NpePosterior::new(fitted.model.valid(), meta, device.clone())))
    }
}

/// The posterior of a trained NPE estimator: samples and exact `log_prob`.
#[derive(Debug)]
pub struct NpePosterior {
    pub(crate) model: DensityEstimator,
    pub(crate) meta: ModelMeta,
    device: Device,
}

impl NpePosterior {
    /// Rebuilds a posterior from a model file's metadata and record bytes, on
    /// `device`. The masks and permutations are rebuilt from the stored
    /// config (its seed included); the record holds the weights. Errors (naming
    /// `path`) on a non-NPE method, a config that does not parse or whose
    /// dimensions differ from the metadata's, and weights that do not fit.
    pub fn from_parts(
        meta: ModelMeta,
        record: Vec<u8>,
        device: &Device,
        path: &Path,
    ) -> Result<Self, TrainError> {
        if !matches!(meta.method, Method::NpeMdn | Method::NpeMaf | Method::NpeNsf) {
            return Err(TrainError::model_file(
                path,
                format!("holds a '{}' model, not an NPE model", meta.method),
            ));
        }
        let cfg = density_from_json(meta.method, &meta.model_config).map_err(|e| {
            TrainError::model_file(path, format!("bad model config for '{}': {e}", meta.method))
        })?;
        Self::from_config(cfg, meta, record, device, path)
    }

    /// A posterior from a trained (inference) model and its metadata.
    pub(crate) fn new(model: DensityEstimator, meta: ModelMeta, device: Device) -> Self {
        NpePosterior { model, meta, device }
    }

    /// Rebuilds the model of `cfg` and loads the record's weights into it
    /// (errors name `path`: dimensions differing from the metadata's, weights that do not fit).
    pub(crate) fn from_config(
        cfg: DensityConfig,
        meta: ModelMeta,
        record: Vec<u8>,
        device: &Device,
        path: &Path,
    ) -> Result<Self, TrainError> {
        let (dt, dc) = dims(&cfg);
        if (dt, dc) != (meta.d_theta, meta.d_x) {
            return Err(TrainError::model_file(
                path,
                format!("model config dimensions ({dt}, {dc}) differ from the metadata's"),
            ));
        }
        let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(record))
            .map_err(|e| TrainError::model_file(path, format!("unreadable weights: {e}")))?;
        let model = cfg.init(device)?.try_load_record(record).map_err(|e| {
            TrainError::model_file(path, format!("weights do not match the stored configuration: {e}"))
        })?;
        Ok(NpePosterior { model, meta, device: device.clone() })
    }

    /// Checks `theta: [n, d_theta]`: its width and finiteness.
    pub(crate) fn check_theta(&self, theta: ArrayView2<f64>) -> Result<(), TrainError> {
        let d = theta.ncols();
        if d != self.meta.d_theta {
            return Err(TrainError::InvalidData(format!(
                "theta has {d} columns, but the posterior has dimension {}",
                self.meta.d_theta
            )));
        }
        if let Some(i) = theta.rows().into_iter().position(|r| r.iter().any(|v| !v.is_finite())) {
            return Err(TrainError::InvalidData(format!("theta row {} has NaN or infinite values", i + 1)));
        }
        Ok(())
    }

    pub(crate) fn context(&self, x_o: ArrayView1<f64>, rows: usize) -> Tensor<2> {
        let xs = self.meta.x_std.transform_row(x_o);
        to_tensor(xs.view().insert_axis(Axis(0)), &self.device).repeat_dim(0, rows)
    }
}

impl Posterior for NpePosterior {
    fn meta(&self) -> &ModelMeta {
        &self.meta
    }

    fn sample_unconstrained(
        &self,
        x_o: ArrayView1<f64>,
        n: usize,
        _config: &SampleConfig,
        rng: &mut dyn RngCore,
    ) -> Result<Array2<f64>, TrainError> {
        check_observation(x_o, self.meta.d_x)?;
        let z = self.model.sample(self.context(x_o, 1), n, rng)?;
        Ok(self.meta.theta_std.inverse(to_array(z).view()))
    }

    /// `log p(θ_i | x_o)` in the task's units: the estimator's log-density of
    /// the z-scored θ minus `Σ log s_θ` (the standardisation's log-Jacobian).
    /// Errors on a wrong width or non-finite θ, or a bad observation.
    fn log_prob(&self, theta: ArrayView2<f64>, x_o: ArrayView1<f64>) -> Result<Array1<f64>, TrainError> {
        check_observation(x_o, self.meta.d_x)?;
        self.check_theta(theta)?;
        let n = theta.nrows();
        let z = self.meta.theta_std.transform(theta);
        let shift = self.meta.theta_std.log_abs_det();
        let mut out = Vec::with_capacity(n);
        let mut start = 0;
        while start < n {
            let end = (start + LOG_PROB_CHUNK).min(n);
            let t = to_tensor(z.slice_axis(Axis(0), ndarray::Slice::from(start..end)), &self.device);
            let lp = self.model.log_prob(t, self.context(x_o, end - start))?;
            let values = lp.into_data().try_into_vec_as::<f64>().expect("a float tensor converts to f64");
            out.extend(values.into_iter().map(|v| v - shift));
            start = end;
        }
        Ok(Array1::from_vec(out))
    }

    fn save(&self, path: &Path) -> Result<(), TrainError> {
        let bytes = self
            .model
            .clone()
            .into_record()
            .into_bytes()
            .map_err(|e| TrainError::model_file(path, format!("cannot serialise the weights: {e}")))?;
        model_file::write(path, &self.meta, &bytes)
    }
}
