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

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::TrainError;

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
