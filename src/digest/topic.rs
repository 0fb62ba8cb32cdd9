//! The digest topic: notifications waiting in a digest, and the records that say a digest was
//! sealed (its members fixed) and sent, all keyed by subscription and group so that a group
//! lands on one partition, in the order written. A seal or sent record is written to the
//! partition of the entries it is about, which is not the key's once partitions are added.
//!
//! Many records share a key, so the topic must not be compacted (`cleanup.policy=delete`).
//! Every record carries an authentication code under `kafka.internal_key`, over its key, value
//! and [`KIND`] header: the digest consumer sends nothing it cannot verify.

use rdkafka::error::KafkaError;
use rdkafka::producer::FutureProducer;

use super::Kind;
use crate::kafka::{InternalKey, OwnTopic};

/// Header of every record: what it is ([`Kind`]).
pub(crate) const KIND: &str = "digest-kind";

/// Writes digest records, each acknowledged by the broker before returning.
#[derive(Clone)]
pub struct DigestTopic(OwnTopic);

impl DigestTopic {
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

    /// Writes one record of `kind`, to `partition` or (`None`) the partition of its key;
    /// returns its (partition, offset).
    pub async fn send(
        &self,
        key: &str,
        partition: Option<i32>,
        kind: Kind,
        value: &[u8],
    ) -> Result<(i32, i64), KafkaError> {
        let header = (KIND, kind.as_str());
        self.0.send(key, Some(value), header, partition).await
    }
}
