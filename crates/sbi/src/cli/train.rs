//! `sbi train`, `sbi sample` and `sbi run`: neural estimators from the command line.

use super::{check_count, load_task};
use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ndarray::Array1;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sbi::io::{check_writable, default_header, read_matrix, write_matrix};
use sbi::nn::DeviceChoice;
use sbi::train::{Method, Progress, SampleConfig, Settings, load_posterior, sample};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Options shared by `train` and `run`: what to train and how.
#[derive(clap::Args)]
pub struct TrainOpts {
    /// Task name (see `sbi tasks`).
    #[arg(long)]
    task: String,
    /// Method: cp-vae, up-vae, npe-mdn, npe-maf, npe-nsf, or the sequential snpe-a, snpe-b, apt.
    #[arg(long)]
    method: String,
    /// Sequential methods: number of rounds (the budget is split evenly; default 10).
    /// Sets `[model] rounds` of the settings.
    #[arg(long, value_name = "R")]
    rounds: Option<usize>,
    /// Simulation budget (training pairs).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    budget: usize,
    /// Seed of the run (simulations, initialisation, training, sampling).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// TOML settings file with optional [model] and [train] tables (see docs/training.md),
    /// or built-in settings by name: cp-vae-fast, up-vae-fast, cp-vae-accurate,
    /// up-vae-accurate (the files of benchmarks/configs/: the fused CPU engine with the
    /// settings that meet the paper; -accurate trains longer, with averaged weights).
    #[arg(long, value_name = "FILE|NAME")]
    config: Option<String>,
    /// Compute device: flex (= cpu), ndarray, wgpu or cuda (when compiled in).
    #[arg(long, default_value = "flex")]
    device: String,
    /// Training engine: burn (default) or fused (CP-VAE and UP-VAE only: the fused
    /// CPU engine, several times faster). Sets `[train] engine` of the settings.
    #[arg(long, value_name = "E")]
    engine: Option<String>,
}

impl TrainOpts {
    fn parse(&self) -> Result<(Method, Settings, DeviceChoice)> {
        let method: Method = self.method.parse()?;
        if !method.is_implemented() {
            let names: Vec<&str> = Method::implemented().iter().map(|m| m.name()).collect();
            bail!("method '{method}' is not implemented yet (available: {})", names.join(", "));
        }
        let mut settings = match &self.config {
            Some(name_or_path) => Settings::load(name_or_path, method)?,
            None => Settings::default(),
        };
        if let Some(r) = self.rounds {
            if !method.is_sequential() {
                bail!("--rounds applies to the sequential methods (snpe-a, snpe-b, apt), not to '{method}'");
            }
            check_count(r, "--rounds")?;
            settings.model.insert("rounds".into(), r.into());
        }
        if let Some(engine) = &self.engine {
            if engine == "fused" && !matches!(method, Method::CpVae | Method::UpVae) {
                bail!("--engine fused implements only cp-vae and up-vae, not '{method}'");
            }
            settings.train.insert("engine".into(), engine.clone().into());
        }
        sbi::train::settings_json(method, &settings)?;
        let device: DeviceChoice = self.device.parse()?;
        device.device()?;
        if let Some(note) = fused_device_note(&settings, device) {
            eprintln!("{note}");
        }
        check_count(self.budget, "--budget")?;
        Ok((method, settings, device))
    }
}

/// The note printed when the fused engine is asked for with a device other than the
/// default CPU backend: it trains on the host whatever `--device` is (docs/training.md,
/// "The fused CPU engine"), so the device only holds the trained model and samples.
fn fused_device_note(settings: &Settings, device: DeviceChoice) -> Option<String> {
    (settings.uses_fused_engine() && device != DeviceChoice::Flex).then(|| {
        format!(
            "note: engine = \"fused\" trains on the CPU whatever the device; --device {device} only \
             holds the trained model and samples from it (engine = \"burn\" trains on the device)"
        )
    })
}

/// A progress reporter: an indicatif bar over epochs on stderr (drawn only on
/// a terminal), plus a line per stage.
pub struct ProgressReporter {
    bar: Option<ProgressBar>,
}

impl ProgressReporter {
    /// A reporter with no bar yet.
    pub fn new() -> Self {
        ProgressReporter { bar: None }
    }

    /// Handles one event.
    pub fn event(&mut self, p: &Progress) {
        match p {
            Progress::Stage(s) => {
                if let Some(b) = self.bar.take() {
                    b.finish_and_clear();
                }
                eprintln!("{s}");
            }
            Progress::Epoch(e) => {
                let bar = self.bar.get_or_insert_with(|| {
                    let pb = ProgressBar::with_draw_target(
                        Some(e.max_epochs as u64),
                        ProgressDrawTarget::stderr(),
                    );
                    pb.set_style(
                        ProgressStyle::with_template("epoch {pos}/{len} [{elapsed_precise}] {msg}")
                            .expect("constant template is valid"),
                    );
                    pb
                });
                bar.set_position(e.epoch as u64);
                let val = e.val_loss.map_or_else(|| "-".to_string(), |v| format!("{v:.4}"));
                let best = e.best_val_loss.map_or_else(|| "-".to_string(), |v| format!("{v:.4}"));
                bar.set_message(format!("train {:.4}  val {val}  best {best}", e.train_loss));
            }
        }
    }

    /// Clears the bar.
    pub fn finish(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}

impl Default for ProgressReporter {
    fn default() -> Self {
        Self::new()
    }
}

/// Arguments of `sbi train`.
#[derive(clap::Args)]
pub struct TrainArgs {
    #[command(flatten)]
    opts: TrainOpts,
    /// Observation used by sequential methods to propose later rounds (ignored by amortised ones).
    #[arg(long, value_name = "K", default_value_t = 1)]
    observation: usize,
    /// Where to write the trained model.
    #[arg(long, value_name = "FILE")]
    model: PathBuf,
}

/// Simulates, trains and saves a model file.
pub fn train(args: TrainArgs) -> Result<()> {
    let (method, settings, device_choice) = args.opts.parse()?;
    let task = load_task(&args.opts.task)?;
    let x_o = task.observation(args.observation)?;
    check_writable(&args.model)?;
    let mut settings = settings;
    settings.model.insert("seed".into(), sbi::train::run::sub_seed(args.opts.seed, 2).into());
    settings.train.insert("seed".into(), sbi::train::run::sub_seed(args.opts.seed, 3).into());
    let est = sbi::train::estimator(method, &settings)?;
    let device = device_choice.device()?;
    let mut reporter = ProgressReporter::new();
    let (posterior, sim) = est.fit_task(
        task.as_ref(),
        args.opts.budget,
        x_o.view(),
        sbi::train::run::sub_seed(args.opts.seed, 1),
        &device,
        &mut |p| reporter.event(p),
    )?;
    reporter.finish();
    posterior.save(&args.model)?;
    let r = posterior.meta().report.clone().context("the estimator returned no training report")?;
    eprintln!(
        "trained {method} on {} ({} simulations in {:.2} s, {} dropped): {} epochs in {:.2} s, best epoch {}, \
         best validation loss {}",
        task.name(),
        sim.simulations,
        sim.seconds,
        sim.dropped,
        r.epochs,
        r.seconds,
        r.best_epoch,
        r.best_val_loss.map_or_else(|| "-".to_string(), |v| format!("{v:.4}"))
    );
    eprintln!("wrote {}", args.model.display());
    Ok(())
}

/// Sampling options shared by `sample` and `run`.
#[derive(clap::Args)]
pub struct SampleOpts {
    /// Number of posterior draws.
    #[arg(long, value_name = "N", default_value_t = 10_000, allow_negative_numbers = true)]
    num_samples: usize,
    /// Keep draws outside the prior support (by default they are rejected and redrawn).
    #[arg(long)]
    no_reject: bool,
    /// UP-VAE: draw z by importance resampling of P prior proposals weighted by p(x_o|z)
    /// instead of z ~ N(0, I) (the paper's way).
    #[arg(long, value_name = "P")]
    latent_importance: Option<usize>,
}

impl SampleOpts {
    fn config(&self) -> SampleConfig {
        SampleConfig {
            reject_outside_prior: !self.no_reject,
            latent_importance: self.latent_importance,
            ..SampleConfig::default()
        }
    }
}

/// Arguments of `sbi sample`.
#[derive(clap::Args)]
pub struct SampleArgs {
    /// A model file written by `sbi train`.
    #[arg(long, value_name = "FILE")]
    model: PathBuf,
    /// Observation number of the model's task, 1..=10.
    #[arg(long, value_name = "K", conflicts_with = "x_o", required_unless_present = "x_o")]
    observation: Option<usize>,
    /// A file holding one observation (one row; CSV with a header, or .npy).
    #[arg(long, value_name = "FILE")]
    x_o: Option<PathBuf>,
    #[command(flatten)]
    sample: SampleOpts,
    /// Seed of the sampler.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Compute device.
    #[arg(long, default_value = "flex")]
    device: String,
    /// Output file: columns parameter_1..parameter_d (`.npy` for NumPy).
    #[arg(long, value_name = "FILE")]
    output: PathBuf,
}

fn read_observation(path: &Path, d_x: usize) -> Result<Array1<f64>> {
    let t =
        read_matrix(path).with_context(|| format!("cannot read the observation from {}", path.display()))?;
    if t.data.nrows() != 1 {
        bail!("{} holds {} rows; an observation file must hold exactly one", path.display(), t.data.nrows());
    }
    if t.data.ncols() != d_x {
        bail!(
            "{} has {} columns, but the model expects data of dimension {d_x}",
            path.display(),
            t.data.ncols()
        );
    }
    Ok(t.data.row(0).to_owned())
}

/// Loads a model and writes posterior draws.
pub fn sample_cmd(args: SampleArgs) -> Result<()> {
    check_count(args.sample.num_samples, "--num-samples")?;
    check_writable(&args.output)?;
    let device: DeviceChoice = args.device.parse()?;
    let posterior = load_posterior(&args.model, &device.device()?)?;
    let meta = posterior.meta();
    let task = match &meta.task {
        Some(name) => Some(load_task(name)?),
        None => None,
    };
    let x_o = match (&args.x_o, args.observation) {
        (Some(path), _) => read_observation(path, meta.d_x)?,
        (None, Some(k)) => {
            let task =
                task.as_ref().context("the model file names no task; pass the observation with --x-o")?;
            task.observation(k)?
        }
        (None, None) => bail!("pass --observation K or --x-o FILE"),
    };
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let start = Instant::now();
    let draws = sample(
        posterior.as_ref(),
        task.as_ref().map(|t| t.prior()),
        x_o.view(),
        args.sample.num_samples,
        &args.sample.config(),
        &mut rng,
    )?;
    eprintln!(
        "{} draws from the {} posterior in {:.2} s; acceptance inside the prior support {:.4}",
        draws.samples.nrows(),
        meta.method,
        start.elapsed().as_secs_f64(),
        draws.acceptance_rate()
    );
    write_matrix(&args.output, &default_header("parameter", meta.d_theta), draws.samples.view())?;
    eprintln!("wrote {}", args.output.display());
    Ok(())
}

/// Arguments of `sbi run`.
#[derive(clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    opts: TrainOpts,
    /// Observation number, 1..=10.
    #[arg(long, value_name = "K", default_value_t = 1)]
    observation: usize,
    #[command(flatten)]
    sample: SampleOpts,
    /// Output file for the draws (`.npy` for NumPy); none by default.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Also save the trained model here.
    #[arg(long, value_name = "FILE")]
    model: Option<PathBuf>,
    /// Skip the comparison with the reference posterior.
    #[arg(long)]
    no_metrics: bool,
}

/// Simulate, train, sample and compare with the reference posterior.
pub fn run_cmd(args: RunArgs) -> Result<()> {
    let (method, settings, device) = args.opts.parse()?;
    check_count(args.sample.num_samples, "--num-samples")?;
    let task = load_task(&args.opts.task)?;
    task.observation(args.observation)?;
    for path in args.output.iter().chain(&args.model) {
        check_writable(path)?;
    }
    let spec = sbi::train::RunSpec {
        task: task.name().to_string(),
        method,
        budget: args.opts.budget,
        seed: args.opts.seed,
        observation: args.observation,
        num_samples: args.sample.num_samples,
        device,
        settings,
        sample: args.sample.config(),
    };
    let mut reporter = ProgressReporter::new();
    let out = sbi::train::run(&spec, &mut |p| reporter.event(p))?;
    reporter.finish();
    if let Some(r) = &out.report {
        eprintln!(
            "training: {} epochs in {:.2} s (best epoch {}, best validation loss {})",
            r.epochs,
            r.seconds,
            r.best_epoch,
            r.best_val_loss.map_or_else(|| "-".to_string(), |v| format!("{v:.4}"))
        );
    }
    eprintln!("acceptance inside the prior support: {:.4}", out.acceptance_rate);
    if let Some(path) = &args.output {
        write_matrix(path, &default_header("parameter", task.theta_dim()), out.samples.view())?;
        eprintln!("wrote {}", path.display());
    }
    if let Some(path) = &args.model {
        out.posterior.save(path)?;
        eprintln!("wrote {}", path.display());
    }
    let mut summary = format!(
        "task={} method={method} budget={} seed={} observation={} device={device} samples={} \
         simulate_s={:.3} train_s={:.3} sample_s={:.3} acceptance={:.4}",
        task.name(),
        spec.budget,
        spec.seed,
        spec.observation,
        out.samples.nrows(),
        out.timings.simulate_s,
        out.timings.train_s,
        out.timings.sample_s,
        out.acceptance_rate,
    );
    if !args.no_metrics {
        eprintln!("sampling the reference posterior ({} draws) ...", args.sample.num_samples);
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let reference = task.reference_posterior(args.observation, args.sample.num_samples, &mut rng)?;
        let r = reference.samples.view();
        let c2st = sbi::metrics::c2st(r, out.samples.view(), &sbi::metrics::C2stConfig::default())?;
        let mmd = sbi::metrics::mmd(r, out.samples.view(), sbi::metrics::MmdKernel::Sbibm)?;
        let mmd_bf = sbi::metrics::mmd(r, out.samples.view(), sbi::metrics::MmdKernel::BayesflowGaussian)?;
        eprintln!("C2ST {c2st:.4}  MMD (sbibm) {mmd:.5}  MMD (BayesFlow) {mmd_bf:.5}");
        summary += &format!(" c2st={c2st:.4} mmd_sbibm={mmd:.6} mmd_bayesflow={mmd_bf:.6}");
    }
    println!("{summary}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fused engine with any device but flex gets a note naming the device; the Burn
    /// engine, or flex, gets none.
    #[test]
    fn the_fused_engine_on_another_device_is_noted() {
        let fused = Settings::builtin("cp-vae-fast", Method::CpVae).unwrap();
        for device in [DeviceChoice::Ndarray, DeviceChoice::Wgpu, DeviceChoice::Cuda] {
            let note = fused_device_note(&fused, device).expect("a note");
            assert!(note.contains(&format!("--device {device} only holds the trained model")), "{note}");
        }
        assert_eq!(fused_device_note(&fused, DeviceChoice::Flex), None);
        for device in DeviceChoice::ALL {
            assert_eq!(fused_device_note(&Settings::default(), device), None, "{device}");
        }
    }
}
