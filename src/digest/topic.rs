//! The digest topic: notifications waiting in a digest, and the records that say a digest was
//! sealed (its members fixed) and sent, all keyed by subscription and group so that a group
//! lands on one partition, in the order written. A seal or sent record is written to the
//! partition of the entries it is about, which is not the key's once partitions are added.
//!
//! Many records share a key, so the topic must not be compacted (`cleanup.policy=delete`).
//! Every record carries an authentication code under `kafka.internal_key`, over its key, value
//! and [`KIND`] header: the digest consumer sends nothing it cannot verify.

use std::time::Duration;

use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;

use super::Kind;
use crate::kafka::{AUTH_HEADER, InternalKey};

/// Header of every record: what it is ([`Kind`]).
pub(crate) const KIND: &str = "digest-kind";

/// Writes digest records, each acknowledged by the broker before returning.
#[derive(Clone)]
pub struct DigestTopic {
    producer: FutureProducer,
    topic: String,
    key: InternalKey,
}

impl DigestTopic {
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

    /// Writes one record of `kind`, to `partition` or (`None`) the partition of its key;
    /// returns its (partition, offset).
    pub async fn send(
        &self,
        key: &str,
        partition: Option<i32>,
        kind: Kind,
        value: &[u8],
    ) -> Result<(i32, i64), rdkafka::error::KafkaError> {
        let kind = kind.as_str();
        let code = self.key.sign(
            &self.topic,
            Some(key.as_bytes()),
            Some(value),
            &[(KIND, Some(kind.as_bytes()))],
        );
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: KIND,
                value: Some(kind.as_bytes()),
            })
            .insert(Header {
                key: AUTH_HEADER,
                value: Some(code.as_bytes()),
            });
        let mut record = FutureRecord::to(&self.topic)
            .key(key)
            .payload(value)
            .headers(headers);
        if let Some(partition) = partition {
            record = record.partition(partition);
        }
        self.producer
            .send(record, Timeout::After(Duration::from_secs(30)))
            .await
            .map(|delivery| (delivery.partition, delivery.offset))
            .map_err(|(error, _)| error)
    }
}
