//! Reading the retained records of the sources' Kafka topics, read-only: a consumer of its own
//! that is assigned partitions (never a member of the router's group) and never commits.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Headers;
use rdkafka::{Message, Offset, TopicPartitionList};
use serde::Serialize;

use super::ImpactError;
use super::compare::Record;
use crate::config::KafkaSettings;
use crate::kafka;

/// How long a metadata or offset request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long reading may go without a record before the rest is given up on.
const IDLE_LIMIT: Duration = Duration::from_secs(30);

/// Which records to read: the newer of the two bounds wins.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    /// Only records at most this old.
    pub since: Option<Duration>,
    /// At most this many of each topic, the newest.
    pub last: Option<u64>,
}

/// What was read, and what the bounds left out.
#[derive(Debug, Default, Serialize)]
pub struct Coverage {
    /// Per Kafka topic: records read, and records retained but left out by the bounds.
    pub topics: Vec<TopicCoverage>,
}

#[derive(Debug, Default, Serialize)]
pub struct TopicCoverage {
    pub topic: String,
    pub read: u64,
    pub left_out: u64,
}

/// The range of one partition to read.
struct Range {
    topic: String,
    partition: i32,
    start: i64,
    end: i64,
    low: i64,
}

/// Reads the records of `topics` in `window` and hands each to `each`; `progress` is told the
/// records read so far and the most there are to read.
pub fn read(
    settings: &KafkaSettings,
    brokers: &str,
    topics: &[String],
    window: Window,
    mut each: impl FnMut(Record),
    mut progress: impl FnMut(u64, u64),
) -> Result<Coverage, ImpactError> {
    let mut config = kafka::consumer_config(settings, brokers);
    config
        .set(
            "group.id",
            format!("notification-router-impact-{}", uuid::Uuid::new_v4()),
        )
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false");
    let consumer: BaseConsumer = config
        .create()
        .map_err(ImpactError::kafka("cannot create the Kafka consumer"))?;
    let ranges = ranges(&consumer, topics, window)?;
    let cutoff = window.since.map(cutoff_ms);
    let mut coverage = Coverage {
        topics: topics
            .iter()
            .map(|t| TopicCoverage {
                topic: t.clone(),
                ..TopicCoverage::default()
            })
            .collect(),
    };
    for range in &ranges {
        if let Some(c) = coverage.topics.iter_mut().find(|c| c.topic == range.topic) {
            c.left_out += u64::try_from(range.start - range.low).unwrap_or(0);
        }
    }
    let mut assignment = TopicPartitionList::new();
    let mut pending: Vec<&Range> = Vec::new();
    for range in ranges.iter().filter(|r| r.start < r.end) {
        assignment
            .add_partition_offset(&range.topic, range.partition, Offset::Offset(range.start))
            .map_err(ImpactError::kafka("cannot assign a partition"))?;
        pending.push(range);
    }
    let total: i64 = pending.iter().map(|r| r.end - r.start).sum();
    if pending.is_empty() {
        return Ok(coverage);
    }
    consumer
        .assign(&assignment)
        .map_err(ImpactError::kafka("cannot assign the partitions"))?;
    let total = u64::try_from(total).unwrap_or(0);
    let mut read: u64 = 0;
    let mut last_record = Instant::now();
    while !pending.is_empty() {
        let Some(message) = consumer.poll(Duration::from_millis(200)) else {
            // A partition whose last offsets hold no record (compacted, or transaction
            // markers) is done once the consumer's position passes its end.
            if let Ok(positions) = consumer.position() {
                pending.retain(|r| {
                    !matches!(
                        positions
                            .find_partition(&r.topic, r.partition)
                            .map(|p| p.offset()),
                        Some(Offset::Offset(at)) if at >= r.end
                    )
                });
            }
            if last_record.elapsed() > IDLE_LIMIT {
                return Err(ImpactError::Stalled {
                    seconds: IDLE_LIMIT.as_secs(),
                    partitions: pending.len(),
                });
            }
            continue;
        };
        let message = message.map_err(ImpactError::kafka("cannot read a source topic"))?;
        last_record = Instant::now();
        let (topic, partition, offset) = (message.topic(), message.partition(), message.offset());
        let Some(at) = pending
            .iter()
            .position(|r| r.topic == topic && r.partition == partition)
        else {
            continue;
        };
        let end = pending[at].end;
        if offset >= end {
            pending.swap_remove(at);
            continue;
        }
        let too_old =
            cutoff.is_some_and(|c| message.timestamp().to_millis().is_some_and(|t| t < c));
        let coverage_of = coverage.topics.iter_mut().find(|c| c.topic == topic);
        if too_old {
            if let Some(c) = coverage_of {
                c.left_out += 1;
            }
        } else {
            if let Some(c) = coverage_of {
                c.read += 1;
            }
            each(record(&message));
        }
        read += 1;
        progress(read, total);
        if offset + 1 >= end {
            pending.swap_remove(at);
        }
    }
    Ok(coverage)
}

/// The record a message holds, owned.
fn record(message: &rdkafka::message::BorrowedMessage<'_>) -> Record {
    let headers = message
        .headers()
        .map(|h| {
            h.iter()
                .map(|header| (header.key.to_owned(), header.value.map(<[u8]>::to_vec)))
                .collect()
        })
        .unwrap_or_default();
    Record {
        topic: message.topic().to_owned(),
        value: message.payload().map(<[u8]>::to_vec),
        headers,
    }
}

/// The Kafka timestamp (milliseconds since the epoch) `age` ago.
fn cutoff_ms(age: Duration) -> i64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(now.saturating_sub(age).as_millis()).unwrap_or(i64::MAX)
}

/// Each partition's range: from the window's start (or the oldest retained record) to the
/// high watermark as it is now, so that what arrives meanwhile is not waited for.
fn ranges(
    consumer: &BaseConsumer,
    topics: &[String],
    window: Window,
) -> Result<Vec<Range>, ImpactError> {
    let mut ranges = Vec::new();
    for topic in topics {
        let metadata = consumer
            .fetch_metadata(Some(topic), REQUEST_TIMEOUT)
            .map_err(ImpactError::kafka("cannot read a topic's metadata"))?;
        let partitions: Vec<i32> = metadata
            .topics()
            .iter()
            .flat_map(|t| t.partitions().iter().map(|p| p.id()))
            .collect();
        if partitions.is_empty() {
            return Err(ImpactError::NoTopic(topic.clone()));
        }
        let per_partition = window
            .last
            .map(|n| n.div_ceil(partitions.len() as u64).max(1));
        let since = window.since.map(cutoff_ms);
        let mut times = TopicPartitionList::new();
        for &partition in &partitions {
            let (low, high) = consumer
                .fetch_watermarks(topic, partition, REQUEST_TIMEOUT)
                .map_err(ImpactError::kafka("cannot read a partition's offsets"))?;
            let mut start = low;
            if let Some(n) = per_partition {
                start = start.max(high - i64::try_from(n).unwrap_or(i64::MAX));
            }
            ranges.push(Range {
                topic: topic.clone(),
                partition,
                start,
                end: high,
                low,
            });
            if let Some(ms) = since {
                times
                    .add_partition_offset(topic, partition, Offset::Offset(ms))
                    .map_err(ImpactError::kafka("cannot ask for offsets by time"))?;
            }
        }
        if since.is_some() {
            let found = consumer
                .offsets_for_times(times, REQUEST_TIMEOUT)
                .map_err(ImpactError::kafka("cannot look offsets up by time"))?;
            for element in found.elements() {
                let Some(range) = ranges
                    .iter_mut()
                    .find(|r| r.topic == *topic && r.partition == element.partition())
                else {
                    continue;
                };
                // Where the broker cannot tell (librdkafka's mock cluster answers the end), the
                // range stays as it is and older records are skipped as they are read.
                if let Offset::Offset(at) = element.offset() {
                    range.start = range.start.max(at.min(range.end));
                }
            }
        }
    }
    Ok(ranges)
}
