//! Many-chain MCMC for reference posteriors with convergence diagnostics.
