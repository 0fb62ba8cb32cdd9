//! The Kafka notifier: the notification (or a template's output) produced to a topic of the
//! router's cluster or another, keyed by the delivery's `webhook-id`, with CloudEvents Kafka
//! binary-mode headers (`ce_specversion`, `ce_id`, `ce_source`, `ce_type`, `ce_time`,
//! `ce_subject`, `content-type`).
//!
//! Delivered means acknowledged by all in-sync replicas (`acks=all`, idempotent producer); a
//! retry after a lost acknowledgement may write the record twice (at least once), with the
//! same key and `ce_id` for consumers to de-duplicate on.
//!
//! - [`config`]: the destination as `router.yaml` writes it;
//! - `target`: a subscription bound to the notifier: rendered, sent, previewed.

pub mod config;
mod target;

#[cfg(test)]
mod tests;

pub use config::{Attributes, KafkaDestination};
pub use target::{Message, Target};

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use rdkafka::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use serde_json::Value;

use crate::channels::{Delivered, DeliveryError};
use crate::secret::Secret;

/// Where a Kafka destination produces.
#[derive(Clone)]
pub struct KafkaSettings {
    pub topic: String,
    pub brokers: String,
    /// librdkafka properties of the cluster; values are secrets.
    pub properties: BTreeMap<String, Secret>,
    /// How long a record may wait for its acknowledgement.
    pub timeout: Duration,
}

impl fmt::Debug for KafkaSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaSettings")
            .field("topic", &self.topic)
            .field("brokers", &self.brokers)
            .field("properties", &self.properties.keys().collect::<Vec<_>>())
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The CloudEvents binary-mode headers of `notification`, in order.
pub fn headers(notification: &Value) -> Vec<(&'static str, String)> {
    let text = |field: &str| notification.get(field).and_then(Value::as_str);
    let mut all = vec![("ce_specversion", "1.0".to_owned())];
    for (header, field) in [
        ("ce_id", "id"),
        ("ce_source", "source"),
        ("ce_type", "type"),
        ("ce_time", "time"),
        ("ce_subject", "subject"),
    ] {
        if let Some(value) = text(field) {
            all.push((header, value.to_owned()));
        }
    }
    all.push(("content-type", "application/json".to_owned()));
    all
}

/// Produces to one Kafka destination; cheap to clone. The producer is made at the first send,
/// so `render` and `explain` never connect.
#[derive(Clone)]
pub struct KafkaNotifier {
    settings: Arc<KafkaSettings>,
    producer: Arc<OnceLock<Result<FutureProducer, String>>>,
}

impl KafkaNotifier {
    pub fn new(settings: KafkaSettings) -> Self {
        KafkaNotifier {
            settings: Arc::new(settings),
            producer: Arc::new(OnceLock::new()),
        }
    }

    fn producer(&self) -> Result<&FutureProducer, DeliveryError> {
        let made = self.producer.get_or_init(|| {
            let settings = &self.settings;
            let mut config = ClientConfig::new();
            for (key, value) in &settings.properties {
                config.set(key, value.expose());
            }
            config
                .set("bootstrap.servers", &settings.brokers)
                .set("acks", "all")
                .set("enable.idempotence", "true")
                .set(
                    "message.timeout.ms",
                    settings.timeout.as_millis().max(1).to_string(),
                );
            config.create().map_err(|e| e.to_string())
        });
        made.as_ref().map_err(|why| {
            DeliveryError::permanent(format!(
                "cannot make a producer for {}: {why}",
                self.settings.brokers
            ))
        })
    }

    /// One attempt: produces `body` keyed by `key` with `headers`, waiting for the cluster's
    /// acknowledgement. Refusals no retry can fix (too large, not authorised, an invalid
    /// topic) are permanent; the rest (timeouts, unreachable brokers) retryable.
    pub async fn send(
        &self,
        key: &str,
        body: &Bytes,
        headers: &[(&'static str, String)],
    ) -> Result<Delivered, DeliveryError> {
        let producer = self.producer()?;
        let mut owned = OwnedHeaders::new_with_capacity(headers.len());
        for (name, value) in headers {
            owned = owned.insert(Header {
                key: name,
                value: Some(value.as_bytes()),
            });
        }
        let record = FutureRecord::to(&self.settings.topic)
            .key(key)
            .payload(body.as_ref())
            .headers(owned);
        match producer
            .send(record, Timeout::After(self.settings.timeout))
            .await
        {
            Ok(_) => Ok(Delivered {
                status: 0,
                attempts: 1,
            }),
            Err((error, _)) => Err(self.failure(&error)),
        }
    }

    fn failure(&self, error: &KafkaError) -> DeliveryError {
        let message = format!(
            "producing to {} on {} failed: {error}",
            self.settings.topic, self.settings.brokers
        );
        let permanent = matches!(
            error.rdkafka_error_code(),
            Some(
                RDKafkaErrorCode::MessageSizeTooLarge
                    | RDKafkaErrorCode::InvalidMessageSize
                    | RDKafkaErrorCode::InvalidMessage
                    | RDKafkaErrorCode::TopicAuthorizationFailed
                    | RDKafkaErrorCode::ClusterAuthorizationFailed
                    | RDKafkaErrorCode::InvalidTopic
                    | RDKafkaErrorCode::InvalidRecord
            )
        );
        if permanent {
            DeliveryError::permanent(message)
        } else {
            DeliveryError::retryable(message)
        }
    }

    /// What [`send`](Self::send) would produce, as text for a person.
    pub fn preview(&self, key: &str, body: &[u8], headers: &[(&'static str, String)]) -> String {
        let mut out = format!(
            "PRODUCE {} on {} (acks=all)\nkey: {key}\n",
            self.settings.topic, self.settings.brokers
        );
        for (name, value) in headers {
            out.push_str(&format!("{name}: {value}\n"));
        }
        out.push('\n');
        out.push_str(&crate::channels::pretty_json(body));
        out
    }
}

impl fmt::Debug for KafkaNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaNotifier")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}
