//! The retry topic: deliveries waiting for their next long retry, keyed by `webhook-id`, and the
//! tombstones that mark one settled.
//!
//! Every record of one delivery has the same key, so they all land on one partition, in the
//! order they were written: a later record of a key replaces an earlier one (the next step of
//! its schedule, or a replay), and a tombstone (no value) settles the records of its key up to
//! the offset in its [`SETTLES`] header. The retry consumer relies on this to read the topic
//! back after a crash without repeating what was already done; it also lets the topic be
//! compacted (`cleanup.policy=compact,delete`).
//!
//! Every record carries an authentication code under `kafka.internal_key` ([`InternalKey`]):
//! the retry consumer delivers nothing it cannot verify.

use rdkafka::error::KafkaError;
use rdkafka::producer::FutureProducer;

use crate::kafka::{InternalKey, OwnTopic};

/// Header of a tombstone: the highest offset of its key it settles.
pub(crate) const SETTLES: &str = "retry-settles";
/// Header of a retry record: when it is due (RFC 3339), for people reading the topic.
pub(super) const DUE: &str = "retry-due";

/// Writes retry records and tombstones, each acknowledged by the broker before returning.
#[derive(Clone)]
pub struct RetryTopic(OwnTopic);

impl RetryTopic {
    pub fn new(producer: FutureProducer, topic: String, key: InternalKey) -> Self {
        Self(OwnTopic::new(producer, topic, key))
    }

    pub fn topic(&self) -> &str {
        self.0.topic()
    }

    /// The key its records are authenticated with, for the consumer that reads them back.
    pub fn key(&self) -> &InternalKey {
        self.0.key()
    }

    /// Writes a delivery waiting for its retry; returns its (partition, offset).
    pub async fn send(&self, key: &str, value: &[u8], due: &str) -> Result<(i32, i64), KafkaError> {
        self.0.send(key, Some(value), (DUE, due), None).await
    }

    /// Writes a tombstone: the delivery `key` is settled up to `offset` of its partition.
    pub async fn settle(&self, key: &str, offset: i64) -> Result<(), KafkaError> {
        let offset = offset.to_string();
        self.0
            .send(key, None, (SETTLES, &offset), None)
            .await
            .map(|_| ())
    }
}
