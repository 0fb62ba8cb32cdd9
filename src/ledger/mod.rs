//! The delivery ledger: each delivery's latest state with its last attempts (delivered, handed to
//! the retry topic and when it is due, dead-lettered and why, paused), written to a compacted
//! topic keyed by `webhook-id` (`ledger.topic`) and materialised by every instance into a local
//! store (`ledger.store`, a redb file), which the admin API answers from.
//!
//! Writing is off the delivery's critical path: an entry goes into a bounded queue that a writer
//! task sends through a producer of its own (with `linger.ms`); a full queue or a write Kafka
//! refuses is counted (`ledger_writes_failed_total`) and logged, and never holds up or loses a
//! delivery. The store is a cache: deleted, it is rebuilt from the topic.

mod reader;
pub(crate) mod record;
pub(crate) mod store;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use tokio::sync::mpsc;
use tracing::warn;

pub(crate) use reader::run;
pub(crate) use record::{Entry, State};
pub(crate) use store::{Query, Store, StoreError};

use crate::config::KafkaSettings;
use crate::dispatch::Job;
use crate::kafka::{self, AUTH_HEADER, InternalKey};
use crate::telemetry::metrics;

/// Entries waiting for the writer; beyond this they are dropped (and counted).
const QUEUE: usize = 10_000;

/// How long the writer's producer waits to fill a batch.
const LINGER_MS: &str = "20";

/// Where deliveries record their story: a queue to the writer task.
#[derive(Clone)]
pub struct Ledger {
    queue: mpsc::Sender<Entry>,
    instance: Arc<str>,
    dropped: Arc<AtomicU64>,
}

impl Ledger {
    /// Starts the writer task of `topic`, with records authenticated under `key`.
    pub fn start(
        settings: &KafkaSettings,
        brokers: &str,
        topic: &str,
        key: InternalKey,
        instance: &str,
    ) -> Result<Self, rdkafka::error::KafkaError> {
        let mut config = kafka::producer_config(settings, brokers);
        // The router creates the topic itself, compacted: a broker must never make it on a
        // write (with its defaults), and a missing topic must not hold up the broker.
        config
            .set("linger.ms", LINGER_MS)
            .set("acks", "1")
            .set("compression.type", "lz4")
            .set("allow.auto.create.topics", "false");
        let producer: FutureProducer = config.create()?;
        let (queue, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(write(producer, topic.to_owned(), key, receiver));
        Ok(Self {
            queue,
            instance: instance.into(),
            dropped: Arc::default(),
        })
    }

    /// Records `job` at `state` (each of its deliveries, for a digest); never waits.
    pub fn record(&self, job: &Job, state: State, reason: Option<String>) {
        if job.digest.is_some() {
            for entry in Entry::of_digest(job, state, reason.as_deref(), &self.instance) {
                self.queue_entry(entry, job);
            }
            return;
        }
        self.queue_entry(Entry::of(job, state, reason, &self.instance), job);
    }

    fn queue_entry(&self, entry: Entry, job: &Job) {
        if self.queue.try_send(entry).is_err() {
            metrics::global().ledger_writes_failed.inc();
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed);
            if dropped.is_power_of_two() || dropped == 0 {
                warn!(message = "Ledger queue full: an entry was not written (the delivery itself is unaffected).", webhook_id = %job.webhook_id, dropped = dropped + 1);
            }
        }
    }
}

/// Sends each queued entry; a failure is counted and logged.
async fn write(
    producer: FutureProducer,
    topic: String,
    key: InternalKey,
    mut entries: mpsc::Receiver<Entry>,
) {
    while let Some(entry) = entries.recv().await {
        let value = entry.to_json();
        let code = key.sign(&topic, Some(entry.webhook_id.as_bytes()), Some(&value), &[]);
        let headers = OwnedHeaders::new().insert(Header {
            key: AUTH_HEADER,
            value: Some(code.as_bytes()),
        });
        let record = FutureRecord::to(&topic)
            .key(&entry.webhook_id)
            .payload(&value)
            .headers(headers);
        match producer.send_result(record) {
            Ok(delivery) => {
                let webhook_id = entry.webhook_id.clone();
                tokio::spawn(async move {
                    if let Ok(Err((error, _))) = delivery.await {
                        metrics::global().ledger_writes_failed.inc();
                        warn!(message = "A ledger entry was not written (the delivery itself is unaffected).", %webhook_id, %error);
                    }
                });
            }
            Err((error, _)) => {
                metrics::global().ledger_writes_failed.inc();
                warn!(message = "A ledger entry was not written (the delivery itself is unaffected).", webhook_id = %entry.webhook_id, %error);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}
