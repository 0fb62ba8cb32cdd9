//! One receiver slow but succeeding (200 ms a request), with the limits as shipped: its queue
//! fills, what neither its queue nor a short wait takes goes through the retry topic, and the other destinations'
//! latency stays near that of a run without it. Everything is delivered.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;

use crate::common::*;

/// Events published, at [`EVERY`].
const EVENTS: usize = 2_000;
const EVERY: Duration = Duration::from_millis(4);
const SLOW: Duration = Duration::from_millis(200);

/// Publishes `EVENTS` events at one per `EVERY` (in bursts of 25), recording when each was sent.
async fn stream(brokers: &str) -> HashMap<String, Instant> {
    const BURST: usize = 25;
    // One record per batch: see `produce_all`.
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("batch.num.messages", "1")
        .create()
        .expect("producer");
    let mut published = HashMap::new();
    let start = Instant::now();
    for first in (0..EVENTS).step_by(BURST) {
        let events: Vec<(String, String)> = updates(first..first + BURST)
            .iter()
            .map(|e| (e["event_id"].as_str().unwrap().to_owned(), e.to_string()))
            .collect();
        let now = Instant::now();
        let sends = events.iter().map(|(key, payload)| {
            published.insert(key.clone(), now);
            producer.send(
                FutureRecord::to(LIFECYCLE).key(key).payload(payload),
                Timeout::After(Duration::from_secs(30)),
            )
        });
        for sent in futures::future::join_all(sends).await {
            sent.expect("produced");
        }
        let next = start + EVERY * u32::try_from(first + BURST).unwrap();
        tokio::time::sleep_until(next.into()).await;
    }
    published
}

/// One run on a broker of its own: destinations `a` and `b` on a fast receiver, and `slow` on
/// one answering every request after [`SLOW`] when `with_slow`. Returns the p99 latency of `a`
/// and `b` (publish → answer), and the router's log lines about partitions, back-pressure and
/// writes to Kafka (what would explain a stall).
async fn run(with_slow: bool) -> (Duration, Duration, String) {
    let tansu = Tansu::start(&TOPICS);
    let brokers = tansu.brokers();
    let mut fast = Receiver::ok().await;
    let mut slow = Receiver::answering_delayed(std::sync::Arc::new(|_, _| Some(200)), SLOW).await;
    let mut destinations = webhook("a", fast.url("/a"), "") + &webhook("b", fast.url("/b"), "");
    let mut subscriptions =
        "  - { name: to-a, destination: a }\n  - { name: to-b, destination: b }".to_owned();
    if with_slow {
        destinations += &webhook("slow", slow.url("/slow"), "");
        subscriptions += "\n  - { name: to-slow, destination: slow }";
    }
    // The shipped limits: no `limits`, no `max_in_flight`.
    let setup = Setup {
        kafka_extra: &kafka_settings("", ""),
        ..Setup::lifecycle(
            &brokers,
            "slow",
            &destinations,
            vec![topic("all", "  - id: lifecycle", &subscriptions)],
        )
    };
    let (_dir, config) = setup.write();
    let name = if with_slow { "with-slow" } else { "without" };
    let router = RouterProcess::start(BIN, &config, name);
    // Measure from the moment the router delivers.
    produce_events_to(&brokers, LIFECYCLE, &updates(EVENTS..EVENTS + 1)).await;
    fast.take(2).await;
    if with_slow {
        slow.take(1).await;
    }

    let published = stream(&brokers).await;
    let from = *published.values().min().expect("published");
    let until = Instant::now();
    let mut log = Vec::new();
    // The distinct events each fast destination has, counted as they arrive.
    let (mut at_a, mut at_b) = (BTreeSet::new(), BTreeSet::new());
    while at_a.len() < EVENTS || at_b.len() < EVENTS {
        let received = fast.next().await;
        match received.path.as_str() {
            "/a" => at_a.insert(received.event_id()),
            "/b" => at_b.insert(received.event_id()),
            _ => false,
        };
        log.push(received);
    }
    if with_slow {
        let mut slow_ids = BTreeSet::new();
        while slow_ids.len() < EVENTS {
            slow_ids.insert(slow.next().await.event_id());
        }
        // Its full queue handed the rest to the retry topic.
        let handed = std::fs::read_to_string(&router.log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("Delivery handed to the retry topic.") && l.contains("slow"))
            .count();
        eprintln!("slow: all {EVENTS} delivered, {handed} through the retry topic");
        assert!(
            handed > 0,
            "the slow destination's full queue diverted deliveries"
        );
    }
    let router_log = router.log.clone();
    let status = router.terminate(WAIT).await;
    assert!(status.success(), "{status:?}");
    let repeats = log.len() - at_a.len() - at_b.len();
    let stalls = std::fs::read_to_string(&router_log)
        .unwrap_or_default()
        .lines()
        .filter(|l| STALLS.iter().any(|s| l.contains(s)))
        .fold(
            format!("({repeats} deliveries to a and b repeated)"),
            |all, line| all + "\n" + line,
        );
    (
        p99(latencies(&log, &published, "a", from..until)),
        p99(latencies(&log, &published, "b", from..until)),
        stalls,
    )
}

/// What the router logs when consuming stops or slows.
const STALLS: [&str; 5] = ["Back-pressure", "Partitions", "Rebalance", "WARN", "ERROR"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_receiver_with_the_shipped_limits_holds_up_nobody_and_gets_everything() {
    let (a, b, _) = run(false).await;
    let (slow_a, slow_b, stalls) = run(true).await;
    eprintln!(
        "p99 without the slow receiver: a {a:?}, b {b:?}; with it: a {slow_a:?}, b {slow_b:?}"
    );
    assert!(
        slow_a <= a * 2 && slow_b <= b * 2,
        "the others' p99 with the slow receiver ({slow_a:?}, {slow_b:?}) beyond twice that without it ({a:?}, {b:?}); the router logged:\n{stalls}"
    );
}
