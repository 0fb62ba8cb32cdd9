//! What the scenarios share: the testkit's receiver, Kafka helpers, tansu and router
//! configuration; destinations, Kafka settings for tansu, latencies.

use std::collections::HashMap;
use std::time::{Duration, Instant};

pub use testkit::kafka::*;
pub use testkit::process::*;
pub use testkit::receiver::*;
pub use testkit::router::*;
pub use testkit::tansu::Tansu;

/// The router's binary, for the testkit's process helpers.
pub const BIN: &str = env!("CARGO_BIN_EXE_notification-router");

/// The sources' topic every scenario reads.
pub const LIFECYCLE: &str = "lifecycle";

/// The scenarios' topics on tansu: `lifecycle` (3 partitions), the retry and digest topics (3
/// each) and the dead-letter topic (1).
pub const TOPICS: [(&str, i32); 4] = [
    (LIFECYCLE, 3),
    (RETRY_TOPIC, 3),
    (DIGEST_TOPIC, 3),
    (DEAD_LETTER_TOPIC, 1),
];

/// Webhook destinations on one receiver (path `/ID`), each subscribed to every lifecycle event,
/// each with the `extra` YAML lines given for it.
pub fn destinations(receiver: &Receiver, ids: &[(&str, &str)]) -> (String, Vec<(String, String)>) {
    let destinations = ids
        .iter()
        .map(|(id, extra)| webhook(id, receiver.url(&format!("/{id}")), extra))
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

/// Latencies (receiver's first answer − publish time) of the deliveries to `destination` of the
/// events published in `window`: one per event, its first successful delivery, so that a
/// redelivery (at least once allows one after a rebalance) is not counted as a slow delivery.
pub fn latencies(
    received: &[Received],
    published: &HashMap<String, Instant>,
    destination: &str,
    window: std::ops::Range<Instant>,
) -> Vec<Duration> {
    let path = format!("/{destination}");
    let mut first: HashMap<String, Instant> = HashMap::new();
    for r in received
        .iter()
        .filter(|r| r.path == path && r.status == 200)
    {
        let at = first.entry(r.event_id()).or_insert(r.at);
        *at = (*at).min(r.at);
    }
    first
        .into_iter()
        .filter_map(|(id, answered)| {
            let at = *published.get(&id)?;
            window.contains(&at).then(|| answered.duration_since(at))
        })
        .collect()
}
