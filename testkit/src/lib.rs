//! Stand-ins for the router's tests, each a real server on `127.0.0.1:0`: the only place tests
//! get them.
//!
//! - [`receiver`] — an HTTP receiver with scripted answers (or silence) that hands every request
//!   to a channel.
//! - [`slack`] — Slack's incoming webhook and `chat.postMessage`, scripted.
//! - [`smtp`] — an SMTP server with scripted refusals that keeps every accepted message.

pub mod receiver;
pub mod slack;
pub mod smtp;
