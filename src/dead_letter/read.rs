//! Reads the dead-letter topic from its start to where it ends when the reading starts.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Headers;
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

use super::entry::Entry;
use super::replay::ReplayError;

/// How long any one broker request may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Every record of `topic` up to its current end, in partition then offset order. Blocking:
/// run it on a blocking thread.
pub(super) fn read_all(client: ClientConfig, topic: &str) -> Result<Vec<Entry>, ReplayError> {
    let kafka = |what: String| {
        move |e: rdkafka::error::KafkaError| ReplayError::Kafka(format!("{what}: {e}"))
    };
    let consumer: BaseConsumer = client
        .create()
        .map_err(kafka("cannot create a Kafka consumer".into()))?;
    let metadata = consumer
        .fetch_metadata(Some(topic), TIMEOUT)
        .map_err(kafka(format!("cannot read the metadata of {topic}")))?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .filter(|t| t.name() == topic && t.error().is_none())
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    if partitions.is_empty() {
        return Err(ReplayError::NoTopic(topic.to_owned()));
    }
    let mut ends = BTreeMap::new();
    let mut list = TopicPartitionList::new();
    for partition in &partitions {
        let (low, high) = consumer
            .fetch_watermarks(topic, *partition, TIMEOUT)
            .map_err(kafka(format!("cannot read where {topic}/{partition} ends")))?;
        if high > low {
            ends.insert(*partition, high);
            list.add_partition_offset(topic, *partition, Offset::Offset(low))
                .map_err(kafka(format!("cannot read {topic}/{partition}")))?;
        }
    }
    let mut entries = Vec::new();
    if ends.is_empty() {
        return Ok(entries);
    }
    consumer
        .assign(&list)
        .map_err(kafka(format!("cannot read {topic}")))?;
    let mut deadline = Instant::now() + TIMEOUT;
    while !ends.is_empty() {
        if Instant::now() > deadline {
            return Err(ReplayError::Kafka(format!(
                "timed out reading {topic}: partitions {:?} not read to their end",
                ends.keys()
            )));
        }
        let Some(message) = consumer.poll(Duration::from_millis(500)) else {
            continue;
        };
        let message = message.map_err(kafka(format!("cannot read {topic}")))?;
        deadline = Instant::now() + TIMEOUT;
        let partition = message.partition();
        if ends
            .get(&partition)
            .is_some_and(|end| message.offset() + 1 >= *end)
        {
            ends.remove(&partition);
        }
        let raw_headers: Vec<(String, Option<Vec<u8>>)> = message
            .headers()
            .map(|headers| {
                headers
                    .iter()
                    .map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec)))
                    .collect()
            })
            .unwrap_or_default();
        let headers = raw_headers
            .iter()
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_deref().unwrap_or_default());
                (name.clone(), value.into_owned())
            })
            .collect();
        entries.push(Entry {
            partition,
            offset: message.offset(),
            time: message
                .timestamp()
                .to_millis()
                .and_then(DateTime::<Utc>::from_timestamp_millis),
            headers,
            value: message.payload().unwrap_or_default().to_vec(),
            key: message.key().map(<[u8]>::to_vec),
            raw_headers,
        });
    }
    entries.sort_by_key(|e| (e.partition, e.offset));
    Ok(entries)
}
