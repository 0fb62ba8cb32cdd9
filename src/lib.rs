//! # notification-router
//!
//! Reads cloud resource lifecycle and audit events from Kafka, matches them against the rules of
//! subscribed topics and delivers them by webhook, email and Slack.
//!
//! # Layout
//!
//! In the order data flows:
//!
//! - [`config`] — `router.yaml` and `topics/*.yaml`, loaded, interpolated and compiled.
//! - [`kafka`] — the consumer with its offset watermark, the dead-letter producer, the embedded broker.
//! - [`event`] — decodes a Kafka record and normalises it into an EN-style notification, per
//!   source type: resource lifecycle, Activity Tracker and UbiOps audit events, any CloudEvent.
//! - [`filter`] — the EN filter language, parsed once and evaluated per notification.
//! - [`routing`] — which topics and subscriptions a notification reaches; pure.
//! - [`render`] — Handlebars templates, one registry per output format, and default renderings.
//! - [`outbound`] — what one delivery sends: rendered per channel, through the destination's notifier.
//! - [`deliver`] — webhook, SMTP and Slack notifiers, retries and the failure classification.
//! - [`pipeline`] — one record's way from Kafka to its deliveries and its settlement.
//! - [`app`] — wires it all together and runs until shutdown.
//! - [`commands`] — the other subcommands: validate, render, publish, receive, broker, bench.
//! - [`bench`] — generated workloads for the benchmarks, and the `bench` load harness.
//! - [`telemetry`] — logging.

pub mod app;
pub mod bench;
pub mod commands;
pub mod config;
pub mod deliver;
pub mod event;
pub mod filter;
pub mod kafka;
pub mod outbound;
pub mod pipeline;
pub mod render;
pub mod routing;
pub mod telemetry;
