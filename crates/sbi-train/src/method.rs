//! The estimation methods, by name.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::TrainError;

/// Every estimation method the project knows, implemented or planned.
///
/// Names are the command line's (`--method cp-vae`); see [`Method::name`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Conditional-prior VAE (spec `methods.md` §1).
    CpVae,
    /// Unconditional-prior VAE (spec `methods.md` §1).
    UpVae,
    /// NPE with a mixture density network (spec §2).
    NpeMdn,
    /// NPE with a masked autoregressive flow (spec §2).
    NpeMaf,
    /// NPE with a neural spline flow (spec §2).
    NpeNsf,
    /// Sequential NPE, Papamakarios & Murray 2016 (spec §2).
    SnpeA,
    /// Sequential NPE, Lueckmann et al. 2017 (spec §2).
    SnpeB,
    /// Automatic posterior transformation / SNPE-C (spec §2).
    Apt,
}

impl Method {
    /// Every method, implemented or not.
    pub const ALL: [Method; 8] = [
        Method::CpVae,
        Method::UpVae,
        Method::NpeMdn,
        Method::NpeMaf,
        Method::NpeNsf,
        Method::SnpeA,
        Method::SnpeB,
        Method::Apt,
    ];

    /// The command-line name (`cp-vae`, `up-vae`, `npe-mdn`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Method::CpVae => "cp-vae",
            Method::UpVae => "up-vae",
            Method::NpeMdn => "npe-mdn",
            Method::NpeMaf => "npe-maf",
            Method::NpeNsf => "npe-nsf",
            Method::SnpeA => "snpe-a",
            Method::SnpeB => "snpe-b",
            Method::Apt => "apt",
        }
    }

    /// Whether this build can train the method (every method listed is, at
    /// present; methods added to the enum as planned will return `false`).
    pub fn is_implemented(self) -> bool {
        true
    }

    /// The implemented methods.
    pub fn implemented() -> Vec<Method> {
        Self::ALL.into_iter().filter(|m| m.is_implemented()).collect()
    }

    /// Whether the method needs the simulator during training (several rounds
    /// with proposals at `x_o`), i.e. cannot train on precomputed pairs alone.
    pub fn is_sequential(self) -> bool {
        matches!(self, Method::SnpeA | Method::SnpeB | Method::Apt)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Method {
    type Err = TrainError;

    /// Parses a command-line name (case-insensitive; `_` is accepted for `-`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm = s.trim().to_ascii_lowercase().replace('_', "-");
        Self::ALL.into_iter().find(|m| m.name() == norm).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|m| m.name()).collect();
            TrainError::InvalidConfig(format!("unknown method '{s}' (expected one of {})", names.join(", ")))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_is_an_error() {
        for m in Method::ALL {
            assert_eq!(m.name().parse::<Method>().unwrap(), m);
            assert_eq!(m.name().to_uppercase().replace('-', "_").parse::<Method>().unwrap(), m);
            let json = serde_json::to_string(&m).unwrap();
            assert_eq!(json, format!("\"{}\"", m.name()));
        }
        let e = "vae".parse::<Method>().unwrap_err().to_string();
        assert!(e.contains("vae") && e.contains("cp-vae"), "{e}");
    }
}
