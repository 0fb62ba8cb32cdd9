//! Integration tests: the router against librdkafka's mock cluster, real HTTP receivers and a
//! real SMTP server.

mod bad_input;
mod bench;
mod catalogue_events;
mod cli;
mod delivery;
mod email;
mod restart;
mod routing;
mod slack;
#[path = "../../src/deliver/slack_test_server.rs"]
mod slack_test_server;
#[path = "../../src/deliver/smtp_test_server.rs"]
mod smtp_test_server;
mod sources;
mod support;
