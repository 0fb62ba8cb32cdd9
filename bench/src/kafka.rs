//! The load run's Kafka side: the source topic's partitions, publishing the events (at once or
//! at a steady rate), and the bare consumer that measures the broker's ceiling.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{SecondsFormat, Utc};
use futures::StreamExt;
use rdkafka::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;

use super::load::Broker;
use super::workload;

/// Partitions of a source topic on tansu.
pub(super) const TANSU_PARTITIONS: i32 = 6;

/// The mock broker keeps at most 5 MiB per partition (librdkafka's `rdkafka_mock.c`) and drops
/// the oldest records beyond: enough partitions that every event of a run stays, at about
/// 1.4 KiB an event and 4 MiB a partition. At least 3, as the embedded broker. Tansu keeps
/// everything: [`TANSU_PARTITIONS`].
pub(super) fn partitions_for(broker: &Broker, events: usize) -> i32 {
    if let Broker::Tansu(_) = broker {
        return TANSU_PARTITIONS;
    }
    let needed = (events * 1400).div_ceil(4 << 20);
    i32::try_from(needed.max(3)).unwrap_or(i32::MAX)
}

/// The load run's producer. On tansu, one record per batch: tansu 0.6.0 answers a fetch that
/// starts inside a record batch wrongly (the router, which pauses and resumes partitions for
/// back-pressure and then fetches from the next record, skipped some records and read others
/// twice), while a consumer that never pauses always fetches from a batch's start.
pub(super) fn producer_config(broker: &Broker, brokers: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", brokers)
        .set("acks", "all")
        .set("linger.ms", "5")
        .set("queue.buffering.max.messages", "1000000")
        .set("message.timeout.ms", "60000");
    if let Broker::Tansu(_) = broker {
        config.set("batch.num.messages", "1");
    }
    config
}

/// An event of the load run as published: stamped now.
pub(super) fn payload(n: usize) -> (String, String) {
    let now = Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true);
    let event = workload::lifecycle_event(n, workload::LOAD_ACCOUNT, &now);
    (format!("bench-{n:08}"), event.to_string())
}

/// Publishes events `range` to `topic`, waiting for every acknowledgement.
pub(super) async fn publish(
    producer: &FutureProducer,
    topic: &str,
    range: std::ops::Range<usize>,
) -> anyhow::Result<()> {
    let chunks: Vec<usize> = range.collect();
    for chunk in chunks.chunks(10_000) {
        let records: Vec<(String, String)> = chunk.iter().map(|&n| payload(n)).collect();
        let sends = records.iter().map(|(key, value)| {
            let record = FutureRecord::to(topic).key(key).payload(value);
            producer.send(record, Timeout::After(Duration::from_secs(60)))
        });
        for result in futures::future::join_all(sends).await {
            result
                .map_err(|(error, _)| error)
                .with_context(|| format!("cannot publish to {topic}"))?;
        }
    }
    Ok(())
}

/// A consumer of group `group` (and this process's id) with nothing but the settings every
/// consumer needs, subscribed to `topic` from its start: the bare consumer's and the bare
/// pipeline's.
pub(super) fn bare_consumer(
    brokers: &str,
    group: &str,
    fetch_wait_ms: u64,
    topic: &str,
) -> anyhow::Result<StreamConsumer> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("{group}-{}", std::process::id()))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("session.timeout.ms", "10000")
        .set("partition.assignment.strategy", "cooperative-sticky")
        .set("fetch.wait.max.ms", fetch_wait_ms.to_string())
        .create()?;
    consumer.subscribe(&[topic])?;
    Ok(consumer)
}

/// A bare consumer reading `count` records of `topic` from the start: records per second from
/// the first record to the last.
pub(super) async fn consume_all(
    brokers: &str,
    fetch_wait_ms: u64,
    topic: &str,
    count: usize,
    timeout: Duration,
) -> anyhow::Result<f64> {
    let consumer = bare_consumer(brokers, "bench-bare-consumer", fetch_wait_ms, topic)?;
    let deadline = Instant::now() + timeout;
    let (mut first, mut read) = (None, 0usize);
    let mut stream = consumer.stream();
    while read < count {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.next()).await {
            Ok(Some(Ok(_message))) => {
                first.get_or_insert_with(Instant::now);
                read += 1;
            }
            Ok(Some(Err(error))) => bail!("the bare consumer failed: {error}"),
            Ok(None) | Err(_) => bail!("the bare consumer read {read} of {count} records in time"),
        }
    }
    let window = first.map_or(0.0, |f| f.elapsed().as_secs_f64());
    Ok((count - 1) as f64 / window.max(f64::EPSILON))
}

/// Reads `topic` from its start until nothing arrives for 2 s: (records, bytes of their keys,
/// values and headers, as produced, before compression).
pub(super) async fn topic_size(brokers: &str, topic: &str) -> anyhow::Result<(u64, u64)> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("bench-size-{}", std::process::id()))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()?;
    consumer.subscribe(&[topic])?;
    let mut stream = consumer.stream();
    let (mut records, mut bytes) = (0u64, 0u64);
    while let Ok(Some(message)) = tokio::time::timeout(Duration::from_secs(2), stream.next()).await
    {
        let message = message?;
        records += 1;
        let headers: usize = message.headers().map_or(0, |h| {
            h.iter()
                .map(|h| h.key.len() + h.value.map_or(0, <[u8]>::len))
                .sum()
        });
        bytes += (message.key().map_or(0, <[u8]>::len)
            + message.payload().map_or(0, <[u8]>::len)
            + headers) as u64;
    }
    Ok((records, bytes))
}

/// Publishes `rate` events a second for `seconds`, each stamped when it is sent.
pub(super) async fn publish_steadily(
    producer: &FutureProducer,
    topic: &str,
    rate: usize,
    seconds: u64,
) {
    let ticks_per_second = 100;
    let mut interval = tokio::time::interval(Duration::from_millis(1000 / ticks_per_second as u64));
    let mut sent = 0;
    let total = rate * seconds as usize;
    let mut pending = futures::stream::FuturesUnordered::new();
    for tick in 1..=seconds as usize * ticks_per_second {
        interval.tick().await;
        let due = (rate * tick / ticks_per_second).min(total);
        while sent < due {
            let (key, value) = payload(sent);
            let producer = producer.clone();
            let topic = topic.to_owned();
            pending.push(tokio::spawn(async move {
                let record = FutureRecord::to(&topic).key(&key).payload(&value);
                producer
                    .send(record, Timeout::After(Duration::from_secs(60)))
                    .await
                    .is_ok()
            }));
            sent += 1;
        }
    }
    while pending.next().await.is_some() {}
}
