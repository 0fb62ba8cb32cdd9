//! # notification-router
//!
//! Reads cloud resource lifecycle and audit events from Kafka, matches them against the rules of
//! subscribed topics and delivers them by webhook, email, Slack, PagerDuty, Teams and Kafka.
//!
//! # Layout
//!
//! One folder per layer, in the order data flows: Kafka records in → one record processed →
//! deliveries dispatched → channels send → retry / dead letter → offsets committed.
//!
//! - [`config`] — `router.yaml` and `topics/*.yaml`: loaded, interpolated, validated, compiled.
//! - [`kafka`] — Kafka client settings, TLS, the embedded broker, the key that authenticates the
//!   router's own records.
//! - [`consumer`] — the sources' consume loop, back-pressure, the offset watermark, rebalances.
//! - [`event`] — a Kafka record decoded and normalised into an EN-style notification, per
//!   source type: resource lifecycle, Activity Tracker and UbiOps audit events, any CloudEvent.
//! - [`filter`] — the EN filter language, parsed once and evaluated per notification.
//! - [`routing`] — which topics and subscriptions a notification reaches; pure.
//! - [`mute`] — mute windows: named time intervals in Alertmanager's syntax, evaluated at an
//!   instant.
//! - [`silence`] — silences made through the admin API, kept fleet-wide in the control topic.
//! - [`dedup`] — drops an event read again within the de-duplication window.
//! - [`process`] — one record: normalise → de-duplicate → route → dispatch → settle.
//! - [`dispatch`] — one delivery's attempts and settlement (delivered, retry topic or dead
//!   letter), the in-process retry schedule, and the lanes that isolate destinations.
//! - [`channels`] — webhook, email, Slack, PagerDuty, Teams and Kafka, a folder each (config, notifier, target): a
//!   subscription compiled with its destination is one typed target that renders, sends, previews.
//! - [`render`] — Handlebars templates, one registry per output format, and default renderings.
//! - [`retry`] — the retry topic, written and read back by the retry consumer when due.
//! - [`digest`] — digests: a subscription's notifications gathered per group in the digest topic
//!   and sent as one message per group by the instance that owns the group's partition.
//! - [`dead_letter`] — the dead-letter topic and the one place its headers are built; the topic
//!   read back and replayed (`dead-letters`, the console).
//! - [`control`] — the control topic every instance reads: sources, destinations and
//!   subscriptions turned on or off at runtime, applied over the files.
//! - [`impact`] — what a proposed configuration changes in the deliveries of recent traffic.
//! - [`reload`] — the configuration in effect, reloaded live on SIGHUP, file change or API call.
//! - [`ledger`] — every delivery's latest state and attempts, in a compacted topic and a local
//!   store on every instance, for the delivery API.
//! - [`admin`] — the admin HTTP server: probes, metrics, an API shaped like EN's, reloads, and
//!   the operator console under `/ui/`.
//! - [`app`] — wires it all together and runs until shutdown.
//! - [`cli`] — the other subcommands: validate, explain, impact, render, publish, receive, keys,
//!   dead-letters, deliveries, silences, broker, sources.
//! - [`secret`] — the redacting [`Secret`](secret::Secret) type every credential is held in.
//! - [`telemetry`] — logs and metrics.
//!
//! Unit tests live in the module they test: `#[cfg(test)] mod tests` inline, or, once they outgrow
//! the file, in `tests.rs` or a `tests/` folder beside it; the stand-ins come from `testkit`.
//!
//! Only what the binary, the tests, the benchmarks and the fuzz targets use is `pub`; the rest is
//! `pub(crate)`, which `unreachable_pub` keeps so.

#![warn(unreachable_pub)]

pub mod admin;
pub mod app;
pub mod channels;
pub mod cli;
pub mod config;
pub(crate) mod consumer;
pub(crate) mod control;
pub(crate) mod dead_letter;
pub(crate) mod dedup;
pub(crate) mod digest;
pub(crate) mod dispatch;
pub mod event;
pub mod filter;
pub(crate) mod impact;
pub mod kafka;
pub(crate) mod ledger;
pub(crate) mod mute;
pub(crate) mod process;
pub(crate) mod reload;
pub mod render;
pub(crate) mod retry;
pub mod routing;
pub mod secret;
pub(crate) mod silence;
pub mod telemetry;
