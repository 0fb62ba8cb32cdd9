//! The silences topic: one record per silence, keyed by its id, its value the silence as JSON
//! and authenticated under `kafka.internal_key` like the retry records. Compacted: the latest
//! record of an id is the silence; expiring one writes it again with `ends_at` set to now.
//!
//! Every instance reads the whole topic from the start and follows it (assigned every partition,
//! not subscribed in a group), so each knows every silence. The records are shaped to be carried
//! over unchanged into a fleet-wide control topic.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Header, Headers, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use rdkafka::{Message, Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::{Silence, Silences};
use crate::config::KafkaSettings;
use crate::kafka::assigned::{self, ReadEnd};
use crate::kafka::{AUTH_HEADER, InternalKey};

/// Writes silences, each acknowledged by the broker before returning.
#[derive(Clone)]
pub struct SilenceTopic {
    producer: FutureProducer,
    topic: String,
    key: InternalKey,
}

/// Why the silences topic cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum TopicError {
    #[error("the silences topic {0:?}: {1}")]
    Kafka(String, rdkafka::error::KafkaError),
}

impl SilenceTopic {
    pub fn new(producer: FutureProducer, topic: String, key: InternalKey) -> Self {
        Self {
            producer,
            topic,
            key,
        }
    }

    /// Writes `silence` as its id's latest record.
    pub async fn write(&self, silence: &Silence) -> Result<(), TopicError> {
        let value = serde_json::to_vec(silence).expect("a silence always serialises");
        let code = self
            .key
            .sign(&self.topic, Some(silence.id.as_bytes()), Some(&value), &[]);
        let headers = OwnedHeaders::new().insert(Header {
            key: AUTH_HEADER,
            value: Some(code.as_bytes()),
        });
        let record = FutureRecord::to(&self.topic)
            .key(silence.id.as_str())
            .payload(&value)
            .headers(headers);
        self.producer
            .send(record, Timeout::After(Duration::from_secs(30)))
            .await
            .map(|_| ())
            .map_err(|(error, _)| TopicError::Kafka(self.topic.clone(), error))
    }
}

/// Reads the silences topic from its start into `silences` and follows it until shutdown.
/// Records without a valid authentication code, or that are not a valid silence, are skipped
/// and logged. After an outage, starts over with a new client (see [`assigned`]).
pub(crate) async fn follow(
    settings: &KafkaSettings,
    brokers: &str,
    topic: &str,
    silences: Arc<Silences>,
    shutdown: CancellationToken,
) -> Result<(), TopicError> {
    // Where reading goes on after an outage: the next offset of each partition.
    let mut next = HashMap::new();
    loop {
        let Some(consumer) = assign(settings, brokers, topic, &next, &shutdown).await? else {
            return Ok(());
        };
        if read(settings, topic, consumer, &silences, &mut next, &shutdown).await
            == ReadEnd::Shutdown
        {
            return Ok(());
        }
        info!(
            message = "No Kafka broker answers: the silences topic is read again from its start once one does.",
            topic
        );
    }
}

/// A consumer of every partition of `topic` once the topic exists, from `next` where the
/// partition still holds it (after an outage), else from its start (a broker back without its
/// data); `None` when `shutdown` came first.
async fn assign(
    settings: &KafkaSettings,
    brokers: &str,
    topic: &str,
    next: &HashMap<i32, i64>,
    shutdown: &CancellationToken,
) -> Result<Option<StreamConsumer>, TopicError> {
    let consumer: StreamConsumer = crate::kafka::consumer_config(settings, brokers)
        .set("group.id", format!("{}.silences", settings.group_id))
        .set("enable.auto.commit", "false")
        .create()
        .map_err(|e| TopicError::Kafka(topic.to_owned(), e))?;
    let consumer = Arc::new(consumer);
    let mut waited = 0u32;
    let partitions = loop {
        let (c, t) = (consumer.clone(), topic.to_owned());
        // None while no broker answers (that is said by the brokers' health, not here).
        let found = tokio::task::spawn_blocking(move || {
            let metadata = c.fetch_metadata(Some(&t), Duration::from_secs(5)).ok()?;
            let partitions = metadata
                .topics()
                .first()
                .map_or(0, |t| t.partitions().len());
            (0..i32::try_from(partitions).unwrap_or(i32::MAX))
                .map(|p| c.fetch_watermarks(&t, p, Duration::from_secs(5)).ok())
                .collect::<Option<Vec<(i64, i64)>>>()
        })
        .await
        .unwrap_or(None);
        match found {
            Some(watermarks) if watermarks.is_empty() => {
                waited += 1;
                if waited == 20 {
                    warn!(
                        message = "The silences topic does not exist yet: no silence applies until it does; create it (cleanup.policy=compact).",
                        topic
                    );
                }
            }
            Some(watermarks) => break watermarks,
            None => {}
        }
        tokio::select! {
            () = shutdown.cancelled() => return Ok(None),
            () = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    };
    let consumer = Arc::into_inner(consumer).expect("the metadata task has ended");
    let mut assignment = TopicPartitionList::new();
    for (partition, (low, high)) in (0..).zip(&partitions) {
        let from = next
            .get(&partition)
            .filter(|next| (*low..=*high).contains(*next))
            .map_or(Offset::Beginning, |next| Offset::Offset(*next));
        assignment
            .add_partition_offset(topic, partition, from)
            .map_err(|e| TopicError::Kafka(topic.to_owned(), e))?;
    }
    let partitions = partitions.len();
    consumer
        .assign(&assignment)
        .map_err(|e| TopicError::Kafka(topic.to_owned(), e))?;
    info!(message = "Following the silences topic.", topic, partitions);
    Ok(Some(consumer))
}

/// Applies what `consumer` reads to `silences` until shutdown or an outage (the consumer is
/// then closed).
async fn read(
    settings: &KafkaSettings,
    topic: &str,
    consumer: StreamConsumer,
    silences: &Silences,
    next: &mut HashMap<i32, i64>,
    shutdown: &CancellationToken,
) -> ReadEnd {
    let key = InternalKey::of(settings);
    loop {
        let message = tokio::select! {
            () = shutdown.cancelled() => return ReadEnd::Shutdown,
            message = consumer.recv() => message,
        };
        let message = match message {
            Ok(message) => message,
            Err(error) if assigned::is_outage(&error) => {
                assigned::close_in_background(consumer);
                return ReadEnd::Outage;
            }
            Err(error) => {
                warn!(message = "Cannot read the silences topic; retrying.", topic, %error);
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        next.insert(message.partition(), message.offset() + 1);
        let headers: Vec<(&str, Option<&[u8]>)> = message
            .headers()
            .map(|h| h.iter().map(|h| (h.key, h.value)).collect())
            .unwrap_or_default();
        if let Err(why) = key.verify(topic, message.key(), message.payload(), &headers) {
            warn!(message = "Silence record skipped: not authentic.", topic, offset = message.offset(), why = %why);
            continue;
        }
        let id = String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned();
        let Some(value) = message.payload() else {
            silences.remove(&id);
            continue;
        };
        let applied = serde_json::from_slice::<Silence>(value)
            .map_err(|e| e.to_string())
            .and_then(|s| silences.put(s).map_err(|e| e.to_string()));
        if let Err(why) = applied {
            warn!(
                message = "Silence record skipped: not a valid silence.",
                topic,
                offset = message.offset(),
                id,
                why
            );
        }
    }
}
