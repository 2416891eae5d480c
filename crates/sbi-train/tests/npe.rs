//! Tests of the one-round NPE estimators (npe-mdn, npe-maf, npe-nsf) on the
//! 1-D conjugate Gaussian model, where the posterior is known exactly.

use ndarray::{Array1, Array2, ArrayView1, array};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
mod common;
use common::device;
use sbi_train::prelude::*;
use sbi_train::{NpePosterior, VaePosterior, model_file};

const NPE: [Method; 3] = [Method::NpeMdn, Method::NpeMaf, Method::NpeNsf];

/// θ0 ~ N(0, 1), x | θ0 ~ N(θ0, 1), θ = 3 + 10 θ0: the posterior at x_o is
/// θ | x_o ~ N(3 + 5 x_o, 50). The scale makes a missing or wrong
/// standardisation Jacobian in `log_prob` visible (a factor 10 in the mass).
fn conjugate(n: usize, seed: u64) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let theta0: Vec<f64> = (0..n).map(|_| rng.sample(StandardNormal)).collect();
    let x: Vec<f64> = theta0.iter().map(|t| t + rng.sample::<f64, _>(StandardNormal)).collect();
    let theta = theta0.iter().map(|t| 3.0 + 10.0 * t).collect();
    Dataset::new(Array2::from_shape_vec((n, 1), theta).unwrap(), Array2::from_shape_vec((n, 1), x).unwrap())
        .unwrap()
}

/// Small, fast networks and training settings per method (the defaults are sbi's, larger).
fn settings(method: Method, train: &str) -> Settings {
    let model = match method {
        Method::NpeMdn => "num_components = 3\nhidden = [32, 32]\n",
        Method::NpeMaf => "num_transforms = 3\nhidden = 32\n",
        _ => "num_transforms = 2\nhidden = 32\n",
    };
    Settings::from_toml_str(&format!("[model]\n{model}[train]\nbatch_size = 128\npatience = 10\n{train}"))
        .unwrap()
}

fn moments(a: ArrayView1<f64>) -> (f64, f64) {
    let n = a.len() as f64;
    let m = a.sum() / n;
    (m, (a.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt())
}

fn normal_pdf(v: f64, mean: f64, sd: f64) -> f64 {
    (-0.5 * ((v - mean) / sd).powi(2)).exp() / (sd * (2.0 * std::f64::consts::PI).sqrt())
}

fn recovers_the_conjugate_posterior(method: Method) {
    let data = conjugate(10_000, 1);
    let device = device();
    let est = estimator(method, &settings(method, "max_epochs = 200\nlearning_rate = 1e-3\n")).unwrap();
    let post = est.fit(&data, &device, Some("conjugate"), &mut |_| {}).unwrap();
    let report = post.meta().report.clone().unwrap();
    let x_o = array![1.0];
    let (mean, sd) = (8.0, 50f64.sqrt());

    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let draws = sample(post.as_ref(), None, x_o.view(), 4000, &SampleConfig::default(), &mut rng).unwrap();
    let (m, s) = moments(draws.samples.column(0));

    // Density on a grid over mean ± 5.4 sd, in the task's units.
    let (lo, hi, cells) = (-30.0, 46.0, 760);
    let h = (hi - lo) / cells as f64;
    let grid = Array1::from_shape_fn(cells, |i| lo + (i as f64 + 0.5) * h);
    let lp = post.log_prob(grid.view().insert_axis(ndarray::Axis(1)), x_o.view()).unwrap();
    let mass: f64 = lp.iter().map(|l| l.exp()).sum::<f64>() * h;
    let l1: f64 =
        lp.iter().zip(&grid).map(|(l, v)| (l.exp() - normal_pdf(*v, mean, sd)).abs()).sum::<f64>() * h;
    let at_mode = lp[grid.iter().position(|v| *v > mean).unwrap()];
    let exact_at_mode = normal_pdf(mean, mean, sd).ln();
    eprintln!(
        "{method}: {} epochs; mean {m:.3} ({mean}), sd {s:.3} ({sd:.3}); mass {mass:.4}, L1 {l1:.4}, \
         log density at the mode {at_mode:.3} ({exact_at_mode:.3})",
        report.epochs
    );
    // 4000 draws: the sampling error of the mean is 0.11 (sd/√n), of the sd ~1.1 %; the tolerances
    // (0.1 sd on the mean, 8 % on the sd) leave room for the approximation error of a small network.
    assert!((m - mean).abs() < 0.1 * sd, "{method}: mean {m}");
    assert!((s / sd - 1.0).abs() < 0.08, "{method}: sd {s}");
    // The density is normalised in θ's units (a wrong Jacobian would give a mass of 10 or 0.1) and
    // close to the exact one: L1 distance (twice the total variation) below 0.1, log density at the
    // mode within 0.1.
    assert!((mass - 1.0).abs() < 0.01, "{method}: mass {mass}");
    assert!(l1 < 0.1, "{method}: L1 distance {l1}");
    assert!((at_mode - exact_at_mode).abs() < 0.1, "{method}: log density at the mode {at_mode}");
}

#[test]
fn npe_mdn_recovers_the_conjugate_posterior() {
    recovers_the_conjugate_posterior(Method::NpeMdn);
}

#[test]
fn npe_maf_recovers_the_conjugate_posterior() {
    recovers_the_conjugate_posterior(Method::NpeMaf);
}

#[test]
fn npe_nsf_recovers_the_conjugate_posterior() {
    recovers_the_conjugate_posterior(Method::NpeNsf);
}

#[test]
fn training_is_deterministic_and_save_load_round_trips() {
    let data = conjugate(600, 3);
    let dir = tempfile::tempdir().unwrap();
    let device = device();
    let theta = array![[-5.0], [3.0], [8.0], [20.0]];
    let x_o = array![0.3];
    for method in NPE {
        let s = settings(method, "max_epochs = 3\nlearning_rate = 3e-3\n");
        let a = estimator(method, &s).unwrap().fit(&data, &device, Some("custom"), &mut |_| {}).unwrap();
        let b = estimator(method, &s).unwrap().fit(&data, &device, Some("custom"), &mut |_| {}).unwrap();
        assert_eq!(a.method(), method);
        let draw = |p: &dyn Posterior| {
            let mut rng = ChaCha8Rng::seed_from_u64(9);
            p.sample_unconstrained(x_o.view(), 50, &SampleConfig::default(), &mut rng).unwrap()
        };
        assert_eq!(draw(a.as_ref()), draw(b.as_ref()), "{method}: same seed, same draws");
        let lp = a.log_prob(theta.view(), x_o.view()).unwrap();
        assert_eq!(lp, b.log_prob(theta.view(), x_o.view()).unwrap(), "{method}: same seed, same density");
        assert!(lp.iter().all(|v| v.is_finite()), "{method}: {lp}");

        let other = settings(method, "max_epochs = 3\nlearning_rate = 3e-3\nseed = 1\n");
        let c = estimator(method, &other).unwrap().fit(&data, &device, None, &mut |_| {}).unwrap();
        assert_ne!(draw(a.as_ref()), draw(c.as_ref()), "{method}: another training seed, other draws");

        let path = dir.path().join(format!("{method}.sbi"));
        a.save(&path).unwrap();
        let loaded = load_posterior(&path, &device).unwrap();
        assert_eq!(loaded.meta(), a.meta());
        assert_eq!(loaded.method(), method);
        assert_eq!(draw(loaded.as_ref()), draw(a.as_ref()), "{method}: loaded model samples the same");
        assert_eq!(loaded.log_prob(theta.view(), x_o.view()).unwrap(), lp, "{method}: same log_prob");
    }
}

#[test]
fn model_files_of_other_methods_and_mismatched_weights_are_clear_errors() {
    let data = conjugate(300, 4);
    let dir = tempfile::tempdir().unwrap();
    let device = device();
    let post = estimator(Method::NpeMaf, &settings(Method::NpeMaf, "max_epochs = 1\n"))
        .unwrap()
        .fit(&data, &device, None, &mut |_| {})
        .unwrap();
    let path = dir.path().join("maf.sbi");
    post.save(&path).unwrap();
    let (meta, record) = model_file::read(&path).unwrap();

    // Where a CP-VAE is expected.
    let e = model_file::expect(&meta, &path, Method::CpVae, None).unwrap_err().to_string();
    assert!(e.contains("npe-maf") && e.contains("cp-vae") && e.contains("maf.sbi"), "{e}");
    let e = VaePosterior::from_parts(meta.clone(), record.clone(), &device, &path).unwrap_err().to_string();
    assert!(e.contains("npe-maf") && e.contains("not a VAE"), "{e}");

    // A VAE file where an NPE model is expected.
    let vae = estimator(Method::CpVae, &Settings::from_toml_str("[train]\nmax_epochs = 1\n").unwrap())
        .unwrap()
        .fit(&data, &device, None, &mut |_| {})
        .unwrap();
    let vae_path = dir.path().join("vae.sbi");
    vae.save(&vae_path).unwrap();
    let (vmeta, vrecord) = model_file::read(&vae_path).unwrap();
    let e = NpePosterior::from_parts(vmeta, vrecord, &device, &vae_path).unwrap_err().to_string();
    assert!(e.contains("cp-vae") && e.contains("not an NPE model") && e.contains("vae.sbi"), "{e}");

    // A MAF record under an NSF header, and under an MDN header.
    for (method, config) in [
        (Method::NpeNsf, serde_json::to_value(sbi_nn::NsfConfig::new(1, 1)).unwrap()),
        (Method::NpeMdn, serde_json::to_value(sbi_nn::MdnConfig::new(1, 1)).unwrap()),
    ] {
        let mut m = meta.clone();
        (m.method, m.model_config) = (method, config);
        let p = dir.path().join("mismatch.sbi");
        model_file::write(&p, &m, &record).unwrap();
        let e = load_posterior(&p, &device).err().expect("loading must fail").to_string();
        assert!(e.contains("weights do not match") && e.contains("mismatch.sbi"), "{method}: {e}");
    }

    // A config that does not parse, and one whose dimensions disagree with the metadata.
    let mut m = meta.clone();
    m.model_config = serde_json::json!({"hidden": "wide"});
    let p = dir.path().join("badconfig.sbi");
    model_file::write(&p, &m, &record).unwrap();
    let e = load_posterior(&p, &device).err().unwrap().to_string();
    assert!(e.contains("bad model config") && e.contains("badconfig.sbi"), "{e}");
    let mut m = meta.clone();
    m.model_config["d_context"] = serde_json::json!(2);
    model_file::write(&p, &m, &record).unwrap();
    let e = load_posterior(&p, &device).err().unwrap().to_string();
    assert!(e.contains("dimensions"), "{e}");
}

#[test]
fn bad_inputs_and_settings_are_errors() {
    let data = conjugate(200, 5);
    let device = device();
    let post = estimator(Method::NpeNsf, &settings(Method::NpeNsf, "max_epochs = 1\n"))
        .unwrap()
        .fit(&data, &device, None, &mut |_| {})
        .unwrap();
    let x_o = array![1.0];
    let e = post.log_prob(array![[1.0, 2.0]].view(), x_o.view()).unwrap_err().to_string();
    assert!(e.contains("2 columns"), "{e}");
    let e = post.log_prob(array![[0.0], [f64::NAN]].view(), x_o.view()).unwrap_err().to_string();
    assert!(e.contains("row 2"), "{e}");
    let e = post.log_prob(array![[0.0]].view(), array![1.0, 2.0].view()).unwrap_err().to_string();
    assert!(e.contains("dimension 1"), "{e}");
    assert_eq!(post.log_prob(Array2::zeros((0, 1)).view(), x_o.view()).unwrap().len(), 0);
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let cfg = SampleConfig::default();
    let e = sample(post.as_ref(), None, array![f64::NAN].view(), 10, &cfg, &mut rng).unwrap_err().to_string();
    assert!(e.contains("NaN"), "{e}");

    for (toml, want) in [
        ("[model]\nd_context = 3\n", "d_context"),
        ("[model]\nhiden = 3\n", "hiden"),
        ("[model]\nlatent_dim = 3\n", "latent_dim"),
    ] {
        let e = estimator(Method::NpeMaf, &Settings::from_toml_str(toml).unwrap()).err().unwrap().to_string();
        assert!(e.contains(want), "{e}");
    }
    let s = Settings::from_toml_str("[model]\nnum_bins = 4\n").unwrap();
    let json = sbi_train::settings_json(Method::NpeNsf, &s).unwrap();
    assert_eq!(json["model"]["num_bins"], 4);
    assert_eq!(json["model"]["num_transforms"], 5, "sbi's default kept");
    assert!(sbi_train::NpeEstimator::new(Method::CpVae, TrainConfig::new()).is_err());
}
