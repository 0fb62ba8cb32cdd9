//! Integration tests: the router against librdkafka's mock cluster and real HTTP receivers.

mod bad_input;
mod cli;
mod delivery;
mod restart;
mod routing;
mod support;
