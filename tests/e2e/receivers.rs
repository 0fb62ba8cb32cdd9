//! Bad receivers: one in an outage, one that never answers. Its deliveries wait on the retry
//! topic or end on the dead-letter topic; the other destinations are not held up.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::common::*;

/// Publishes one event every `every` from `evt-{first}` on, for `how_long`, recording when each
/// was sent. Returns the number of the next event.
async fn stream(
    brokers: &str,
    first: usize,
    every: Duration,
    how_long: Duration,
    published: &mut HashMap<String, Instant>,
) -> usize {
    let start = Instant::now();
    let mut next = first;
    while start.elapsed() < how_long {
        published.insert(format!("evt-{next}"), Instant::now());
        produce_events_to(brokers, LIFECYCLE, &updates(next..next + 1)).await;
        next += 1;
        let due = start + every * u32::try_from(next - first).unwrap();
        tokio::time::sleep_until(due.into()).await;
    }
    next
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_in_a_30_s_outage_gets_everything_through_the_retry_topic_and_delays_nobody() {
    const OUTAGE: Duration = Duration::from_secs(30);
    const EVERY: Duration = Duration::from_millis(100);
    let tansu = Tansu::start(&TOPICS);
    let brokers = tansu.brokers();
    let (mut receiver, down) = Receiver::with_outage("/flaky").await;
    down.store(false, Ordering::SeqCst);
    // The default in-process retries; long retries every 2 s, so recovery shows soon.
    let flaky = "    retry: { schedule: [2s, 2s, 2s, 2s, 2s, 2s, 2s, 2s, 2s, 2s, 2s, 2s, 2s, 2s, 2s, 2s, 2s, 2s, 2s, 2s, 2s, 2s, 2s, 2s, 2s, 2s, 2s, 2s, 2s, 2s], horizon: 10m }\n    circuit_breaker: { probe_interval: 2s }\n";
    let (destinations, topics) = destinations(&receiver, &[("flaky", flaky), ("a", ""), ("b", "")]);
    let setup = Setup {
        kafka_extra: &kafka_settings("", "  max_in_flight: 50\n"),
        ..Setup::lifecycle(&brokers, "outage", &destinations, topics)
    };
    let (_dir, config) = setup.write();
    let router = RouterProcess::start(BIN, &config, "router");
    // Measure from the moment the router delivers.
    produce_events_to(&brokers, LIFECYCLE, &updates(0..1)).await;
    let mut log = receiver.take(3).await;

    let mut published = HashMap::new();
    let healthy_from = Instant::now();
    let mut next = stream(&brokers, 1, EVERY, Duration::from_secs(5), &mut published).await;
    let outage_from = Instant::now();
    down.store(true, Ordering::SeqCst);
    next = stream(&brokers, next, EVERY, OUTAGE, &mut published).await;
    down.store(false, Ordering::SeqCst);
    let outage_until = Instant::now();
    let events = stream(
        &brokers,
        next,
        EVERY,
        Duration::from_secs(2),
        &mut published,
    )
    .await;

    // Every event reaches `a` and `b`, and, once it has recovered, `flaky`.
    let done = |log: &[Received], destination: &str| {
        log.iter()
            .filter(|r| r.path == format!("/{destination}") && r.status == 200)
            .map(Received::event_id)
            .collect::<BTreeSet<_>>()
            .len()
            >= events
    };
    while !(done(&log, "a") && done(&log, "b") && done(&log, "flaky")) {
        log.push(receiver.next().await);
    }
    let status = router.terminate(WAIT).await;
    assert!(status.success(), "{status:?}");
    log.extend(receiver.drain());

    // Deliveries of events published during the outage waited on the retry topic: all those
    // published longer before its end than the in-process retries take (about 10 s).
    let long: BTreeSet<String> = published
        .iter()
        .filter(|(_, at)| **at >= outage_from && **at + Duration::from_secs(12) < outage_until)
        .map(|(id, _)| id.clone())
        .collect();
    assert!(
        log.iter()
            .any(|r| r.path == "/flaky" && r.status == 503 && long.contains(&r.event_id())),
        "the outage failed deliveries"
    );
    let expected = long.clone();
    let retried = read_topic_until(&brokers, RETRY_TOPIC, 3, move |records| {
        let ids: BTreeSet<String> = records
            .iter()
            .filter_map(|(_, v)| serde_json::from_slice::<serde_json::Value>(v).ok())
            .filter_map(|job| {
                job["notification"]["data"]["event_id"]
                    .as_str()
                    .map(str::to_owned)
            })
            .collect();
        expected.is_subset(&ids)
    })
    .await;
    let flaky_ids: HashMap<String, BTreeSet<String>> = log
        .iter()
        .filter(|r| r.path == "/flaky")
        .fold(HashMap::new(), |mut ids, r| {
            ids.entry(r.event_id())
                .or_default()
                .insert(r.header("webhook-id").unwrap().to_owned());
            ids
        });
    assert!(
        flaky_ids.values().all(|set| set.len() == 1),
        "every attempt of a delivery carries its webhook-id"
    );

    // The healthy destinations' latency during the outage stays near what it was before it.
    for destination in ["a", "b"] {
        let healthy = p99(latencies(
            &log,
            &published,
            destination,
            healthy_from..outage_from,
        ));
        let during = p99(latencies(
            &log,
            &published,
            destination,
            outage_from..outage_until,
        ));
        let bound = healthy * 3 + Duration::from_secs(2);
        eprintln!(
            "{destination}: p99 {healthy:?} before the outage, {during:?} during it (bound {bound:?}); {} retry records for {} events published during the outage",
            retried.len(),
            long.len()
        );
        assert!(
            during <= bound,
            "{destination} delayed by the outage: p99 {during:?} during it, {healthy:?} before"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_receiver_holds_up_nobody_and_its_deliveries_dead_letter_after_the_horizon() {
    const EVENTS: usize = 30;
    let tansu = Tansu::start(&TOPICS);
    let brokers = tansu.brokers();
    let mut receiver =
        Receiver::answering(Arc::new(|path, _| (path != "/hung").then_some(200))).await;
    let hung = "    timeout: 1s\n    retry: { retries: 0, schedule: [500ms, 500ms, 500ms], horizon: 3s }\n    limits: { concurrency: 2, queue: 4 }\n";
    let (destinations, topics) = destinations(&receiver, &[("hung", hung), ("a", ""), ("b", "")]);
    let setup = Setup {
        kafka_extra: &kafka_settings("", ""),
        ..Setup::lifecycle(&brokers, "hung", &destinations, topics)
    };
    let (_dir, config) = setup.write();
    let router = RouterProcess::start(BIN, &config, "router");
    produce_events_to(&brokers, LIFECYCLE, &updates(0..1)).await;
    let mut log = receiver.take(2).await;

    let mut published = HashMap::new();
    let from = Instant::now();
    stream(
        &brokers,
        1,
        Duration::from_millis(100),
        Duration::from_secs(3),
        &mut published,
    )
    .await;
    let until = Instant::now();
    let events = published.len() + 1;
    assert!(events >= EVENTS / 2);
    let delivered = |log: &[Received], destination: &str| {
        log.iter()
            .filter(|r| r.path == format!("/{destination}"))
            .map(Received::event_id)
            .collect::<BTreeSet<_>>()
            .len()
    };
    while delivered(&log, "a") < events || delivered(&log, "b") < events {
        log.push(receiver.next().await);
    }
    let letters = read_topic(&brokers, DEAD_LETTER_TOPIC, 1, events).await;
    let status = router.terminate(WAIT).await;
    assert!(status.success(), "{status:?}");
    log.extend(receiver.drain());
    assert!(
        log.iter().all(|r| r.path != "/hung"),
        "the hung receiver never answered"
    );
    for destination in ["a", "b"] {
        let p99 = p99(latencies(&log, &published, destination, from..until));
        eprintln!("{destination}: p99 {p99:?} while `hung` hung");
        assert!(
            p99 < Duration::from_secs(5),
            "{destination} held up by the hung receiver: p99 {p99:?}"
        );
    }
    assert_hung_dead_letters(&letters, events);
}
