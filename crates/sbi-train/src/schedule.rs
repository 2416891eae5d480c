//! Schedules of the training loop: the KL weight of the VAEs (spec `methods.md` §1
//! leaves the KL weighting open: constant β, linear warm-up, or cyclical annealing)
//! and the learning rate (constant, or cosine annealing over a fixed number of epochs).

use serde::{Deserialize, Serialize};

use crate::TrainError;

/// A multiplier in `[0, 1]` of the model's KL weight β as a function of training progress.
///
/// Progress is measured in (fractional) epochs: `t = epoch − 1 + step / steps_per_epoch`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum KlSchedule {
    /// Always 1 (the plain ELBO with the model's β). The default.
    #[default]
    Constant,
    /// `min(1, t / epochs)`: from 0 to 1 over the first `epochs` epochs
    /// (Bowman et al. 2016). Early stopping only starts counting after it.
    Linear {
        /// Warm-up length in epochs (> 0).
        epochs: f64,
    },
    /// Cyclical annealing (Fu et al. 2019): cycles of `period` epochs; within
    /// each, a linear ramp from 0 to 1 over the first `ramp` fraction, then 1.
    Cyclical {
        /// Cycle length in epochs (> 0).
        period: f64,
        /// Fraction of the cycle spent ramping, in `(0, 1]`.
        ramp: f64,
    },
}

impl KlSchedule {
    /// The multiplier at progress `t ≥ 0` epochs.
    pub fn factor(&self, t: f64) -> f64 {
        match *self {
            KlSchedule::Constant => 1.0,
            KlSchedule::Linear { epochs } => (t / epochs).clamp(0.0, 1.0),
            KlSchedule::Cyclical { period, ramp } => {
                let phase = (t / period).fract();
                (phase / ramp).clamp(0.0, 1.0)
            }
        }
    }

    /// Epochs before early stopping may count (the end of a linear warm-up).
    pub fn warmup_epochs(&self) -> usize {
        match *self {
            KlSchedule::Linear { epochs } => epochs.ceil() as usize,
            _ => 0,
        }
    }

    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), TrainError> {
        let ok = match *self {
            KlSchedule::Constant => true,
            KlSchedule::Linear { epochs } => epochs.is_finite() && epochs > 0.0,
            KlSchedule::Cyclical { period, ramp } => {
                period.is_finite() && period > 0.0 && ramp.is_finite() && ramp > 0.0 && ramp <= 1.0
            }
        };
        if ok { Ok(()) } else { Err(TrainError::InvalidConfig(format!("invalid KL schedule {self:?}"))) }
    }
}

/// A multiplier in `(0, 1]` of the learning rate as a function of training progress
/// `t` (fractional epochs, as for [`KlSchedule`]).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum LrSchedule {
    /// Always 1. The default.
    #[default]
    Constant,
    /// Cosine annealing without restarts (Loshchilov & Hutter 2017, "SGDR"):
    /// `f + (1 − f)·(1 + cos(π·t/epochs))/2` for `t ≤ epochs`, falling from 1 to the
    /// final factor `f`. Training ends after `epochs` epochs (rounded up) or at
    /// `max_epochs`, whichever comes first; early stopping still applies and the best
    /// weights are kept.
    Cosine {
        /// Length of the annealing, in epochs (> 0).
        epochs: f64,
        /// Multiplier reached at the end, in `[0, 1]`.
        #[serde(default)]
        final_factor: f64,
    },
}

impl LrSchedule {
    /// The multiplier at progress `t ≥ 0` epochs.
    pub fn factor(&self, t: f64) -> f64 {
        match *self {
            LrSchedule::Constant => 1.0,
            LrSchedule::Cosine { epochs, final_factor } => {
                let u = (t / epochs).clamp(0.0, 1.0);
                final_factor + (1.0 - final_factor) * 0.5 * (1.0 + (std::f64::consts::PI * u).cos())
            }
        }
    }

    /// The last epoch the schedule allows (`None`: no limit of its own).
    pub fn last_epoch(&self) -> Option<usize> {
        match *self {
            LrSchedule::Constant => None,
            LrSchedule::Cosine { epochs, .. } => Some((epochs.ceil() as usize).max(1)),
        }
    }

    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), TrainError> {
        let ok = match *self {
            LrSchedule::Constant => true,
            LrSchedule::Cosine { epochs, final_factor } => {
                epochs.is_finite() && epochs > 0.0 && (0.0..=1.0).contains(&final_factor)
            }
        };
        if ok {
            Ok(())
        } else {
            Err(TrainError::InvalidConfig(format!("invalid learning-rate schedule {self:?}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factors_are_exact() {
        assert_eq!(KlSchedule::Constant.factor(3.7), 1.0);
        let lin = KlSchedule::Linear { epochs: 4.0 };
        assert_eq!(lin.factor(0.0), 0.0);
        assert_eq!(lin.factor(1.0), 0.25);
        assert_eq!(lin.factor(9.0), 1.0);
        assert_eq!(lin.warmup_epochs(), 4);
        let cyc = KlSchedule::Cyclical { period: 10.0, ramp: 0.5 };
        assert_eq!(cyc.factor(0.0), 0.0);
        assert!((cyc.factor(2.5) - 0.5).abs() < 1e-12);
        assert_eq!(cyc.factor(7.0), 1.0);
        assert!((cyc.factor(12.5) - 0.5).abs() < 1e-12, "second cycle restarts");
        assert!(KlSchedule::Linear { epochs: 0.0 }.validate().is_err());
        assert!(KlSchedule::Cyclical { period: 5.0, ramp: 1.5 }.validate().is_err());
        let toml_text = "kind = \"linear\"\nepochs = 10.0\n";
        let parsed: KlSchedule = toml::from_str(toml_text).unwrap();
        assert_eq!(parsed, KlSchedule::Linear { epochs: 10.0 });
    }

    #[test]
    fn cosine_learning_rate_is_exact() {
        assert_eq!(LrSchedule::Constant.factor(123.0), 1.0);
        assert_eq!(LrSchedule::Constant.last_epoch(), None);
        let cos = LrSchedule::Cosine { epochs: 40.0, final_factor: 0.1 };
        assert_eq!(cos.factor(0.0), 1.0);
        assert!((cos.factor(20.0) - 0.55).abs() < 1e-12, "half-way: the mean of 1 and f");
        assert!(
            (cos.factor(10.0) - (0.1 + 0.9 * 0.5 * (1.0 + std::f64::consts::FRAC_1_SQRT_2))).abs() < 1e-12
        );
        assert!((cos.factor(40.0) - 0.1).abs() < 1e-12);
        assert!((cos.factor(55.0) - 0.1).abs() < 1e-12, "stays at f after the end");
        assert_eq!(cos.last_epoch(), Some(40));
        assert_eq!(LrSchedule::Cosine { epochs: 7.5, final_factor: 0.0 }.last_epoch(), Some(8));
        assert!(LrSchedule::Cosine { epochs: 0.0, final_factor: 0.0 }.validate().is_err());
        assert!(LrSchedule::Cosine { epochs: 10.0, final_factor: 1.5 }.validate().is_err());
        assert!(LrSchedule::Cosine { epochs: f64::NAN, final_factor: 0.0 }.validate().is_err());
        let parsed: LrSchedule = toml::from_str("kind = \"cosine\"\nepochs = 60.0\n").unwrap();
        assert_eq!(parsed, LrSchedule::Cosine { epochs: 60.0, final_factor: 0.0 });
    }
}
