//! Integration tests: the router against librdkafka's mock cluster, real HTTP receivers and a
//! real SMTP server.

mod bad_input;
mod cli;
mod delivery;
mod email;
mod restart;
mod routing;
#[path = "../../src/deliver/smtp_test_server.rs"]
mod smtp_test_server;
mod support;
