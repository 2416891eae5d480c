//! Backend-generic tests of the estimators: each runs on every CPU device
//! compiled in (flex by default; ndarray with `--features ndarray`).

use std::path::Path;

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, array};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use sbi_nn::DeviceChoice;
use sbi_nn::burn::tensor::Device;
use sbi_sim::Prior;
use sbi_sim::prior::BoxUniform;
use sbi_train::prelude::*;
use sbi_train::{ModelMeta, TrainReport};

fn devices() -> Vec<Device> {
    DeviceChoice::available_cpu().into_iter().map(|c| c.device().unwrap()).collect()
}

/// θ ~ N(0, 1), x | θ ~ N(θ, 1): the posterior at x_o is N(x_o / 2, 1/2).
fn conjugate(n: usize, seed: u64) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let theta: Vec<f64> = (0..n).map(|_| rng.sample(StandardNormal)).collect();
    let x: Vec<f64> = theta.iter().map(|t| t + rng.sample::<f64, _>(StandardNormal)).collect();
    Dataset::new(Array2::from_shape_vec((n, 1), theta).unwrap(), Array2::from_shape_vec((n, 1), x).unwrap())
        .unwrap()
}

/// Small, fast settings; `extra` holds further `[train]` keys that override these.
fn settings(extra: &str) -> Settings {
    let mut s = Settings::from_toml_str(
        "[model]\nlatent_dim = 2\nnet = { hidden = [32, 32] }\n[train]\nmax_epochs = 60\nbatch_size = 128\n\
         learning_rate = 3e-3\npatience = 10\n",
    )
    .unwrap();
    let over = Settings::from_toml_str(&format!("[train]\n{extra}")).unwrap();
    s.train.extend(over.train);
    s
}

fn moments(a: ArrayView1<f64>) -> (f64, f64) {
    let n = a.len() as f64;
    let m = a.sum() / n;
    (m, (a.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt())
}

#[test]
fn vaes_recover_the_conjugate_posterior() {
    let data = conjugate(3000, 1);
    for device in devices() {
        let fused = "engine = \"fused\"\n";
        for (method, extra) in
            [(Method::CpVae, ""), (Method::UpVae, ""), (Method::CpVae, fused), (Method::UpVae, fused)]
        {
            let est = estimator(method, &settings(extra)).unwrap();
            let post = est.fit(&data, &device, None, &mut |_| {}).unwrap();
            let report = post.meta().report.clone().unwrap();
            assert!(report.epochs >= 5, "{method}: {report:?}");
            let mut rng = ChaCha8Rng::seed_from_u64(2);
            let x_o = array![1.0];
            let draws =
                sample(post.as_ref(), None, x_o.view(), 4000, &SampleConfig::default(), &mut rng).unwrap();
            let (m, s) = moments(draws.samples.column(0));
            eprintln!("{device:?} {method} {extra:?}: mean {m:.3} (0.5), sd {s:.3} ({:.3})", 0.5f64.sqrt());
            // Exact posterior N(0.5, 0.5): sd 0.707. Sampling error of 4000 draws is ~0.011 on the
            // mean; the tolerances leave room for the approximation error of a small VAE.
            assert!((m - 0.5).abs() < 0.12, "{method}: mean {m}");
            assert!((s / 0.5f64.sqrt() - 1.0).abs() < 0.2, "{method}: sd {s}");
        }
    }
}

#[test]
fn training_is_deterministic_and_save_load_round_trips() {
    let data = conjugate(600, 3);
    let dir = tempfile::tempdir().unwrap();
    for device in devices() {
        for (method, engine) in [
            (Method::CpVae, "burn"),
            (Method::UpVae, "burn"),
            (Method::CpVae, "fused"),
            (Method::UpVae, "fused"),
        ] {
            let s = settings(&format!("max_epochs = 3\nengine = \"{engine}\"\n"));
            let a = estimator(method, &s).unwrap().fit(&data, &device, Some("custom"), &mut |_| {}).unwrap();
            let b = estimator(method, &s).unwrap().fit(&data, &device, Some("custom"), &mut |_| {}).unwrap();
            let draw = |p: &dyn Posterior| {
                let mut rng = ChaCha8Rng::seed_from_u64(9);
                p.sample_unconstrained(array![0.3].view(), 50, &SampleConfig::default(), &mut rng).unwrap()
            };
            assert_eq!(draw(a.as_ref()), draw(b.as_ref()), "{method}: same seed, same model");
            let path = dir.path().join(format!("{method}-{engine}.sbi"));
            a.save(&path).unwrap();
            let loaded = load_posterior(&path, &device).unwrap();
            assert_eq!(loaded.meta(), a.meta());
            assert_eq!(draw(loaded.as_ref()), draw(a.as_ref()), "{method}: loaded model samples the same");
            assert!(
                loaded.log_prob(array![[0.0]].view(), array![0.0].view()).is_err(),
                "VAEs have no log_prob"
            );
        }
    }
}

#[test]
fn corrupted_truncated_and_mismatched_model_files_are_clear_errors() {
    let data = conjugate(300, 4);
    let dir = tempfile::tempdir().unwrap();
    let device = devices().remove(0);
    let post = estimator(Method::CpVae, &settings("max_epochs = 1\n"))
        .unwrap()
        .fit(&data, &device, None, &mut |_| {})
        .unwrap();
    let path = dir.path().join("m.sbi");
    post.save(&path).unwrap();
    let good = std::fs::read(&path).unwrap();
    let expect_err = |bytes: &[u8], want: &str| {
        let p = dir.path().join("bad.sbi");
        std::fs::write(&p, bytes).unwrap();
        let e = load_posterior(&p, &device).err().expect("loading must fail").to_string();
        assert!(e.contains(want) && e.contains("bad.sbi"), "{e}");
    };
    expect_err(&good[..good.len() / 2], "truncated");
    let mut flipped = good.clone();
    let at = good.len() - 100;
    flipped[at] ^= 1;
    expect_err(&flipped, "checksum");
    expect_err(b"hello world, not a model", "magic");

    // Metadata that disagrees with the weights: a CP-VAE record under an UP-VAE header.
    let (mut meta, record) = sbi_train::model_file::read(&path).unwrap();
    meta.method = Method::UpVae;
    let mut cfg = sbi_nn::UpVaeConfig::new(1, 1);
    cfg.latent_dim = 2;
    meta.model_config = serde_json::to_value(&cfg).unwrap();
    let p = dir.path().join("mismatch.sbi");
    sbi_train::model_file::write(&p, &meta, &record).unwrap();
    let e = load_posterior(&p, &device).err().unwrap().to_string();
    assert!(e.contains("weights do not match"), "{e}");
}

#[test]
fn bad_observations_and_settings_are_errors() {
    let data = conjugate(200, 5);
    let device = devices().remove(0);
    let post = estimator(Method::CpVae, &settings("max_epochs = 1\n"))
        .unwrap()
        .fit(&data, &device, None, &mut |_| {})
        .unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let cfg = SampleConfig::default();
    let e = sample(post.as_ref(), None, array![1.0, 2.0].view(), 10, &cfg, &mut rng).unwrap_err().to_string();
    assert!(e.contains("dimension 1"), "{e}");
    let e = sample(post.as_ref(), None, array![f64::NAN].view(), 10, &cfg, &mut rng).unwrap_err().to_string();
    assert!(e.contains("NaN"), "{e}");
    assert!(sample(post.as_ref(), None, array![1.0].view(), 0, &cfg, &mut rng).is_err());
    let bad = Settings::from_toml_str("[train]\nlearning_rate = -1.0\n").unwrap();
    assert!(estimator(Method::CpVae, &bad).is_err());
    let apt = estimator(Method::Apt, &Settings::default()).unwrap();
    let e = apt
        .fit(&data, &devices()[0], None, &mut |_| {})
        .err()
        .expect("sequential needs the task")
        .to_string();
    assert!(e.contains("sequential"), "{e}");
    // The fused engine implements only the VAEs; its limits are named.
    let fused = Settings::from_toml_str("[train]\nengine = \"fused\"\nmax_epochs = 1\n").unwrap();
    let e = estimator(Method::NpeMaf, &fused).unwrap().fit(&data, &device, None, &mut |_| {}).err().unwrap();
    assert!(e.to_string().contains("fused"), "{e}");
    let ln = Settings::from_toml_str(
        "[model]\nnet = { hidden = [8], layer_norm = true }\n[train]\nengine = \"fused\"\nmax_epochs = 1\n",
    )
    .unwrap();
    let e = estimator(Method::UpVae, &ln).unwrap().fit(&data, &device, None, &mut |_| {}).err().unwrap();
    assert!(e.to_string().contains("layer normalisation"), "{e}");
}

/// Settings that cannot build the model are errors before any simulation is
/// spent: `fit_task` reports no stage (the first would be "simulating …").
#[test]
fn unbuildable_models_fail_before_simulating() {
    let device = devices().remove(0);
    let task = sbi_sim::task_by_name("two_moons").unwrap();
    let x_o = task.observation(1).unwrap();
    let cases: [(Method, &str, &str); 5] = [
        (Method::CpVae, "[model]\nlatent_dim = 0\n", "latent_dim 0"),
        (Method::UpVae, "[model]\nbeta = -1.0\n", "beta"),
        (
            Method::CpVae,
            "[model]\nnet = { layer_norm = true }\n[train]\nengine = \"fused\"\n",
            "layer normalisation",
        ),
        (Method::NpeMdn, "[model]\nnum_components = 0\n", "num_components 0"),
        (Method::Apt, "[model]\nnum_bins = 1\n", "num_bins 1"),
    ];
    for (method, toml, needle) in cases {
        let est = estimator(method, &Settings::from_toml_str(toml).unwrap()).unwrap();
        assert!(est.check(task.theta_dim(), task.x_dim(), &device).is_err(), "{method}: {toml}");
        let mut stages = Vec::new();
        let e = est
            .fit_task(task.as_ref(), 1000, x_o.view(), 1, &device, &mut |p| stages.push(format!("{p:?}")))
            .err()
            .unwrap_or_else(|| panic!("{method} with {toml} trained"));
        assert!(e.to_string().contains(needle), "{method}: {e}");
        assert!(stages.is_empty(), "{method}: {stages:?} before the error");
    }
    // Good settings pass the check.
    let est = estimator(Method::CpVae, &Settings::default()).unwrap();
    est.check(task.theta_dim(), task.x_dim(), &device).unwrap();
}

/// The fused engine follows the Burn engine's loop: same split, batch order,
/// noise and early stopping, so after one epoch (one step here) the two
/// models agree to f32 rounding, and the report has the same shape.
#[test]
fn the_fused_engine_takes_the_burn_engines_first_step() {
    let data = conjugate(400, 8);
    let device = devices().remove(0);
    let fit = |engine: &str| {
        let s = settings(&format!("max_epochs = 1\nbatch_size = 512\nengine = \"{engine}\"\n"));
        estimator(Method::CpVae, &s).unwrap().fit(&data, &device, None, &mut |_| {}).unwrap()
    };
    let (burn, fused) = (fit("burn"), fit("fused"));
    let (rb, rf) = (burn.meta().report.clone().unwrap(), fused.meta().report.clone().unwrap());
    assert_eq!((rb.epochs, rb.n_train, rb.n_val), (rf.epochs, rf.n_train, rf.n_val));
    let (tb, tf) = (rb.history[0].train_loss, rf.history[0].train_loss);
    let (vb, vf) = (rb.history[0].val_loss.unwrap(), rf.history[0].val_loss.unwrap());
    assert!((tb - tf).abs() < 1e-4 * tb.abs().max(1.0), "training loss {tb} vs {tf}");
    assert!((vb - vf).abs() < 1e-4 * vb.abs().max(1.0), "validation loss {vb} vs {vf}");
    let draw = |p: &dyn Posterior| {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        p.sample_unconstrained(array![0.4].view(), 200, &SampleConfig::default(), &mut rng).unwrap()
    };
    let (db, df) = (draw(burn.as_ref()), draw(fused.as_ref()));
    let worst = db.iter().zip(df.iter()).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    assert!(worst < 1e-3, "draws differ by up to {worst}");
}

/// The training report of CP-VAE on `data` with one step per epoch (batch 512 ≥ the
/// training rows), learning rate 5e-2, at most `max_epochs` epochs without early
/// stopping, the given `engine` and `extra` `[train]` settings.
fn one_step_epochs(
    data: &Dataset,
    device: &Device,
    max_epochs: usize,
    engine: &str,
    extra: &str,
) -> TrainReport {
    let s = settings(&format!(
        "max_epochs = {max_epochs}\npatience = 50\nbatch_size = 512\nlearning_rate = 5e-2\nengine = \"{engine}\"\n{extra}"
    ));
    let post = estimator(Method::CpVae, &s).unwrap().fit(data, device, None, &mut |_| {}).unwrap();
    post.meta().report.clone().unwrap()
}

/// A cosine learning-rate schedule ends training at its length, both engines apply it
/// the same way (one step per epoch here, so the third epoch's loss follows steps
/// taken at factors 1 and (1 + cos(π/3))/2 = 0.75), and it changes the training.
#[test]
fn both_engines_apply_the_learning_rate_schedule() {
    let data = conjugate(400, 9);
    let device = devices().remove(0);
    let fit = |engine: &str, schedule: &str| one_step_epochs(&data, &device, 50, engine, schedule);
    let cosine = "lr_schedule = { kind = \"cosine\", epochs = 3.0 }\n";
    let (burn, fused) = (fit("burn", cosine), fit("fused", cosine));
    assert_eq!((burn.epochs, fused.epochs), (3, 3), "the schedule's length ends training");
    let (lb, lf) = (burn.history[2].train_loss, fused.history[2].train_loss);
    assert!((lb - lf).abs() < 1e-3 * lb.abs().max(1.0), "third-epoch loss {lb} (burn) vs {lf} (fused)");
    let constant = fit("fused", "");
    let lc = constant.history[2].train_loss;
    assert!((lc - lf).abs() > 1e-3 * lc.abs().max(1.0), "the schedule had no effect: {lc} vs {lf}");
}

/// Averaged weights (`ema_decay`): both engines validate the same average (one step per
/// epoch here, a high learning rate so that the average lags the weights), training
/// itself is unchanged (same training losses as without it), the average changes what
/// is validated, and `ema_decay = 0` is the raw weights.
#[test]
fn both_engines_average_the_weights_the_same_way() {
    let data = conjugate(400, 10);
    let device = devices().remove(0);
    let fit = |engine: &str, ema: &str| one_step_epochs(&data, &device, 4, engine, ema);
    let losses = |r: &TrainReport| -> (Vec<f64>, Vec<f64>) {
        r.history.iter().map(|e| (e.train_loss, e.val_loss.unwrap())).unzip()
    };
    let averaged_val = ["burn", "fused"].map(|engine| {
        let (raw_train, raw_val) = losses(&fit(engine, ""));
        let (avg_train, avg_val) = losses(&fit(engine, "ema_decay = 0.5\n"));
        assert_eq!(avg_train, raw_train, "{engine}: the average changed the training");
        let moved =
            raw_val.iter().zip(&avg_val).skip(1).all(|(a, b)| (a - b).abs() > 1e-4 * a.abs().max(1.0));
        assert!(moved, "{engine}: validation of the average {avg_val:?} against the weights {raw_val:?}");
        let (_, zero_val) = losses(&fit(engine, "ema_decay = 0.0\n"));
        assert_eq!(zero_val, raw_val, "{engine}: ema_decay = 0 is not the raw weights");
        avg_val
    });
    let [vb, vf] = &averaged_val;
    for (b, f) in vb.iter().zip(vf) {
        assert!(
            (b - f).abs() < 1e-3 * b.abs().max(1.0),
            "validation of the average: {vb:?} (burn) vs {vf:?} (fused)"
        );
    }
    let bad = Settings::from_toml_str("[train]\nema_decay = 1.0\n").unwrap();
    let e = estimator(Method::CpVae, &bad).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(e.contains("ema_decay"), "ema_decay = 1 accepted: {e}");
}

#[test]
fn non_finite_losses_stop_training_naming_the_epoch() {
    let data = conjugate(200, 6);
    for device in devices() {
        let ad = device.clone().autodiff();
        let model = sbi_nn::CpVaeConfig::new(1, 1).init(&ad).unwrap();
        let cfg = TrainConfig::new().with_max_epochs(10);
        let err = sbi_train::fit(
            model,
            &data,
            &ad,
            &cfg,
            |m: &sbi_nn::CpVae, theta, x, ctx| {
                let eps = sbi_nn::standard_normal(ctx.rng, [theta.dims()[0], m.latent_dim], &theta.device());
                let l = m.loss(theta, x, eps)?;
                // From epoch 3 on the loss is NaN.
                Ok(if ctx.epoch >= 3 { l.mul_scalar(f64::NAN) } else { l })
            },
            &mut |_| {},
        )
        .expect_err("training must fail");
        assert!(matches!(err, TrainError::NonFiniteLoss { epoch: 3, which: "training", .. }), "{err}");
        assert!(err.to_string().contains("epoch 3"), "{err}");
    }
}

#[test]
fn early_stopping_keeps_the_best_epoch() {
    let data = conjugate(500, 7);
    let device = devices().remove(0);
    let mut epochs_seen = Vec::new();
    let est =
        estimator(Method::CpVae, &settings("max_epochs = 40\npatience = 3\nlearning_rate = 3e-2\n")).unwrap();
    let post = est
        .fit(&data, &device, None, &mut |p| {
            if let Progress::Epoch(e) = p {
                epochs_seen.push(e.epoch)
            }
        })
        .unwrap();
    let r: TrainReport = post.meta().report.clone().unwrap();
    assert_eq!(epochs_seen, (1..=r.epochs).collect::<Vec<_>>(), "one progress event per epoch");
    let vals: Vec<f64> = r.history.iter().map(|e| e.val_loss.unwrap()).collect();
    let (best_i, best) = vals
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.partial_cmp(b.1).unwrap())
        .map(|(i, v)| (i + 1, *v))
        .unwrap();
    assert_eq!((r.best_epoch, r.best_val_loss), (best_i, Some(best)));
    if r.stopped_early {
        assert_eq!(r.epochs, r.best_epoch + 3, "stops `patience` epochs after the best");
    }
    assert_eq!((r.n_train, r.n_val), (450, 50));
}

/// A fake posterior that puts a fixed fraction of its draws outside [0, 1].
struct Leaky {
    meta: ModelMeta,
    outside: f64,
}

impl Posterior for Leaky {
    fn meta(&self) -> &ModelMeta {
        &self.meta
    }
    fn sample_unconstrained(
        &self,
        _x_o: ArrayView1<f64>,
        n: usize,
        _c: &SampleConfig,
        rng: &mut dyn RngCore,
    ) -> Result<Array2<f64>, TrainError> {
        Ok(Array2::from_shape_fn((n, 1), |_| {
            let u: f64 = rng.random();
            if u < self.outside { 2.0 } else { u }
        }))
    }
    fn log_prob(&self, _t: ArrayView2<f64>, _x: ArrayView1<f64>) -> Result<Array1<f64>, TrainError> {
        unimplemented!()
    }
    fn save(&self, _p: &Path) -> Result<(), TrainError> {
        Ok(())
    }
}

fn leaky(outside: f64) -> Leaky {
    let meta = ModelMeta {
        format_version: 1,
        crate_version: "0.1.0".into(),
        method: Method::CpVae,
        d_theta: 1,
        d_x: 1,
        task: None,
        model_config: serde_json::Value::Null,
        train_config: serde_json::Value::Null,
        theta_std: sbi_train::Standardizer::identity(1),
        x_std: sbi_train::Standardizer::identity(1),
        report: None,
    };
    Leaky { meta, outside }
}

#[test]
fn draws_outside_the_prior_are_rejected_and_collapse_is_an_error() {
    let prior = BoxUniform::new(vec![0.0], vec![1.0]).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let cfg = SampleConfig::default();
    let d =
        sample(&leaky(0.3), Some(&prior as &dyn Prior), array![0.0].view(), 20_000, &cfg, &mut rng).unwrap();
    assert_eq!(d.samples.nrows(), 20_000);
    assert!(d.samples.iter().all(|v| (0.0..=1.0).contains(v)));
    // Acceptance 0.7; with ≥ 28,000 proposals its sd is < 0.003.
    assert!((d.acceptance_rate() - 0.7).abs() < 0.015, "{}", d.acceptance_rate());
    let kept = sample(&leaky(0.3), None, array![0.0].view(), 1000, &cfg, &mut rng).unwrap();
    assert!(kept.samples.iter().any(|v| *v == 2.0), "without a prior nothing is rejected");
    let e = sample(&leaky(0.9999), Some(&prior as &dyn Prior), array![0.0].view(), 100, &cfg, &mut rng)
        .unwrap_err();
    assert!(matches!(e, TrainError::SupportCollapse { .. }), "{e}");
    assert!(e.to_string().contains("prior support"), "{e}");
}

#[test]
fn runs_on_a_task_end_to_end() {
    let spec = sbi_train::RunSpec {
        task: "gaussian_linear".into(),
        method: Method::CpVae,
        budget: 400,
        seed: 3,
        observation: 2,
        num_samples: 300,
        device: DeviceChoice::available()[0],
        settings: settings("max_epochs = 2\n"),
        sample: SampleConfig::default(),
    };
    let mut stages = Vec::new();
    let out = sbi_train::run(&spec, &mut |p| {
        if let Progress::Stage(s) = p {
            stages.push(s.clone())
        }
    })
    .unwrap();
    assert_eq!(out.samples.dim(), (300, 10));
    assert_eq!(stages.len(), 3, "{stages:?}");
    assert_eq!(out.report.as_ref().unwrap().epochs, 2);
    assert_eq!(out.config["train"]["max_epochs"], 2);
    let again = sbi_train::run(&spec, &mut |_| {}).unwrap();
    assert_eq!(again.samples, out.samples, "a run is reproducible from its seed");
    let mut bad = spec.clone();
    bad.observation = 11;
    assert!(sbi_train::run(&bad, &mut |_| {}).is_err());
    bad.observation = 1;
    bad.budget = 0;
    assert!(sbi_train::run(&bad, &mut |_| {}).is_err());
}
