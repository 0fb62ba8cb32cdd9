//! Configuration: the files a user writes (`router.yaml`, `topics/*.yaml`), loaded and checked.
//!
//! Loading is two steps: [`load`] reads the files, interpolates `${VAR}` and deserialises them
//! into the plain structs of [`files`]; [`compile`] checks every reference and filter and builds
//! the immutable [`RoutingTable`](crate::routing::RoutingTable) and the
//! [`Destinations`](crate::channels::Destinations) with their subscriptions. Every problem found is reported,
//! each naming the file, the item and what would be valid. What is valid but likely a mistake (a
//! filter naming an event type no catalogue lists) is a [`ConfigWarning`]: loading goes on.

mod checks;
mod compile;
mod destinations;
mod error;
pub mod files;
mod interpolate;
mod load;
mod toggle;
mod topics;
mod warnings;

pub use checks::{NameError, TopicNameError, check_kafka_topic_name};
pub use compile::{Compiled, compile};
pub use error::{ConfigError, ConfigErrors};
pub use files::{KafkaSettings, ProxyError, RouterFile};
pub use load::{Config, load, load_with};
pub use toggle::{ToggleError, set_source_enabled};
pub use warnings::ConfigWarning;

#[cfg(test)]
mod tests;
