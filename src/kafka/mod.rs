//! Kafka: client settings, the offset watermark, the dead-letter producer and the embedded broker.
//!
//! The guarantee is at least once: a record's offset is stored for commit only when it and every
//! earlier record of its partition are settled (delivered, or written to the dead-letter topic).
//! It stops holding where Kafka's own does: a record deleted by retention before it is read, or a
//! dead-letter topic that accepts a write and then loses it.

mod client;
mod dead_letter;
mod embedded;
mod offsets;
mod rebalance;
mod tls;

pub use client::{MANAGED_PROPERTIES, consumer_config, producer_config};
pub use dead_letter::{DeadLetter, DeadLetterReason, DeadLetters, header, truncate};
pub use embedded::EmbeddedKafka;
pub use offsets::{OffsetTracker, Offsets, Ticket};
pub use rebalance::{RebalanceContext, commit, store};
