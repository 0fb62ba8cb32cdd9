//! A topic the router writes and reads back itself (the retry and digest topics): each record
//! carries an authentication code under `kafka.internal_key` over its key, value and headers,
//! and is acknowledged by the broker before a write returns.

use std::time::Duration;

use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;

use super::{AUTH_HEADER, InternalKey};

/// How long a write waits for the broker's acknowledgement.
const ACK_TIMEOUT: Duration = Duration::from_secs(30);

/// Writes authenticated records to one topic.
#[derive(Clone)]
pub struct OwnTopic {
    producer: FutureProducer,
    topic: String,
    key: InternalKey,
}

impl OwnTopic {
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

    /// Writes a record of `key` (a tombstone without `value`) with the header `name` = `header`
    /// and its authentication code, to `partition` or (`None`) the partition of its key;
    /// returns its (partition, offset).
    pub async fn send(
        &self,
        key: &str,
        value: Option<&[u8]>,
        (name, header): (&str, &str),
        partition: Option<i32>,
    ) -> Result<(i32, i64), KafkaError> {
        let code = self.key.sign(
            &self.topic,
            Some(key.as_bytes()),
            value,
            &[(name, Some(header.as_bytes()))],
        );
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: name,
                value: Some(header.as_bytes()),
            })
            .insert(Header {
                key: AUTH_HEADER,
                value: Some(code.as_bytes()),
            });
        let mut record = FutureRecord::<str, [u8]>::to(&self.topic)
            .key(key)
            .headers(headers);
        if let Some(value) = value {
            record = record.payload(value);
        }
        if let Some(partition) = partition {
            record = record.partition(partition);
        }
        self.producer
            .send(record, Timeout::After(ACK_TIMEOUT))
            .await
            .map(|delivery| (delivery.partition, delivery.offset))
            .map_err(|(error, _)| error)
    }
}
