//! # notification-router-bench
//!
//! Measures the router: generated workloads, shared by the criterion benches (`benches/`) and the
//! load run (the `notification-router-bench` executable), which measures the router binary end
//! to end on a broker process. None of it is part of the router.
//!
//! # Layout
//! - [`workload`]: lifecycle events and topic files of mixed rule shapes, at any size.
//! - [`load`]: the load run: broker and router processes, ceilings, router runs.
//! - [`bare`]: the bare HTTP client and the bare consumer-plus-client pipeline, each run as a
//!   process of its own.
//! - `process`: starting and stopping those processes, their peak RSS and CPU time.
//! - `receiver`: the webhook receiver that times each delivery.
//! - `report`: the table and the JSON summary.

pub mod bare;
mod kafka;
pub mod load;
mod process;
mod receiver;
mod report;
pub mod workload;
