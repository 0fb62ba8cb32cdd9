//! Reading the retained records of the sources' Kafka topics, read-only: a consumer of its own
//! that is assigned partitions (never a member of the router's group) and never commits.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Headers;
use rdkafka::{Message, Offset, TopicPartitionList};
use serde::Serialize;

use super::ImpactError;
use super::compare::Record;
use crate::config::KafkaSettings;
use crate::kafka;

/// How long a metadata or offset request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long reading may go without progress before the rest is given up on.
const IDLE_LIMIT: Duration = Duration::from_secs(30);
/// How long one read may take in all.
const READ_LIMIT: Duration = Duration::from_secs(15 * 60);

/// Which records to read: the newer of the two bounds wins.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    /// Only records at most this old.
    pub since: Option<Duration>,
    /// At most this many of each topic, the newest of each partition, shared out evenly.
    pub last: Option<u64>,
}

/// What was read, and what the bounds left out.
#[derive(Debug, Default, Serialize)]
pub(crate) struct Coverage {
    /// Per Kafka topic: records read, and records retained but left out by the bounds.
    pub topics: Vec<TopicCoverage>,
}

#[derive(Debug, Default, Serialize)]
pub(crate) struct TopicCoverage {
    pub topic: String,
    /// The topic does not exist (yet): nothing to read.
    pub missing: bool,
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
pub(super) fn read(
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
        .set("enable.partition.eof", "true");
    let consumer: BaseConsumer = config
        .create()
        .map_err(ImpactError::kafka("cannot create the Kafka consumer"))?;
    if window.last == Some(0) {
        return Err(ImpactError::NoRecords);
    }
    let (ranges, missing) = ranges(&consumer, topics, window)?;
    let cutoff = window.since.map(cutoff_ms);
    let mut coverage = Coverage {
        topics: topics
            .iter()
            .map(|t| TopicCoverage {
                topic: t.clone(),
                missing: missing.contains(t),
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
    let started = Instant::now();
    let mut last_progress = Instant::now();
    while !pending.is_empty() {
        if started.elapsed() > READ_LIMIT {
            return Err(ImpactError::TooLong {
                seconds: READ_LIMIT.as_secs(),
                partitions: pending.len(),
            });
        }
        let polled = consumer.poll(Duration::from_millis(200));
        let message = match polled {
            Some(Ok(message)) => message,
            // The end of a partition, a poll with nothing, or a partition whose last offsets
            // hold no record (compacted, transaction markers): done once the consumer's
            // position reaches the range's end.
            None | Some(Err(KafkaError::PartitionEOF(_))) => {
                let before = pending.len();
                finish_reached(&consumer, &mut pending);
                if pending.len() < before {
                    last_progress = Instant::now();
                }
                if last_progress.elapsed() > IDLE_LIMIT {
                    return Err(ImpactError::Stalled {
                        seconds: IDLE_LIMIT.as_secs(),
                        partitions: pending.len(),
                    });
                }
                continue;
            }
            Some(Err(error)) => {
                return Err(ImpactError::kafka("cannot read a source topic")(error));
            }
        };
        let (topic, partition, offset) = (message.topic(), message.partition(), message.offset());
        let Some(at) = pending
            .iter()
            .position(|r| r.topic == topic && r.partition == partition)
        else {
            // A partition already read to its end: new records are not waited for.
            continue;
        };
        let end = pending[at].end;
        if offset >= end {
            pause(&consumer, pending.swap_remove(at));
            continue;
        }
        last_progress = Instant::now();
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
            pause(&consumer, pending.swap_remove(at));
        }
    }
    Ok(coverage)
}

/// Drops from `pending` the partitions whose position has reached their end, and pauses them.
fn finish_reached(consumer: &BaseConsumer, pending: &mut Vec<&Range>) {
    let Ok(positions) = consumer.position() else {
        return;
    };
    pending.retain(|r| {
        let reached = matches!(
            positions.find_partition(&r.topic, r.partition).map(|p| p.offset()),
            Some(Offset::Offset(at)) if at >= r.end
        );
        if reached {
            pause(consumer, r);
        }
        !reached
    });
}

/// Stops fetching a partition read to its end, so new records do not keep the read going.
fn pause(consumer: &BaseConsumer, range: &Range) {
    let mut list = TopicPartitionList::new();
    list.add_partition(&range.topic, range.partition);
    let _ = consumer.pause(&list);
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
) -> Result<(Vec<Range>, Vec<String>), ImpactError> {
    let mut ranges = Vec::new();
    let mut missing = Vec::new();
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
            missing.push(topic.clone());
            continue;
        }
        let since = window.since.map(cutoff_ms);
        let mut times = TopicPartitionList::new();
        let count = partitions.len() as u64;
        for (n, &partition) in partitions.iter().enumerate() {
            let (low, high) = consumer
                .fetch_watermarks(topic, partition, REQUEST_TIMEOUT)
                .map_err(ImpactError::kafka("cannot read a partition's offsets"))?;
            let mut start = low;
            if let Some(last) = window.last {
                // The topic's `last` shared out: the first `last % count` partitions take one more.
                let share = last / count + u64::from((n as u64) < last % count);
                start = start.max(high - i64::try_from(share).unwrap_or(i64::MAX));
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
        if since.is_some() && finds_by_time(consumer, topic, &partitions)? {
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
                match element.offset() {
                    Offset::Offset(at) => range.start = range.start.max(at.min(range.end)),
                    // No record that recent.
                    Offset::End => range.start = range.end,
                    _ => {}
                }
            }
        }
        // A broker that cannot look offsets up by time (librdkafka's mock cluster) leaves the
        // ranges as they are: older records are skipped as they are read.
    }
    Ok((ranges, missing))
}

/// Whether the broker looks offsets up by time: asked for the first record at or after the
/// epoch, a partition that holds records must answer an offset, not its end.
fn finds_by_time(
    consumer: &BaseConsumer,
    topic: &str,
    partitions: &[i32],
) -> Result<bool, ImpactError> {
    let mut epoch = TopicPartitionList::new();
    for &partition in partitions {
        epoch
            .add_partition_offset(topic, partition, Offset::Offset(0))
            .map_err(ImpactError::kafka("cannot ask for offsets by time"))?;
    }
    let found = consumer
        .offsets_for_times(epoch, REQUEST_TIMEOUT)
        .map_err(ImpactError::kafka("cannot look offsets up by time"))?;
    for element in found.elements() {
        let (low, high) = consumer
            .fetch_watermarks(topic, element.partition(), REQUEST_TIMEOUT)
            .map_err(ImpactError::kafka("cannot read a partition's offsets"))?;
        if high > low && !matches!(element.offset(), Offset::Offset(_)) {
            return Ok(false);
        }
    }
    Ok(true)
}
