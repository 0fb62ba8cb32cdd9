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
//! - [`kafka`] — client settings, the offset watermark, the dead-letter and retry topics, the
//!   embedded broker.
//! - [`event`] — decodes a Kafka record and normalises it into an EN-style notification, per
//!   source type: resource lifecycle, Activity Tracker and UbiOps audit events, any CloudEvent.
//! - [`filter`] — the EN filter language, parsed once and evaluated per notification.
//! - [`routing`] — which topics and subscriptions a notification reaches; pure.
//! - [`dedup`] — drops an event read again within the de-duplication window.
//! - [`render`] — Handlebars templates, one registry per output format, and default renderings.
//! - [`outbound`] — what one delivery sends: rendered per channel, through the destination's notifier.
//! - [`deliver`] — webhook, SMTP and Slack notifiers, retry policies and the failure classification.
//! - [`lanes`] — isolation per destination: concurrency, queue bound, circuit breaker, disabling.
//! - [`delivery`] — one delivery's attempts and settlement: delivered, retry topic or dead letter.
//! - [`pipeline`] — one record's way from Kafka to its deliveries and its settlement.
//! - [`retrying`] — the retry consumer: the retry topic read back and re-delivered when due.
//! - [`reload`] — the configuration in effect, reloaded live on SIGHUP, file change or API call.
//! - [`app`] — wires it all together and runs until shutdown.
//! - [`admin`] — the admin HTTP server: probes, [`metrics`], an API shaped like EN's, reloads.
//! - [`commands`] — the other subcommands: validate, explain, render, publish, receive, keys,
//!   dead-letters, broker, bench.
//! - [`secret`] — the redacting [`Secret`](secret::Secret) type every credential is held in.
//! - [`bench`] — generated workloads for the benchmarks, and the `bench` load harness.
//! - [`telemetry`] — logging.

pub mod admin;
pub mod app;
pub mod bench;
pub mod commands;
pub mod config;
pub mod dedup;
pub mod deliver;
pub mod delivery;
pub mod event;
pub mod filter;
pub mod kafka;
pub mod lanes;
pub mod metrics;
pub mod outbound;
pub mod pipeline;
pub mod reload;
pub mod render;
pub mod retrying;
pub mod routing;
pub mod secret;
pub mod telemetry;
