//! Digests through Kafka: a group's notifications wait in the digest topic and arrive as one
//! email, one Slack message or one webhook body each; a digest interrupted by a crash is sent
//! again with the same `webhook-id` and the same notifications.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;
use testkit::process::{BrokerProcess, RouterProcess};
use testkit::slack::SlackServer;
use testkit::smtp::{Script, SmtpServer};

use crate::support::*;

/// Waits until `done` holds, checking every 50 ms, failing the test after [`WAIT`].
async fn until(what: &str, done: impl Fn() -> bool) {
    tokio::time::timeout(WAIT, async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{what} in time"));
}

/// `count` failures named `{prefix}-{i}` in `region`.
fn failures(prefix: &str, region: &str, count: usize) -> Vec<Value> {
    (0..count)
        .map(|i| {
            lifecycle_event(
                "resource-controller.instance.create_failure",
                &format!("{prefix}-evt-{i}"),
                region,
                &format!("{prefix}-{i}"),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_failures_of_one_region_arrive_as_one_email_and_one_slack_message_two_regions_as_two()
{
    let kafka = Kafka::start(&["lifecycle"]);
    let smtp = SmtpServer::start(Script::new());
    let mut slack = SlackServer::start().await;
    let destinations = format!(
        "  - id: mail\n    type: email\n    smtp: {{ url: {}, starttls: off }}\n    from: alerts@example.com\n  - id: chat\n    type: slack\n    allow_http: true\n    slack: {{ type: incoming_webhook, url: \"{}\" }}\n",
        smtp.url(),
        slack.webhook_url()
    );
    // A full group (50) goes at once; a smaller one after `wait`.
    let digest = "digest: { group_by: [$.data.event_properties.region_id], wait: 5s, interval: 2s, max_items: 50 }";
    let topics = vec![topic(
        "failures",
        "  - id: lifecycle",
        &format!(
            "  - name: oncall-email\n    destination: mail\n    recipients: [oncall@example.net]\n    {digest}\n  - name: oncall-slack\n    destination: chat\n    {digest}"
        ),
    )];
    let router = Setup::lifecycle(kafka.brokers(), "digests", &destinations, topics).start();
    let mut events = failures("south", "us-south", 50);
    events.extend(failures("frankfurt", "eu-de", 3));
    kafka.produce_events("lifecycle", &events).await;

    until("two emails", || smtp.accepted().len() >= 2).await;
    until("two Slack messages", || slack.hits() >= 2).await;
    router.stop().await;

    let emails: Vec<_> = smtp.accepted().iter().map(|m| m.parse()).collect();
    assert_eq!(emails.len(), 2, "one email per region");
    let email = |region: &str| {
        emails
            .iter()
            .find(|e| e.subject.as_deref().unwrap_or_default().contains(region))
            .unwrap_or_else(|| panic!("an email for {region}"))
    };
    let south = email("us-south");
    let subject = south.subject.as_deref().unwrap();
    assert!(
        subject.starts_with("50 notifications ($.data.event_properties.region_id = us-south)"),
        "{subject}"
    );
    let (text, html) = (
        south.text.as_deref().unwrap(),
        south.html.as_deref().unwrap(),
    );
    for i in 0..50 {
        assert!(
            text.contains(&format!("south-{i} ")),
            "south-{i} listed:\n{text}"
        );
        assert!(
            html.contains(&format!("south-{i} ")),
            "south-{i} in the HTML part"
        );
    }
    assert!(!text.contains("frankfurt"));
    assert!(text.contains("And 45 more:"), "{text}");
    let frankfurt = email("eu-de");
    assert!(
        frankfurt
            .subject
            .as_deref()
            .unwrap()
            .starts_with("3 notifications")
    );

    let messages = slack.drain();
    assert_eq!(messages.len(), 2, "one Slack message per region");
    let listing = |message: &Value| {
        message["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|b| b["text"]["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let south = messages
        .iter()
        .find(|m| m.json["text"].as_str().unwrap().contains("us-south"))
        .expect("a Slack message for us-south");
    assert!(
        south.json["text"]
            .as_str()
            .unwrap()
            .starts_with("50 notifications")
    );
    let text = listing(&south.json);
    for i in 0..50 {
        assert!(
            text.contains(&format!("south-{i} ")),
            "south-{i} listed:\n{text}"
        );
    }
    assert!(messages.iter().any(|m| {
        m.json["text"]
            .as_str()
            .unwrap()
            .starts_with("3 notifications")
    }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_digest_cut_short_by_sigkill_arrives_after_the_restart_with_the_same_id() {
    const EVENTS: usize = 5;
    let broker = BrokerProcess::start(BIN, &["lifecycle"]);
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
        // A full group goes at once: the digest holds all five, however slow the start.
        "  - { name: digest, destination: hook, digest: { wait: 30s, interval: 1s, max_items: 5 } }",
    )];
    let setup = Setup::lifecycle(broker.brokers(), "digest-kill", &destinations, topics);
    let (_dir, config) = setup.write();
    produce_all(broker.brokers(), "lifecycle", &updates(0..EVENTS)).await;

    let first = RouterProcess::start(BIN, &config, "first");
    receiver.hits_reach(1).await;
    first.kill();
    // The digest's seal record names its id; its sent record was never written.
    let records = read_topic_until(broker.brokers(), DIGEST_TOPIC, 3, |records| {
        records.iter().any(|(h, _)| h["digest-kind"] == "seal")
    })
    .await;
    let seal = records
        .iter()
        .find(|(h, _)| h["digest-kind"] == "seal")
        .unwrap();
    let sealed: Value = serde_json::from_slice(&seal.1).unwrap();
    assert!(!records.iter().any(|(h, _)| h["digest-kind"] == "sent"));

    let second = RouterProcess::start(BIN, &config, "second");
    let resent = receiver.next().await;
    assert_eq!(resent.status, 200);
    assert_eq!(resent.header("webhook-id"), sealed["id"].as_str());
    let body = resent.json();
    let ids: BTreeSet<&str> = body
        .as_array()
        .expect("a digest's body is an array of notifications")
        .iter()
        .map(|n| n["data"]["event_id"].as_str().unwrap())
        .collect();
    let expected: BTreeSet<String> = (0..EVENTS).map(|i| format!("evt-{i}")).collect();
    assert_eq!(ids, expected.iter().map(String::as_str).collect());
    assert_eq!(receiver.hits(), 2, "sent once before the crash, once after");
    second.terminate(WAIT).await;
    assert!(receiver.drain().is_empty(), "nothing else was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_digest_record_is_dead_lettered_and_never_sent() {
    let kafka = Kafka::start(&["lifecycle"]);
    let mut receiver = Receiver::ok().await;
    let destinations = webhook("hook", receiver.url("/digest"), "");
    let topics = vec![topic(
        "all",
        "  - id: lifecycle",
        "  - { name: digest, destination: hook, digest: { wait: 1s, interval: 1s } }",
    )];
    let router = Setup::lifecycle(kafka.brokers(), "digest-forged", &destinations, topics).start();
    kafka.produce_events("lifecycle", &updates(0..1)).await;
    assert_eq!(receiver.next().await.json()[0]["data"]["event_id"], "evt-0");
    // The router's own entry record: what a forger would imitate.
    let records = read_topic_keyed(kafka.brokers(), DIGEST_TOPIC, 3, 3).await;
    let (key, (headers, value)) = records
        .iter()
        .find(|(_, (h, _))| h["digest-kind"] == "entry")
        .unwrap();
    let mut entry: Value = serde_json::from_slice(value).unwrap();
    entry["job"]["notification"]["data"]["event_id"] = "evt-forged".into();
    let forged = serde_json::to_vec(&entry).unwrap();
    let code = headers["router-auth"].clone();
    kafka
        .produce(
            DIGEST_TOPIC,
            &[
                (
                    key.as_deref(),
                    forged.clone(),
                    vec![("digest-kind", b"entry".as_slice())],
                ),
                (
                    key.as_deref(),
                    forged,
                    vec![
                        ("digest-kind", b"entry".as_slice()),
                        ("router-auth", code.as_bytes()),
                    ],
                ),
            ],
        )
        .await;
    let letters = kafka.dead_letters(2).await;
    assert!(
        letters
            .iter()
            .all(|(h, _)| h["dlq-reason"] == "invalid-digest-record"),
        "{letters:?}"
    );
    kafka.produce_events("lifecycle", &updates(1..2)).await;
    let next = receiver.next().await.json();
    assert_eq!(next.as_array().unwrap().len(), 1, "{next}");
    assert_eq!(next[0]["data"]["event_id"], "evt-1");
    router.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_notification_of_a_digest_is_a_delivery_in_the_ledger_with_the_digest_id() {
    let kafka = Kafka::start(&["lifecycle"]);
    let mut receiver = Receiver::ok().await;
    let destinations = webhook("hook", receiver.url("/digest"), "");
    let topics = vec![topic(
        "all",
        "  - id: lifecycle",
        "  - { name: digest, destination: hook, digest: { wait: 30s, interval: 1s, max_items: 3 } }",
    )];
    let port = free_port();
    let admin = format!("admin:\n  listen: 127.0.0.1:{port}\nledger:\n  enabled: true\n");
    let router = Setup {
        router_extra: &admin,
        ..Setup::lifecycle(kafka.brokers(), "digest-ledger", &destinations, topics)
    }
    .start();
    kafka.produce_events("lifecycle", &updates(0..3)).await;
    let digest = receiver.next().await;
    let id = digest.header("webhook-id").unwrap().to_owned();
    assert_eq!(digest.json().as_array().unwrap().len(), 3);

    let url = format!("http://127.0.0.1:{port}/v1/deliveries?subscription=digest&status=delivered");
    let deliveries = tokio::time::timeout(WAIT, async {
        loop {
            if let Ok(response) = reqwest::get(&url).await
                && let Ok(text) = response.text().await
                && let Ok(page) = serde_json::from_str::<Value>(&text)
                && let Some(deliveries) = page["deliveries"].as_array()
                && deliveries.len() == 3
            {
                return deliveries.clone();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the digest's deliveries are in the ledger in time");
    router.stop().await;
    let events: BTreeSet<&str> = deliveries
        .iter()
        .map(|d| {
            assert_eq!(d["digest"], id.as_str(), "{d}");
            assert_ne!(d["webhook_id"], id.as_str(), "each has its own id");
            d["webhook_id"].as_str().unwrap()
        })
        .collect();
    assert_eq!(events.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_held_for_a_mute_window_arrive_at_its_end_as_one_digest() {
    use chrono::{Timelike, Utc};
    const WINDOW: i64 = 8;
    let mut now = Utc::now();
    if now.num_seconds_from_midnight() + 12 >= 86_400 {
        tokio::time::sleep(Duration::from_secs(13)).await;
        now = Utc::now();
    }
    let clock = |second: u32| {
        format!(
            "{:02}:{:02}:{:02}",
            second / 3600,
            second / 60 % 60,
            second % 60
        )
    };
    let second = now.num_seconds_from_midnight();
    let end = now.with_nanosecond(0).unwrap() + chrono::TimeDelta::seconds(WINDOW);
    let router_extra = format!(
        "time_intervals:\n  - name: soon\n    time_intervals:\n      - times: [{{ start_time: '{}', end_time: '{}' }}]\n",
        clock(second.saturating_sub(60)),
        clock(second + u32::try_from(WINDOW).unwrap())
    );
    let kafka = Kafka::start(&["lifecycle"]);
    let mut receiver = Receiver::ok().await;
    let destinations = webhook("hook", receiver.url("/digest"), "");
    let topics = vec![topic(
        "all",
        "  - id: lifecycle",
        "  - { name: night, destination: hook, mute_time_intervals: [soon], when_muted: delay, digest: { wait: 30s, interval: 1s, max_items: 5 } }",
    )];
    let router = Setup {
        router_extra: &router_extra,
        ..Setup::lifecycle(kafka.brokers(), "digest-mute", &destinations, topics)
    }
    .start();
    kafka.produce_events("lifecycle", &updates(0..5)).await;
    let digest = receiver.next().await;
    assert!(Utc::now() >= end, "not before the window ends");
    let ids: BTreeSet<String> = digest
        .json()
        .as_array()
        .expect("an array")
        .iter()
        .map(|n| n["data"]["event_id"].as_str().unwrap().to_owned())
        .collect();
    router.stop().await;
    assert_eq!(
        ids,
        (0..5).map(|i| format!("evt-{i}")).collect(),
        "one digest of the five"
    );
    assert!(receiver.drain().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_more_waiting_than_may_be_held_reading_pauses_and_every_notification_arrives_once() {
    const EVENTS: usize = 40;
    let kafka = Kafka::start(&["lifecycle"]);
    let mut receiver = Receiver::ok().await;
    let destinations = webhook("hook", receiver.url("/digest"), "");
    let topics = vec![topic(
        "all",
        "  - id: lifecycle",
        "  - { name: digest, destination: hook, digest: { wait: 1s, interval: 0s, max_items: 5 } }",
    )];
    let router = Setup {
        kafka_extra: "  max_pending_retries: 8\n",
        ..Setup::lifecycle(kafka.brokers(), "digest-pause", &destinations, topics)
    }
    .start();
    kafka.produce_events("lifecycle", &updates(0..EVENTS)).await;
    let mut ids: Vec<String> = Vec::new();
    while ids.len() < EVENTS {
        let digest = receiver.next().await.json();
        let notifications = digest.as_array().expect("an array");
        assert!(
            notifications.len() <= 5,
            "max_items: {}",
            notifications.len()
        );
        ids.extend(
            notifications
                .iter()
                .map(|n| n["data"]["event_id"].as_str().unwrap().to_owned()),
        );
    }
    router.stop().await;
    let distinct: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), EVENTS, "every notification");
    assert_eq!(ids.len(), EVENTS, "once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_of_a_digest_being_sent_count_against_what_may_be_held() {
    let broker = BrokerProcess::start(BIN, &["lifecycle"]);
    // Every request is held open: the first digest stays in flight.
    let receiver = Receiver::answering(Arc::new(|_, _| None)).await;
    let destinations = webhook("hook", receiver.url("/digest"), "    timeout: 120s\n");
    let topics = vec![topic(
        "all",
        "  - id: lifecycle",
        "  - { name: digest, destination: hook, digest: { wait: 1h, interval: 1s, max_items: 5 } }",
    )];
    let setup = Setup {
        kafka_extra: "  max_pending_retries: 8\n",
        ..Setup::lifecycle(broker.brokers(), "digest-bound", &destinations, topics)
    };
    let (_dir, config) = setup.write();
    let router = RouterProcess::start(BIN, &config, "router");
    // A full group goes at once and is held open by the receiver: its 5 members are in flight.
    produce_all(broker.brokers(), "lifecycle", &updates(0..5)).await;
    receiver.hits_reach(1).await;
    // 3 more wait in the group: with the 5 in flight, 8 records are held, the bound.
    produce_all(broker.brokers(), "lifecycle", &updates(5..8)).await;
    let log = router.log.clone();
    until(
        "the digest topic paused at 5 in flight and 3 waiting",
        || {
            std::fs::read_to_string(&log)
                .is_ok_and(|text| text.contains("Digest groups full; pausing the digest topic."))
        },
    )
    .await;
    router.kill();
    assert_eq!(receiver.hits(), 1, "one digest sent, held open");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_digest_too_large_for_one_retry_record_is_retried_in_parts_and_reading_goes_on() {
    const EVENTS: usize = 30;
    let kafka = Kafka::start(&["lifecycle"]);
    // The whole digest fails once; every later request is answered.
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let mut receiver = Receiver::answering(Arc::new(move |_, _| {
        Some(if counter.fetch_add(1, Ordering::SeqCst) == 0 {
            500
        } else {
            200
        })
    }))
    .await;
    let destinations = webhook(
        "hook",
        receiver.url("/digest"),
        "    retry: { retries: 0, schedule: [200ms, 200ms, 200ms], horizon: 1h }\n    circuit_breaker: { failures: 1000 }\n",
    );
    let topics = vec![topic(
        "all",
        "  - id: lifecycle",
        "  - { name: digest, destination: hook, digest: { wait: 1h, interval: 0s, max_items: 30 } }",
    )];
    // Records of at most 8,000 bytes: an entry fits, a digest of 30 does not.
    let router = Setup {
        kafka_extra: "  properties: { message.max.bytes: \"8000\" }\n",
        ..Setup::lifecycle(kafka.brokers(), "digest-large", &destinations, topics)
    }
    .start();
    kafka.produce_events("lifecycle", &updates(0..EVENTS)).await;
    let whole = receiver.next().await;
    assert_eq!(whole.status, 500);
    let whole_id = whole.header("webhook-id").unwrap().to_owned();
    assert_eq!(whole.json().as_array().unwrap().len(), EVENTS);
    let mut ids: Vec<String> = Vec::new();
    let mut parts = BTreeSet::new();
    while ids.len() < EVENTS {
        let part = receiver.next().await;
        assert_eq!(part.status, 200);
        let webhook_id = part.header("webhook-id").unwrap().to_owned();
        assert_ne!(webhook_id, whole_id, "a part has an id of its own");
        assert!(parts.insert(webhook_id), "each part once");
        let notifications = part.json();
        ids.extend(
            notifications
                .as_array()
                .expect("an array")
                .iter()
                .map(|n| n["data"]["event_id"].as_str().unwrap().to_owned()),
        );
    }
    assert!(parts.len() > 1, "split: {parts:?}");
    let distinct: BTreeSet<&String> = ids.iter().collect();
    assert_eq!((distinct.len(), ids.len()), (EVENTS, EVENTS), "each once");
    // Reading goes on: 30 more arrive as one digest.
    kafka
        .produce_events("lifecycle", &updates(EVENTS..EVENTS + 30))
        .await;
    let next = receiver.next().await.json();
    assert_eq!(next.as_array().unwrap().len(), 30, "{next}");
    router.stop().await;
}
