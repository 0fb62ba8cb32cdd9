//! What several scenarios share: destinations, latencies, consumer lag.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

use crate::support::{Received, WAIT, topic, webhook};
use crate::tansu::LIFECYCLE;

/// Webhook destinations on one receiver (path `/ID`), each subscribed to every lifecycle event,
/// each with the `extra` YAML lines given for it.
pub fn destinations(
    receiver: &crate::support::Receiver,
    ids: &[(&str, &str)],
) -> (String, Vec<(String, String)>) {
    let destinations = ids
        .iter()
        .map(|(id, extra)| webhook(id, &receiver.url(&format!("/{id}")), extra))
        .collect::<String>();
    let subscriptions = ids
        .iter()
        .map(|(id, _)| format!("  - {{ name: to-{id}, destination: {id} }}"))
        .collect::<Vec<_>>()
        .join("\n");
    (
        destinations,
        vec![topic("all", "  - id: lifecycle", &subscriptions)],
    )
}

/// `kafka:` lines for a router on tansu, with `more` librdkafka properties (`key: value, `...) and
/// `lines` (YAML lines under `kafka:`).
///
/// One record per batch (dead letters, retry records): tansu 0.6.0 serves a fetch from the first
/// batch that starts at or after the offset asked for, so a consumer resuming inside a batch
/// would skip the rest of it; and it answers ListOffsets (where a topic ends, which `dead-letters`
/// asks) with the first offset of the newest batch plus one.
pub fn kafka_settings(more: &str, lines: &str) -> String {
    format!("  properties: {{ batch.num.messages: \"1\"{more} }}\n{lines}")
}

/// (destination, event id) of a delivery.
pub fn pair(r: &Received) -> (String, String) {
    (r.path.trim_start_matches('/').to_owned(), r.event_id())
}

/// The 99th percentile (nearest rank) of `samples`.
pub fn p99(mut samples: Vec<Duration>) -> Duration {
    assert!(!samples.is_empty(), "no samples");
    samples.sort();
    let rank = (samples.len() * 99).div_ceil(100);
    samples[rank - 1]
}

/// Latencies (receiver's answer − publish time) of the deliveries to `destination` of the events
/// published in `window`.
pub fn latencies(
    received: &[Received],
    published: &HashMap<String, Instant>,
    destination: &str,
    window: std::ops::Range<Instant>,
) -> Vec<Duration> {
    received
        .iter()
        .filter(|r| r.path == format!("/{destination}") && r.status == 200)
        .filter_map(|r| {
            let at = *published.get(&r.event_id())?;
            window.contains(&at).then(|| r.at.duration_since(at))
        })
        .collect()
}

/// The lag of `group` on the lifecycle topic (3 partitions): for each partition, the records
/// from the group's committed offset (the start when nothing is committed) to the end.
///
/// Counted by reading them to the end of the partition (which fetch responses tell): tansu 0.6.0
/// answers a ListOffsets request (`fetch_watermarks`) with the first offset of the newest batch
/// plus one, short of the end when that batch holds several records.
pub async fn lag(brokers: &str, group: &str) -> Vec<i64> {
    let (brokers, group) = (brokers.to_owned(), group.to_owned());
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &brokers)
            .set("group.id", &group)
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "true")
            .create()
            .expect("consumer");
        let mut list = TopicPartitionList::new();
        for partition in 0..3 {
            list.add_partition(LIFECYCLE, partition);
        }
        let committed = consumer
            .committed_offsets(list, Duration::from_secs(10))
            .expect("committed offsets");
        let mut from = TopicPartitionList::new();
        for element in committed.elements() {
            let offset = match element.offset() {
                Offset::Offset(offset) => Offset::Offset(offset),
                _ => Offset::Beginning,
            };
            from.add_partition_offset(LIFECYCLE, element.partition(), offset)
                .unwrap();
        }
        consumer.assign(&from).expect("assign");
        let mut lags = [0i64; 3];
        let mut at_end = [false; 3];
        let deadline = Instant::now() + Duration::from_secs(30);
        while !at_end.iter().all(|end| *end) {
            assert!(
                Instant::now() < deadline,
                "the lifecycle partitions were not read to their end within 30 s"
            );
            match consumer.poll(Duration::from_millis(100)) {
                Some(Ok(message)) => lags[message.partition() as usize] += 1,
                Some(Err(KafkaError::PartitionEOF(partition))) => {
                    at_end[partition as usize] = true;
                }
                Some(Err(error)) => panic!("reading the lifecycle topic: {error}"),
                None => {}
            }
        }
        lags.to_vec()
    })
    .await
    .unwrap()
}

/// Waits until `group` has committed everything of the lifecycle topic.
pub async fn wait_for_zero_lag(brokers: &str, group: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        let lags = lag(brokers, group).await;
        if lags.iter().all(|l| *l == 0) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "consumer lag did not return to 0: {lags:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
