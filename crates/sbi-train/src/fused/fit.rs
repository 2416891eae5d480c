//! The training loop of the fused engine: the loop of [`crate::fit`] (same
//! split, standardisation, batch order, noise streams, KL schedule, validation
//! loss and early stopping) with the loss, gradients and optimiser computed by
//! [`HostVae`] and [`Adam`] on the host, the batch split in fixed shards run in
//! parallel.

use std::time::Instant;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use super::adam::Adam;
use super::vae::{HostVae, Shard};
use crate::trainer::{Prepared, STEP_STREAM, Tracker, VALIDATION_CHUNK, VALIDATION_STREAM, prepare};
use crate::{Dataset, OptimizerKind, Progress, Standardizer, TrainConfig, TrainError, TrainReport};

/// Batches are computed as this many row shards (whatever the thread count,
/// so results do not depend on it); each shard needs at least `MIN_SHARD_ROWS` rows.
const SHARDS: usize = 2;
const MIN_SHARD_ROWS: usize = 64;

/// What [`fit_fused`] returns: the kept weights (laid out as the model's
/// [`HostVae::params`]), the standardisers and the report.
pub(crate) struct FusedFit {
    pub values: Vec<f32>,
    pub theta_std: Standardizer,
    pub x_std: Standardizer,
    pub report: TrainReport,
}

/// Row ranges of the shards of a batch of `b` rows.
fn shard_ranges(b: usize) -> Vec<std::ops::Range<usize>> {
    let k = if b >= SHARDS * MIN_SHARD_ROWS { SHARDS } else { 1 };
    (0..k).map(|i| (i * b / k)..((i + 1) * b / k)).collect()
}

/// Per-pair losses (and, with `grad_scale`, the summed gradients in `shards[0].grads`)
/// of `b` rows, computed shard by shard in parallel.
#[allow(clippy::too_many_arguments)]
pub(super) fn batch_loss(
    vae: &HostVae,
    params: &[f32],
    theta: &[f32],
    x: &[f32],
    eps: &[f32],
    kl_weight: f32,
    grad_scale: Option<f32>,
    shards: &mut [Shard],
    loss: &mut [f64],
) {
    let b = loss.len();
    let (dt, dx, dz) = (vae.d_theta, vae.d_x, vae.dz);
    let ranges = shard_ranges(b);
    for shard in shards.iter_mut().take(ranges.len()) {
        if grad_scale.is_some() {
            shard.grads.clear();
            shard.grads.resize(params.len(), 0.0);
        }
    }
    let run = |r: &std::ops::Range<usize>, shard: &mut Shard, out: &mut [f64]| {
        vae.loss(
            params,
            &theta[r.start * dt..r.end * dt],
            &x[r.start * dx..r.end * dx],
            &eps[r.start * dz..r.end * dz],
            kl_weight,
            grad_scale,
            shard,
            out,
        )
    };
    loss.iter_mut().for_each(|l| *l = 0.0);
    if ranges.len() == 1 {
        run(&ranges[0], &mut shards[0], loss);
    } else {
        let (s0, rest) = shards.split_at_mut(1);
        let (l0, l1) = loss.split_at_mut(ranges[0].end);
        rayon::join(|| run(&ranges[0], &mut s0[0], l0), || run(&ranges[1], &mut rest[0], l1));
        if grad_scale.is_some() {
            let (a, b) = shards.split_at_mut(1);
            a[0].grads.iter_mut().zip(&b[0].grads).for_each(|(x, y)| *x += y);
        }
    }
}

fn normals(rng: &mut ChaCha8Rng, len: usize, out: &mut Vec<f32>) {
    out.clear();
    // The same draws, in the same order, as `sbi_nn::standard_normal`.
    out.extend((0..len).map(|_| -> f32 { rng.sample(StandardNormal) }));
}

/// Trains `vae` on `data` as [`crate::fit`] trains the Burn module it was read
/// from (see the module docs); errors as `fit` does.
pub(crate) fn fit_fused(
    vae: &HostVae,
    data: &Dataset,
    config: &TrainConfig,
    progress: &mut dyn FnMut(&Progress),
) -> Result<FusedFit, TrainError> {
    config.validate()?;
    let start = Instant::now();
    let Prepared { train_idx, val_idx, train_theta, train_x, theta_std, x_std, val, .. } =
        prepare(data, config, None)?;
    let n_train = train_idx.len();
    let (dt, dx, dz) = (vae.d_theta, vae.d_x, vae.dz);
    let batch = config.batch_size.min(n_train);
    let steps = n_train.div_ceil(batch);
    let to_f32 = |a: &ndarray::Array2<f64>| a.iter().map(|v| *v as f32).collect::<Vec<f32>>();
    let (train_theta, train_x) = (to_f32(&train_theta), to_f32(&train_x));
    let val = val.map(|(t, x, _)| (to_f32(&t), to_f32(&x)));

    let mut values = vae.params.values.clone();
    let decoupled = config.optimizer == OptimizerKind::AdamW;
    let mut adam = Adam::new(
        values.len(),
        config.adam_epsilon as f32,
        config.weight_decay as f32,
        decoupled,
        config.clip_grad_norm.map(|c| c as f32),
    );
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed ^ STEP_STREAM);
    let mut order: Vec<usize> = (0..n_train).collect();
    let mut shards: Vec<Shard> = (0..SHARDS).map(|_| Shard::default()).collect();
    let mut tracker = Tracker::new(config, start);
    let (mut theta_buf, mut x_buf, mut eps) = (Vec::new(), Vec::new(), Vec::new());
    let mut loss = Vec::new();

    for epoch in 1..=config.epoch_limit() {
        order.shuffle(&mut rng);
        let mut sum = 0f64;
        for (step, rows) in order.chunks(batch).enumerate() {
            let b = rows.len();
            theta_buf.clear();
            x_buf.clear();
            for &i in rows {
                theta_buf.extend_from_slice(&train_theta[i * dt..(i + 1) * dt]);
                x_buf.extend_from_slice(&train_x[i * dx..(i + 1) * dx]);
            }
            let t = (epoch - 1) as f64 + step as f64 / steps as f64;
            let kl_weight = (vae.beta * config.kl_schedule.factor(t)) as f32;
            normals(&mut rng, b * dz, &mut eps);
            loss.resize(b, 0.0);
            batch_loss(
                vae,
                &values,
                &theta_buf,
                &x_buf,
                &eps,
                kl_weight,
                Some(1.0 / b as f32),
                &mut shards,
                &mut loss,
            );
            sum += loss.iter().sum::<f64>();
            adam.step(&mut values, &mut shards[0].grads, &vae.params.tensors, config.learning_rate_at(t));
        }
        let train_loss = sum / n_train as f64;
        let validation = || {
            Ok(val.as_ref().map(|(vt, vx)| {
                let n = vt.len() / dt;
                let mut vrng = ChaCha8Rng::seed_from_u64(config.seed ^ VALIDATION_STREAM);
                let mut total = 0.0;
                let mut s = 0;
                while s < n {
                    let e = (s + VALIDATION_CHUNK).min(n);
                    normals(&mut vrng, (e - s) * dz, &mut eps);
                    loss.resize(e - s, 0.0);
                    let (t, x) = (&vt[s * dt..e * dt], &vx[s * dx..e * dx]);
                    batch_loss(vae, &values, t, x, &eps, vae.beta as f32, None, &mut shards, &mut loss);
                    total += loss.iter().sum::<f64>();
                    s = e;
                }
                total / n as f64
            }))
        };
        if tracker.end_epoch(epoch, train_loss, validation, || values.clone(), progress)? {
            break;
        }
    }
    let (values, report) = tracker.finish(values, n_train, val_idx.len());
    Ok(FusedFit { values, theta_std, x_std, report })
}
