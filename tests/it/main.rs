//! Integration tests: the router against librdkafka's mock cluster and real HTTP receivers.

mod bad_input;
mod catalogue_events;
mod cli;
mod delivery;
mod restart;
mod routing;
mod sources;
mod support;
