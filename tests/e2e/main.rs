//! End-to-end tests: `notification-router run` processes against the standalone Kafka-protocol
//! broker `tansu` (a process of its own, on a free loopback port, one per test) and real HTTP
//! receivers, which record what arrived and when. Crash, stop, rebalance, receiver outages, a
//! slow receiver, poison pills, a broker restart, broker outages, replay and the Kafka
//! destination; each test asserts counts from the receivers' records.
//!
//! Not part of plain `cargo test`: run with `TANSU=$(scripts/tansu) cargo test --locked --test
//! e2e` (or `scripts/test`, which runs every test).

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;
mod crash;
mod digests;
mod fleet;
mod kafka_destination;
mod outages;
mod poison;
mod proxy;
mod rebalance;
mod receivers;
mod replay;
mod restart;
mod slow;
