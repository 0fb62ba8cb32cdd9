//! Reads the dead-letter topic from its start to where it ends when the command starts.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Headers;
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

use super::entry::Entry;

/// How long any one broker request may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Every record of `topic` up to its current end, in partition then offset order. Blocking:
/// run it on a blocking thread.
pub fn read_all(client: ClientConfig, topic: &str) -> anyhow::Result<Vec<Entry>> {
    let consumer: BaseConsumer = client.create().context("cannot create a Kafka consumer")?;
    let metadata = consumer
        .fetch_metadata(Some(topic), TIMEOUT)
        .with_context(|| format!("cannot read the metadata of {topic}"))?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .filter(|t| t.name() == topic && t.error().is_none())
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    if partitions.is_empty() {
        bail!("the topic {topic} does not exist (or has no partitions)");
    }
    let mut ends = BTreeMap::new();
    let mut list = TopicPartitionList::new();
    for partition in &partitions {
        let (low, high) = consumer
            .fetch_watermarks(topic, *partition, TIMEOUT)
            .with_context(|| format!("cannot read where {topic}/{partition} ends"))?;
        if high > low {
            ends.insert(*partition, high);
            list.add_partition_offset(topic, *partition, Offset::Offset(low))?;
        }
    }
    let mut entries = Vec::new();
    if ends.is_empty() {
        return Ok(entries);
    }
    consumer.assign(&list)?;
    let mut deadline = Instant::now() + TIMEOUT;
    while !ends.is_empty() {
        if Instant::now() > deadline {
            bail!(
                "timed out reading {topic}: partitions {:?} not read to their end",
                ends.keys()
            );
        }
        let Some(message) = consumer.poll(Duration::from_millis(500)) else {
            continue;
        };
        let message = message.with_context(|| format!("cannot read {topic}"))?;
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
