//! Kafka: client settings, the offset watermark, the dead-letter and retry topics, the embedded
//! broker.
//!
//! The guarantee is at least once: a record's offset is stored for commit only when it and every
//! earlier record of its partition are settled (delivered, or written to the retry or
//! dead-letter topic).
//! It stops holding where Kafka's own does: a record deleted by retention before it is read, or a
//! dead-letter topic that accepts a write and then loses it.

mod backpressure;
mod client;
mod dead_letter;
mod embedded;
mod offsets;
mod rebalance;
mod retry_topic;
mod tls;

pub use backpressure::{Backpressure, Partition, Waiting};
pub use client::{MANAGED_PROPERTIES, consumer_config, producer_config};
pub use dead_letter::{DeadLetter, DeadLetterReason, DeadLetters, header, truncate};
pub use embedded::EmbeddedKafka;
pub use offsets::{OffsetTracker, Offsets, Ticket};
pub use rebalance::{RebalanceContext, Rebalanced, commit, store};
pub use retry_topic::{DUE as RETRY_DUE, RetryTopic, SETTLES as RETRY_SETTLES};
