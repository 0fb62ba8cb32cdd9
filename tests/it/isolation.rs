//! Isolation and back-pressure: the circuit breaker, the in-flight bound, and a consumer that
//! keeps polling while its deliveries are slow.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_circuit_stops_attempts_and_hands_deliveries_to_the_retry_topic() {
    const EVENTS: usize = 20;
    const FAILURES: usize = 3;
    let kafka = Kafka::start(&["lifecycle"]);
    let mut receiver = Receiver::answering(Arc::new(|_, _| Some(503))).await;
    // One attempt at a time, no in-process retries, and no probe within the test.
    let destinations = webhook(
        "down",
        receiver.url("/down"),
        "    retry: { retries: 0, schedule: [1h], horizon: 10h }\n    limits: { concurrency: 1, queue: 100 }\n    circuit_breaker: { failures: 3, probe_interval: 1h }\n",
    );
    let topics = vec![topic(
        "all",
        "  - id: lifecycle",
        "  - { name: to-down, destination: down }",
    )];
    let router = Setup::lifecycle(kafka.brokers(), "breaker", &destinations, topics).start();
    kafka.produce_events("lifecycle", &updates(0..EVENTS)).await;
    // Every delivery is handed to the retry topic: the failed ones and the refused ones.
    let records = read_topic(kafka.brokers(), RETRY_TOPIC, 3, EVENTS).await;
    router.stop().await;
    let attempts = receiver.drain();
    assert_eq!(
        attempts.len(),
        FAILURES,
        "after {FAILURES} failures in a row the circuit sends nothing until its probe"
    );
    let jobs: Vec<serde_json::Value> = records
        .iter()
        .map(|(_, value)| serde_json::from_slice(value).expect("a job"))
        .collect();
    let refused = jobs.iter().filter(|j| j["attempts"] == 0).count();
    assert_eq!(
        refused,
        EVENTS - FAILURES,
        "refused deliveries were not attempted"
    );
    assert!(
        jobs.iter()
            .filter(|j| j["attempts"] == 0)
            .all(|j| j["last_error"].as_str().unwrap().contains("circuit")),
        "{jobs:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_in_flight_never_exceed_max_in_flight() {
    const EVENTS: usize = 60;
    const MAX_IN_FLIGHT: usize = 5;
    let kafka = Kafka::start(&["lifecycle"]);
    let mut receiver =
        Receiver::answering_delayed(Arc::new(|_, _| Some(200)), Duration::from_millis(100)).await;
    let destinations = webhook("hook", receiver.url("/hook"), "");
    let kafka_extra = format!("  max_in_flight: {MAX_IN_FLIGHT}\n");
    let router = Setup {
        kafka_extra: &kafka_extra,
        ..Setup::lifecycle(kafka.brokers(), "bounded", &destinations, all_to_hook())
    }
    .start();
    kafka.produce_events("lifecycle", &updates(0..EVENTS)).await;
    let ids = event_ids_through_stop(&mut receiver, EVENTS, router).await;
    assert_eq!(ids.len(), EVENTS);
    let peak = receiver.peak();
    assert!(
        (2..=MAX_IN_FLIGHT).contains(&peak),
        "records were processed concurrently, at most {MAX_IN_FLIGHT} at once: {peak}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_deliveries_do_not_stop_polling_past_max_poll_interval() {
    const EVENTS: usize = 4;
    let kafka = Kafka::start(&["lifecycle"]);
    // Each answer takes longer than max.poll.interval.ms: a consumer that stopped polling while
    // its one in-flight slot is taken would leave its group, and records would come again.
    let mut receiver =
        Receiver::answering_delayed(Arc::new(|_, _| Some(200)), Duration::from_secs(8)).await;
    let destinations = webhook("hook", receiver.url("/hook"), "    timeout: 60s\n");
    let router = Setup {
        kafka_extra: "  max_in_flight: 1\n  properties: { session.timeout.ms: \"6000\", max.poll.interval.ms: \"6000\" }\n",
        ..Setup::lifecycle(kafka.brokers(), "polling", &destinations, all_to_hook())
    }
    .start();
    // One partition, in order.
    let records: Vec<_> = updates(0..EVENTS)
        .iter()
        .map(|e| (Some("one"), e.to_string().into_bytes(), vec![]))
        .collect();
    kafka.produce("lifecycle", &records).await;
    let ids = event_ids_through_stop(&mut receiver, EVENTS, router).await;
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for id in ids {
        *counts.entry(id).or_default() += 1;
    }
    assert_eq!(counts.len(), EVENTS);
    assert!(
        counts.values().all(|n| *n == 1),
        "nothing was read twice: {counts:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_held_for_an_open_circuit_go_as_soon_as_it_closes() {
    const EVENTS: usize = 20;
    const FAILURES: usize = 3;
    const PROBE: Duration = Duration::from_secs(8);
    let kafka = Kafka::start(&["lifecycle"]);
    let answered = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut receiver = Receiver::answering(Arc::new({
        let answered = answered.clone();
        move |_, _| {
            let n = answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Some(if n < FAILURES { 503 } else { 200 })
        }
    }))
    .await;
    // The refused deliveries are due again after 1 s, long before the probe: the retry consumer
    // holds them for the open circuit.
    let destinations = webhook(
        "flaky",
        receiver.url("/flaky"),
        &format!(
            "    retry: {{ retries: 0, schedule: [1s], horizon: 10m }}\n    limits: {{ concurrency: 1, queue: 100 }}\n    circuit_breaker: {{ failures: {FAILURES}, probe_interval: {}s }}\n",
            PROBE.as_secs()
        ),
    );
    let topics = vec![topic(
        "all",
        "  - id: lifecycle",
        "  - { name: to-flaky, destination: flaky }",
    )];
    let router = Setup::lifecycle(kafka.brokers(), "held", &destinations, topics).start();
    kafka.produce_events("lifecycle", &updates(0..EVENTS)).await;
    let mut delivered = BTreeMap::new();
    let mut first_success = None;
    while delivered.len() < EVENTS {
        let received = receiver.next().await;
        if received.status == 200 {
            first_success.get_or_insert(received.at);
            delivered.insert(received.event_id(), received.at);
        }
    }
    router.stop().await;
    // The first success is the probe that closed the circuit; the held deliveries follow it at
    // once, not a probe interval later.
    let closed = first_success.expect("a success");
    let last = delivered.values().max().expect("deliveries");
    assert!(
        last.duration_since(closed) < PROBE / 2,
        "the last held delivery came {:?} after the circuit closed (probe interval {PROBE:?})",
        last.duration_since(closed)
    );
}
