//! # sbi-bench
//!
//! Budget sweeps (tasks × methods × budgets × seeds × observations) and the
//! reports that reproduce the paper's tables. Builds on every other layer.
//!
//! Not implemented yet: this crate is filled by the benchmark-sweep issue.
