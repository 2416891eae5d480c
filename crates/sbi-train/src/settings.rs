//! Method settings from TOML files (`sbi train --config F.toml`).
//!
//! A settings file has up to two tables, each optional and partial:
//!
//! ```toml
//! [model]            # the method's network config (e.g. CpVaeConfig), minus d_theta/d_x
//! latent_dim = 4
//! net = { hidden = [128, 128] }
//!
//! [train]            # TrainConfig
//! learning_rate = 5e-4
//! kl_schedule = { kind = "linear", epochs = 20.0 }
//! ```
//!
//! Keys not given keep their defaults; an unknown key is an error naming it
//! and listing the valid ones.
//!
//! The settings files of `benchmarks/configs/` are also built in ([`BUILTIN`]), so
//! `--config cp-vae-fast` works without the repository at hand ([`Settings::load`]).

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::{Method, TrainError};

/// Built-in settings: name, the method they are for, and the TOML text (the files of
/// `benchmarks/configs/`, compiled in).
///
/// - `cp-vae-fast`: CP-VAE on the fused CPU engine, hidden `[32, 32]`, learning rate
///   4e-3, patience 30; the settings of the sweep `paper-cp-vae-small-raw-p30`
///   (docs/training.md, "The fast settings").
/// - `up-vae-fast`: UP-VAE on the fused CPU engine, hidden `[32, 32]`, learning rate
///   4e-3, `x_weight = 0`; the settings of the sweep `paper-up-vae-small-raw`.
/// - `cp-vae-accurate`: as `cp-vae-fast` but with averaged weights (`ema_decay = 0.99`)
///   and the default patience; the settings of the sweep `paper-cp-vae-small`. More
///   epochs, more accurate.
/// - `up-vae-accurate`: `up-vae-fast` with averaged weights (`ema_decay = 0.99`); the
///   settings of the sweep `paper-up-vae-small`.
pub const BUILTIN: [(&str, Method, &str); 4] = [
    ("cp-vae-fast", Method::CpVae, include_str!("../../../benchmarks/configs/cp-vae-fast.toml")),
    ("up-vae-fast", Method::UpVae, include_str!("../../../benchmarks/configs/up-vae-fast.toml")),
    ("cp-vae-accurate", Method::CpVae, include_str!("../../../benchmarks/configs/cp-vae-accurate.toml")),
    ("up-vae-accurate", Method::UpVae, include_str!("../../../benchmarks/configs/up-vae-accurate.toml")),
];

/// `name (method), …` of the built-in settings, for error messages.
fn builtin_list() -> String {
    BUILTIN.iter().map(|(n, m, _)| format!("{n} ({m})")).collect::<Vec<_>>().join(", ")
}

/// Partial overrides of a method's model config and of the [`crate::TrainConfig`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Settings {
    /// Overrides of the model config (`[model]`).
    pub model: Map<String, Value>,
    /// Overrides of the training config (`[train]`).
    pub train: Map<String, Value>,
}

impl Settings {
    /// Parses TOML text (see the module docs).
    pub fn from_toml_str(text: &str) -> Result<Self, TrainError> {
        let value: toml::Table =
            toml::from_str(text).map_err(|e| TrainError::InvalidConfig(format!("settings file: {e}")))?;
        let json = serde_json::to_value(value).expect("TOML converts to JSON");
        let Value::Object(top) = json else { unreachable!("a TOML table is an object") };
        let mut settings = Settings::default();
        for (key, v) in top {
            let Value::Object(table) = v else {
                return Err(TrainError::InvalidConfig(format!("settings file: '{key}' must be a table")));
            };
            match key.as_str() {
                "model" => settings.model = table,
                "train" => settings.train = table,
                other => {
                    return Err(TrainError::InvalidConfig(format!(
                        "settings file: unknown table [{other}] (expected [model] and/or [train])"
                    )));
                }
            }
        }
        if let Some(k) = ["d_theta", "d_x"].into_iter().find(|k| settings.model.contains_key(*k)) {
            return Err(TrainError::InvalidConfig(format!(
                "settings file: [model] {k} cannot be set: it comes from the data"
            )));
        }
        Ok(settings)
    }

    /// Built-in settings by name ([`BUILTIN`]), for `method`. Errors on an unknown name
    /// or on settings made for another method (both list the built-in names).
    pub fn builtin(name: &str, method: Method) -> Result<Self, TrainError> {
        let Some((_, for_method, text)) = BUILTIN.iter().find(|(n, _, _)| *n == name) else {
            return Err(TrainError::InvalidConfig(format!(
                "no built-in settings named '{name}' (built-in: {})",
                builtin_list()
            )));
        };
        if *for_method != method {
            return Err(TrainError::InvalidConfig(format!(
                "the built-in settings '{name}' are for {for_method}, not {method} (built-in: {})",
                builtin_list()
            )));
        }
        Self::from_toml_str(text)
            .map_err(|e| TrainError::InvalidConfig(format!("built-in settings '{name}': {e}")))
    }

    /// Built-in settings by name (see [`Settings::builtin`]), or else a TOML file at
    /// that path (`sbi train`/`sbi run --config`). A name that is neither says both.
    pub fn load(name_or_path: &str, method: Method) -> Result<Self, TrainError> {
        if BUILTIN.iter().any(|(n, _, _)| *n == name_or_path) {
            return Self::builtin(name_or_path, method);
        }
        Self::from_file(Path::new(name_or_path)).map_err(|e| match e {
            TrainError::Io { source, .. } => TrainError::InvalidConfig(format!(
                "{name_or_path}: not built-in settings ({}) and not a readable file: {source}",
                builtin_list()
            )),
            other => other,
        })
    }

    /// Whether these settings train on the fused CPU engine (`[train] engine = "fused"`,
    /// read through [`crate::TrainConfig`], so a default engine counts too). That engine
    /// trains on the CPU whatever the device.
    pub fn uses_fused_engine(&self) -> bool {
        apply(&crate::TrainConfig::new(), &self.train, "train")
            .is_ok_and(|t| t.engine == crate::Engine::Fused)
    }

    /// Reads and parses a TOML settings file.
    pub fn from_file(path: &Path) -> Result<Self, TrainError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| TrainError::Io { path: path.display().to_string(), source })?;
        Self::from_toml_str(&text).map_err(|e| TrainError::InvalidConfig(format!("{}: {e}", path.display())))
    }
}

/// `default` with `overrides` merged in (recursively for nested tables; a
/// tagged enum, i.e. an object with a `kind` key, is replaced whole).
/// `section` names the table in error messages.
pub fn apply<C: Serialize + DeserializeOwned>(
    default: &C,
    overrides: &Map<String, Value>,
    section: &str,
) -> Result<C, TrainError> {
    let mut value = serde_json::to_value(default).expect("configs serialise");
    merge(&mut value, overrides, section)?;
    serde_json::from_value(value).map_err(|e| TrainError::InvalidConfig(format!("[{section}]: {e}")))
}

fn merge(target: &mut Value, overrides: &Map<String, Value>, path: &str) -> Result<(), TrainError> {
    let Value::Object(obj) = target else {
        return Err(TrainError::InvalidConfig(format!("[{path}] is not a table")));
    };
    for (key, v) in overrides {
        let Some(slot) = obj.get_mut(key) else {
            let mut valid: Vec<&str> = obj.keys().map(|k| k.as_str()).collect();
            valid.sort_unstable();
            return Err(TrainError::InvalidConfig(format!(
                "[{path}]: unknown key '{key}' (valid keys: {})",
                valid.join(", ")
            )));
        };
        match (slot.is_object() && slot.get("kind").is_none(), v) {
            (true, Value::Object(sub)) => merge(slot, sub, &format!("{path}.{key}"))?,
            _ => *slot = v.clone(),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{KlSchedule, TrainConfig};
    use sbi_nn::CpVaeConfig;

    /// The built-in settings are the files of `benchmarks/configs/`, parse, apply over
    /// their method's defaults, and are refused for another method or an unknown name;
    /// `load` prefers a built-in name and otherwise reads the file.
    #[test]
    fn builtin_settings_are_the_config_files_and_check_their_method() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../benchmarks/configs");
        for (name, method, _) in BUILTIN {
            let built = Settings::builtin(name, method).unwrap();
            let file = Settings::from_file(&root.join(format!("{name}.toml"))).unwrap();
            assert_eq!(built, file, "{name}");
            assert_eq!(Settings::load(name, method).unwrap(), file, "{name}");
            crate::estimator(method, &built).unwrap();
            let train = apply(&TrainConfig::new(), &built.train, "train").unwrap();
            assert_eq!(train.engine, crate::Engine::Fused, "{name}");
            let other = if method == Method::CpVae { Method::UpVae } else { Method::CpVae };
            let err = Settings::builtin(name, other).unwrap_err().to_string();
            assert!(err.contains(&format!("are for {method}, not {other}")), "{err}");
            assert!(Settings::load(name, Method::NpeMaf).is_err(), "{name} for npe-maf");
        }
        let err = Settings::builtin("fast", Method::CpVae).unwrap_err().to_string();
        assert!(
            err.contains("no built-in settings named 'fast'") && err.contains("cp-vae-fast (cp-vae)"),
            "{err}"
        );
        let err = Settings::load("/nonexistent/fast.toml", Method::CpVae).unwrap_err().to_string();
        assert!(
            err.contains(
                "/nonexistent/fast.toml: not built-in settings (cp-vae-fast (cp-vae), up-vae-fast (up-vae), \
                 cp-vae-accurate (cp-vae), up-vae-accurate (up-vae))"
            ),
            "{err}"
        );
        let dir = std::env::temp_dir().join(format!("sbi-settings-load-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.toml");
        std::fs::write(&path, "[train]\nlearning_rate = 1e-3\n").unwrap();
        let s = Settings::load(path.to_str().unwrap(), Method::NpeMaf).unwrap();
        assert_eq!(s.train["learning_rate"], serde_json::json!(1e-3));
        std::fs::write(&path, "[train\nlearning_rate = 1e-3\n").unwrap();
        let err = Settings::load(path.to_str().unwrap(), Method::CpVae);
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(err.unwrap_err().to_string().contains("s.toml"), "a bad file is named");
    }

    #[test]
    fn partial_tables_override_defaults() {
        let s = Settings::from_toml_str(
            "[model]\nlatent_dim = 6\nnet = { hidden = [32, 32, 32] }\n\
             [train]\nlearning_rate = 5e-4\nkl_schedule = { kind = \"linear\", epochs = 10.0 }\n",
        )
        .unwrap();
        let m = apply(&CpVaeConfig::new(2, 2), &s.model, "model").unwrap();
        assert_eq!((m.latent_dim, m.net.hidden.clone(), m.beta), (6, vec![32, 32, 32], 1.0));
        assert_eq!(m.net.min_log_var, -12.0, "nested defaults kept");
        let t = apply(&TrainConfig::new(), &s.train, "train").unwrap();
        assert_eq!(t.learning_rate, 5e-4);
        assert_eq!(t.kl_schedule, KlSchedule::Linear { epochs: 10.0 });
        assert_eq!(t.batch_size, TrainConfig::new().batch_size);
    }

    #[test]
    fn unknown_keys_tables_and_bad_types_are_named() {
        let e = Settings::from_toml_str("[modle]\nx = 1\n").unwrap_err().to_string();
        assert!(e.contains("[modle]"), "{e}");
        let e = Settings::from_toml_str("[model]\nd_x = 3\n").unwrap_err().to_string();
        assert!(e.contains("d_x"), "{e}");
        let s = Settings::from_toml_str("[train]\nlearning_rat = 1.0\n").unwrap();
        let e = apply(&TrainConfig::new(), &s.train, "train").unwrap_err().to_string();
        assert!(e.contains("learning_rat") && e.contains("learning_rate"), "{e}");
        let s = Settings::from_toml_str("[train]\nbatch_size = \"big\"\n").unwrap();
        assert!(apply(&TrainConfig::new(), &s.train, "train").is_err());
        assert!(Settings::from_toml_str("[train\n").is_err());
    }
}
