//! Long retries through the retry topic, isolation between destinations, 410, de-duplication.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::support::*;

/// A webhook destination with a quick long schedule, so a test sees several long retries.
fn quick(id: &str, url: impl std::fmt::Display, extra: &str) -> String {
    webhook(
        id,
        url,
        &format!(
            "    retry: {{ retries: 1, initial_backoff: 10ms, max_backoff: 10ms, schedule: [300ms, 300ms, 300ms, 300ms, 300ms, 300ms, 300ms, 300ms, 300ms, 300ms, 300ms, 300ms, 300ms, 300ms, 300ms, 300ms, 300ms, 300ms, 300ms, 300ms, 300ms, 300ms, 300ms, 300ms, 300ms, 300ms, 300ms, 300ms, 300ms, 300ms, 300ms, 300ms, 300ms, 300ms, 300ms, 300ms, 300ms, 300ms, 300ms, 300ms], horizon: 10m }}\n    circuit_breaker: {{ failures: 3, probe_interval: 300ms }}\n{extra}"
        ),
    )
}

/// Two subscriptions of every lifecycle event: to `flaky` and to `ok`.
fn flaky_and_ok() -> Vec<(String, String)> {
    vec![topic(
        "all",
        "  - id: lifecycle",
        "  - { name: to-flaky, destination: flaky }\n  - { name: to-ok, destination: ok }",
    )]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_is_retried_through_the_retry_topic_while_others_get_everything() {
    const EVENTS: usize = 30;
    let kafka = Kafka::start(&["lifecycle"]);
    let (mut receiver, down) = Receiver::with_outage("/flaky").await;
    let destinations =
        quick("flaky", receiver.url("/flaky"), "") + &webhook("ok", receiver.url("/ok"), "");
    let router = Setup::lifecycle(kafka.brokers(), "outage", &destinations, flaky_and_ok()).start();
    kafka.produce_events("lifecycle", &updates(0..EVENTS)).await;

    // The healthy destination gets every event while the other one is down.
    let mut ok = BTreeSet::new();
    let mut flaky = Vec::new();
    while ok.len() < EVENTS {
        let received = receiver.next().await;
        match received.path.as_str() {
            "/ok" => {
                ok.insert(received.event_id());
            }
            _ => flaky.push(received),
        }
    }
    assert!(
        flaky.iter().all(|r| r.status == 503),
        "still down while the healthy destination got all"
    );
    // Every flaky delivery waits on the retry topic (not in memory) before the receiver recovers.
    let waiting = |records: &[ReadRecord]| {
        records
            .iter()
            .filter_map(|(_, value)| serde_json::from_slice::<serde_json::Value>(value).ok())
            .map(|job| job["notification"]["data"]["event_id"].to_string())
            .collect::<BTreeSet<_>>()
            .len()
            >= EVENTS
    };
    let retries = read_topic_until(kafka.brokers(), RETRY_TOPIC, 3, waiting).await;
    assert!(retries.iter().all(|(h, _)| h.contains_key("retry-due")));

    down.store(false, Ordering::SeqCst);
    let mut recovered = BTreeSet::new();
    while recovered.len() < EVENTS {
        let received = receiver.next().await;
        if received.path == "/flaky" {
            if received.status == 200 {
                recovered.insert(received.event_id());
            }
            flaky.push(received);
        }
    }
    router.stop().await;
    flaky.extend(receiver.drain().into_iter().filter(|r| r.path == "/flaky"));

    let mut ids: HashMap<String, BTreeSet<String>> = HashMap::new();
    for r in &flaky {
        ids.entry(r.event_id())
            .or_default()
            .insert(r.header("webhook-id").unwrap().to_owned());
    }
    assert_eq!(ids.len(), EVENTS);
    assert!(
        ids.values().all(|set| set.len() == 1),
        "every attempt of one delivery carries the same webhook-id"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_waiting_in_kafka_survives_a_restart() {
    const EVENTS: usize = 5;
    let kafka = Kafka::start(&["lifecycle"]);
    let (mut receiver, down) = Receiver::with_outage("/flaky").await;
    // The long retry is due after the stop: only the retry topic remembers it.
    let destinations = webhook(
        "flaky",
        receiver.url("/flaky"),
        "    retry: { retries: 0, schedule: [3s], horizon: 1h }\n",
    );
    let topics = vec![topic(
        "all",
        "  - id: lifecycle",
        "  - { name: to-flaky, destination: flaky }",
    )];
    let setup = Setup::lifecycle(kafka.brokers(), "survives", &destinations, topics);
    let first = setup.start();
    kafka.produce_events("lifecycle", &updates(0..EVENTS)).await;
    let failed: BTreeSet<String> = receiver
        .take(EVENTS)
        .await
        .iter()
        .map(Received::event_id)
        .collect();
    assert_eq!(failed.len(), EVENTS);
    read_topic(kafka.brokers(), RETRY_TOPIC, 3, EVENTS).await;
    first.stop().await;

    down.store(false, Ordering::SeqCst);
    let second = setup.start();
    let mut delivered = BTreeSet::new();
    while delivered.len() < EVENTS {
        let received = receiver.next().await;
        assert_eq!(received.status, 200);
        delivered.insert(received.event_id());
    }
    second.stop().await;
    assert_eq!(delivered, failed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_receiver_uses_its_own_slots_and_dead_letters_after_its_horizon() {
    const EVENTS: usize = 12;
    let kafka = Kafka::start(&["lifecycle"]);
    let mut receiver =
        Receiver::answering(Arc::new(|path, _| (path != "/hung").then_some(200))).await;
    let destinations = webhook(
        "hung",
        receiver.url("/hung"),
        "    timeout: 300ms\n    retry: { retries: 0, schedule: [200ms, 200ms, 200ms], horizon: 2s }\n    limits: { concurrency: 2, queue: 4 }\n",
    ) + &webhook("ok", receiver.url("/ok"), "");
    let topics = vec![topic(
        "all",
        "  - id: lifecycle",
        "  - { name: to-hung, destination: hung }\n  - { name: to-ok, destination: ok }",
    )];
    let router = Setup::lifecycle(kafka.brokers(), "hung", &destinations, topics).start();
    kafka.produce_events("lifecycle", &updates(0..EVENTS)).await;
    let ok: BTreeSet<String> = receiver
        .take(EVENTS)
        .await
        .iter()
        .map(Received::event_id)
        .collect();
    assert_eq!(ok.len(), EVENTS, "the healthy destination gets every event");
    let letters = kafka.dead_letters(EVENTS).await;
    router.stop().await;
    assert!(
        receiver.drain().iter().all(|r| r.path == "/ok"),
        "the hung receiver never answered"
    );
    assert_hung_dead_letters(&letters, EVENTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destination_failing_for_a_whole_horizon_is_disabled() {
    let kafka = Kafka::start(&["lifecycle"]);
    let mut receiver = Receiver::answering(Arc::new(|_, _| Some(503))).await;
    let destinations = webhook(
        "down",
        receiver.url("/down"),
        "    retry: { retries: 0, schedule: [100ms], horizon: 1s }\n    circuit_breaker: { failures: 1000 }\n",
    );
    let topics = vec![topic(
        "all",
        "  - id: lifecycle",
        "  - { name: to-down, destination: down }",
    )];
    let router = Setup::lifecycle(kafka.brokers(), "horizon", &destinations, topics).start();
    // One event at a time until the destination has failed for a whole horizon.
    let mut letters = Vec::new();
    for i in 0..100 {
        kafka.produce_events("lifecycle", &updates(i..i + 1)).await;
        letters = kafka.dead_letters(i + 1).await;
        if letters
            .iter()
            .any(|(h, _)| h["dlq-reason"] == "destination-disabled")
        {
            break;
        }
    }
    router.stop().await;
    let reasons: Vec<&str> = letters
        .iter()
        .map(|(h, _)| h["dlq-reason"].as_str())
        .collect();
    let disabled = reasons
        .iter()
        .position(|r| *r == "destination-disabled")
        .expect("disabled after failing for its horizon");
    assert!(
        disabled >= 1,
        "the first delivery alone does not disable it: {reasons:?}"
    );
    assert!(
        reasons[..disabled]
            .iter()
            .all(|r| *r == "retries-exhausted")
    );
    let attempts_before = receiver.drain().len();
    assert!(
        attempts_before >= 2 * disabled,
        "each exhausted delivery was tried twice"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_410_disables_the_destination_and_its_deliveries_are_dead_lettered() {
    let kafka = Kafka::start(&["lifecycle"]);
    let mut receiver = Receiver::answering(Arc::new(|path, _| {
        Some(if path == "/gone" { 410 } else { 200 })
    }))
    .await;
    let destinations =
        webhook("gone", receiver.url("/gone"), "") + &webhook("ok", receiver.url("/ok"), "");
    let topics = vec![topic(
        "all",
        "  - id: lifecycle",
        "  - { name: to-gone, destination: gone }\n  - { name: to-ok, destination: ok }",
    )];
    let router = Setup::lifecycle(kafka.brokers(), "gone", &destinations, topics).start();
    kafka.produce_events("lifecycle", &updates(0..1)).await;
    let first = kafka.dead_letters(1).await;
    assert_eq!(first[0].0["dlq-reason"], "destination-gone");
    assert_eq!(first[0].0["dlq-last-status"], "410");
    kafka.produce_events("lifecycle", &updates(1..4)).await;
    let letters = kafka.dead_letters(4).await;
    let mut ok = BTreeSet::new();
    let mut gone = 0;
    while ok.len() < 4 {
        let received = receiver.next().await;
        match received.path.as_str() {
            "/ok" => {
                ok.insert(received.event_id());
            }
            _ => gone += 1,
        }
    }
    router.stop().await;
    gone += receiver
        .drain()
        .iter()
        .filter(|r| r.path == "/gone")
        .count();
    assert_eq!(gone, 1, "nothing is sent to a disabled destination");
    for (headers, _) in &letters[1..] {
        assert_eq!(headers["dlq-reason"], "destination-disabled");
        assert_eq!(headers["dlq-attempts"], "0");
        assert!(headers["dlq-detail"].contains("410"), "{headers:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_read_twice_within_the_window_is_delivered_once() {
    let kafka = Kafka::start(&["lifecycle"]);
    let mut receiver = Receiver::ok().await;
    let destinations = webhook("hook", receiver.url("/hook"), "");
    let router = Setup::lifecycle(kafka.brokers(), "dedup", &destinations, all_to_hook()).start();
    let events = updates(0..2);
    // A producer retry: the same event twice, then another, on one partition.
    let records: Vec<_> = [&events[0], &events[0], &events[1]]
        .iter()
        .map(|e| (Some("one"), e.to_string().into_bytes(), vec![]))
        .collect();
    kafka.produce("lifecycle", &records).await;
    let ids = event_ids_through_stop(&mut receiver, 2, router).await;
    assert_eq!(ids, vec!["evt-0", "evt-1"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_retry_record_is_dead_lettered_and_never_delivered() {
    let kafka = Kafka::start(&["lifecycle"]);
    let (mut receiver, down) = Receiver::with_outage("/flaky").await;
    let destinations = webhook(
        "flaky",
        receiver.url("/flaky"),
        "    retry: { retries: 0, schedule: [2s], horizon: 1h }\n",
    );
    let topics = vec![topic(
        "all",
        "  - id: lifecycle",
        "  - { name: to-flaky, destination: flaky }",
    )];
    let setup = Setup::lifecycle(kafka.brokers(), "forged", &destinations, topics);
    let router = setup.start();
    kafka.produce_events("lifecycle", &updates(0..1)).await;
    assert_eq!(receiver.next().await.status, 503);
    // The router's own retry record: its value is what a forger would imitate.
    let genuine = read_topic(kafka.brokers(), RETRY_TOPIC, 3, 1)
        .await
        .remove(0);
    let forge = |n: usize| {
        let mut job: serde_json::Value = serde_json::from_slice(&genuine.1).unwrap();
        job["webhook_id"] = format!("msg_forged_{n}").into();
        job["notification"]["data"]["event_id"] = format!("evt-forged-{n}").into();
        job["due"] = chrono::Utc::now().to_rfc3339().into();
        serde_json::to_vec(&job).unwrap()
    };
    let (first, second) = (forge(1), forge(2));
    let due = genuine.0["retry-due"].clone();
    let code = genuine.0["router-auth"].clone();
    kafka
        .produce(
            RETRY_TOPIC,
            &[
                // Written by anyone who can write to Kafka: no code at all...
                (
                    Some("msg_forged_1"),
                    first,
                    vec![("retry-due", due.as_bytes())],
                ),
                // ...or the code of another record.
                (
                    Some("msg_forged_2"),
                    second,
                    vec![
                        ("retry-due", due.as_bytes()),
                        ("router-auth", code.as_bytes()),
                    ],
                ),
            ],
        )
        .await;
    down.store(false, Ordering::SeqCst);

    // The genuine retry is delivered; the forged ones, due at once, never are.
    let mut seen = Vec::new();
    loop {
        let received = receiver.next().await;
        seen.push(received.event_id());
        if received.status == 200 && received.event_id() == "evt-0" {
            break;
        }
    }
    assert!(seen.iter().all(|id| id == "evt-0"), "delivered: {seen:?}");
    let letters = read_topic_until(kafka.brokers(), DEAD_LETTER_TOPIC, 1, |letters| {
        letters
            .iter()
            .filter(|(h, _)| h["dlq-reason"] == "invalid-retry-record")
            .count()
            >= 2
    })
    .await;
    router.stop().await;
    seen.extend(receiver.drain().iter().map(Received::event_id));
    assert!(seen.iter().all(|id| id == "evt-0"), "delivered: {seen:?}");
    let invalid: Vec<_> = letters
        .iter()
        .filter(|(h, _)| h["dlq-reason"] == "invalid-retry-record")
        .collect();
    assert_eq!(invalid.len(), 2);
    for (headers, _) in &invalid {
        assert_eq!(headers["dlq-kind"], "input", "never replayed as a delivery");
        assert!(
            headers["dlq-detail"].contains("authentication code"),
            "{headers:?}"
        );
    }
}

/// A restart finds more retries in the topic than `max_pending_retries`, some due at once and
/// some later: the schedule fills before its partitions are read to their end, and what is due
/// is delivered anyway (it used to wait for the end of partitions it had paused).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_retries_than_the_schedule_holds_are_delivered_after_a_restart() {
    // Twelve times what the second router's schedule holds (50): it fills long before the ends.
    const EVENTS: usize = 300;
    let kafka = Kafka::start(&["lifecycle"]);
    let receiver = Receiver::answering(Arc::new(|_, _| Some(503))).await;
    // Every attempt fails at first; `soon`'s retries are due after 1 s, `later`'s after 8 s.
    // The schedule has room for more retries than the first router can make before it stops
    // (on a busy machine some come due and fail again meanwhile): none is dead-lettered.
    let retry = |step: &str| {
        let schedule = vec![step; 20].join(", ");
        format!(
            "    retry: {{ retries: 0, schedule: [{schedule}], horizon: 1h }}\n    circuit_breaker: {{ failures: 100000 }}\n"
        )
    };
    let destinations = webhook("soon", receiver.url("/soon"), &retry("1s"))
        + &webhook("later", receiver.url("/later"), &retry("8s"));
    let topics = vec![topic(
        "all",
        "  - id: lifecycle",
        "  - { name: to-soon, destination: soon }\n  - { name: to-later, destination: later }",
    )];
    let setup = Setup::lifecycle(kafka.brokers(), "backlog", &destinations, topics.clone());
    let first = setup.start();
    kafka.produce_events("lifecycle", &updates(0..EVENTS)).await;
    read_topic(kafka.brokers(), RETRY_TOPIC, 3, 2 * EVENTS).await;
    first.stop().await;
    drop(receiver);

    let mut receiver = Receiver::ok().await;
    let destinations = webhook("soon", receiver.url("/soon"), &retry("1s"))
        + &webhook("later", receiver.url("/later"), &retry("8s"));
    let second = Setup {
        kafka_extra: "  max_pending_retries: 50\n",
        ..Setup::lifecycle(kafka.brokers(), "backlog", &destinations, topics)
    }
    .start();
    let mut delivered: HashMap<String, BTreeSet<String>> = HashMap::new();
    while delivered.values().map(BTreeSet::len).sum::<usize>() < 2 * EVENTS {
        let received = receiver.next().await;
        delivered
            .entry(received.path.clone())
            .or_default()
            .insert(received.event_id());
    }
    second.stop().await;
    assert_eq!(delivered["/soon"].len(), EVENTS);
    assert_eq!(delivered["/later"].len(), EVENTS);
}
