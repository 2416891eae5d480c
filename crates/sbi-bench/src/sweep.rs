//! Sweep descriptions: tasks × methods × budgets × seeds × observations on one
//! device, read from TOML (`benchmarks/sweeps/*.toml`) and expanded into runs.
//!
//! ```toml
//! name = "quick"
//! tasks = ["two_moons", "slcp"]
//! methods = ["cp-vae", "up-vae", "npe-nsf"]   # or ["all"]: every implemented method
//! budgets = [1000, 10000]
//! seeds = [1]
//! observations = [1]
//! num_samples = 10000                           # posterior draws per run (default 10,000)
//! device = "cpu"                                # default; `--device` overrides it
//!
//! [settings.up-vae.train]                       # per-method overrides ([model], [train])
//! max_epochs = 500
//!
//! [sample]                                      # sampling options for every run
//! latent_importance = 100000
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Deserialize;
use serde_json::{Map, Value};
use toml::Spanned;

use sbi_nn::DeviceChoice;
use sbi_train::{Method, SampleConfig, Settings, apply, settings_json};

use crate::BenchError;

/// The built-in sweeps: name and TOML text (the files in `benchmarks/sweeps/`).
pub const BUILTIN: [(&str, &str); 3] = [
    ("quick", include_str!("../../../benchmarks/sweeps/quick.toml")),
    ("paper", include_str!("../../../benchmarks/sweeps/paper.toml")),
    ("sbibm", include_str!("../../../benchmarks/sweeps/sbibm.toml")),
];

/// Default number of posterior draws per run.
pub const DEFAULT_NUM_SAMPLES: usize = 10_000;

/// A validated sweep.
#[derive(Clone, Debug)]
pub struct Sweep {
    /// The sweep's name (recorded with each run).
    pub name: String,
    /// sbibm task names.
    pub tasks: Vec<String>,
    /// Methods (implemented in this build).
    pub methods: Vec<Method>,
    /// Simulation budgets, each ≥ 1.
    pub budgets: Vec<usize>,
    /// Run seeds.
    pub seeds: Vec<u64>,
    /// Observation numbers, 1..=10.
    pub observations: Vec<usize>,
    /// Posterior draws per run (and reference draws), default 10,000.
    pub num_samples: usize,
    /// Compute device.
    pub device: DeviceChoice,
    /// Per-method settings (missing methods use the defaults).
    pub settings: BTreeMap<Method, Settings>,
    /// Sampling options for every run.
    pub sample: SampleConfig,
}

/// One run of a sweep: what identifies it in the results store.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct RunKey {
    /// Task name.
    pub task: String,
    /// Method.
    pub method: Method,
    /// Simulation budget.
    pub budget: usize,
    /// Run seed.
    pub seed: u64,
    /// Observation number.
    pub observation: usize,
    /// Device name (`flex`, `ndarray`, `wgpu`, `cuda`).
    pub device: String,
    /// Fingerprint of everything else that changes the result: the method's
    /// effective configuration, the sampling options and the number of draws.
    pub config_hash: String,
}

impl RunKey {
    /// A file-name-safe identifier, e.g. `two_moons-cp-vae-n10000-s1-o1-flex-3fa2b1c0`.
    pub fn id(&self) -> String {
        let (t, m, n, s, o, d, h) = (
            &self.task,
            self.method,
            self.budget,
            self.seed,
            self.observation,
            &self.device,
            self.short_hash(),
        );
        format!("{t}-{m}-n{n}-s{s}-o{o}-{d}-{h}")
    }

    /// [`RunKey::id`] without the observation: names the model that the runs
    /// of a method that is not sequential share across observations.
    pub fn model_id(&self) -> String {
        let (t, m, n, s, d, h) =
            (&self.task, self.method, self.budget, self.seed, &self.device, self.short_hash());
        format!("{t}-{m}-n{n}-s{s}-{d}-{h}")
    }

    /// The first 8 characters of the configuration fingerprint.
    fn short_hash(&self) -> &str {
        &self.config_hash[..8.min(self.config_hash.len())]
    }

    /// Whether `other` is trained the same way: the same key but for the
    /// observation, for a method whose training ignores the observation.
    pub fn shares_model_with(&self, other: &RunKey) -> bool {
        !self.method.is_sequential() && RunKey { observation: other.observation, ..self.clone() } == *other
    }
}

/// A planned run: its key and what is needed to execute it.
#[derive(Clone, Debug)]
pub struct PlannedRun {
    /// Identity in the store.
    pub key: RunKey,
    /// Settings of the method.
    pub settings: Settings,
    /// The effective configuration (`{"model", "train", "sample", "num_samples"}`).
    pub config: Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSweep {
    name: Option<String>,
    #[allow(dead_code)]
    description: Option<String>,
    tasks: Vec<Spanned<String>>,
    methods: Vec<Spanned<String>>,
    budgets: Vec<Spanned<i64>>,
    seeds: Vec<Spanned<i64>>,
    observations: Vec<Spanned<i64>>,
    num_samples: Option<Spanned<i64>>,
    device: Option<Spanned<String>>,
    #[serde(default)]
    settings: BTreeMap<String, Spanned<toml::Table>>,
    #[serde(default)]
    sample: Option<Spanned<toml::Table>>,
}

/// Overrides from the command line; `None` keeps the sweep's value.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// Replace the tasks.
    pub tasks: Option<Vec<String>>,
    /// Replace the methods (`all` allowed).
    pub methods: Option<Vec<String>>,
    /// Replace the budgets.
    pub budgets: Option<Vec<usize>>,
    /// Replace the seeds.
    pub seeds: Option<Vec<u64>>,
    /// Replace the observations.
    pub observations: Option<Vec<usize>>,
    /// Replace the number of draws.
    pub num_samples: Option<usize>,
    /// Replace the device.
    pub device: Option<String>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].bytes().filter(|&b| b == b'\n').count() + 1
}

impl Sweep {
    /// A built-in sweep (`quick`, `paper`, `sbibm`).
    pub fn builtin(name: &str) -> Result<Sweep, BenchError> {
        let (_, text) = BUILTIN.iter().find(|(n, _)| *n == name).ok_or_else(|| BenchError::Sweep {
            source_name: name.to_string(),
            line: None,
            reason: format!(
                "no built-in sweep of this name (built-in: {})",
                BUILTIN.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
            ),
        })?;
        Sweep::from_toml_str(text, name)
    }

    /// A built-in sweep by name, or else a TOML file at that path.
    pub fn load(name_or_path: &str) -> Result<Sweep, BenchError> {
        if BUILTIN.iter().any(|(n, _)| *n == name_or_path) {
            return Sweep::builtin(name_or_path);
        }
        let text = std::fs::read_to_string(name_or_path).map_err(|e| BenchError::Sweep {
            source_name: name_or_path.to_string(),
            line: None,
            reason: format!(
                "not a built-in sweep ({}) and not a readable file: {e}",
                BUILTIN.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
            ),
        })?;
        Sweep::from_toml_str(&text, name_or_path)
    }

    /// Parses and validates a sweep; errors name `source_name` and the line.
    pub fn from_toml_str(text: &str, source_name: &str) -> Result<Sweep, BenchError> {
        let err = |line: Option<usize>, reason: String| BenchError::Sweep {
            source_name: source_name.to_string(),
            line,
            reason,
        };
        let raw: RawSweep = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start));
            err(line, e.message().trim().to_string())
        })?;
        let at = |s: std::ops::Range<usize>| Some(line_of(text, s.start));

        let mut tasks = Vec::new();
        for t in &raw.tasks {
            let name = t.get_ref();
            if sbi_sim::task_by_name(name).is_err() {
                return Err(err(
                    at(t.span()),
                    format!("unknown task '{name}' (known: {})", sbi_sim::TASK_NAMES.join(", ")),
                ));
            }
            tasks.push(name.clone());
        }
        let methods = parse_methods(raw.methods.iter().map(|m| (m.get_ref().as_str(), at(m.span()))))
            .map_err(|(line, reason)| err(line, reason))?;
        let positive = |v: &Spanned<i64>, what: &str| -> Result<usize, BenchError> {
            usize::try_from(*v.get_ref())
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| err(at(v.span()), format!("{what} must be at least 1, got {}", v.get_ref())))
        };
        let budgets = raw.budgets.iter().map(|b| positive(b, "a budget")).collect::<Result<Vec<_>, _>>()?;
        let seeds = raw
            .seeds
            .iter()
            .map(|s| {
                u64::try_from(*s.get_ref())
                    .map_err(|_| err(at(s.span()), format!("a seed must be ≥ 0, got {}", s.get_ref())))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut observations = Vec::new();
        for o in &raw.observations {
            let k = positive(o, "an observation number")?;
            if k > 10 {
                return Err(err(at(o.span()), format!("observation {k} out of range 1..=10")));
            }
            observations.push(k);
        }
        let num_samples = match &raw.num_samples {
            Some(n) => positive(n, "num_samples")?,
            None => DEFAULT_NUM_SAMPLES,
        };
        let device = match &raw.device {
            Some(d) => d.get_ref().parse::<DeviceChoice>().map_err(|e| err(at(d.span()), e.to_string()))?,
            None => DeviceChoice::Flex,
        };
        let mut settings = BTreeMap::new();
        for (name, table) in &raw.settings {
            let method: Method =
                name.parse().map_err(|e: sbi_train::TrainError| err(at(table.span()), e.to_string()))?;
            let text = toml::to_string(table.get_ref()).expect("a TOML table serialises");
            let s = Settings::from_toml_str(&text)
                .map_err(|e| err(at(table.span()), format!("[settings.{name}]: {e}")))?;
            settings_json(method, &s)
                .map_err(|e| err(at(table.span()), format!("[settings.{name}]: {e}")))?;
            settings.insert(method, s);
        }
        let sample = match &raw.sample {
            Some(table) => {
                let json = serde_json::to_value(table.get_ref()).expect("TOML converts to JSON");
                let map = json.as_object().cloned().unwrap_or_default();
                apply(&SampleConfig::default(), &map, "sample")
                    .map_err(|e| err(at(table.span()), e.to_string()))?
            }
            None => SampleConfig::default(),
        };
        let sweep = Sweep {
            name: raw.name.unwrap_or_else(|| source_name.to_string()),
            tasks,
            methods,
            budgets,
            seeds,
            observations,
            num_samples,
            device,
            settings,
            sample,
        };
        sweep.check_nonempty(source_name)?;
        Ok(sweep)
    }

    fn check_nonempty(&self, source_name: &str) -> Result<(), BenchError> {
        for (what, empty) in [
            ("tasks", self.tasks.is_empty()),
            ("methods", self.methods.is_empty()),
            ("budgets", self.budgets.is_empty()),
            ("seeds", self.seeds.is_empty()),
            ("observations", self.observations.is_empty()),
        ] {
            if empty {
                return Err(BenchError::Sweep {
                    source_name: source_name.to_string(),
                    line: None,
                    reason: format!("'{what}' is empty: the sweep has no runs"),
                });
            }
        }
        Ok(())
    }

    /// Applies command-line overrides (validated like the file's values).
    pub fn with_overrides(mut self, o: &Overrides) -> Result<Sweep, BenchError> {
        let err =
            |reason: String| BenchError::Sweep { source_name: "command line".into(), line: None, reason };
        if let Some(tasks) = &o.tasks {
            for t in tasks {
                sbi_sim::task_by_name(t).map_err(|e| err(e.to_string()))?;
            }
            self.tasks = tasks.clone();
        }
        if let Some(methods) = &o.methods {
            self.methods =
                parse_methods(methods.iter().map(|m| (m.as_str(), None))).map_err(|(_, r)| err(r))?;
        }
        if let Some(budgets) = &o.budgets {
            if budgets.contains(&0) {
                return Err(err("a budget must be at least 1, got 0".into()));
            }
            self.budgets = budgets.clone();
        }
        if let Some(seeds) = &o.seeds {
            self.seeds = seeds.clone();
        }
        if let Some(obs) = &o.observations {
            if let Some(k) = obs.iter().find(|&&k| k == 0 || k > 10) {
                return Err(err(format!("observation {k} out of range 1..=10")));
            }
            self.observations = obs.clone();
        }
        if let Some(n) = o.num_samples {
            if n == 0 {
                return Err(err("num_samples must be at least 1".into()));
            }
            self.num_samples = n;
        }
        if let Some(d) = &o.device {
            self.device = d.parse().map_err(|e: sbi_nn::NnError| err(e.to_string()))?;
        }
        self.check_nonempty("command line")?;
        Ok(self)
    }

    /// Every run of the sweep, in the order they will run: budgets, then
    /// tasks, methods, observations and seeds (so that an interrupted sweep
    /// has complete small-budget tables first).
    ///
    /// Errors when a method's settings use `engine = "fused"` on a device other than
    /// cpu/flex: that engine trains on the CPU whatever the device, so the stored
    /// training times would be CPU times under the device's name.
    pub fn plan(&self) -> Result<Vec<PlannedRun>, BenchError> {
        if self.device != DeviceChoice::Flex {
            for method in &self.methods {
                if self.settings.get(method).is_some_and(Settings::uses_fused_engine) {
                    return Err(BenchError::Sweep {
                        source_name: self.name.clone(),
                        line: None,
                        reason: format!(
                            "the {method} settings use engine = \"fused\", which trains on the CPU whatever \
                             the device: on device {} its training times would be CPU times; run it with \
                             device cpu, or use settings without engine = \"fused\"",
                            self.device
                        ),
                    });
                }
            }
        }
        let mut runs = Vec::new();
        for &budget in &self.budgets {
            for task in &self.tasks {
                for &method in &self.methods {
                    let settings = self.settings.get(&method).cloned().unwrap_or_default();
                    let mut config = match settings_json(method, &settings)? {
                        Value::Object(m) => m,
                        _ => Map::new(),
                    };
                    config.insert("sample".into(), serde_json::to_value(&self.sample).expect("serialises"));
                    config.insert("num_samples".into(), self.num_samples.into());
                    let config = Value::Object(config);
                    let config_hash = fingerprint(&config);
                    for &observation in &self.observations {
                        for &seed in &self.seeds {
                            runs.push(PlannedRun {
                                key: RunKey {
                                    task: task.clone(),
                                    method,
                                    budget,
                                    seed,
                                    observation,
                                    device: self.device.name().to_string(),
                                    config_hash: config_hash.clone(),
                                },
                                settings: settings.clone(),
                                config: config.clone(),
                            });
                        }
                    }
                }
            }
        }
        Ok(runs)
    }
}

/// Parses method names (`all` = every implemented method); errors carry the line.
fn parse_methods<'a>(
    names: impl Iterator<Item = (&'a str, Option<usize>)>,
) -> Result<Vec<Method>, (Option<usize>, String)> {
    let mut out: Vec<Method> = Vec::new();
    for (name, line) in names {
        let add: Vec<Method> = if name == "all" {
            Method::implemented()
        } else {
            let m: Method = name.parse().map_err(|e: sbi_train::TrainError| (line, e.to_string()))?;
            if !m.is_implemented() {
                return Err((line, format!("method '{m}' is not implemented in this build")));
            }
            vec![m]
        };
        for m in add {
            if !out.contains(&m) {
                out.push(m);
            }
        }
    }
    Ok(out)
}

/// FNV-1a (64-bit) of the canonical JSON text (object keys sorted), as 16 hex
/// digits: stable across platforms, versions and key orders.
pub fn fingerprint(value: &Value) -> String {
    let mut text = String::new();
    canonical(value, &mut text);
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let mut s = String::with_capacity(16);
    write!(s, "{h:016x}").expect("writing to a String");
    s
}

fn canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(v, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::path::Path;

    const OK: &str = r#"
name = "t"
tasks = ["two_moons", "slcp"]
methods = ["cp-vae", "npe-maf"]
budgets = [100, 200]
seeds = [1, 2]
observations = [1]
num_samples = 500
"#;

    #[test]
    fn builtins_parse_and_plan() {
        for (name, _) in BUILTIN {
            let s = Sweep::builtin(name).unwrap();
            assert_eq!(s.name, name);
            let runs = s.plan().unwrap();
            assert_eq!(
                runs.len(),
                s.tasks.len() * s.methods.len() * s.budgets.len() * s.seeds.len() * s.observations.len()
            );
        }
        let paper = Sweep::builtin("paper").unwrap();
        assert_eq!(paper.tasks, ["two_moons", "bernoulli_glm", "sir"]);
        assert_eq!(paper.budgets, [10_000, 20_000, 30_000]);
        assert_eq!(paper.seeds, [1, 2, 3, 4, 5]);
        assert_eq!(paper.methods, Method::implemented());
        let sbibm = Sweep::builtin("sbibm").unwrap();
        assert_eq!(sbibm.tasks.len(), 10);
        assert_eq!(sbibm.observations, (1..=10).collect::<Vec<_>>());
    }

    #[test]
    fn the_committed_paper_store_stays_resumable() {
        // Every CP-VAE/UP-VAE run of the committed paper store must still be planned
        // by the built-in sweep with the same key, so that rerunning the sweep into
        // that store resumes instead of redoing it (options added since, such as
        // UP-VAE's `x_weight`, must not change the defaults' fingerprint).
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../benchmarks/results/paper-vae/runs.jsonl");
        let text = std::fs::read_to_string(&path).unwrap();
        let stored: BTreeSet<RunKey> = text
            .lines()
            .map(|l| {
                serde_json::from_value(serde_json::from_str::<Value>(l).unwrap()["key"].clone()).unwrap()
            })
            .collect();
        assert_eq!(stored.len(), 90);
        let o = Overrides { methods: Some(vec!["cp-vae".into(), "up-vae".into()]), ..Default::default() };
        let planned: BTreeSet<RunKey> = Sweep::builtin("paper")
            .unwrap()
            .with_overrides(&o)
            .unwrap()
            .plan()
            .unwrap()
            .into_iter()
            .map(|r| r.key)
            .collect();
        assert_eq!(planned, stored);
    }

    #[test]
    fn plan_is_the_full_product_with_unique_keys() {
        let s = Sweep::from_toml_str(OK, "t.toml").unwrap();
        let runs = s.plan().unwrap();
        assert_eq!(runs.len(), 2 * 2 * 2 * 2);
        let keys: std::collections::BTreeSet<_> = runs.iter().map(|r| r.key.clone()).collect();
        assert_eq!(keys.len(), runs.len());
        assert_eq!(runs[0].key.budget, 100);
        assert_eq!(runs.last().unwrap().key.budget, 200);
        assert_eq!(runs[0].config["num_samples"], 500);
    }

    /// The fused engine trains on the CPU, so a sweep that asks for it refuses another
    /// device (naming the method), unless that method is not run.
    #[test]
    fn fused_settings_refuse_a_device_other_than_the_cpu() {
        let quick = Sweep::builtin("quick").unwrap();
        assert_eq!(quick.plan().unwrap().len(), 12);
        for device in [DeviceChoice::Ndarray, DeviceChoice::Wgpu, DeviceChoice::Cuda] {
            let mut s = quick.clone();
            s.device = device;
            let err = s.plan().unwrap_err().to_string();
            assert!(err.contains("the cp-vae settings use engine = \"fused\""), "{err}");
            assert!(err.contains(&format!("on device {device}")), "{err}");
            s.methods = vec![Method::NpeNsf];
            assert_eq!(s.plan().unwrap().len(), 4, "npe-nsf alone runs on {device}");
        }
    }

    #[test]
    fn settings_change_the_fingerprint() {
        let base = Sweep::from_toml_str(OK, "t.toml").unwrap().plan().unwrap();
        let text = format!("{OK}\n[settings.cp-vae.train]\nmax_epochs = 7\n");
        let changed = Sweep::from_toml_str(&text, "t.toml").unwrap().plan().unwrap();
        assert_ne!(base[0].key.config_hash, changed[0].key.config_hash);
        assert_eq!(changed[0].config["train"]["max_epochs"], 7);
        // npe-maf's runs are untouched.
        let maf =
            |runs: &[PlannedRun]| runs.iter().find(|r| r.key.method == Method::NpeMaf).unwrap().key.clone();
        assert_eq!(maf(&base), maf(&changed));
    }

    fn error_of(text: &str) -> String {
        Sweep::from_toml_str(text, "bad.toml").unwrap_err().to_string()
    }

    #[test]
    fn bad_sweeps_name_the_line() {
        let e = error_of(&OK.replace("\"slcp\"", "\n  \"slpc\""));
        assert!(e.contains("line 4") && e.contains("unknown task 'slpc'"), "{e}");
        let e = error_of(&OK.replace("\"npe-maf\"", "\"npe-foo\""));
        assert!(e.contains("line 4") && e.contains("npe-foo"), "{e}");
        let e = error_of(&OK.replace("[100, 200]", "[100, 0]"));
        assert!(e.contains("line 5") && e.contains("budget must be at least 1, got 0"), "{e}");
        let e = error_of(&OK.replace("[1]", "[11]"));
        assert!(e.contains("line 7") && e.contains("observation 11"), "{e}");
        let e = error_of(&format!("{OK}budget = 3\n"));
        assert!(e.contains("line 9") && e.contains("budget"), "{e}");
        let e = error_of(&format!("{OK}[settings.cp-vae.train]\nmax_epoch = 7\n"));
        assert!(e.contains("max_epoch"), "{e}");
        let e = error_of(&OK.replace("[1, 2]", "[]"));
        assert!(e.contains("'seeds' is empty"), "{e}");
        let e = error_of(&format!("{OK}device = \"tpu\"\n"));
        assert!(e.contains("line 9") && e.contains("tpu"), "{e}");
    }

    #[test]
    fn overrides_are_validated() {
        let s = Sweep::from_toml_str(OK, "t.toml").unwrap();
        let o = Overrides { budgets: Some(vec![0]), ..Default::default() };
        assert!(s.clone().with_overrides(&o).unwrap_err().to_string().contains("got 0"));
        let o = Overrides { tasks: Some(vec!["nope".into()]), ..Default::default() };
        assert!(s.clone().with_overrides(&o).is_err());
        let o = Overrides { methods: Some(vec!["all".into()]), seeds: Some(vec![9]), ..Default::default() };
        let s = s.with_overrides(&o).unwrap();
        assert_eq!(s.methods, Method::implemented());
        assert_eq!(s.seeds, [9]);
    }

    #[test]
    fn fingerprint_is_stable() {
        // FNV-1a of "{}" computed by hand from the published constants.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in *b"{}" {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
        assert_eq!(fingerprint(&serde_json::json!({})), format!("{h:016x}"));
        assert_eq!(
            fingerprint(&serde_json::json!({"a": 1, "b": 2})),
            fingerprint(&serde_json::json!({"b": 2, "a": 1}))
        );
    }
}
