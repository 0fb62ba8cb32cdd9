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

use std::time::Duration;

use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;

use crate::kafka::{AUTH_HEADER, InternalKey};

/// Header of a tombstone: the highest offset of its key it settles.
pub(crate) const SETTLES: &str = "retry-settles";
/// Header of a retry record: when it is due (RFC 3339), for people reading the topic.
pub(super) const DUE: &str = "retry-due";

/// Writes retry records and tombstones, each acknowledged by the broker before returning.
#[derive(Clone)]
pub struct RetryTopic {
    producer: FutureProducer,
    topic: String,
    key: InternalKey,
}

impl RetryTopic {
    pub fn new(producer: FutureProducer, topic: String, key: InternalKey) -> Self {
        Self {
            producer,
            topic,
            key,
        }
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The key its records are authenticated with, for the consumer that reads them back.
    pub fn key(&self) -> &InternalKey {
        &self.key
    }

    /// The headers of a record: `name` = `value`, then the authentication code of it all.
    fn headers(&self, key: &str, value: Option<&[u8]>, name: &str, header: &str) -> OwnedHeaders {
        let code = self.key.sign(
            &self.topic,
            Some(key.as_bytes()),
            value,
            &[(name, Some(header.as_bytes()))],
        );
        OwnedHeaders::new()
            .insert(Header {
                key: name,
                value: Some(header.as_bytes()),
            })
            .insert(Header {
                key: AUTH_HEADER,
                value: Some(code.as_bytes()),
            })
    }

    /// Writes a delivery waiting for its retry; returns its (partition, offset).
    pub async fn send(
        &self,
        key: &str,
        value: &[u8],
        due: &str,
    ) -> Result<(i32, i64), rdkafka::error::KafkaError> {
        let headers = self.headers(key, Some(value), DUE, due);
        let record = FutureRecord::to(&self.topic)
            .key(key)
            .payload(value)
            .headers(headers);
        self.deliver(record).await
    }

    /// Writes a tombstone: the delivery `key` is settled up to `offset` of its partition.
    pub async fn settle(&self, key: &str, offset: i64) -> Result<(), rdkafka::error::KafkaError> {
        let offset = offset.to_string();
        let headers = self.headers(key, None, SETTLES, &offset);
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
