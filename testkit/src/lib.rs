//! Stand-ins and helpers for the router's tests: the only place tests get them. Servers listen
//! on `127.0.0.1:0`; waits fail the test after a timeout, never sleep a fixed time.
//!
//! - [`receiver`] — the HTTP receiver: scripted answers, silence or held requests, with every
//!   answered request on a channel, with its time.
//! - [`slack`] — Slack's incoming webhook and `chat.postMessage`, scripted.
//! - [`oauth2`] — an OAuth2 token endpoint (client credentials) and a receiver requiring its tokens.
//! - [`pagerduty`] — PagerDuty's Events API v2: events checked against its schema, incidents kept.
//! - [`smtp`] — an SMTP server with scripted refusals that keeps every accepted message.
//! - [`kafka`] — librdkafka's mock cluster; producing, reading and measuring topics.
//! - [`tls`] — a test certificate authority, and a TLS listener in front of a plain server.
//! - [`teams`] — a Teams Workflows webhook: Adaptive Cards checked against the schema.
//! - [`tansu`] — the standalone `tansu` broker as a process of its own.
//! - [`process`] — the router's binary run as processes: the broker, the router, its commands.
//! - [`router`] — the router without its types: its configuration written to a folder, the
//!   events it reads, what its dead letters say.
//!
//! It does not depend on the router: its unit tests use it too, and would otherwise see two
//! copies of the router's types.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

pub mod kafka;
pub mod oauth2;
pub mod pagerduty;
pub mod process;
pub mod receiver;
pub mod router;
pub mod slack;
pub mod smtp;
pub mod tansu;
pub mod teams;
pub mod tls;
