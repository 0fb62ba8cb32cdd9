//! Crash, stop and restart against a broker in a process of its own: the router is killed with
//! SIGKILL mid-delivery, or stopped with SIGTERM, and started again; the receivers' records say
//! what arrived.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;

use crate::processes::{BrokerProcess, RouterProcess};
use crate::support::*;

const DESTINATIONS: [&str; 3] = ["a", "b", "c"];
const MAX_IN_FLIGHT: usize = 100;
/// Deliveries that arrived this long before the kill may not have been committed yet: the
/// commit interval (100 ms) with a wide margin.
const UNCOMMITTED_WINDOW: Duration = Duration::from_secs(2);

/// Produces `events` concurrently (each acknowledged), keyed by event id.
async fn produce_all(brokers: &str, events: &[serde_json::Value]) {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("linger.ms", "20")
        .create()
        .expect("producer");
    let payloads: Vec<(String, String)> = events
        .iter()
        .map(|e| (e["event_id"].as_str().unwrap().to_owned(), e.to_string()))
        .collect();
    let sends = payloads.iter().map(|(key, payload)| {
        producer.send(
            FutureRecord::to("lifecycle").key(key).payload(payload),
            Timeout::After(Duration::from_secs(30)),
        )
    });
    for sent in futures::future::join_all(sends).await {
        sent.expect("produced");
    }
}

/// Three webhook destinations on one receiver, each subscribed to every lifecycle event.
fn three_destinations(receiver: &Receiver, extra: &str) -> (String, Vec<(String, String)>) {
    let destinations = DESTINATIONS
        .iter()
        .map(|d| webhook(d, &receiver.url(&format!("/{d}")), extra))
        .collect::<String>();
    let subscriptions = DESTINATIONS
        .iter()
        .map(|d| format!("  - {{ name: to-{d}, destination: {d} }}"))
        .collect::<Vec<_>>()
        .join("\n");
    (
        destinations,
        vec![topic("all", "  - id: lifecycle", &subscriptions)],
    )
}

/// (destination, event id).
fn pair(r: &Received) -> (String, String) {
    (r.path.trim_start_matches('/').to_owned(), r.event_id())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_stream_loses_nothing_and_redelivers_at_most_the_uncommitted() {
    const EVENTS: usize = 2000;
    let broker = BrokerProcess::start(&["lifecycle"]);
    // Answers take longer than the commit interval, so records are in flight across commits.
    let mut receiver =
        Receiver::start_delayed(Arc::new(|_, _| Some(200)), Duration::from_millis(300)).await;
    let (destinations, topics) = three_destinations(&receiver, "");
    let kafka_extra = format!("  max_in_flight: {MAX_IN_FLIGHT}\n");
    let setup = Setup {
        kafka_extra: &kafka_extra,
        ..Setup::lifecycle(broker.brokers(), "sigkill", &destinations, topics)
    };
    let (dir, config) = setup.write();
    produce_all(broker.brokers(), &updates(0..EVENTS)).await;

    let first = RouterProcess::start(&config, "first");
    let mut log: Vec<(Received, Instant)> = Vec::new();
    // About a third of the deliveries, then SIGKILL: no drain, no final commit.
    while log.len() < EVENTS {
        let received = receiver.next().await;
        log.push((received, Instant::now()));
    }
    let killed_at = Instant::now();
    first.kill();
    log.extend(receiver.drain().into_iter().map(|r| (r, killed_at)));
    let before_restart = log.len();

    let second = RouterProcess::start(&config, "second");
    let mut seen: BTreeSet<(String, String)> = log.iter().map(|(r, _)| pair(r)).collect();
    while seen.len() < DESTINATIONS.len() * EVENTS {
        let received = receiver.next().await;
        seen.insert(pair(&received));
        log.push((received, Instant::now()));
    }
    let status = second.terminate(Duration::from_secs(60)).await;
    assert!(status.success(), "{status:?}");
    log.extend(receiver.drain().into_iter().map(|r| (r, Instant::now())));
    drop(dir);

    // Every event reached every destination; a redelivery carries the first one's webhook-id.
    let mut ids: HashMap<(String, String), BTreeSet<String>> = HashMap::new();
    for (r, _) in &log {
        ids.entry(pair(r))
            .or_default()
            .insert(r.headers["webhook-id"].clone());
    }
    assert_eq!(ids.len(), DESTINATIONS.len() * EVENTS);
    assert!(ids.values().all(|set| set.len() == 1));
    // Redeliveries: what was in flight, plus what arrived too shortly before the kill for its
    // offset to be committed.
    for destination in DESTINATIONS {
        let total = log
            .iter()
            .filter(|(r, _)| r.path == format!("/{destination}"))
            .count();
        let duplicates = total - EVENTS;
        let recent = log[..before_restart]
            .iter()
            .filter(|(r, at)| {
                r.path == format!("/{destination}")
                    && killed_at.duration_since(*at) <= UNCOMMITTED_WINDOW
            })
            .count();
        let bound = MAX_IN_FLIGHT + recent;
        eprintln!(
            "{destination}: {duplicates} redelivered; bound {bound} ({MAX_IN_FLIGHT} in flight + {recent} recent)"
        );
        assert!(
            duplicates <= bound,
            "{destination}: {duplicates} redelivered, more than {bound}"
        );
    }
    assert!(
        log.len() > DESTINATIONS.len() * EVENTS || before_restart < DESTINATIONS.len() * EVENTS,
        "the kill came mid-stream"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_while_deliveries_wait_on_the_retry_topic_loses_and_repeats_nothing() {
    const EVENTS: usize = 200;
    let broker = BrokerProcess::start(&["lifecycle"]);
    let (mut receiver, down) = Receiver::with_outage().await;
    let retry = "    retry: { retries: 0, schedule: [500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms], horizon: 1h }\n    circuit_breaker: { failures: 1000 }\n";
    let destinations =
        webhook("flaky", &receiver.url("/flaky"), retry) + &webhook("ok", &receiver.url("/ok"), "");
    let topics = vec![topic(
        "all",
        "  - id: lifecycle",
        "  - { name: to-flaky, destination: flaky }\n  - { name: to-ok, destination: ok }",
    )];
    let setup = Setup::lifecycle(broker.brokers(), "retry-kill", &destinations, topics);
    let (_dir, config) = setup.write();
    produce_all(broker.brokers(), &updates(0..EVENTS)).await;

    let first = RouterProcess::start(&config, "first");
    let mut log = Vec::new();
    // Every event reached `ok`, and every `flaky` delivery failed at least twice: once fresh,
    // once from the retry topic.
    let failures = |log: &[Received]| {
        let mut count: BTreeMap<String, usize> = BTreeMap::new();
        for r in log.iter().filter(|r| r.path == "/flaky") {
            *count.entry(r.event_id()).or_default() += 1;
        }
        count
    };
    while log.iter().filter(|r: &&Received| r.path == "/ok").count() < EVENTS
        || failures(&log).len() < EVENTS
        || failures(&log).values().any(|n| *n < 2)
    {
        log.push(receiver.next().await);
    }
    first.kill();
    log.extend(receiver.drain());
    assert!(log.iter().all(|r| r.path == "/ok" || r.status == 503));
    down.store(false, Ordering::SeqCst);

    let second = RouterProcess::start(&config, "second");
    let delivered = |log: &[Received]| {
        log.iter()
            .filter(|r| r.path == "/flaky" && r.status == 200)
            .map(Received::event_id)
            .collect::<BTreeSet<_>>()
    };
    while delivered(&log).len() < EVENTS {
        log.push(receiver.next().await);
    }
    let status = second.terminate(Duration::from_secs(60)).await;
    assert!(status.success());
    log.extend(receiver.drain());

    let mut ids: HashMap<String, BTreeSet<String>> = HashMap::new();
    for r in log.iter().filter(|r| r.path == "/flaky") {
        ids.entry(r.event_id())
            .or_default()
            .insert(r.headers["webhook-id"].clone());
    }
    assert!(
        ids.values().all(|set| set.len() == 1),
        "one webhook-id per delivery"
    );
    let successes = log
        .iter()
        .filter(|r| r.path == "/flaky" && r.status == 200)
        .count();
    assert_eq!(
        successes, EVENTS,
        "each waiting delivery is made once after the restart: later retry records replace \
         earlier ones, and nothing before the kill had succeeded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_commits_and_a_restart_repeats_nothing_delivered_before() {
    const EVENTS: usize = 2000;
    let broker = BrokerProcess::start(&["lifecycle"]);
    let mut receiver = Receiver::ok().await;
    let (destinations, topics) = three_destinations(&receiver, "");
    let kafka_extra = format!("  max_in_flight: {MAX_IN_FLIGHT}\n");
    let setup = Setup {
        kafka_extra: &kafka_extra,
        ..Setup::lifecycle(broker.brokers(), "sigterm", &destinations, topics)
    };
    let (_dir, config) = setup.write();
    produce_all(broker.brokers(), &updates(0..EVENTS)).await;

    let first = RouterProcess::start(&config, "first");
    let mut before = receiver.take(EVENTS).await;
    // The drain timeout is 5 s; the exit comes well within this wait.
    let status = first.terminate(Duration::from_secs(60)).await;
    assert!(status.success(), "a SIGTERM is a clean exit: {status:?}");
    before.extend(receiver.drain());
    let before: BTreeSet<(String, String)> = before.iter().map(pair).collect();
    assert!(
        before.len() < DESTINATIONS.len() * EVENTS,
        "stopped mid-stream"
    );

    let second = RouterProcess::start(&config, "second");
    let mut after = Vec::new();
    while before.len() + after.len() < DESTINATIONS.len() * EVENTS {
        after.push(pair(&receiver.next().await));
    }
    second.terminate(Duration::from_secs(60)).await;
    after.extend(receiver.drain().iter().map(pair));
    let repeated: Vec<_> = after.iter().filter(|p| before.contains(*p)).collect();
    assert!(
        repeated.is_empty(),
        "delivered before the SIGTERM and again after the restart: {} (first: {:?})",
        repeated.len(),
        repeated.first()
    );
    let all: BTreeSet<_> = before.iter().chain(&after).collect();
    assert_eq!(all.len(), DESTINATIONS.len() * EVENTS);
}
