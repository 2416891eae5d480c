//! Task data carried from sbibm 1.1.0 (observations, true parameters and task
//! constants), embedded in the binary. See `data/sbibm/README.md` for the
//! attribution (MIT license, Copyright the sbibm authors).

use crate::SimError;
use ndarray::{Array1, Array2};

/// Every embedded file: (path relative to `data/sbibm`, contents).
pub static FILES: &[(&str, &str)] = &[
    ("bernoulli_glm/design_matrix.csv", include_str!("../data/sbibm/bernoulli_glm/design_matrix.csv")),
    ("bernoulli_glm/num_observation_1/observation.csv", include_str!("../data/sbibm/bernoulli_glm/num_observation_1/observation.csv")),
    ("bernoulli_glm/num_observation_1/observation_raw.csv", include_str!("../data/sbibm/bernoulli_glm/num_observation_1/observation_raw.csv")),
    ("bernoulli_glm/num_observation_1/observation_seed.csv", include_str!("../data/sbibm/bernoulli_glm/num_observation_1/observation_seed.csv")),
    ("bernoulli_glm/num_observation_1/true_parameters.csv", include_str!("../data/sbibm/bernoulli_glm/num_observation_1/true_parameters.csv")),
    ("bernoulli_glm/num_observation_10/observation.csv", include_str!("../data/sbibm/bernoulli_glm/num_observation_10/observation.csv")),
    ("bernoulli_glm/num_observation_10/observation_raw.csv", include_str!("../data/sbibm/bernoulli_glm/num_observation_10/observation_raw.csv")),
    ("bernoulli_glm/num_observation_10/observation_seed.csv", include_str!("../data/sbibm/bernoulli_glm/num_observation_10/observation_seed.csv")),
    ("bernoulli_glm/num_observation_10/true_parameters.csv", include_str!("../data/sbibm/bernoulli_glm/num_observation_10/true_parameters.csv")),
    ("bernoulli_glm/num_observation_2/observation.csv", include_str!("../data/sbibm/bernoulli_glm/num_observation_2/observation.csv")),
    ("bernoulli_glm/num_observation_2/observation_raw.csv", include_str!("../data/sbibm/bernoulli_glm/num_observation_2/observation_raw.csv")),
    ("bernoulli_glm/num_observation_2/observation_seed.csv", include_str!("../data/sbibm/bernoulli_glm/num_observation_2/observation_seed.csv")),
    ("bernoulli_glm/num_observation_2/true_parameters.csv", include_str!("../data/sbibm/bernoulli_glm/num_observation_2/true_parameters.csv")),
    ("bernoulli_glm/num_observation_3/observation.csv", include_str!("../data/sbibm/bernoulli_glm/num_observation_3/observation.csv")),
    ("bernoulli_glm/num_observation_3/observation_raw.csv", include_str!("../data/sbibm/bernoulli_glm/num_observation_3/observation_raw.csv")),
    ("bernoulli_glm/num_observation_3/observation_seed.csv", include_str!("../data/sbibm/bernoulli_glm/num_observation_3/observation_seed.csv")),
    ("bernoulli_glm/num_observation_3/true_parameters.csv", include_str!("../data/sbibm/bernoulli_glm/num_observation_3/true_parameters.csv")),
    ("bernoulli_glm/num_observation_4/observation.csv", include_str!("../data/sbibm/bernoulli_glm/num_observation_4/observation.csv")),
    ("bernoulli_glm/num_observation_4/observation_raw.csv", include_str!("../data/sbibm/bernoulli_glm/num_observation_4/observation_raw.csv")),
    ("bernoulli_glm/num_observation_4/observation_seed.csv", include_str!("../data/sbibm/bernoulli_glm/num_observation_4/observation_seed.csv")),
    ("bernoulli_glm/num_observation_4/true_parameters.csv", include_str!("../data/sbibm/bernoulli_glm/num_observation_4/true_parameters.csv")),
    ("bernoulli_glm/num_observation_5/observation.csv", include_str!("../data/sbibm/bernoulli_glm/num_observation_5/observation.csv")),
    ("bernoulli_glm/num_observation_5/observation_raw.csv", include_str!("../data/sbibm/bernoulli_glm/num_observation_5/observation_raw.csv")),
    ("bernoulli_glm/num_observation_5/observation_seed.csv", include_str!("../data/sbibm/bernoulli_glm/num_observation_5/observation_seed.csv")),
    ("bernoulli_glm/num_observation_5/true_parameters.csv", include_str!("../data/sbibm/bernoulli_glm/num_observation_5/true_parameters.csv")),
    ("bernoulli_glm/num_observation_6/observation.csv", include_str!("../data/sbibm/bernoulli_glm/num_observation_6/observation.csv")),
    ("bernoulli_glm/num_observation_6/observation_raw.csv", include_str!("../data/sbibm/bernoulli_glm/num_observation_6/observation_raw.csv")),
    ("bernoulli_glm/num_observation_6/observation_seed.csv", include_str!("../data/sbibm/bernoulli_glm/num_observation_6/observation_seed.csv")),
    ("bernoulli_glm/num_observation_6/true_parameters.csv", include_str!("../data/sbibm/bernoulli_glm/num_observation_6/true_parameters.csv")),
    ("bernoulli_glm/num_observation_7/observation.csv", include_str!("../data/sbibm/bernoulli_glm/num_observation_7/observation.csv")),
    ("bernoulli_glm/num_observation_7/observation_raw.csv", include_str!("../data/sbibm/bernoulli_glm/num_observation_7/observation_raw.csv")),
    ("bernoulli_glm/num_observation_7/observation_seed.csv", include_str!("../data/sbibm/bernoulli_glm/num_observation_7/observation_seed.csv")),
    ("bernoulli_glm/num_observation_7/true_parameters.csv", include_str!("../data/sbibm/bernoulli_glm/num_observation_7/true_parameters.csv")),
    ("bernoulli_glm/num_observation_8/observation.csv", include_str!("../data/sbibm/bernoulli_glm/num_observation_8/observation.csv")),
    ("bernoulli_glm/num_observation_8/observation_raw.csv", include_str!("../data/sbibm/bernoulli_glm/num_observation_8/observation_raw.csv")),
    ("bernoulli_glm/num_observation_8/observation_seed.csv", include_str!("../data/sbibm/bernoulli_glm/num_observation_8/observation_seed.csv")),
    ("bernoulli_glm/num_observation_8/true_parameters.csv", include_str!("../data/sbibm/bernoulli_glm/num_observation_8/true_parameters.csv")),
    ("bernoulli_glm/num_observation_9/observation.csv", include_str!("../data/sbibm/bernoulli_glm/num_observation_9/observation.csv")),
    ("bernoulli_glm/num_observation_9/observation_raw.csv", include_str!("../data/sbibm/bernoulli_glm/num_observation_9/observation_raw.csv")),
    ("bernoulli_glm/num_observation_9/observation_seed.csv", include_str!("../data/sbibm/bernoulli_glm/num_observation_9/observation_seed.csv")),
    ("bernoulli_glm/num_observation_9/true_parameters.csv", include_str!("../data/sbibm/bernoulli_glm/num_observation_9/true_parameters.csv")),
    ("bernoulli_glm/stimulus_I.csv", include_str!("../data/sbibm/bernoulli_glm/stimulus_I.csv")),
    ("gaussian_linear/num_observation_1/observation.csv", include_str!("../data/sbibm/gaussian_linear/num_observation_1/observation.csv")),
    ("gaussian_linear/num_observation_1/observation_seed.csv", include_str!("../data/sbibm/gaussian_linear/num_observation_1/observation_seed.csv")),
    ("gaussian_linear/num_observation_1/true_parameters.csv", include_str!("../data/sbibm/gaussian_linear/num_observation_1/true_parameters.csv")),
    ("gaussian_linear/num_observation_10/observation.csv", include_str!("../data/sbibm/gaussian_linear/num_observation_10/observation.csv")),
    ("gaussian_linear/num_observation_10/observation_seed.csv", include_str!("../data/sbibm/gaussian_linear/num_observation_10/observation_seed.csv")),
    ("gaussian_linear/num_observation_10/true_parameters.csv", include_str!("../data/sbibm/gaussian_linear/num_observation_10/true_parameters.csv")),
    ("gaussian_linear/num_observation_2/observation.csv", include_str!("../data/sbibm/gaussian_linear/num_observation_2/observation.csv")),
    ("gaussian_linear/num_observation_2/observation_seed.csv", include_str!("../data/sbibm/gaussian_linear/num_observation_2/observation_seed.csv")),
    ("gaussian_linear/num_observation_2/true_parameters.csv", include_str!("../data/sbibm/gaussian_linear/num_observation_2/true_parameters.csv")),
    ("gaussian_linear/num_observation_3/observation.csv", include_str!("../data/sbibm/gaussian_linear/num_observation_3/observation.csv")),
    ("gaussian_linear/num_observation_3/observation_seed.csv", include_str!("../data/sbibm/gaussian_linear/num_observation_3/observation_seed.csv")),
    ("gaussian_linear/num_observation_3/true_parameters.csv", include_str!("../data/sbibm/gaussian_linear/num_observation_3/true_parameters.csv")),
    ("gaussian_linear/num_observation_4/observation.csv", include_str!("../data/sbibm/gaussian_linear/num_observation_4/observation.csv")),
    ("gaussian_linear/num_observation_4/observation_seed.csv", include_str!("../data/sbibm/gaussian_linear/num_observation_4/observation_seed.csv")),
    ("gaussian_linear/num_observation_4/true_parameters.csv", include_str!("../data/sbibm/gaussian_linear/num_observation_4/true_parameters.csv")),
    ("gaussian_linear/num_observation_5/observation.csv", include_str!("../data/sbibm/gaussian_linear/num_observation_5/observation.csv")),
    ("gaussian_linear/num_observation_5/observation_seed.csv", include_str!("../data/sbibm/gaussian_linear/num_observation_5/observation_seed.csv")),
    ("gaussian_linear/num_observation_5/true_parameters.csv", include_str!("../data/sbibm/gaussian_linear/num_observation_5/true_parameters.csv")),
    ("gaussian_linear/num_observation_6/observation.csv", include_str!("../data/sbibm/gaussian_linear/num_observation_6/observation.csv")),
    ("gaussian_linear/num_observation_6/observation_seed.csv", include_str!("../data/sbibm/gaussian_linear/num_observation_6/observation_seed.csv")),
    ("gaussian_linear/num_observation_6/true_parameters.csv", include_str!("../data/sbibm/gaussian_linear/num_observation_6/true_parameters.csv")),
    ("gaussian_linear/num_observation_7/observation.csv", include_str!("../data/sbibm/gaussian_linear/num_observation_7/observation.csv")),
    ("gaussian_linear/num_observation_7/observation_seed.csv", include_str!("../data/sbibm/gaussian_linear/num_observation_7/observation_seed.csv")),
    ("gaussian_linear/num_observation_7/true_parameters.csv", include_str!("../data/sbibm/gaussian_linear/num_observation_7/true_parameters.csv")),
    ("gaussian_linear/num_observation_8/observation.csv", include_str!("../data/sbibm/gaussian_linear/num_observation_8/observation.csv")),
    ("gaussian_linear/num_observation_8/observation_seed.csv", include_str!("../data/sbibm/gaussian_linear/num_observation_8/observation_seed.csv")),
    ("gaussian_linear/num_observation_8/true_parameters.csv", include_str!("../data/sbibm/gaussian_linear/num_observation_8/true_parameters.csv")),
    ("gaussian_linear/num_observation_9/observation.csv", include_str!("../data/sbibm/gaussian_linear/num_observation_9/observation.csv")),
    ("gaussian_linear/num_observation_9/observation_seed.csv", include_str!("../data/sbibm/gaussian_linear/num_observation_9/observation_seed.csv")),
    ("gaussian_linear/num_observation_9/true_parameters.csv", include_str!("../data/sbibm/gaussian_linear/num_observation_9/true_parameters.csv")),
    ("gaussian_linear_uniform/num_observation_1/observation.csv", include_str!("../data/sbibm/gaussian_linear_uniform/num_observation_1/observation.csv")),
    ("gaussian_linear_uniform/num_observation_1/observation_seed.csv", include_str!("../data/sbibm/gaussian_linear_uniform/num_observation_1/observation_seed.csv")),
    ("gaussian_linear_uniform/num_observation_1/true_parameters.csv", include_str!("../data/sbibm/gaussian_linear_uniform/num_observation_1/true_parameters.csv")),
    ("gaussian_linear_uniform/num_observation_10/observation.csv", include_str!("../data/sbibm/gaussian_linear_uniform/num_observation_10/observation.csv")),
    ("gaussian_linear_uniform/num_observation_10/observation_seed.csv", include_str!("../data/sbibm/gaussian_linear_uniform/num_observation_10/observation_seed.csv")),
    ("gaussian_linear_uniform/num_observation_10/true_parameters.csv", include_str!("../data/sbibm/gaussian_linear_uniform/num_observation_10/true_parameters.csv")),
    ("gaussian_linear_uniform/num_observation_2/observation.csv", include_str!("../data/sbibm/gaussian_linear_uniform/num_observation_2/observation.csv")),
    ("gaussian_linear_uniform/num_observation_2/observation_seed.csv", include_str!("../data/sbibm/gaussian_linear_uniform/num_observation_2/observation_seed.csv")),
    ("gaussian_linear_uniform/num_observation_2/true_parameters.csv", include_str!("../data/sbibm/gaussian_linear_uniform/num_observation_2/true_parameters.csv")),
    ("gaussian_linear_uniform/num_observation_3/observation.csv", include_str!("../data/sbibm/gaussian_linear_uniform/num_observation_3/observation.csv")),
    ("gaussian_linear_uniform/num_observation_3/observation_seed.csv", include_str!("../data/sbibm/gaussian_linear_uniform/num_observation_3/observation_seed.csv")),
    ("gaussian_linear_uniform/num_observation_3/true_parameters.csv", include_str!("../data/sbibm/gaussian_linear_uniform/num_observation_3/true_parameters.csv")),
    ("gaussian_linear_uniform/num_observation_4/observation.csv", include_str!("../data/sbibm/gaussian_linear_uniform/num_observation_4/observation.csv")),
    ("gaussian_linear_uniform/num_observation_4/observation_seed.csv", include_str!("../data/sbibm/gaussian_linear_uniform/num_observation_4/observation_seed.csv")),
    ("gaussian_linear_uniform/num_observation_4/true_parameters.csv", include_str!("../data/sbibm/gaussian_linear_uniform/num_observation_4/true_parameters.csv")),
    ("gaussian_linear_uniform/num_observation_5/observation.csv", include_str!("../data/sbibm/gaussian_linear_uniform/num_observation_5/observation.csv")),
    ("gaussian_linear_uniform/num_observation_5/observation_seed.csv", include_str!("../data/sbibm/gaussian_linear_uniform/num_observation_5/observation_seed.csv")),
    ("gaussian_linear_uniform/num_observation_5/true_parameters.csv", include_str!("../data/sbibm/gaussian_linear_uniform/num_observation_5/true_parameters.csv")),
    ("gaussian_linear_uniform/num_observation_6/observation.csv", include_str!("../data/sbibm/gaussian_linear_uniform/num_observation_6/observation.csv")),
    ("gaussian_linear_uniform/num_observation_6/observation_seed.csv", include_str!("../data/sbibm/gaussian_linear_uniform/num_observation_6/observation_seed.csv")),
    ("gaussian_linear_uniform/num_observation_6/true_parameters.csv", include_str!("../data/sbibm/gaussian_linear_uniform/num_observation_6/true_parameters.csv")),
    ("gaussian_linear_uniform/num_observation_7/observation.csv", include_str!("../data/sbibm/gaussian_linear_uniform/num_observation_7/observation.csv")),
    ("gaussian_linear_uniform/num_observation_7/observation_seed.csv", include_str!("../data/sbibm/gaussian_linear_uniform/num_observation_7/observation_seed.csv")),
    ("gaussian_linear_uniform/num_observation_7/true_parameters.csv", include_str!("../data/sbibm/gaussian_linear_uniform/num_observation_7/true_parameters.csv")),
    ("gaussian_linear_uniform/num_observation_8/observation.csv", include_str!("../data/sbibm/gaussian_linear_uniform/num_observation_8/observation.csv")),
    ("gaussian_linear_uniform/num_observation_8/observation_seed.csv", include_str!("../data/sbibm/gaussian_linear_uniform/num_observation_8/observation_seed.csv")),
    ("gaussian_linear_uniform/num_observation_8/true_parameters.csv", include_str!("../data/sbibm/gaussian_linear_uniform/num_observation_8/true_parameters.csv")),
    ("gaussian_linear_uniform/num_observation_9/observation.csv", include_str!("../data/sbibm/gaussian_linear_uniform/num_observation_9/observation.csv")),
    ("gaussian_linear_uniform/num_observation_9/observation_seed.csv", include_str!("../data/sbibm/gaussian_linear_uniform/num_observation_9/observation_seed.csv")),
    ("gaussian_linear_uniform/num_observation_9/true_parameters.csv", include_str!("../data/sbibm/gaussian_linear_uniform/num_observation_9/true_parameters.csv")),
    ("gaussian_mixture/num_observation_1/observation.csv", include_str!("../data/sbibm/gaussian_mixture/num_observation_1/observation.csv")),
    ("gaussian_mixture/num_observation_1/observation_seed.csv", include_str!("../data/sbibm/gaussian_mixture/num_observation_1/observation_seed.csv")),
    ("gaussian_mixture/num_observation_1/true_parameters.csv", include_str!("../data/sbibm/gaussian_mixture/num_observation_1/true_parameters.csv")),
    ("gaussian_mixture/num_observation_10/observation.csv", include_str!("../data/sbibm/gaussian_mixture/num_observation_10/observation.csv")),
    ("gaussian_mixture/num_observation_10/observation_seed.csv", include_str!("../data/sbibm/gaussian_mixture/num_observation_10/observation_seed.csv")),
    ("gaussian_mixture/num_observation_10/true_parameters.csv", include_str!("../data/sbibm/gaussian_mixture/num_observation_10/true_parameters.csv")),
    ("gaussian_mixture/num_observation_2/observation.csv", include_str!("../data/sbibm/gaussian_mixture/num_observation_2/observation.csv")),
    ("gaussian_mixture/num_observation_2/observation_seed.csv", include_str!("../data/sbibm/gaussian_mixture/num_observation_2/observation_seed.csv")),
    ("gaussian_mixture/num_observation_2/true_parameters.csv", include_str!("../data/sbibm/gaussian_mixture/num_observation_2/true_parameters.csv")),
    ("gaussian_mixture/num_observation_3/observation.csv", include_str!("../data/sbibm/gaussian_mixture/num_observation_3/observation.csv")),
    ("gaussian_mixture/num_observation_3/observation_seed.csv", include_str!("../data/sbibm/gaussian_mixture/num_observation_3/observation_seed.csv")),
    ("gaussian_mixture/num_observation_3/true_parameters.csv", include_str!("../data/sbibm/gaussian_mixture/num_observation_3/true_parameters.csv")),
    ("gaussian_mixture/num_observation_4/observation.csv", include_str!("../data/sbibm/gaussian_mixture/num_observation_4/observation.csv")),
    ("gaussian_mixture/num_observation_4/observation_seed.csv", include_str!("../data/sbibm/gaussian_mixture/num_observation_4/observation_seed.csv")),
    ("gaussian_mixture/num_observation_4/true_parameters.csv", include_str!("../data/sbibm/gaussian_mixture/num_observation_4/true_parameters.csv")),
    ("gaussian_mixture/num_observation_5/observation.csv", include_str!("../data/sbibm/gaussian_mixture/num_observation_5/observation.csv")),
    ("gaussian_mixture/num_observation_5/observation_seed.csv", include_str!("../data/sbibm/gaussian_mixture/num_observation_5/observation_seed.csv")),
    ("gaussian_mixture/num_observation_5/true_parameters.csv", include_str!("../data/sbibm/gaussian_mixture/num_observation_5/true_parameters.csv")),
    ("gaussian_mixture/num_observation_6/observation.csv", include_str!("../data/sbibm/gaussian_mixture/num_observation_6/observation.csv")),
    ("gaussian_mixture/num_observation_6/observation_seed.csv", include_str!("../data/sbibm/gaussian_mixture/num_observation_6/observation_seed.csv")),
    ("gaussian_mixture/num_observation_6/true_parameters.csv", include_str!("../data/sbibm/gaussian_mixture/num_observation_6/true_parameters.csv")),
    ("gaussian_mixture/num_observation_7/observation.csv", include_str!("../data/sbibm/gaussian_mixture/num_observation_7/observation.csv")),
    ("gaussian_mixture/num_observation_7/observation_seed.csv", include_str!("../data/sbibm/gaussian_mixture/num_observation_7/observation_seed.csv")),
    ("gaussian_mixture/num_observation_7/true_parameters.csv", include_str!("../data/sbibm/gaussian_mixture/num_observation_7/true_parameters.csv")),
    ("gaussian_mixture/num_observation_8/observation.csv", include_str!("../data/sbibm/gaussian_mixture/num_observation_8/observation.csv")),
    ("gaussian_mixture/num_observation_8/observation_seed.csv", include_str!("../data/sbibm/gaussian_mixture/num_observation_8/observation_seed.csv")),
    ("gaussian_mixture/num_observation_8/true_parameters.csv", include_str!("../data/sbibm/gaussian_mixture/num_observation_8/true_parameters.csv")),
    ("gaussian_mixture/num_observation_9/observation.csv", include_str!("../data/sbibm/gaussian_mixture/num_observation_9/observation.csv")),
    ("gaussian_mixture/num_observation_9/observation_seed.csv", include_str!("../data/sbibm/gaussian_mixture/num_observation_9/observation_seed.csv")),
    ("gaussian_mixture/num_observation_9/true_parameters.csv", include_str!("../data/sbibm/gaussian_mixture/num_observation_9/true_parameters.csv")),
    ("lotka_volterra/num_observation_1/observation.csv", include_str!("../data/sbibm/lotka_volterra/num_observation_1/observation.csv")),
    ("lotka_volterra/num_observation_1/observation_seed.csv", include_str!("../data/sbibm/lotka_volterra/num_observation_1/observation_seed.csv")),
    ("lotka_volterra/num_observation_1/true_parameters.csv", include_str!("../data/sbibm/lotka_volterra/num_observation_1/true_parameters.csv")),
    ("lotka_volterra/num_observation_10/observation.csv", include_str!("../data/sbibm/lotka_volterra/num_observation_10/observation.csv")),
    ("lotka_volterra/num_observation_10/observation_seed.csv", include_str!("../data/sbibm/lotka_volterra/num_observation_10/observation_seed.csv")),
    ("lotka_volterra/num_observation_10/true_parameters.csv", include_str!("../data/sbibm/lotka_volterra/num_observation_10/true_parameters.csv")),
    ("lotka_volterra/num_observation_2/observation.csv", include_str!("../data/sbibm/lotka_volterra/num_observation_2/observation.csv")),
    ("lotka_volterra/num_observation_2/observation_seed.csv", include_str!("../data/sbibm/lotka_volterra/num_observation_2/observation_seed.csv")),
    ("lotka_volterra/num_observation_2/true_parameters.csv", include_str!("../data/sbibm/lotka_volterra/num_observation_2/true_parameters.csv")),
    ("lotka_volterra/num_observation_3/observation.csv", include_str!("../data/sbibm/lotka_volterra/num_observation_3/observation.csv")),
    ("lotka_volterra/num_observation_3/observation_seed.csv", include_str!("../data/sbibm/lotka_volterra/num_observation_3/observation_seed.csv")),
    ("lotka_volterra/num_observation_3/true_parameters.csv", include_str!("../data/sbibm/lotka_volterra/num_observation_3/true_parameters.csv")),
    ("lotka_volterra/num_observation_4/observation.csv", include_str!("../data/sbibm/lotka_volterra/num_observation_4/observation.csv")),
    ("lotka_volterra/num_observation_4/observation_seed.csv", include_str!("../data/sbibm/lotka_volterra/num_observation_4/observation_seed.csv")),
    ("lotka_volterra/num_observation_4/true_parameters.csv", include_str!("../data/sbibm/lotka_volterra/num_observation_4/true_parameters.csv")),
    ("lotka_volterra/num_observation_5/observation.csv", include_str!("../data/sbibm/lotka_volterra/num_observation_5/observation.csv")),
    ("lotka_volterra/num_observation_5/observation_seed.csv", include_str!("../data/sbibm/lotka_volterra/num_observation_5/observation_seed.csv")),
    ("lotka_volterra/num_observation_5/true_parameters.csv", include_str!("../data/sbibm/lotka_volterra/num_observation_5/true_parameters.csv")),
    ("lotka_volterra/num_observation_6/observation.csv", include_str!("../data/sbibm/lotka_volterra/num_observation_6/observation.csv")),
    ("lotka_volterra/num_observation_6/observation_seed.csv", include_str!("../data/sbibm/lotka_volterra/num_observation_6/observation_seed.csv")),
    ("lotka_volterra/num_observation_6/true_parameters.csv", include_str!("../data/sbibm/lotka_volterra/num_observation_6/true_parameters.csv")),
    ("lotka_volterra/num_observation_7/observation.csv", include_str!("../data/sbibm/lotka_volterra/num_observation_7/observation.csv")),
    ("lotka_volterra/num_observation_7/observation_seed.csv", include_str!("../data/sbibm/lotka_volterra/num_observation_7/observation_seed.csv")),
    ("lotka_volterra/num_observation_7/true_parameters.csv", include_str!("../data/sbibm/lotka_volterra/num_observation_7/true_parameters.csv")),
    ("lotka_volterra/num_observation_8/observation.csv", include_str!("../data/sbibm/lotka_volterra/num_observation_8/observation.csv")),
    ("lotka_volterra/num_observation_8/observation_seed.csv", include_str!("../data/sbibm/lotka_volterra/num_observation_8/observation_seed.csv")),
    ("lotka_volterra/num_observation_8/true_parameters.csv", include_str!("../data/sbibm/lotka_volterra/num_observation_8/true_parameters.csv")),
    ("lotka_volterra/num_observation_9/observation.csv", include_str!("../data/sbibm/lotka_volterra/num_observation_9/observation.csv")),
    ("lotka_volterra/num_observation_9/observation_seed.csv", include_str!("../data/sbibm/lotka_volterra/num_observation_9/observation_seed.csv")),
    ("lotka_volterra/num_observation_9/true_parameters.csv", include_str!("../data/sbibm/lotka_volterra/num_observation_9/true_parameters.csv")),
    ("sir/num_observation_1/observation.csv", include_str!("../data/sbibm/sir/num_observation_1/observation.csv")),
    ("sir/num_observation_1/observation_seed.csv", include_str!("../data/sbibm/sir/num_observation_1/observation_seed.csv")),
    ("sir/num_observation_1/true_parameters.csv", include_str!("../data/sbibm/sir/num_observation_1/true_parameters.csv")),
    ("sir/num_observation_10/observation.csv", include_str!("../data/sbibm/sir/num_observation_10/observation.csv")),
    ("sir/num_observation_10/observation_seed.csv", include_str!("../data/sbibm/sir/num_observation_10/observation_seed.csv")),
    ("sir/num_observation_10/true_parameters.csv", include_str!("../data/sbibm/sir/num_observation_10/true_parameters.csv")),
    ("sir/num_observation_2/observation.csv", include_str!("../data/sbibm/sir/num_observation_2/observation.csv")),
    ("sir/num_observation_2/observation_seed.csv", include_str!("../data/sbibm/sir/num_observation_2/observation_seed.csv")),
    ("sir/num_observation_2/true_parameters.csv", include_str!("../data/sbibm/sir/num_observation_2/true_parameters.csv")),
    ("sir/num_observation_3/observation.csv", include_str!("../data/sbibm/sir/num_observation_3/observation.csv")),
    ("sir/num_observation_3/observation_seed.csv", include_str!("../data/sbibm/sir/num_observation_3/observation_seed.csv")),
    ("sir/num_observation_3/true_parameters.csv", include_str!("../data/sbibm/sir/num_observation_3/true_parameters.csv")),
    ("sir/num_observation_4/observation.csv", include_str!("../data/sbibm/sir/num_observation_4/observation.csv")),
    ("sir/num_observation_4/observation_seed.csv", include_str!("../data/sbibm/sir/num_observation_4/observation_seed.csv")),
    ("sir/num_observation_4/true_parameters.csv", include_str!("../data/sbibm/sir/num_observation_4/true_parameters.csv")),
    ("sir/num_observation_5/observation.csv", include_str!("../data/sbibm/sir/num_observation_5/observation.csv")),
    ("sir/num_observation_5/observation_seed.csv", include_str!("../data/sbibm/sir/num_observation_5/observation_seed.csv")),
    ("sir/num_observation_5/true_parameters.csv", include_str!("../data/sbibm/sir/num_observation_5/true_parameters.csv")),
    ("sir/num_observation_6/observation.csv", include_str!("../data/sbibm/sir/num_observation_6/observation.csv")),
    ("sir/num_observation_6/observation_seed.csv", include_str!("../data/sbibm/sir/num_observation_6/observation_seed.csv")),
    ("sir/num_observation_6/true_parameters.csv", include_str!("../data/sbibm/sir/num_observation_6/true_parameters.csv")),
    ("sir/num_observation_7/observation.csv", include_str!("../data/sbibm/sir/num_observation_7/observation.csv")),
    ("sir/num_observation_7/observation_seed.csv", include_str!("../data/sbibm/sir/num_observation_7/observation_seed.csv")),
    ("sir/num_observation_7/true_parameters.csv", include_str!("../data/sbibm/sir/num_observation_7/true_parameters.csv")),
    ("sir/num_observation_8/observation.csv", include_str!("../data/sbibm/sir/num_observation_8/observation.csv")),
    ("sir/num_observation_8/observation_seed.csv", include_str!("../data/sbibm/sir/num_observation_8/observation_seed.csv")),
    ("sir/num_observation_8/true_parameters.csv", include_str!("../data/sbibm/sir/num_observation_8/true_parameters.csv")),
    ("sir/num_observation_9/observation.csv", include_str!("../data/sbibm/sir/num_observation_9/observation.csv")),
    ("sir/num_observation_9/observation_seed.csv", include_str!("../data/sbibm/sir/num_observation_9/observation_seed.csv")),
    ("sir/num_observation_9/true_parameters.csv", include_str!("../data/sbibm/sir/num_observation_9/true_parameters.csv")),
    ("slcp/distractor_mixture.json", include_str!("../data/sbibm/slcp/distractor_mixture.json")),
    ("slcp/num_observation_1/observation.csv", include_str!("../data/sbibm/slcp/num_observation_1/observation.csv")),
    ("slcp/num_observation_1/observation_distractors.csv", include_str!("../data/sbibm/slcp/num_observation_1/observation_distractors.csv")),
    ("slcp/num_observation_1/observation_seed.csv", include_str!("../data/sbibm/slcp/num_observation_1/observation_seed.csv")),
    ("slcp/num_observation_1/true_parameters.csv", include_str!("../data/sbibm/slcp/num_observation_1/true_parameters.csv")),
    ("slcp/num_observation_10/observation.csv", include_str!("../data/sbibm/slcp/num_observation_10/observation.csv")),
    ("slcp/num_observation_10/observation_distractors.csv", include_str!("../data/sbibm/slcp/num_observation_10/observation_distractors.csv")),
    ("slcp/num_observation_10/observation_seed.csv", include_str!("../data/sbibm/slcp/num_observation_10/observation_seed.csv")),
    ("slcp/num_observation_10/true_parameters.csv", include_str!("../data/sbibm/slcp/num_observation_10/true_parameters.csv")),
    ("slcp/num_observation_2/observation.csv", include_str!("../data/sbibm/slcp/num_observation_2/observation.csv")),
    ("slcp/num_observation_2/observation_distractors.csv", include_str!("../data/sbibm/slcp/num_observation_2/observation_distractors.csv")),
    ("slcp/num_observation_2/observation_seed.csv", include_str!("../data/sbibm/slcp/num_observation_2/observation_seed.csv")),
    ("slcp/num_observation_2/true_parameters.csv", include_str!("../data/sbibm/slcp/num_observation_2/true_parameters.csv")),
    ("slcp/num_observation_3/observation.csv", include_str!("../data/sbibm/slcp/num_observation_3/observation.csv")),
    ("slcp/num_observation_3/observation_distractors.csv", include_str!("../data/sbibm/slcp/num_observation_3/observation_distractors.csv")),
    ("slcp/num_observation_3/observation_seed.csv", include_str!("../data/sbibm/slcp/num_observation_3/observation_seed.csv")),
    ("slcp/num_observation_3/true_parameters.csv", include_str!("../data/sbibm/slcp/num_observation_3/true_parameters.csv")),
    ("slcp/num_observation_4/observation.csv", include_str!("../data/sbibm/slcp/num_observation_4/observation.csv")),
    ("slcp/num_observation_4/observation_distractors.csv", include_str!("../data/sbibm/slcp/num_observation_4/observation_distractors.csv")),
    ("slcp/num_observation_4/observation_seed.csv", include_str!("../data/sbibm/slcp/num_observation_4/observation_seed.csv")),
    ("slcp/num_observation_4/true_parameters.csv", include_str!("../data/sbibm/slcp/num_observation_4/true_parameters.csv")),
    ("slcp/num_observation_5/observation.csv", include_str!("../data/sbibm/slcp/num_observation_5/observation.csv")),
    ("slcp/num_observation_5/observation_distractors.csv", include_str!("../data/sbibm/slcp/num_observation_5/observation_distractors.csv")),
    ("slcp/num_observation_5/observation_seed.csv", include_str!("../data/sbibm/slcp/num_observation_5/observation_seed.csv")),
    ("slcp/num_observation_5/true_parameters.csv", include_str!("../data/sbibm/slcp/num_observation_5/true_parameters.csv")),
    ("slcp/num_observation_6/observation.csv", include_str!("../data/sbibm/slcp/num_observation_6/observation.csv")),
    ("slcp/num_observation_6/observation_distractors.csv", include_str!("../data/sbibm/slcp/num_observation_6/observation_distractors.csv")),
    ("slcp/num_observation_6/observation_seed.csv", include_str!("../data/sbibm/slcp/num_observation_6/observation_seed.csv")),
    ("slcp/num_observation_6/true_parameters.csv", include_str!("../data/sbibm/slcp/num_observation_6/true_parameters.csv")),
    ("slcp/num_observation_7/observation.csv", include_str!("../data/sbibm/slcp/num_observation_7/observation.csv")),
    ("slcp/num_observation_7/observation_distractors.csv", include_str!("../data/sbibm/slcp/num_observation_7/observation_distractors.csv")),
    ("slcp/num_observation_7/observation_seed.csv", include_str!("../data/sbibm/slcp/num_observation_7/observation_seed.csv")),
    ("slcp/num_observation_7/true_parameters.csv", include_str!("../data/sbibm/slcp/num_observation_7/true_parameters.csv")),
    ("slcp/num_observation_8/observation.csv", include_str!("../data/sbibm/slcp/num_observation_8/observation.csv")),
    ("slcp/num_observation_8/observation_distractors.csv", include_str!("../data/sbibm/slcp/num_observation_8/observation_distractors.csv")),
    ("slcp/num_observation_8/observation_seed.csv", include_str!("../data/sbibm/slcp/num_observation_8/observation_seed.csv")),
    ("slcp/num_observation_8/true_parameters.csv", include_str!("../data/sbibm/slcp/num_observation_8/true_parameters.csv")),
    ("slcp/num_observation_9/observation.csv", include_str!("../data/sbibm/slcp/num_observation_9/observation.csv")),
    ("slcp/num_observation_9/observation_distractors.csv", include_str!("../data/sbibm/slcp/num_observation_9/observation_distractors.csv")),
    ("slcp/num_observation_9/observation_seed.csv", include_str!("../data/sbibm/slcp/num_observation_9/observation_seed.csv")),
    ("slcp/num_observation_9/true_parameters.csv", include_str!("../data/sbibm/slcp/num_observation_9/true_parameters.csv")),
    ("slcp/permutation_idx.csv", include_str!("../data/sbibm/slcp/permutation_idx.csv")),
    ("two_moons/num_observation_1/observation.csv", include_str!("../data/sbibm/two_moons/num_observation_1/observation.csv")),
    ("two_moons/num_observation_1/observation_seed.csv", include_str!("../data/sbibm/two_moons/num_observation_1/observation_seed.csv")),
    ("two_moons/num_observation_1/true_parameters.csv", include_str!("../data/sbibm/two_moons/num_observation_1/true_parameters.csv")),
    ("two_moons/num_observation_10/observation.csv", include_str!("../data/sbibm/two_moons/num_observation_10/observation.csv")),
    ("two_moons/num_observation_10/observation_seed.csv", include_str!("../data/sbibm/two_moons/num_observation_10/observation_seed.csv")),
    ("two_moons/num_observation_10/true_parameters.csv", include_str!("../data/sbibm/two_moons/num_observation_10/true_parameters.csv")),
    ("two_moons/num_observation_2/observation.csv", include_str!("../data/sbibm/two_moons/num_observation_2/observation.csv")),
    ("two_moons/num_observation_2/observation_seed.csv", include_str!("../data/sbibm/two_moons/num_observation_2/observation_seed.csv")),
    ("two_moons/num_observation_2/true_parameters.csv", include_str!("../data/sbibm/two_moons/num_observation_2/true_parameters.csv")),
    ("two_moons/num_observation_3/observation.csv", include_str!("../data/sbibm/two_moons/num_observation_3/observation.csv")),
    ("two_moons/num_observation_3/observation_seed.csv", include_str!("../data/sbibm/two_moons/num_observation_3/observation_seed.csv")),
    ("two_moons/num_observation_3/true_parameters.csv", include_str!("../data/sbibm/two_moons/num_observation_3/true_parameters.csv")),
    ("two_moons/num_observation_4/observation.csv", include_str!("../data/sbibm/two_moons/num_observation_4/observation.csv")),
    ("two_moons/num_observation_4/observation_seed.csv", include_str!("../data/sbibm/two_moons/num_observation_4/observation_seed.csv")),
    ("two_moons/num_observation_4/true_parameters.csv", include_str!("../data/sbibm/two_moons/num_observation_4/true_parameters.csv")),
    ("two_moons/num_observation_5/observation.csv", include_str!("../data/sbibm/two_moons/num_observation_5/observation.csv")),
    ("two_moons/num_observation_5/observation_seed.csv", include_str!("../data/sbibm/two_moons/num_observation_5/observation_seed.csv")),
    ("two_moons/num_observation_5/true_parameters.csv", include_str!("../data/sbibm/two_moons/num_observation_5/true_parameters.csv")),
    ("two_moons/num_observation_6/observation.csv", include_str!("../data/sbibm/two_moons/num_observation_6/observation.csv")),
    ("two_moons/num_observation_6/observation_seed.csv", include_str!("../data/sbibm/two_moons/num_observation_6/observation_seed.csv")),
    ("two_moons/num_observation_6/true_parameters.csv", include_str!("../data/sbibm/two_moons/num_observation_6/true_parameters.csv")),
    ("two_moons/num_observation_7/observation.csv", include_str!("../data/sbibm/two_moons/num_observation_7/observation.csv")),
    ("two_moons/num_observation_7/observation_seed.csv", include_str!("../data/sbibm/two_moons/num_observation_7/observation_seed.csv")),
    ("two_moons/num_observation_7/true_parameters.csv", include_str!("../data/sbibm/two_moons/num_observation_7/true_parameters.csv")),
    ("two_moons/num_observation_8/observation.csv", include_str!("../data/sbibm/two_moons/num_observation_8/observation.csv")),
    ("two_moons/num_observation_8/observation_seed.csv", include_str!("../data/sbibm/two_moons/num_observation_8/observation_seed.csv")),
    ("two_moons/num_observation_8/true_parameters.csv", include_str!("../data/sbibm/two_moons/num_observation_8/true_parameters.csv")),
    ("two_moons/num_observation_9/observation.csv", include_str!("../data/sbibm/two_moons/num_observation_9/observation.csv")),
    ("two_moons/num_observation_9/observation_seed.csv", include_str!("../data/sbibm/two_moons/num_observation_9/observation_seed.csv")),
    ("two_moons/num_observation_9/true_parameters.csv", include_str!("../data/sbibm/two_moons/num_observation_9/true_parameters.csv")),
];

/// The contents of an embedded file, e.g. `"two_moons/num_observation_1/observation.csv"`.
pub fn file(path: &str) -> Result<&'static str, SimError> {
    FILES
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, c)| *c)
        .ok_or(SimError::Data { file: "embedded data", msg: format!("no embedded file {path}") })
}

/// Parses a headed CSV of numbers into `[rows, cols]` (the header row is skipped).
pub fn parse_csv(path: &str) -> Result<Array2<f64>, SimError> {
    let text = file(path)?;
    let mut rows: Vec<Vec<f64>> = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let row = line
            .split(',')
            .map(|s| s.trim().parse::<f64>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| SimError::Data { file: "embedded csv", msg: format!("{path} line {}: {e}", i + 1) })?;
        rows.push(row);
    }
    let ncols = rows.first().map_or(0, |r| r.len());
    if rows.iter().any(|r| r.len() != ncols) {
        return Err(SimError::Data { file: "embedded csv", msg: format!("{path}: ragged rows") });
    }
    let flat: Vec<f64> = rows.iter().flatten().copied().collect();
    Array2::from_shape_vec((rows.len(), ncols), flat)
        .map_err(|e| SimError::Data { file: "embedded csv", msg: format!("{path}: {e}") })
}

/// The single data row of a one-row headed CSV, e.g. an observation.
pub fn parse_row(path: &str) -> Result<Array1<f64>, SimError> {
    let a = parse_csv(path)?;
    if a.nrows() != 1 {
        return Err(SimError::Data { file: "embedded csv", msg: format!("{path}: expected one row, found {}", a.nrows()) });
    }
    Ok(a.row(0).to_owned())
}

/// A per-observation file of observation `k` (1-based) in task folder `dir`, e.g.
/// `observation.csv`, `true_parameters.csv`, `observation_raw.csv`.
pub fn observation_file(dir: &str, k: usize, name: &str) -> Result<Array1<f64>, SimError> {
    parse_row(&format!("{dir}/num_observation_{k}/{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_task_folder_has_ten_observations() {
        for dir in ["bernoulli_glm", "gaussian_linear", "gaussian_linear_uniform", "gaussian_mixture", "lotka_volterra", "sir", "slcp", "two_moons"] {
            for k in 1..=10 {
                let x = observation_file(dir, k, "observation.csv").unwrap();
                let t = observation_file(dir, k, "true_parameters.csv").unwrap();
                assert!(!x.is_empty() && !t.is_empty(), "{dir} {k}");
            }
        }
    }
}
