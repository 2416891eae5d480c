//! The ten sbibm benchmark tasks (spec: `shared/spec/sbibm-tasks.md` §1).

use crate::{SimError, Task};

pub mod bernoulli_glm;
pub mod gaussian_linear;
pub mod gaussian_linear_uniform;
pub mod gaussian_mixture;
mod log_mcmc;
pub mod lotka_volterra;
pub mod sir;
pub mod slcp;
pub mod slcp_distractors;
pub mod two_moons;

/// Names of the ten sbibm tasks, in the order of the spec's summary table.
pub const TASK_NAMES: [&str; 10] = [
    "gaussian_linear",
    "gaussian_linear_uniform",
    "slcp",
    "slcp_distractors",
    "bernoulli_glm",
    "bernoulli_glm_raw",
    "gaussian_mixture",
    "two_moons",
    "sir",
    "lotka_volterra",
];

/// Builds the task called `name` (one of [`TASK_NAMES`]).
pub fn task_by_name(name: &str) -> Result<Box<dyn Task>, SimError> {
    // One line per task: "name" => constructor returning Result<impl Task, SimError>.
    let task: Box<dyn Task> = match name {
        "gaussian_linear" => Box::new(gaussian_linear::GaussianLinear::new()?),
        "gaussian_linear_uniform" => Box::new(gaussian_linear_uniform::GaussianLinearUniform::new()?),
        "gaussian_mixture" => Box::new(gaussian_mixture::GaussianMixture::new()?),
        "two_moons" => Box::new(two_moons::TwoMoons::new()?),
        "slcp" => Box::new(slcp::Slcp::new()?),
        "slcp_distractors" => Box::new(slcp_distractors::SlcpDistractors::new()?),
        "bernoulli_glm" => Box::new(bernoulli_glm::BernoulliGlm::new()?),
        "bernoulli_glm_raw" => Box::new(bernoulli_glm::BernoulliGlmRaw::new()?),
        "sir" => Box::new(sir::Sir::new()?),
        "lotka_volterra" => Box::new(lotka_volterra::LotkaVolterra::new()?),
        _ => return Err(SimError::UnknownTask(name.to_string())),
    };
    Ok(task)
}

/// All ten tasks, in [`TASK_NAMES`] order.
pub fn all_tasks() -> Result<Vec<Box<dyn Task>>, SimError> {
    TASK_NAMES.iter().map(|n| task_by_name(n)).collect()
}
