//! Distributions the tasks need beyond the priors (Pólya-Gamma, multivariate Student-t mixtures, ...).
