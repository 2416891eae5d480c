//! The ten sbibm benchmark tasks (spec: `shared/spec/sbibm-tasks.md` §1).

use crate::{SimError, Task};

pub mod gaussian_linear;

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
        _ => return Err(SimError::UnknownTask(name.to_string())),
    };
    Ok(task)
}

/// All ten tasks, in [`TASK_NAMES`] order.
pub fn all_tasks() -> Result<Vec<Box<dyn Task>>, SimError> {
    TASK_NAMES.iter().map(|n| task_by_name(n)).collect()
}
