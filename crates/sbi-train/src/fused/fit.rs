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
use super::helper::{Exchange, Helper, Job};
use super::vae::{Batch, HostVae, Shard};
use crate::trainer::{Prepared, STEP_STREAM, Tracker, VALIDATION_CHUNK, VALIDATION_STREAM, prepare};
use crate::{Dataset, OptimizerKind, Progress, Standardizer, TrainConfig, TrainError, TrainReport};

/// Batches are computed as this many row shards (whatever the thread count,
/// so results do not depend on it); each shard needs at least `MIN_SHARD_ROWS` rows.
const SHARDS: usize = 2;
const MIN_SHARD_ROWS: usize = 64;
/// Rows per pass through the networks within a shard (see [`shard_loss`]).
const MICRO_ROWS: usize = 64;

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

/// The training inputs, which the shards gather by row index (row-major
/// `theta: [n, d_θ]`, `x: [n, d_x]`).
#[derive(Clone, Copy, Debug)]
pub(super) struct TrainRows<'a> {
    pub theta: &'a [f32],
    pub x: &'a [f32],
}

/// The rows `rows` of a row-major matrix `src` with `d` columns, into `out`.
///
/// Rows of up to 12 values are copied as fixed-size arrays (a copy call per row of a
/// few values cost more than the copy, and an `extend` over the values, checking the
/// capacity value by value, was 4 % of a CP-VAE run with hidden widths [32, 32]).
fn gather(src: &[f32], d: usize, rows: &[usize], out: &mut Vec<f32>) {
    fn fixed<const D: usize>(src: &[f32], rows: &[usize], out: &mut [f32]) {
        let (src, _) = src.as_chunks::<D>();
        let (out, _) = out.as_chunks_mut::<D>();
        out.iter_mut().zip(rows).for_each(|(o, &i)| *o = src[i]);
    }
    out.clear();
    out.resize(rows.len() * d, 0.0);
    macro_rules! by_width {
        ($($w:literal)*) => {
            match d {
                $($w => fixed::<$w>(src, rows, out),)*
                _ => out
                    .chunks_exact_mut(d)
                    .zip(rows)
                    .for_each(|(o, &i)| o.copy_from_slice(&src[i * d..(i + 1) * d])),
            }
        };
    }
    by_width!(1 2 3 4 5 6 7 8 9 10 11 12);
}

/// Per-pair losses `loss: [n]` of one shard's `n` rows, and with `batch.grad_scale`
/// their gradients in `shard.grads` (zeroed here).
///
/// The rows go through the networks `MICRO_ROWS` at a time, so that the activations
/// stay in cache (a pass over 256 rows at once was about 10 % slower per epoch); the
/// gradients accumulate row by row in the same order as in one pass
/// ([`super::gemm`]), so the result is the same to the bit.
pub(super) fn shard_loss(vae: &HostVae, batch: Batch, shard: &mut Shard, loss: &mut [f64]) {
    if batch.grad_scale.is_some() {
        shard.grads.clear();
        shard.grads.resize(batch.params.len(), 0.0);
        vae.transpose_weights(batch.params, shard);
    }
    loss.iter_mut().for_each(|l| *l = 0.0);
    pulp::Arch::new().dispatch(Passes { vae, batch, shard, loss });
}

/// [`shard_loss`]'s passes, compiled for the CPU's vector instructions through
/// [`pulp::Arch::dispatch`] (everything [`HostVae::loss`] calls is inlined into it).
/// Element-wise code has no fused multiply-adds unless written as `mul_add`, so its
/// arithmetic rounds the same on every instruction set (`exp` is the engine's own,
/// [`super::exp`], made of IEEE operations only; `ln_1p` and `tanh` are the
/// platform's libm).
struct Passes<'a> {
    vae: &'a HostVae,
    batch: Batch<'a>,
    shard: &'a mut Shard,
    loss: &'a mut [f64],
}

impl pulp::WithSimd for Passes<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        let Passes { vae, batch, shard, loss } = self;
        let n = loss.len();
        let mut s = 0;
        while s < n {
            let e = (s + MICRO_ROWS).min(n);
            vae.loss(batch.rows(vae, s..e), shard, &mut loss[s..e]);
            s = e;
        }
    }
}

/// The shards' buffers, and the helper thread that computes the second shard when
/// there is one (else it is computed after the first, with the same result).
pub(super) struct Shards<'h> {
    /// The first shard's buffers; its `grads` receive the batch's gradients.
    pub first: Shard,
    /// The second shard's buffers when there is no helper.
    second: Shard,
    helper: Option<Helper<'h>>,
    /// The job buffers while no job is posted.
    job: Job,
    /// The first shard's gathered rows and noise in [`train_batch_loss`].
    theta: Vec<f32>,
    x: Vec<f32>,
    eps: Vec<f32>,
}

impl<'h> Shards<'h> {
    pub fn new(helper: Option<Helper<'h>>) -> Self {
        Shards {
            first: Shard::default(),
            second: Shard::default(),
            helper,
            job: Job::default(),
            theta: Vec::new(),
            x: Vec::new(),
            eps: Vec::new(),
        }
    }
}

/// The helper thread's work on a [`Job`]: [`shard_loss`] with its own buffers, on
/// the job's rows of `data` when it names rows ([`train_batch_loss`]), else on the
/// job's own inputs.
pub(super) fn serve_job(vae: &HostVae, data: Option<TrainRows>, shard: &mut Shard, job: &mut Job) {
    let Job { params, rows, theta, x, eps, kl_weight, grad_scale, loss, grads } = job;
    if !rows.is_empty() {
        let data = data.expect("a job with row indices needs the training rows");
        gather(data.theta, vae.d_theta, rows, theta);
        gather(data.x, vae.d_x, rows, x);
    }
    let batch = Batch { params, theta, x, eps, kl_weight: *kl_weight, grad_scale: *grad_scale };
    shard_loss(vae, batch, shard, loss);
    if grad_scale.is_some() {
        std::mem::swap(grads, &mut shard.grads);
    }
}

/// Per-pair losses `loss: [b]` of the `b` rows of `batch` (and, with `batch.grad_scale`,
/// the summed gradients in `shards.first.grads`), computed shard by shard (in parallel
/// when there is a helper).
pub(super) fn batch_loss(vae: &HostVae, batch: Batch, shards: &mut Shards, loss: &mut [f64]) {
    let ranges = shard_ranges(loss.len());
    let run = |r: &std::ops::Range<usize>, shard: &mut Shard, out: &mut [f64]| {
        shard_loss(vae, batch.rows(vae, r.clone()), shard, out)
    };
    if ranges.len() == 1 {
        run(&ranges[0], &mut shards.first, loss);
        return;
    }
    let (r0, r1) = (&ranges[0], &ranges[1]);
    let second_grads = match &shards.helper {
        Some(helper) => {
            let mut job = std::mem::take(&mut shards.job);
            let fill = |dst: &mut Vec<f32>, src: &[f32]| {
                dst.clear();
                dst.extend_from_slice(src);
            };
            let second = batch.rows(vae, r1.clone());
            fill(&mut job.theta, second.theta);
            fill(&mut job.x, second.x);
            fill(&mut job.eps, second.eps);
            job.rows.clear();
            shards.job = share(helper, job, batch, loss, r0.end, |l0| run(r0, &mut shards.first, l0));
            &shards.job.grads
        }
        None => {
            let (l0, l1) = loss.split_at_mut(r0.end);
            run(r0, &mut shards.first, l0);
            run(r1, &mut shards.second, l1);
            &shards.second.grads
        }
    };
    if batch.grad_scale.is_some() {
        shards.first.grads.iter_mut().zip(second_grads).for_each(|(x, y)| *x += y);
    }
}

/// The exchange of a two-shard batch: hands the second shard's `job` (its inputs
/// set, or its rows) to the helper with `batch`'s weights, KL weight and gradient
/// scale, computes the first `n0` per-pair losses with `first` meanwhile, waits, and
/// returns the job with its losses copied into `loss[n0..]`.
fn share(
    helper: &Helper,
    mut job: Job,
    batch: Batch,
    loss: &mut [f64],
    n0: usize,
    first: impl FnOnce(&mut [f64]),
) -> Job {
    job.params.clear();
    job.params.extend_from_slice(batch.params);
    job.loss.resize(loss.len() - n0, 0.0);
    (job.kl_weight, job.grad_scale) = (batch.kl_weight, batch.grad_scale);
    helper.post(job);
    let (l0, l1) = loss.split_at_mut(n0);
    first(l0);
    let job = helper.wait().expect("the fused engine's helper thread panicked");
    l1.copy_from_slice(&job.loss);
    job
}

/// [`batch_loss`] for a training batch of the rows `rows` of `data`, with gradients
/// scaled by `1 / rows.len()` (summed in `shards.first.grads`): draws the batch's noise
/// from `rng` (row by row, as in one pass) and gathers the rows shard by shard, the
/// second shard on the helper thread when there is one, so that the gathering runs
/// in parallel and the second shard's inputs are not copied. The results are those of
/// [`batch_loss`] on the gathered batch, to the bit.
#[allow(clippy::too_many_arguments)]
pub(super) fn train_batch_loss(
    vae: &HostVae,
    data: TrainRows,
    params: &[f32],
    rows: &[usize],
    kl_weight: f32,
    rng: &mut ChaCha8Rng,
    shards: &mut Shards,
    loss: &mut [f64],
) {
    let (b, dz) = (rows.len(), vae.dz);
    let grad_scale = Some(1.0 / b as f32);
    let ranges = shard_ranges(b);
    let Some(helper) = shards.helper.as_ref().filter(|_| ranges.len() == 2) else {
        normals(rng, b * dz, &mut shards.eps);
        let (mut theta, mut x, eps) = (
            std::mem::take(&mut shards.theta),
            std::mem::take(&mut shards.x),
            std::mem::take(&mut shards.eps),
        );
        gather(data.theta, vae.d_theta, rows, &mut theta);
        gather(data.x, vae.d_x, rows, &mut x);
        let batch = Batch { params, theta: &theta, x: &x, eps: &eps, kl_weight, grad_scale };
        batch_loss(vae, batch, shards, loss);
        (shards.theta, shards.x, shards.eps) = (theta, x, eps);
        return;
    };
    let (r0, r1) = (ranges[0].clone(), ranges[1].clone());
    let mut job = std::mem::take(&mut shards.job);
    // The same draws in the same order as `normals(rng, b * dz, ..)`.
    normals(rng, r0.len() * dz, &mut shards.eps);
    normals(rng, r1.len() * dz, &mut job.eps);
    job.rows.clear();
    job.rows.extend_from_slice(&rows[r1]);
    // The settings of the batch; its inputs are gathered by each shard.
    let batch = Batch { params, theta: &[], x: &[], eps: &[], kl_weight, grad_scale };
    shards.job = share(helper, job, batch, loss, r0.end, |l0| {
        gather(data.theta, vae.d_theta, &rows[r0.clone()], &mut shards.theta);
        gather(data.x, vae.d_x, &rows[r0.clone()], &mut shards.x);
        let first = Batch { theta: &shards.theta, x: &shards.x, eps: &shards.eps, ..batch };
        shard_loss(vae, first, &mut shards.first, l0);
    });
    shards.first.grads.iter_mut().zip(&shards.job.grads).for_each(|(x, y)| *x += y);
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
    let mut tracker = Tracker::new(config, start);
    let mut eps = Vec::new();
    let data = TrainRows { theta: &train_theta, x: &train_x };
    let mut loss = Vec::new();
    let mut ema = config.ema_decay.map(|d| (d as f32, values.clone()));

    // With two threads or more, a helper thread computes the second shard of every
    // batch (see [`super::helper`]); the results are the same either way.
    let exchange = Exchange::new();
    std::thread::scope(|scope| {
        let helper = (rayon::current_num_threads() >= SHARDS).then(|| {
            let main = std::thread::current();
            let exchange = &exchange;
            let thread = scope.spawn(move || {
                let mut shard = Shard::default();
                exchange.serve(main, |job| serve_job(vae, Some(data), &mut shard, job));
            });
            Helper::new(exchange, thread.thread().clone())
        });
        let mut shards = Shards::new(helper);
        for epoch in 1..=config.epoch_limit() {
            order.shuffle(&mut rng);
            let mut sum = 0f64;
            for (step, rows) in order.chunks(batch).enumerate() {
                let t = (epoch - 1) as f64 + step as f64 / steps as f64;
                let kl_weight = (vae.beta * config.kl_schedule.factor(t)) as f32;
                loss.resize(rows.len(), 0.0);
                train_batch_loss(vae, data, &values, rows, kl_weight, &mut rng, &mut shards, &mut loss);
                sum += loss.iter().sum::<f64>();
                adam.step(
                    &mut values,
                    &mut shards.first.grads,
                    &vae.params.tensors,
                    config.learning_rate_at(t),
                );
                if let Some((d, avg)) = ema.as_mut() {
                    for (a, v) in avg.iter_mut().zip(&values) {
                        *a = *d * *a + (1.0 - *d) * *v;
                    }
                }
            }
            let kept = ema.as_ref().map_or(&values, |(_, avg)| avg);
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
                        let (theta, x) = (&vt[s * dt..e * dt], &vx[s * dx..e * dx]);
                        let kl_weight = vae.beta as f32;
                        let batch = Batch { params: kept, theta, x, eps: &eps, kl_weight, grad_scale: None };
                        batch_loss(vae, batch, &mut shards, &mut loss);
                        total += loss.iter().sum::<f64>();
                        s = e;
                    }
                    total / n as f64
                }))
            };
            if tracker.end_epoch(epoch, train_loss, validation, || kept.clone(), progress)? {
                break;
            }
        }
        let last = ema.map_or(values, |(_, avg)| avg);
        let (values, report) = tracker.finish(last, n_train, val_idx.len());
        Ok(FusedFit { values, theta_std, x_std, report })
    })
}
