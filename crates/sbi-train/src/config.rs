//! Training-loop settings shared by every estimator.

use burn::config::Config;
use sbi_nn::burn;
use serde::{Deserialize, Serialize};

use crate::{KlSchedule, LrSchedule, TrainError};

/// The optimiser.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// Adam (Kingma & Ba 2015); `weight_decay` is added to the gradient (L2).
    #[default]
    Adam,
    /// AdamW (Loshchilov & Hutter 2019): decoupled weight decay.
    AdamW,
}

/// What computes the training steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// Burn's autodiff on the chosen device (every method, every backend). The default.
    #[default]
    Burn,
    /// The fused CPU engine of the VAEs (CP-VAE, UP-VAE): the same loss and
    /// optimiser with hand-derived gradients on the host, several times faster
    /// than Burn's CPU backends for small networks (`docs/training.md`). Errors for
    /// other methods, a GPU device, or layer normalisation.
    Fused,
}

/// Settings of the training loop ([`crate::fit`]). The defaults follow the
/// spec's suggested starting points (`methods.md` §1, §2: Adam, lr 5e-4 to
/// 1e-3, 10 % validation, patience about 20, gradient clipping) and were
/// tuned on two_moons and bernoulli_glm (see `docs/training.md`).
#[derive(Config, Debug)]
pub struct TrainConfig {
    /// Optimiser. Default [`OptimizerKind::Adam`].
    #[config(default = "OptimizerKind::Adam")]
    pub optimizer: OptimizerKind,
    /// Learning rate. Default `2e-3` (tuned with the batch size, `docs/training.md`).
    #[config(default = 2e-3)]
    pub learning_rate: f64,
    /// Adam's ε. Default `1e-8` (PyTorch's and sbi's value; Burn's own default is 1e-5).
    #[config(default = 1e-8)]
    pub adam_epsilon: f64,
    /// Weight decay (L2 for Adam, decoupled for AdamW). Default `0`.
    #[config(default = 0.0)]
    pub weight_decay: f64,
    /// Minibatch size. Default `512`.
    #[config(default = 512)]
    pub batch_size: usize,
    /// Fraction of the pairs held out for validation and early stopping. Default `0.1`.
    #[config(default = 0.1)]
    pub validation_fraction: f64,
    /// Epochs without a new best validation loss before stopping. Default `20`.
    #[config(default = 20)]
    pub patience: usize,
    /// Smallest decrease of the validation loss that resets the patience count:
    /// training stops after `patience` epochs in which the loss did not fall more
    /// than `min_delta` below the loss of the last such reset (smaller new bests
    /// are still kept as the model). Default `0` (any new best resets the count).
    #[config(default = 0.0)]
    pub min_delta: f64,
    /// Maximum number of epochs. Default `1000`.
    #[config(default = 1000)]
    pub max_epochs: usize,
    /// Clip the global gradient norm to this value; `None` disables it. Default `Some(5.0)`.
    #[config(default = "Some(5.0)")]
    pub clip_grad_norm: Option<f64>,
    /// KL-weight schedule (VAEs only). Default [`KlSchedule::Constant`].
    #[config(default = "KlSchedule::Constant")]
    pub kl_schedule: KlSchedule,
    /// Learning-rate schedule. Default [`LrSchedule::Constant`].
    #[config(default = "LrSchedule::Constant")]
    pub lr_schedule: LrSchedule,
    /// Exponential moving average of the weights (Polyak averaging): after each
    /// step `w̄ ← d·w̄ + (1 − d)·w`; validation, early stopping and the kept model
    /// use `w̄`. `None` (the default) keeps the raw weights.
    #[config(default = "None")]
    pub ema_decay: Option<f64>,
    /// What computes the training steps. Default [`Engine::Burn`].
    #[config(default = "Engine::Burn")]
    pub engine: Engine,
    /// Seed of the split, the minibatch order and the training noise. Default `0`.
    #[config(default = 0)]
    pub seed: u64,
}

impl TrainConfig {
    /// Checks every value; called by [`crate::fit`].
    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |m: String| Err(TrainError::InvalidConfig(m));
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return bad(format!("learning_rate must be positive, got {}", self.learning_rate));
        }
        if !(self.adam_epsilon.is_finite() && self.adam_epsilon > 0.0) {
            return bad(format!("adam_epsilon must be positive, got {}", self.adam_epsilon));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return bad(format!("weight_decay must be ≥ 0, got {}", self.weight_decay));
        }
        if self.batch_size == 0 {
            return bad("batch_size must be at least 1".to_string());
        }
        if !(0.0..1.0).contains(&self.validation_fraction) {
            return bad(format!("validation_fraction must be in [0, 1), got {}", self.validation_fraction));
        }
        if !(self.min_delta.is_finite() && self.min_delta >= 0.0) {
            return bad(format!("min_delta must be ≥ 0, got {}", self.min_delta));
        }
        if self.max_epochs == 0 {
            return bad("max_epochs must be at least 1".to_string());
        }
        if let Some(c) = self.clip_grad_norm
            && !(c.is_finite() && c > 0.0)
        {
            return bad(format!("clip_grad_norm must be positive, got {c}"));
        }
        if let Some(d) = self.ema_decay
            && !(d.is_finite() && (0.0..1.0).contains(&d))
        {
            return bad(format!("ema_decay must be in [0, 1), got {d}"));
        }
        self.kl_schedule.validate()?;
        self.lr_schedule.validate()
    }

    /// The last epoch training may run: `max_epochs`, or the end of the
    /// learning-rate schedule when that comes first.
    pub fn epoch_limit(&self) -> usize {
        self.lr_schedule.last_epoch().map_or(self.max_epochs, |e| e.min(self.max_epochs))
    }

    /// The learning rate at progress `t` (fractional epochs).
    pub fn learning_rate_at(&self, t: f64) -> f64 {
        self.learning_rate * self.lr_schedule.factor(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_bad_values_do_not() {
        assert!(TrainConfig::new().validate().is_ok());
        assert!(TrainConfig::new().with_learning_rate(0.0).validate().is_err());
        assert!(TrainConfig::new().with_batch_size(0).validate().is_err());
        assert!(TrainConfig::new().with_validation_fraction(1.0).validate().is_err());
        assert!(TrainConfig::new().with_max_epochs(0).validate().is_err());
        assert!(TrainConfig::new().with_clip_grad_norm(Some(-1.0)).validate().is_err());
        assert!(TrainConfig::new().with_adam_epsilon(f64::NAN).validate().is_err());
        assert!(TrainConfig::new().with_ema_decay(Some(0.0)).validate().is_ok());
        for d in [1.0, -0.1, f64::NAN] {
            assert!(TrainConfig::new().with_ema_decay(Some(d)).validate().is_err(), "ema_decay {d}");
        }
        for d in [-1e-3, f64::NAN, f64::INFINITY] {
            assert!(TrainConfig::new().with_min_delta(d).validate().is_err(), "min_delta {d}");
        }
    }
}
