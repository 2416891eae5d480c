//! The training loop shared by every estimator: minibatch Adam/AdamW with
//! gradient clipping, a validation split with early stopping that restores the
//! best weights, KL-weight schedules, NaN detection and progress callbacks.

use std::time::Instant;

use burn::grad_clipping::GradientClippingConfig;
use burn::module::Module;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{AdamConfig, AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor, TensorData};
use ndarray::{Array2, ArrayView2};
use rand::seq::SliceRandom;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sbi_nn::burn;
use serde::{Deserialize, Serialize};

use crate::ema::WeightAverage;
use crate::{Dataset, Engine, OptimizerKind, Standardizer, TrainConfig, TrainError};

/// Rows per forward pass when computing the validation loss.
pub(crate) const VALIDATION_CHUNK: usize = 8192;
/// Stream offsets of the seeded generators (split, then batches and noise, then validation noise).
const SPLIT_STREAM: u64 = 0x5b1;
pub(crate) const STEP_STREAM: u64 = 0x5b2;
pub(crate) const VALIDATION_STREAM: u64 = 0x5b3;

/// What a loss function sees besides the batch.
pub struct StepContext<'a> {
    /// Current epoch, 1-based.
    pub epoch: usize,
    /// Multiplier of the model's KL weight from the [`crate::KlSchedule`]
    /// (1 for the validation loss).
    pub kl_factor: f64,
    /// Whether this is a validation (no-gradient) evaluation.
    pub validation: bool,
    /// Randomness for the loss (e.g. reparameterisation noise). For the
    /// validation loss it is re-seeded identically every epoch, so the
    /// validation loss is a deterministic function of the weights.
    pub rng: &'a mut ChaCha8Rng,
    /// The batch's per-row auxiliary values `[b]` ([`Dataset::aux`], e.g. SNPE-B's
    /// log importance weights or APT's log prior), when the dataset has them.
    pub aux: Option<Tensor<1>>,
}

/// One epoch's statistics, as reported to the progress callback and kept in
/// [`TrainReport::history`].
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EpochStats {
    /// Epoch, 1-based.
    pub epoch: usize,
    /// The configured maximum number of epochs.
    pub max_epochs: usize,
    /// Mean training loss over the epoch's minibatches (weighted by their size).
    pub train_loss: f64,
    /// Validation loss after the epoch (None without a validation split).
    pub val_loss: Option<f64>,
    /// Best validation loss so far.
    pub best_val_loss: Option<f64>,
    /// Seconds since training started.
    pub elapsed_s: f64,
}

/// Progress events of a run (training, or a whole simulate-train-sample run).
#[derive(Clone, Debug)]
pub enum Progress {
    /// A stage begins (`"simulating"`, `"training"`, `"sampling"`, a round, ...).
    Stage(String),
    /// An epoch ended.
    Epoch(EpochStats),
}

/// How training went.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TrainReport {
    /// Epochs run.
    pub epochs: usize,
    /// The epoch whose weights were kept (the best validation loss, or the last epoch).
    pub best_epoch: usize,
    /// The best validation loss (None without validation split).
    pub best_val_loss: Option<f64>,
    /// Whether early stopping ended training before `max_epochs`.
    pub stopped_early: bool,
    /// Training pairs.
    pub n_train: usize,
    /// Validation pairs.
    pub n_val: usize,
    /// Wall-clock seconds of the loop (standardisation and upload included).
    pub seconds: f64,
    /// Per-epoch statistics.
    pub history: Vec<EpochStats>,
}

/// A trained model with the standardisation it was trained under.
#[derive(Clone, Debug)]
pub struct Fitted<M> {
    /// The model with the kept weights, still on the training (autodiff) device;
    /// call `.valid()` for inference.
    pub model: M,
    /// Standardisation of θ (fitted on the training split).
    pub theta_std: Standardizer,
    /// Standardisation of x (fitted on the training split).
    pub x_std: Standardizer,
    /// How training went.
    pub report: TrainReport,
}

/// Uploads `data: [n, d]` as an f32 tensor.
pub fn to_tensor(data: ArrayView2<f64>, device: &Device) -> Tensor<2> {
    let (n, d) = data.dim();
    let values: Vec<f32> = data.iter().map(|v| *v as f32).collect();
    Tensor::from_data(TensorData::new(values, [n, d]), device)
}

/// Uploads `values: [n]` as an f32 tensor.
pub fn to_tensor1(values: &[f64], device: &Device) -> Tensor<1> {
    let v: Vec<f32> = values.iter().map(|v| *v as f32).collect();
    Tensor::from_data(TensorData::new(v, [values.len()]), device)
}

/// Downloads a `[n, d]` tensor as f64.
pub fn to_array(t: Tensor<2>) -> Array2<f64> {
    let [n, d] = t.dims();
    let values = t.into_data().try_into_vec_as::<f64>().expect("a float tensor converts to f64");
    Array2::from_shape_vec((n, d), values).expect("shape matches")
}

fn optimizer(config: &TrainConfig) -> ModuleOptimizer {
    let clip = config.clip_grad_norm.map(|c| GradientClippingConfig::Norm(c as f32));
    match config.optimizer {
        OptimizerKind::Adam => AdamConfig::new()
            .with_epsilon(config.adam_epsilon as f32)
            .with_weight_decay(
                (config.weight_decay > 0.0).then(|| WeightDecayConfig::new(config.weight_decay as f32)),
            )
            .with_grad_clipping(clip)
            .init(),
        OptimizerKind::AdamW => AdamWConfig::new()
            .with_epsilon(config.adam_epsilon as f32)
            .with_weight_decay(config.weight_decay as f32)
            .with_grad_clipping(clip)
            .init(),
    }
}

/// Trains `model` (built on the autodiff `device`) on `data` by minimising
/// `loss(model, theta_batch, x_batch, ctx)` (a `[1]` batch mean, on z-scored
/// `theta: [b, d_theta]` and `x: [b, d_x]`).
///
/// The pairs are split (seeded) into training and validation sets
/// (`validation_fraction`); the standardisers are fitted on the training set.
/// Each epoch visits the training set in a fresh random order in minibatches
/// (the last one may be smaller). After each epoch the validation loss is
/// computed with the model's inference copy; training stops after `patience`
/// epochs without a new best (counted after a KL warm-up), and the best
/// weights are restored. Gradient clipping is Burn's: the norm of each
/// parameter tensor's gradient is clipped separately.
///
/// Errors: an invalid config, a loss that turns NaN or infinite (naming the
/// epoch), or an error from `loss` (e.g. a shape mismatch).
pub fn fit<M, L>(
    model: M,
    data: &Dataset,
    device: &Device,
    config: &TrainConfig,
    loss: L,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Fitted<M>, TrainError>
where
    M: Module,
    L: FnMut(&M, Tensor<2>, Tensor<2>, &mut StepContext) -> Result<Tensor<1>, TrainError>,
{
    fit_with(model, data, device, config, None, loss, progress)
}

/// [`fit`] with the standardisation given (`Some((theta_std, x_std))`) instead
/// of fitted on the training split, as the rounds of sequential methods need
/// (their networks keep the z-scoring of the first round's prior simulations).
/// Errors as [`fit`] does, and when the standardisers' dimensions differ from the data's.
pub fn fit_with<M, L>(
    model: M,
    data: &Dataset,
    device: &Device,
    config: &TrainConfig,
    standardizers: Option<(Standardizer, Standardizer)>,
    mut loss: L,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Fitted<M>, TrainError>
where
    M: Module,
    L: FnMut(&M, Tensor<2>, Tensor<2>, &mut StepContext) -> Result<Tensor<1>, TrainError>,
{
    config.validate()?;
    if config.engine == Engine::Fused {
        return Err(TrainError::InvalidConfig(
            "engine = \"fused\" implements only cp-vae and up-vae; use engine = \"burn\" for this method"
                .into(),
        ));
    }
    let start = Instant::now();
    let Prepared { train_idx, val_idx, train_theta, train_x, train_aux, theta_std, x_std, val } =
        prepare(data, config, standardizers)?;
    let inference_device = device.clone().without_autodiff();
    let val = val.map(|(theta, x, aux)| {
        (
            to_tensor(theta.view(), &inference_device),
            to_tensor(x.view(), &inference_device),
            aux.map(|a| to_tensor1(a.as_slice().expect("contiguous"), &inference_device)),
        )
    });
    let n_train = train_idx.len();
    let (d_theta, d_x) = (data.d_theta(), data.d_x());
    let batch = config.batch_size.min(n_train);
    let steps = n_train.div_ceil(batch);

    let mut optim = optimizer(config);
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed ^ STEP_STREAM);
    let mut order: Vec<usize> = (0..n_train).collect();
    let mut model = model;
    let mut ema = config.ema_decay.map(|d| WeightAverage::new(&model, d));
    let mut tracker = Tracker::new(config, start);
    let mut theta_buf = vec![0f32; batch * d_theta];
    let mut x_buf = vec![0f32; batch * d_x];

    for epoch in 1..=config.epoch_limit() {
        order.shuffle(&mut rng);
        let mut sum: Option<Tensor<1>> = None;
        for (step, rows) in order.chunks(batch).enumerate() {
            let b = rows.len();
            theta_buf.clear();
            x_buf.clear();
            for &i in rows {
                theta_buf.extend(train_theta.row(i).iter().map(|v| *v as f32));
                x_buf.extend(train_x.row(i).iter().map(|v| *v as f32));
            }
            let theta = Tensor::from_data(TensorData::new(theta_buf.clone(), [b, d_theta]), device);
            let x = Tensor::from_data(TensorData::new(x_buf.clone(), [b, d_x]), device);
            let aux = train_aux.as_ref().map(|a| {
                let values: Vec<f64> = rows.iter().map(|&i| a[i]).collect();
                to_tensor1(&values, device)
            });
            let t = (epoch - 1) as f64 + step as f64 / steps as f64;
            let kl_factor = config.kl_schedule.factor(t);
            let mut ctx = StepContext { epoch, kl_factor, validation: false, rng: &mut rng, aux };
            let l = loss(&model, theta, x, &mut ctx)?;
            let weighted = l.clone().detach().mul_scalar(b as f64);
            sum = Some(match sum {
                Some(s) => s + weighted,
                None => weighted,
            });
            let grads = GradientsParams::from_grads(l.backward(), &model);
            model = optim.step(config.learning_rate_at(t), model, grads);
            if let Some(ema) = ema.as_mut() {
                ema.update(&model);
            }
        }
        // Validation, early stopping and the kept model use the averaged weights, if any.
        let kept = ema.as_ref().map_or(&model, WeightAverage::model);
        let train_loss = sum.expect("at least one batch").into_scalar::<f64>() / n_train as f64;
        let validation = || match &val {
            Some((vt, vx, va)) => {
                validation_loss(&kept.valid(), vt, vx, va.as_ref(), config.seed, epoch, &mut loss).map(Some)
            }
            None => Ok(None),
        };
        if tracker.end_epoch(epoch, train_loss, validation, || kept.clone(), progress)? {
            break;
        }
    }
    let last = ema.map_or(model, WeightAverage::into_model);
    let (model, report) = tracker.finish(last, n_train, val_idx.len());
    Ok(Fitted { model, theta_std, x_std, report })
}

/// z-scored θ `[n, d_θ]`, x `[n, d_x]` and auxiliary values `[n]` of a split.
pub(crate) type Split = (Array2<f64>, Array2<f64>, Option<ndarray::Array1<f64>>);

/// The data of a training run after the split and the standardisation, shared
/// by the Burn loop ([`fit_with`]) and the fused engine (`crate::fused`).
pub(crate) struct Prepared {
    pub train_idx: Vec<usize>,
    pub val_idx: Vec<usize>,
    /// z-scored training θ and x, `[n_train, d]`.
    pub train_theta: Array2<f64>,
    pub train_x: Array2<f64>,
    pub train_aux: Option<ndarray::Array1<f64>>,
    pub theta_std: Standardizer,
    pub x_std: Standardizer,
    /// z-scored validation θ, x and auxiliary values, when there is a validation split.
    pub val: Option<Split>,
}

/// Splits `data` (seeded by `config.seed`) and fits the standardisers on the
/// training split (or checks the given ones).
pub(crate) fn prepare(
    data: &Dataset,
    config: &TrainConfig,
    standardizers: Option<(Standardizer, Standardizer)>,
) -> Result<Prepared, TrainError> {
    let mut split_rng = ChaCha8Rng::seed_from_u64(config.seed ^ SPLIT_STREAM);
    let (train_idx, val_idx) = data.split_indices(config.validation_fraction, &mut split_rng)?;
    let train = data.select(&train_idx);
    let (theta_std, x_std) = match standardizers {
        Some((t, x)) => {
            t.validate(data.d_theta(), "theta")?;
            x.validate(data.d_x(), "x")?;
            (t, x)
        }
        None => (Standardizer::fit(train.theta())?, Standardizer::fit(train.x())?),
    };
    let train_theta = theta_std.transform(train.theta());
    let train_x = x_std.transform(train.x());
    let train_aux = train.aux().map(|a| a.to_owned());
    let val = (!val_idx.is_empty()).then(|| {
        let v = data.select(&val_idx);
        (theta_std.transform(v.theta()), x_std.transform(v.x()), v.aux().map(|a| a.to_owned()))
    });
    Ok(Prepared { train_idx, val_idx, train_theta, train_x, train_aux, theta_std, x_std, val })
}

/// The end-of-epoch bookkeeping both engines share: the non-finite-loss checks,
/// early stopping on the validation loss (epochs without a new best counted only
/// after the KL warm-up) keeping the best state, the progress callback and the report.
pub(crate) struct Tracker<S> {
    start: Instant,
    max_epochs: usize,
    warmup: usize,
    patience: usize,
    min_delta: f64,
    /// Epochs (after the KL warm-up) since the patience count was last reset.
    since_reset: usize,
    /// The validation loss of the last patience reset (`min_delta`).
    reference: f64,
    best: Option<(S, usize, f64)>,
    history: Vec<EpochStats>,
    stopped_early: bool,
}

impl<S> Tracker<S> {
    pub(crate) fn new(config: &TrainConfig, start: Instant) -> Self {
        Tracker {
            start,
            max_epochs: config.epoch_limit(),
            warmup: config.kl_schedule.warmup_epochs(),
            patience: config.patience,
            min_delta: config.min_delta,
            since_reset: 0,
            reference: f64::INFINITY,
            best: None,
            history: Vec::new(),
            stopped_early: false,
        }
    }

    /// Records epoch `epoch`: checks `train_loss`, then computes the validation
    /// loss (`None` without a validation split) and checks it, keeps `state()`
    /// on a new best, reports progress. Returns whether training stops now.
    pub(crate) fn end_epoch(
        &mut self,
        epoch: usize,
        train_loss: f64,
        validation: impl FnOnce() -> Result<Option<f64>, TrainError>,
        state: impl FnOnce() -> S,
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<bool, TrainError> {
        if !train_loss.is_finite() {
            return Err(TrainError::NonFiniteLoss { which: "training", epoch, value: train_loss });
        }
        let val_loss = validation()?;
        if let Some(v) = val_loss {
            if !v.is_finite() {
                return Err(TrainError::NonFiniteLoss { which: "validation", epoch, value: v });
            }
            if self.best.as_ref().is_none_or(|(_, _, b)| v < *b) {
                self.best = Some((state(), epoch, v));
            }
            // The reference starts at +∞, so the first loss always resets; with
            // `min_delta = 0` this is "a new best" (the reference is then the best).
            if v < self.reference - self.min_delta {
                self.reference = v;
                self.since_reset = 0;
            } else if epoch > self.warmup {
                self.since_reset += 1;
            }
        }
        let stats = EpochStats {
            epoch,
            max_epochs: self.max_epochs,
            train_loss,
            val_loss,
            best_val_loss: self.best.as_ref().map(|(_, _, b)| *b),
            elapsed_s: self.start.elapsed().as_secs_f64(),
        };
        progress(&Progress::Epoch(stats.clone()));
        self.history.push(stats);
        let stop = val_loss.is_some() && self.since_reset >= self.patience && epoch > self.warmup;
        self.stopped_early = stop && epoch < self.max_epochs;
        Ok(stop)
    }

    /// The kept state (the best epoch's, else `last`) and the report.
    pub(crate) fn finish(self, last: S, n_train: usize, n_val: usize) -> (S, TrainReport) {
        let epochs = self.history.len();
        let (state, best_epoch, best_val_loss) = match self.best {
            Some((s, e, v)) => (s, e, Some(v)),
            None => (last, epochs, None),
        };
        let report = TrainReport {
            epochs,
            best_epoch,
            best_val_loss,
            stopped_early: self.stopped_early,
            n_train,
            n_val,
            seconds: self.start.elapsed().as_secs_f64(),
            history: self.history,
        };
        (state, report)
    }
}

/// Mean loss over the validation set, in chunks, with noise re-seeded per call.
fn validation_loss<M, L>(
    model: &M,
    theta: &Tensor<2>,
    x: &Tensor<2>,
    aux: Option<&Tensor<1>>,
    seed: u64,
    epoch: usize,
    loss: &mut L,
) -> Result<f64, TrainError>
where
    L: FnMut(&M, Tensor<2>, Tensor<2>, &mut StepContext) -> Result<Tensor<1>, TrainError>,
{
    let n = theta.dims()[0];
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ VALIDATION_STREAM);
    let mut total = 0.0;
    let mut start = 0;
    while start < n {
        let end = (start + VALIDATION_CHUNK).min(n);
        let aux = aux.map(|a| a.clone().slice(start..end));
        let mut ctx = StepContext { epoch, kl_factor: 1.0, validation: true, rng: &mut rng, aux };
        let l = loss(model, theta.clone().slice(start..end), x.clone().slice(start..end), &mut ctx)?;
        total += l.into_scalar::<f64>() * (end - start) as f64;
        start = end;
    }
    Ok(total / n as f64)
}

/// Draws `n` standard-normal values on the host from `rng` as a `[rows, cols]` tensor.
pub fn noise(rng: &mut dyn RngCore, rows: usize, cols: usize, device: &Device) -> Tensor<2> {
    sbi_nn::standard_normal(rng, [rows, cols], device)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `losses` (one validation loss per epoch, from epoch 1) to a tracker
    /// whose state is the epoch; returns (epoch it stopped at, kept epoch).
    fn run_tracker(config: &TrainConfig, losses: &[f64]) -> (usize, usize) {
        let mut tracker = Tracker::new(config, Instant::now());
        let mut last = 0;
        for (i, &v) in losses.iter().enumerate() {
            let epoch = i + 1;
            last = epoch;
            if tracker.end_epoch(epoch, 0.0, || Ok(Some(v)), || epoch, &mut |_| {}).unwrap() {
                break;
            }
        }
        let (kept, report) = tracker.finish(last, 1, 1);
        assert_eq!(report.best_epoch, kept);
        (last, kept)
    }

    #[test]
    fn min_delta_stops_on_small_gains_but_keeps_the_best() {
        // A loss that falls by 0.5, then by 0.01 per epoch for ever.
        let losses: Vec<f64> = (0..100).map(|e| if e == 0 { 1.0 } else { 0.5 - 0.01 * e as f64 }).collect();
        let patience = TrainConfig::new().with_patience(3);
        // Every epoch is a new best: no stop before the data run out.
        assert_eq!(run_tracker(&patience, &losses), (100, 100));
        // Gains of 0.01 per epoch add up to 0.03 over 3 epochs: with min_delta 0.025 the
        // count resets every third epoch and never reaches the patience ...
        assert_eq!(run_tracker(&patience.clone().with_min_delta(0.025), &losses), (100, 100));
        // ... with min_delta 0.035 the last reset is epoch 2 (the fall of 0.51), training
        // stops 3 epochs later, and the kept model is still the best one, epoch 5's.
        assert_eq!(run_tracker(&patience.clone().with_min_delta(0.035), &losses), (5, 5));
    }

    #[test]
    fn min_delta_zero_is_plain_patience() {
        let losses = [3.0, 2.0, 2.5, 1.9, 2.0, 2.0, 2.0, 1.0];
        let config = TrainConfig::new().with_patience(3);
        // Best 1.9 at epoch 4, then three epochs without a new best.
        assert_eq!(run_tracker(&config, &losses), (7, 4));
        assert_eq!(run_tracker(&config.with_min_delta(0.0), &losses), (7, 4));
        // Equal losses are not gains, with or without min_delta.
        assert_eq!(run_tracker(&TrainConfig::new().with_patience(2), &[1.0, 1.0, 1.0]), (3, 1));
    }
}
