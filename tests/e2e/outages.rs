//! Broker outages (the broker behind a [`Proxy`](crate::proxy::Proxy), so that it keeps its
//! data): a SIGTERM while it is gone ends the router within the drain timeout and loses nothing;
//! 60 s without it at start and mid-stream, then back on the same port: consuming and due
//! retries resume within 10 s of its return, nothing is lost, and the router says so once per
//! outage, in readiness and in `kafka_connected`.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::common::*;
use crate::proxy::broker_behind_proxy;

/// The drain timeout of [`Setup`]'s configuration.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// The router's default `session.timeout.ms`.
const SESSION_TIMEOUT: Duration = Duration::from_secs(10);
const OUTAGE: Duration = Duration::from_secs(60);
/// How soon after the broker's return the router must be consuming again.
const RESUMED_WITHIN: Duration = Duration::from_secs(10);
/// The router's own line at the start of an outage.
const OUTAGE_LINE: &str = "Kafka brokers cannot be reached";
const BACK_LINE: &str = "Kafka brokers reachable again";

/// Lines of a router's log that contain `text`.
fn lines_with(log: &Path, text: &str) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|line| line.contains(text))
        .count()
}

/// `admin:` lines on a free port, and the admin base URL.
fn admin() -> (String, String) {
    let port = free_port();
    (
        format!("admin:\n  listen: 127.0.0.1:{port}\n"),
        format!("http://127.0.0.1:{port}"),
    )
}

/// `/readyz`'s status and `kafka_connected`, once the admin server answers.
async fn readiness(base: &str) -> (u16, String) {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(response) = reqwest::get(format!("{base}/readyz")).await {
            let status = response.status().as_u16();
            let metrics = reqwest::get(format!("{base}/metrics"))
                .await
                .expect("metrics")
                .text()
                .await
                .expect("metrics text");
            let connected = metrics
                .lines()
                .find(|l| l.starts_with("notification_router_kafka_connected "))
                .unwrap_or_default()
                .to_owned();
            return (status, connected);
        }
        assert!(Instant::now() < deadline, "the admin server never answered");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until `/readyz` answers `status`.
async fn wait_ready(base: &str, status: u16, within: Duration) -> (u16, String) {
    let deadline = Instant::now() + within;
    loop {
        let answer = readiness(base).await;
        if answer.0 == status || Instant::now() >= deadline {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_the_broker_gone_exits_within_the_drain_timeout_and_a_restart_loses_nothing() {
    const EVENTS: usize = 1_000;
    const ALL: usize = EVENTS * 2;
    let (_tansu, mut proxy) = broker_behind_proxy();
    let brokers = proxy.brokers();
    // About 100 events a second (20 in flight, 200 ms each), so that the stop comes mid-stream
    // whatever librdkafka had fetched before the broker went.
    let mut receiver =
        Receiver::answering_delayed(Arc::new(|_, _| Some(200)), Duration::from_millis(200)).await;
    let (destinations, topics) = destinations(&receiver, &[("a", ""), ("b", "")]);
    let kafka_extra = kafka_settings("", "  max_in_flight: 20\n");
    let setup = Setup {
        kafka_extra: &kafka_extra,
        ..Setup::lifecycle(&brokers, "sigterm-no-broker", &destinations, topics)
    };
    let (_dir, config) = setup.write();
    produce_all(&brokers, LIFECYCLE, &updates(0..EVENTS)).await;

    let first = RouterProcess::start(BIN, &config, "first");
    let first_log = first.log.clone();
    let mut log = receiver.take(ALL / 3).await;
    proxy.stop();
    // The router notices, as after a broker's crash.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let signalled = Instant::now();
    let status = first.terminate(WAIT).await;
    let exit_took = signalled.elapsed();
    log.extend(receiver.drain());
    let before = log.len();
    eprintln!("exit {exit_took:?} after SIGTERM with the broker gone; {before} of {ALL} delivered");
    assert!(status.success(), "{status:?}");
    assert!(
        exit_took <= DRAIN_TIMEOUT + Duration::from_secs(5),
        "exited {exit_took:?} after SIGTERM; the drain timeout is {DRAIN_TIMEOUT:?}"
    );
    assert!(
        lines_with(&first_log, "exiting without it") >= 1,
        "the router says what it could not do"
    );
    assert!(before < ALL, "stopped mid-stream");

    // The broker back; the first member's session expires before the second joins (tansu
    // expires it only when another member contacts the group: see crash.rs).
    proxy.restart();
    tokio::time::sleep(SESSION_TIMEOUT + Duration::from_secs(1)).await;
    let second = RouterProcess::start(BIN, &config, "second");
    let mut seen: BTreeSet<(String, String)> = log.iter().map(pair).collect();
    while seen.len() < ALL {
        seen.insert(pair(&receiver.next().await));
    }
    let status = second.terminate(WAIT).await;
    assert!(status.success(), "{status:?}");
    assert_eq!(seen.len(), ALL, "every event at every destination");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_gone_for_60_s_at_start_is_said_once_and_consuming_starts_within_10_s_of_its_return()
 {
    const BATCH: usize = 20;
    let (_tansu, mut proxy) = broker_behind_proxy();
    let brokers = proxy.brokers();
    proxy.stop();
    let down = Instant::now();
    let mut receiver = Receiver::ok().await;
    let destinations = webhook("hook", receiver.url("/hook"), "");
    let (admin, base) = admin();
    let setup = Setup {
        kafka_extra: &kafka_settings("", ""),
        router_extra: &admin,
        ..Setup::lifecycle(&brokers, "down-at-start", &destinations, all_to_hook())
    };
    let (_dir, config) = setup.write();
    let router = RouterProcess::start(BIN, &config, "router");

    tokio::time::sleep(Duration::from_secs(15)).await;
    let (status, connected) = readiness(&base).await;
    assert_eq!(status, 503, "not ready without a broker");
    assert_eq!(connected, "notification_router_kafka_connected 0");
    tokio::time::sleep(OUTAGE.saturating_sub(down.elapsed())).await;

    proxy.restart();
    let back = Instant::now();
    produce_events_to(&brokers, LIFECYCLE, &updates(0..BATCH)).await;
    let mut delivered = BTreeSet::new();
    while delivered.len() < BATCH {
        delivered.insert(receiver.next().await.event_id());
    }
    let resumed = back.elapsed();
    let (status, connected) = wait_ready(&base, 200, RESUMED_WITHIN).await;
    let status_router = router.terminate(WAIT).await;
    let (said, back_said) = (
        lines_with(&config.with_file_name("router.log"), OUTAGE_LINE),
        lines_with(&config.with_file_name("router.log"), BACK_LINE),
    );
    // Both say since when, the end also how long it lasted.
    let log = std::fs::read_to_string(config.with_file_name("router.log")).unwrap_or_default();
    assert!(
        log.lines()
            .filter(|l| l.contains(OUTAGE_LINE) || l.contains(BACK_LINE))
            .all(|l| l.contains(" since=")),
        "the outage lines say since when"
    );
    assert!(
        log.lines()
            .filter(|l| l.contains(BACK_LINE))
            .all(|l| l.contains(" outage=")),
        "the end of an outage says how long it lasted"
    );
    eprintln!(
        "broker gone {OUTAGE:?} at start: {BATCH} events delivered {resumed:?} after its return; outage said {said} time(s)"
    );
    assert!(status_router.success(), "{status_router:?}");
    assert!(
        resumed <= RESUMED_WITHIN,
        "consuming resumed {resumed:?} after the broker's return"
    );
    assert_eq!(status, 200, "ready once the broker is back");
    assert_eq!(connected, "notification_router_kafka_connected 1");
    assert_eq!(said, 1, "one router line for the outage");
    assert_eq!(back_said, 1, "one router line for the return");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_gone_for_60_s_mid_stream_holds_up_consuming_and_due_retries_less_than_10_s_after_its_return()
 {
    const BATCH: usize = 20;
    let (_tansu, mut proxy) = broker_behind_proxy();
    let brokers = proxy.brokers();
    // `flaky` fails the first attempt of each event of the first batch: those go to the retry
    // topic, due about a minute later, around the broker's return.
    let failed_once = Arc::new(Mutex::new(HashSet::new()));
    let mut receiver =
        Receiver::answering(Arc::new(move |path: &str, body: &serde_json::Value| {
            let id = body["data"]["event_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let first_batch = id
                .strip_prefix("evt-")
                .and_then(|n| n.parse::<usize>().ok())
                .is_some_and(|n| n < BATCH);
            let first_time = path == "/flaky" && failed_once.lock().unwrap().insert(id);
            Some(if first_batch && first_time { 503 } else { 200 })
        }))
        .await;
    let flaky = "    retry: { retries: 0, schedule: [60s, 60s], horizon: 10m }\n    circuit_breaker: { failures: 1000 }\n";
    let (destinations, topics) = destinations(&receiver, &[("a", ""), ("flaky", flaky)]);
    let setup = Setup {
        kafka_extra: &kafka_settings("", ""),
        ..Setup::lifecycle(&brokers, "down-mid-stream", &destinations, topics)
    };
    let (_dir, config) = setup.write();
    let router = RouterProcess::start(BIN, &config, "router");
    let (instant0, utc0) = (Instant::now(), Utc::now());

    produce_events_to(&brokers, LIFECYCLE, &updates(0..BATCH)).await;
    let mut log: Vec<Received> = Vec::new();
    let failed = |log: &[Received]| log.iter().filter(|r| r.status == 503).count();
    while log.iter().filter(|r| r.path == "/a").count() < BATCH || failed(&log) < BATCH {
        log.push(receiver.next().await);
    }
    // When each retry is due, from the retry topic's records.
    let retries =
        read_topic_until(&brokers, RETRY_TOPIC, 3, |records| records.len() >= BATCH).await;
    let due: HashMap<String, Instant> = retries
        .iter()
        .map(|(headers, value)| {
            let job: serde_json::Value = serde_json::from_slice(value).expect("a job");
            let id = job["notification"]["data"]["event_id"]
                .as_str()
                .expect("event id")
                .to_owned();
            let due: DateTime<Utc> = headers["retry-due"].parse().expect("an RFC 3339 time");
            let after = (due - utc0).to_std().unwrap_or_default();
            (id, instant0 + after)
        })
        .collect();
    assert_eq!(due.len(), BATCH);

    proxy.stop();
    let down = Instant::now();
    tokio::time::sleep(OUTAGE).await;
    proxy.restart();
    let back = Instant::now();
    eprintln!(
        "outage {:?}; retries due {:?} to {:?} after it began",
        back - down,
        due.values()
            .min()
            .map(|d| d.saturating_duration_since(down)),
        due.values()
            .max()
            .map(|d| d.saturating_duration_since(down))
    );
    produce_events_to(&brokers, LIFECYCLE, &updates(BATCH..2 * BATCH)).await;
    let second_batch = |log: &[Received], path: &str| {
        log.iter()
            .filter(|r| r.path == path && r.status == 200)
            .filter(|r| {
                r.event_id()["evt-".len()..]
                    .parse::<usize>()
                    .is_ok_and(|n| n >= BATCH)
            })
            .count()
    };
    let retried = |log: &[Received]| {
        log.iter()
            .filter(|r| r.path == "/flaky" && r.status == 200 && due.contains_key(&r.event_id()))
            .count()
    };
    let mut resumed = None;
    while second_batch(&log, "/a") < BATCH || retried(&log) < BATCH {
        log.push(receiver.next().await);
        if resumed.is_none() && second_batch(&log, "/a") == BATCH {
            resumed = Some(back.elapsed());
        }
    }
    let status = router.terminate(WAIT).await;
    assert!(status.success(), "{status:?}");
    let resumed = resumed.expect("the second batch arrived");
    let late: Vec<(String, Duration)> = log
        .iter()
        .filter(|r| r.path == "/flaky" && r.status == 200)
        .filter_map(|r| {
            let due = *due.get(&r.event_id())?;
            Some((r.event_id(), r.at.saturating_duration_since(due.max(back))))
        })
        .collect();
    let latest = late.iter().map(|(_, d)| *d).max().unwrap_or_default();
    let router_log = config.with_file_name("router.log");
    let said = lines_with(&router_log, OUTAGE_LINE);
    eprintln!(
        "consuming resumed {resumed:?} after the broker's return; due retries went out at most {latest:?} after max(due, return); outage said {said} time(s)"
    );
    assert!(
        resumed <= RESUMED_WITHIN,
        "the second batch arrived {resumed:?} after the broker's return"
    );
    assert!(
        latest <= RESUMED_WITHIN,
        "a due retry went out {latest:?} after it was due or the broker returned: {late:?}"
    );
    assert_eq!(said, 1, "one router line for the outage");
    let delivered: BTreeSet<(String, String)> =
        log.iter().filter(|r| r.status == 200).map(pair).collect();
    assert_eq!(
        delivered.len(),
        4 * BATCH,
        "every event at both destinations"
    );
}
