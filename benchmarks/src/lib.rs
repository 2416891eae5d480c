//! criterion benchmarks live in `benches/`; see `docs/performance.md`.
