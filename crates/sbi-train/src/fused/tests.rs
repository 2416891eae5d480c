//! The fused engine against Burn: per-pair losses and gradients against
//! Burn's autodiff of `sbi_nn::CpVae::loss_terms`/`UpVae::loss_terms`, the
//! optimiser against Burn's Adam/AdamW, and sharded batches against one shard.

use rand::seq::SliceRandom;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use sbi_nn::burn::nn::Linear;
use sbi_nn::burn::optim::{AdamConfig, AdamWConfig, GradientsParams};
use sbi_nn::burn::tensor::Gradients;
use sbi_nn::burn::tensor::{Device, Tensor};
use sbi_nn::{Activation, CpVaeConfig, DeviceChoice, GaussianMlp, NetConfig, UpVaeConfig, standard_normal};

use super::adam::Adam;
use super::fit::{Shards, TrainRows, batch_loss, fit_fused, serve_job, shard_loss, train_batch_loss};
use super::helper::{Exchange, Helper};
use super::vae::{Batch, HostVae, Shard};

fn device() -> Device {
    DeviceChoice::available_cpu().first().expect("a CPU device").autodiff_device().unwrap()
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_into_vec_as::<f32>().unwrap()
}

fn linear_grads(l: &Linear, grads: &Gradients, out: &mut Vec<f32>) {
    out.extend(values(l.weight.val().grad(grads).expect("weight gradient")));
    out.extend(values(l.bias.as_ref().unwrap().val().grad(grads).expect("bias gradient")));
}

/// Burn's gradients of a network's parameters, in the fused engine's order.
fn net_grads(net: &GaussianMlp, grads: &Gradients, out: &mut Vec<f32>) {
    for layer in &net.trunk.layers {
        linear_grads(&layer.linear, grads, out);
    }
    linear_grads(&net.head.linear, grads, out);
}

/// `|a − b| ≤ atol + rtol·|b|` element-wise.
fn assert_close(what: &str, got: &[f32], want: &[f32], atol: f32, rtol: f32) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= atol + rtol * w.abs(), "{what}[{i}]: fused {g}, burn {w}");
    }
}

fn net(hidden: Vec<usize>, activation: Activation, residual: bool) -> NetConfig {
    NetConfig::new().with_hidden(hidden).with_activation(activation).with_residual(residual)
}

/// Inputs of `n` pairs: `(θ, x, ε)` as host vectors and Burn tensors.
fn inputs(n: usize, dt: usize, dx: usize, dz: usize, dev: &Device) -> [(Vec<f32>, Tensor<2>); 3] {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    [dt, dx, dz].map(|d| {
        let t = standard_normal(&mut rng, [n, d], dev).mul_scalar(1.5);
        (values(t.clone()), t)
    })
}

const NETS: [(&[usize], Activation, bool); 4] = [
    (&[16, 16], Activation::Relu, false),
    (&[12], Activation::Silu, false),
    (&[8, 8, 8], Activation::Tanh, true),
    (&[], Activation::Relu, false),
];

#[test]
fn cp_vae_losses_and_gradients_match_burn_autodiff() {
    let dev = device();
    let (n, dt, dx, dz) = (37, 2, 3, 4);
    for (hidden, act, residual) in NETS {
        for kl_weight in [1.0f32, 0.35] {
            let model = CpVaeConfig::new(dt, dx)
                .with_latent_dim(dz)
                .with_beta(0.7)
                .with_seed(3)
                .with_net(net(hidden.to_vec(), act, residual))
                .init(&dev)
                .unwrap();
            let [(th, tt), (xh, xt), (eh, et)] = inputs(n, dt, dx, dz, &dev);
            let terms = model.loss_terms(tt, xt, et).unwrap();
            let per_pair = values(terms.per_pair(f64::from(kl_weight)));
            let grads = terms.mean(f64::from(kl_weight)).backward();
            let mut want = Vec::new();
            for net in [&model.encoder, &model.prior, &model.decoder] {
                net_grads(net, &grads, &mut want);
            }
            let host = HostVae::from_cp(&model).unwrap();
            let mut shard = Shard::default();
            shard.grads = vec![0.0; host.params.values.len()];
            host.transpose_weights(&host.params.values, &mut shard);
            let mut loss = vec![0.0; n];
            let batch = Batch {
                params: &host.params.values,
                theta: &th,
                x: &xh,
                eps: &eh,
                kl_weight,
                grad_scale: Some(1.0 / n as f32),
            };
            host.loss(batch, &mut shard, &mut loss);
            let what = format!("cp-vae {hidden:?} {act:?} residual {residual} kl {kl_weight}");
            let got: Vec<f32> = loss.iter().map(|v| *v as f32).collect();
            assert_close(&format!("{what} loss"), &got, &per_pair, 1e-4, 1e-5);
            assert_close(&format!("{what} grads"), &shard.grads, &want, 2e-5, 1e-3);
        }
    }
}

#[test]
fn up_vae_losses_and_gradients_match_burn_autodiff() {
    let dev = device();
    let (n, dt, dx, dz) = (29, 3, 2, 3);
    for (hidden, act, residual) in NETS {
        for x_weight in [1.0, 0.3, 0.0] {
            let model = UpVaeConfig::new(dt, dx)
                .with_latent_dim(dz)
                .with_beta(1.3)
                .with_x_weight(x_weight)
                .with_seed(4)
                .with_net(net(hidden.to_vec(), act, residual))
                .init(&dev)
                .unwrap();
            let [(th, tt), (xh, xt), (eh, et)] = inputs(n, dt, dx, dz, &dev);
            let terms = model.loss_terms(tt, xt, et).unwrap();
            let per_pair = values(terms.per_pair(1.3));
            let grads = terms.mean(1.3).backward();
            let mut want = Vec::new();
            for net in [&model.encoder, &model.theta_decoder] {
                net_grads(net, &grads, &mut want);
            }
            if x_weight != 0.0 {
                net_grads(&model.x_decoder, &grads, &mut want);
            }
            let host = HostVae::from_up(&model).unwrap();
            let mut shard = Shard::default();
            shard.grads = vec![0.0; host.params.values.len()];
            host.transpose_weights(&host.params.values, &mut shard);
            let mut loss = vec![0.0; n];
            let batch = Batch {
                params: &host.params.values,
                theta: &th,
                x: &xh,
                eps: &eh,
                kl_weight: 1.3,
                grad_scale: Some(1.0 / n as f32),
            };
            host.loss(batch, &mut shard, &mut loss);
            let what = format!("up-vae {hidden:?} {act:?} residual {residual} x_weight {x_weight}");
            let got: Vec<f32> = loss.iter().map(|v| *v as f32).collect();
            assert_close(&format!("{what} loss"), &got, &per_pair, 1e-4, 1e-5);
            let used = want.len();
            assert_close(&format!("{what} grads"), &shard.grads[..used], &want, 2e-5, 1e-3);
            // λ = 0: the x decoder gets no gradient (Burn's is exactly zero too).
            assert!(shard.grads[used..].iter().all(|g| *g == 0.0), "{what}: x decoder gradients");
        }
    }
}

#[test]
fn host_weights_round_trip_through_the_burn_module() {
    let dev = device();
    let model = CpVaeConfig::new(2, 2).with_net(net(vec![8, 8], Activation::Relu, false)).init(&dev).unwrap();
    let host = HostVae::from_cp(&model).unwrap();
    let shifted: Vec<f32> = host.params.values.iter().map(|v| v + 0.25).collect();
    let back = HostVae::from_cp(&host.write_cp(model, &shifted, &dev)).unwrap();
    assert_eq!(back.params.values, shifted);
    assert_eq!(back.params.tensors, host.params.tensors);
}

#[test]
fn layer_norm_is_refused_with_a_clear_error() {
    let dev = device();
    let model = CpVaeConfig::new(2, 2)
        .with_net(NetConfig::new().with_hidden(vec![8]).with_layer_norm(true))
        .init(&dev)
        .unwrap();
    let e = HostVae::from_cp(&model).unwrap_err();
    assert!(e.to_string().contains("layer normalisation"), "{e}");
}

#[test]
fn two_shards_give_the_one_shard_sums() {
    let dev = device();
    let (n, dt, dx, dz) = (300, 2, 2, 4);
    let model = CpVaeConfig::new(dt, dx).with_latent_dim(dz).init(&dev).unwrap();
    let host = HostVae::from_cp(&model).unwrap();
    let [(th, _), (xh, _), (eh, _)] = inputs(n, dt, dx, dz, &dev);
    let p = &host.params.values;
    let batch =
        Batch { params: p, theta: &th, x: &xh, eps: &eh, kl_weight: 1.0, grad_scale: Some(1.0 / n as f32) };
    // One pass over all rows.
    let mut one = Shard::default();
    one.grads = vec![0.0; p.len()];
    host.transpose_weights(p, &mut one);
    let mut loss1 = vec![0.0; n];
    host.loss(batch, &mut one, &mut loss1);
    // The same rows in passes of `MICRO_ROWS`: the same bits.
    let mut micro = Shard::default();
    let mut loss_micro = vec![0.0; n];
    shard_loss(&host, batch, &mut micro, &mut loss_micro);
    assert_eq!(loss_micro, loss1);
    assert_eq!(micro.grads, one.grads, "passes of MICRO_ROWS rows sum the gradients in the same order");
    // Two shards, one after the other.
    let mut seq = Shards::new(None);
    let mut loss2 = vec![0.0; n];
    batch_loss(&host, batch, &mut seq, &mut loss2);
    assert_eq!(loss1, loss2, "per-pair losses do not depend on the shards");
    assert_close("grads", &seq.first.grads, &one.grads, 1e-6, 1e-5);
    // Two shards, the second on a helper thread, twice (buffers reused): the same bits.
    let exchange = Exchange::new();
    let main = std::thread::current();
    std::thread::scope(|s| {
        let t = s.spawn(|| {
            let mut shard = Shard::default();
            exchange.serve(main, |job| serve_job(&host, None, &mut shard, job));
        });
        let mut par = Shards::new(Some(Helper::new(&exchange, t.thread().clone())));
        for _ in 0..2 {
            let mut loss3 = vec![0.0; n];
            batch_loss(&host, batch, &mut par, &mut loss3);
            assert_eq!(loss3, loss2);
            assert_eq!(par.first.grads, seq.first.grads);
        }
        // Validation batches (no gradients) through the same helper.
        let mut loss4 = vec![0.0; n];
        batch_loss(&host, Batch { grad_scale: None, ..batch }, &mut par, &mut loss4);
        assert_eq!(loss4, loss2);
    });
}

/// Training batches given by row indices ([`train_batch_loss`]: the noise drawn in
/// two parts, the second shard's rows gathered by the helper thread) give the bits
/// of [`batch_loss`] on the batch gathered and drawn in one piece, with and without
/// a helper, and leave the generator where one draw of the batch's noise leaves it.
/// Widths inside (2) and outside (13) the fixed-size gathering; batches of two
/// shards (300 rows) and of one (100). A validation batch through the same helper
/// afterwards uses its own inputs, not the last job's rows.
#[test]
fn training_batches_by_row_index_match_the_gathered_batch() {
    let dev = device();
    let (n, dz, kl) = (400, 3, 0.7);
    for (dt, dx) in [(2, 13), (13, 2)] {
        let model = CpVaeConfig::new(dt, dx).with_latent_dim(dz).init(&dev).unwrap();
        let host = HostVae::from_cp(&model).unwrap();
        let [(th, _), (xh, _), (val_eps, _)] = inputs(n, dt, dx, dz, &dev);
        let data = TrainRows { theta: &th, x: &xh };
        let p = &host.params.values;
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(3));
        let rows_of = |src: &[f32], d: usize, rows: &[usize]| -> Vec<f32> {
            rows.iter().flat_map(|&i| src[i * d..(i + 1) * d].iter().copied()).collect()
        };
        // A validation batch: the first 200 rows in order, with their own noise.
        let (vt, vx, ve) = (&th[..200 * dt], &xh[..200 * dx], &val_eps[..200 * dz]);
        let val = Batch { params: p, theta: vt, x: vx, eps: ve, kl_weight: 1.0, grad_scale: None };
        let mut val_want = vec![0.0; 200];
        batch_loss(&host, val, &mut Shards::new(None), &mut val_want);
        for b in [300, 100] {
            let rows = &order[..b];
            let mut rng = ChaCha8Rng::seed_from_u64(7);
            let (theta, x) = (rows_of(&th, dt, rows), rows_of(&xh, dx, rows));
            let eps: Vec<f32> = (0..b * dz).map(|_| rng.sample::<f32, _>(StandardNormal)).collect();
            let after = rng.next_u64();
            let batch = Batch {
                params: p,
                theta: &theta,
                x: &x,
                eps: &eps,
                kl_weight: kl,
                grad_scale: Some(1.0 / b as f32),
            };
            let mut want = Shards::new(None);
            let mut want_loss = vec![0.0; b];
            batch_loss(&host, batch, &mut want, &mut want_loss);
            let check = |shards: &mut Shards, what: &str| {
                let mut rng = ChaCha8Rng::seed_from_u64(7);
                let mut loss = vec![0.0; b];
                train_batch_loss(&host, data, p, rows, kl, &mut rng, shards, &mut loss);
                assert_eq!(loss, want_loss, "{what}, d_θ {dt}, d_x {dx}, {b} rows: losses");
                assert_eq!(
                    shards.first.grads, want.first.grads,
                    "{what}, d_θ {dt}, d_x {dx}, {b} rows: gradients"
                );
                assert_eq!(rng.next_u64(), after, "{what}: the generator's position");
            };
            check(&mut Shards::new(None), "no helper");
            let exchange = Exchange::new();
            let main = std::thread::current();
            std::thread::scope(|s| {
                let t = s.spawn(|| {
                    let mut shard = Shard::default();
                    exchange.serve(main, |job| serve_job(&host, Some(data), &mut shard, job));
                });
                let mut par = Shards::new(Some(Helper::new(&exchange, t.thread().clone())));
                check(&mut par, "helper");
                check(&mut par, "helper, buffers reused");
                let mut val_loss = vec![0.0; 200];
                batch_loss(&host, val, &mut par, &mut val_loss);
                assert_eq!(val_loss, val_want, "a validation batch after training batches");
            });
        }
    }
}

/// A whole fused fit gives the same weights and losses with one thread (both
/// shards on the training thread) as with two (the helper thread), to the bit.
#[test]
fn fused_fits_do_not_depend_on_the_thread_count() {
    let dev = device();
    let (n, dt, dx) = (700, 2, 3);
    let model = UpVaeConfig::new(dt, dx).with_latent_dim(2).init(&dev).unwrap();
    let host = HostVae::from_up(&model).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let theta = ndarray::Array2::from_shape_fn((n, dt), |_| rng.random_range(-1.0..1.0));
    let x = ndarray::Array2::from_shape_fn((n, dx), |(i, j)| {
        theta[[i, j % dt]] + 0.3 * rng.random_range(-1.0..1.0)
    });
    let data = crate::Dataset::new(theta, x).unwrap();
    let config = crate::TrainConfig::new().with_batch_size(256).with_max_epochs(3).with_seed(4);
    let fit = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| fit_fused(&host, &data, &config, &mut |_| {})).unwrap()
    };
    let (one, two) = (fit(1), fit(2));
    assert_eq!(one.values, two.values);
    let losses = |f: &super::fit::FusedFit| {
        f.report.history.iter().map(|e| (e.train_loss, e.val_loss)).collect::<Vec<_>>()
    };
    assert_eq!(losses(&one), losses(&two));
    assert_eq!(one.report.epochs, 3);
}

/// Three steps of Burn's optimiser on a linear layer against the host optimiser
/// fed the same gradients: same parameters (f32 rounding aside).
#[test]
fn adam_and_adamw_match_burn_step_for_step() {
    let dev = device();
    for (decoupled, weight_decay, clip) in
        [(false, 0.0, None), (false, 0.05, Some(0.3)), (true, 0.1, Some(0.3))]
    {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut layer = sbi_nn::seeded_linear(3, 4, &dev, &mut rng);
        let x = standard_normal(&mut rng, [16, 3], &dev);
        let params = |l: &Linear| {
            let mut v = values(l.weight.val());
            v.extend(values(l.bias.as_ref().unwrap().val()));
            v
        };
        let mut host = params(&layer);
        let tensors = vec![0..12, 12..16];
        let clip_cfg = clip.map(sbi_nn::burn::grad_clipping::GradientClippingConfig::Norm);
        let mut host_opt = Adam::new(16, 1e-8, weight_decay, decoupled, clip);
        let mut burn_opt = if decoupled {
            AdamWConfig::new()
                .with_epsilon(1e-8)
                .with_weight_decay(weight_decay)
                .with_grad_clipping(clip_cfg)
                .init()
        } else {
            AdamConfig::new()
                .with_epsilon(1e-8)
                .with_weight_decay(
                    (weight_decay > 0.0)
                        .then(|| sbi_nn::burn::optim::decay::WeightDecayConfig::new(weight_decay)),
                )
                .with_grad_clipping(clip_cfg)
                .init()
        };
        for _ in 0..3 {
            let y = layer.forward(x.clone());
            let loss = (y.clone() * y).sum().mul_scalar(0.5);
            let grads = loss.backward();
            let mut g = values(layer.weight.val().grad(&grads).unwrap());
            g.extend(values(layer.bias.as_ref().unwrap().val().grad(&grads).unwrap()));
            let gp = GradientsParams::from_grads(grads, &layer);
            layer = burn_opt.step(0.05, layer, gp);
            host_opt.step(&mut host, &mut g, &tensors, 0.05);
            assert_close("params", &host, &params(&layer), 1e-6, 1e-5);
        }
    }
}
