//! A digest on tansu, cut short by SIGKILL while its receiver holds the request: the restarted
//! router sends it again with the same `webhook-id` and the same notifications, once.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;

use crate::common::*;

/// The router's default `session.timeout.ms`.
const SESSION_TIMEOUT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_while_a_digest_is_sent_resends_that_digest_with_its_id() {
    const EVENTS: usize = 20;
    let tansu = Tansu::start(&TOPICS);
    let brokers = tansu.brokers();
    // The first request is held open (the router is killed waiting for it); the rest get 200.
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let mut receiver = Receiver::answering(Arc::new(move |_, _| {
        (counter.fetch_add(1, Ordering::SeqCst) > 0).then_some(200)
    }))
    .await;
    let destinations = webhook("hook", receiver.url("/digest"), "");
    let topics = vec![topic(
        "all",
        "  - id: lifecycle",
        "  - { name: digest, destination: hook, digest: { wait: 30s, interval: 1s, max_items: 20 } }",
    )];
    let kafka_extra = kafka_settings("", "");
    let setup = Setup {
        kafka_extra: &kafka_extra,
        ..Setup::lifecycle(&brokers, "digest-kill-9", &destinations, topics)
    };
    let (_dir, config) = setup.write();
    produce_all(&brokers, LIFECYCLE, &updates(0..EVENTS)).await;

    let first = RouterProcess::start(BIN, &config, "first");
    receiver.hits_reach(1).await;
    first.kill();
    let records = read_topic_until(&brokers, DIGEST_TOPIC, 3, |records| {
        records.iter().any(|(h, _)| h["digest-kind"] == "seal")
    })
    .await;
    let seal = records
        .iter()
        .find(|(h, _)| h["digest-kind"] == "seal")
        .unwrap();
    let sealed: Value = serde_json::from_slice(&seal.1).unwrap();

    // As in crash.rs: tansu 0.6.0 expires a killed member only when another one contacts the
    // group, and a member joining before its session (10 s) has expired gets no partitions.
    tokio::time::sleep(SESSION_TIMEOUT + Duration::from_secs(1)).await;
    let second = RouterProcess::start(BIN, &config, "second");
    let Some(resent) = receiver.next_within(WAIT).await else {
        panic!(
            "the digest was not sent again; the second router's log:\n{}",
            log_tail(&second.log, 60)
        );
    };
    assert_eq!(resent.header("webhook-id"), sealed["id"].as_str());
    let ids: BTreeSet<String> = resent
        .json()
        .as_array()
        .expect("an array of notifications")
        .iter()
        .map(|n| n["data"]["event_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, (0..EVENTS).map(|i| format!("evt-{i}")).collect());
    assert_eq!(receiver.hits(), 2, "sent once before the kill, once after");
    second.terminate(WAIT).await;
    assert!(receiver.drain().is_empty(), "nothing else was sent");
}
