//! The retry topic: deliveries waiting for their next long retry, keyed by `webhook-id`, and the
//! tombstones that mark one settled.
//!
//! Every record of one delivery has the same key, so they all land on one partition, in the
//! order they were written: a later record of a key replaces an earlier one (the next step of
//! its schedule, or a replay), and a tombstone (no value) settles the records of its key up to
//! the offset in its [`SETTLES`] header. The retry consumer relies on this to read the topic
//! back after a crash without repeating what was already done; it also lets the topic be
//! compacted (`cleanup.policy=compact,delete`).

use std::time::Duration;

use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;

/// Header of a tombstone: the highest offset of its key it settles.
pub const SETTLES: &str = "retry-settles";
/// Header of a retry record: when it is due (RFC 3339), for people reading the topic.
pub const DUE: &str = "retry-due";

/// Writes retry records and tombstones, each acknowledged by the broker before returning.
#[derive(Clone)]
pub struct RetryTopic {
    producer: FutureProducer,
    topic: String,
}

impl RetryTopic {
    pub fn new(producer: FutureProducer, topic: String) -> Self {
        Self { producer, topic }
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Writes a delivery waiting for its retry; returns its (partition, offset).
    pub async fn send(
        &self,
        key: &str,
        value: &[u8],
        due: &str,
    ) -> Result<(i32, i64), rdkafka::error::KafkaError> {
        let headers = OwnedHeaders::new().insert(Header {
            key: DUE,
            value: Some(due.as_bytes()),
        });
        let record = FutureRecord::to(&self.topic)
            .key(key)
            .payload(value)
            .headers(headers);
        self.deliver(record).await
    }

    /// Writes a tombstone: the delivery `key` is settled up to `offset` of its partition.
    pub async fn settle(&self, key: &str, offset: i64) -> Result<(), rdkafka::error::KafkaError> {
        let offset = offset.to_string();
        let headers = OwnedHeaders::new().insert(Header {
            key: SETTLES,
            value: Some(offset.as_bytes()),
        });
        let record = FutureRecord::<str, [u8]>::to(&self.topic)
            .key(key)
            .headers(headers);
        self.deliver(record).await.map(|_| ())
    }

    async fn deliver(
        &self,
        record: FutureRecord<'_, str, [u8]>,
    ) -> Result<(i32, i64), rdkafka::error::KafkaError> {
        self.producer
            .send(record, Timeout::After(Duration::from_secs(30)))
            .await
            .map(|delivery| (delivery.partition, delivery.offset))
            .map_err(|(error, _)| error)
    }
}
