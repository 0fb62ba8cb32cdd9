//! Mute windows through Kafka: a delayed delivery waits in the retry topic and arrives when its
//! window ends; a dropped one never arrives; an unmuted subscription is not held up.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use chrono::{Timelike, Utc};

use crate::support::*;

/// How long the test's mute window lasts from now.
const WINDOW: Duration = Duration::from_secs(10);

/// `HH:MM:SS` of a second of the day (`24:00:00` for the day's end).
fn clock(second: u32) -> String {
    format!(
        "{:02}:{:02}:{:02}",
        second / 3600,
        second / 60 % 60,
        second % 60
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delayed_delivery_arrives_when_its_window_ends_and_a_dropped_one_never() {
    // A window from a minute ago to a few seconds from now, in UTC, within today.
    let mut now = Utc::now();
    let day_end = 86_400;
    let window = u32::try_from(WINDOW.as_secs()).unwrap();
    if now.num_seconds_from_midnight() + window + 2 >= day_end {
        tokio::time::sleep(Duration::from_secs(u64::from(window) + 3)).await;
        now = Utc::now();
    }
    let second = now.num_seconds_from_midnight();
    let end_second = second + window;
    let end = now.with_nanosecond(0).unwrap() + WINDOW;
    let end_instant = Instant::now() + (end - Utc::now()).to_std().unwrap();
    let router_extra = format!(
        "time_intervals:\n  - name: soon\n    time_intervals:\n      - times: [{{ start_time: '{}', end_time: '{}' }}]\n",
        clock(second.saturating_sub(60)),
        clock(end_second)
    );
    let kafka = Kafka::start(&["lifecycle"]);
    let mut receiver = Receiver::ok().await;
    let destinations = webhook("hook", receiver.url("/hook"), "");
    let topics = vec![topic(
        "all",
        "  - id: lifecycle",
        "  - { name: delayed, destination: hook, mute_time_intervals: [soon], when_muted: delay, template: webhook/delayed.json.hbs }\n  - { name: dropped, destination: hook, mute_time_intervals: [soon], when_muted: drop, template: webhook/dropped.json.hbs }\n  - { name: open, destination: hook, template: webhook/open.json.hbs }",
    )];
    let mut setup = Setup::lifecycle(kafka.brokers(), "mute", &destinations, topics);
    setup.router_extra = &router_extra;
    setup.templates = vec![
        (
            "webhook/delayed.json.hbs",
            r#"{"to": "delayed", "id": "{{data.event_id}}"}"#,
        ),
        (
            "webhook/dropped.json.hbs",
            r#"{"to": "dropped", "id": "{{data.event_id}}"}"#,
        ),
        (
            "webhook/open.json.hbs",
            r#"{"to": "open", "id": "{{data.event_id}}"}"#,
        ),
    ];
    let router = setup.start();
    kafka.produce_events("lifecycle", &updates(0..3)).await;

    // Routed while the window holds: the unmuted subscription's deliveries come at once, the
    // delayed ones wait in the retry topic, due when the window ends.
    let mut arrived: Vec<(String, String, Instant)> = Vec::new();
    let count = |arrived: &[(String, String, Instant)], to: &str| {
        arrived.iter().filter(|(t, _, _)| t == to).count()
    };
    let mut next = async || {
        let received = receiver.next().await;
        let body = received.json();
        let field = |name: &str| body[name].as_str().unwrap().to_owned();
        (field("to"), field("id"), received.at)
    };
    while count(&arrived, "open") < 3 {
        arrived.push(next().await);
    }
    let waiting = |records: &[ReadRecord]| {
        records
            .iter()
            .filter_map(|(_, value)| serde_json::from_slice::<serde_json::Value>(value).ok())
            .filter(|job| job["subscription"] == "delayed")
            .count()
            >= 3
    };
    let held = read_topic_until(kafka.brokers(), RETRY_TOPIC, 3, waiting).await;
    for (_, value) in &held {
        let job: serde_json::Value = serde_json::from_slice(value).unwrap();
        assert_ne!(
            job["subscription"], "dropped",
            "a dropped delivery is not held"
        );
        let due = chrono::DateTime::parse_from_rfc3339(job["due"].as_str().unwrap()).unwrap();
        assert_eq!(due, end, "due when the window ends");
    }
    while count(&arrived, "delayed") < 3 {
        arrived.push(next().await);
    }
    // Anything else the router would send is in by now.
    tokio::time::sleep(Duration::from_millis(500)).await;
    router.stop().await;
    for received in receiver.drain() {
        let body = received.json();
        let field = |name: &str| body[name].as_str().unwrap().to_owned();
        arrived.push((field("to"), field("id"), received.at));
    }

    let ids = |to: &str| -> BTreeSet<String> {
        arrived
            .iter()
            .filter(|(t, _, _)| t == to)
            .map(|(_, id, _)| id.clone())
            .collect()
    };
    let all: BTreeSet<String> = (0..3).map(|i| format!("evt-{i}")).collect();
    assert_eq!(ids("open"), all, "the unmuted subscription gets everything");
    assert_eq!(ids("delayed"), all, "each delayed delivery arrives");
    assert_eq!(count(&arrived, "delayed"), 3, "once");
    assert!(
        ids("dropped").is_empty(),
        "dropped deliveries never arrive: {arrived:?}"
    );
    for (to, id, at) in &arrived {
        if to == "delayed" {
            assert!(*at >= end_instant, "{id} arrived before its window ended");
        }
    }
}
