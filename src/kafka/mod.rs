//! Kafka clients: the consumer and producer settings every client of the router is built from,
//! TLS and client error reporting, whether the brokers can be reached, and the embedded broker for a first run.
//!
//! The guarantee the consumers keep is at least once: see [`crate::consumer`].

pub(crate) mod assigned;
mod client;
mod embedded;
mod health;
mod internal_key;
mod own_topic;
mod properties;
mod tls;

pub use client::{
    CLEARTEXT_SASL_MECHANISMS, CODE_LOADING_PROPERTIES, MANAGED_PROPERTIES,
    SHELL_INTERPOLATED_PROPERTIES, brokers_are_loopback, consumer_config, producer_config,
    producer_properties,
};
pub use embedded::{EmbeddedError, EmbeddedKafka};
pub use health::KafkaHealth;
pub use internal_key::{AUTH_HEADER, InternalKey, MIN_KEY_BYTES, Unauthentic};
pub use own_topic::OwnTopic;
pub use properties::refused_properties;
pub(crate) use tls::report_client_error;
