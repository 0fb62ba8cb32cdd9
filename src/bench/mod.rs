//! Benchmark support: generated workloads, shared by `benches/` (criterion) and the `bench`
//! subcommand, which measures the router end to end on a broker process.
//!
//! # Layout
//! - [`workload`]: lifecycle events and topic files of mixed rule shapes, at any size.

pub mod workload;
