//! Integration tests: the router against librdkafka's mock cluster, real HTTP receivers and a
//! real SMTP server.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod admin;
mod api;
mod auth;
mod bad_input;
mod catalogue_events;
mod cli;
mod crash;
mod dead_letters;
mod delivery;
mod digests;
mod docs;
mod email;
mod fleet;
mod impact;
mod isolation;
mod kafka_destination;
mod kafka_tls;
mod mute;
mod pagerduty;
mod rate_limits;
mod reload;
mod restart;
mod retries;
mod routing;
mod secrets;
mod security;
mod silences;
mod slack;
mod sources;
mod support;
mod teams;
