//! # sbi-metrics
//!
//! Two-sample metrics: C2ST with the sbibm protocol and MMD as sbibm and
//! BayesFlow compute it (spec: `shared/spec/sbibm-tasks.md` §2–3,
//! `shared/spec/methods.md` §3). Bottom layer, independent of `sbi-sim` and `sbi-nn`.
