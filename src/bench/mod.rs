//! Benchmark support: generated workloads, shared by `benches/` (criterion) and the `bench`
//! subcommand, which measures the router end to end on a broker process.
//!
//! # Layout
//! - [`workload`]: lifecycle events and topic files of mixed rule shapes, at any size.
//! - [`load`]: the load run: broker and router processes, ceilings, router runs.
//! - `process`: starting and stopping those processes, their peak RSS and CPU time.
//! - `receiver`: the webhook receiver that times each delivery.
//! - `report`: the table and the JSON summary.

mod kafka;
pub mod load;
mod process;
mod receiver;
mod report;
pub mod workload;
