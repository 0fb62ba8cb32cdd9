//! Several instances in one group share their runtime state through the control topic and their
//! delivery history through the ledger: a source turned off through one is off on every one, a
//! destination disabled through one and enabled through another, a subscription paused; a
//! delivery made by one (a 503, then a 200) is shown with both attempts by the other, which
//! resends it with the same `webhook-id`; a third instance started later, and one whose store
//! was deleted, answer the same; control and ledger records that are not authentic are skipped.

use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::Value;

use crate::common::*;

const TOKEN: &str = "fleet-admin-token";
const CONTROL: &str = "notification-router.control";
const LEDGER: &str = "notification-router.ledger";

/// One instance: its config folder, its admin base URL.
struct Instance {
    _dir: tempfile::TempDir,
    config: std::path::PathBuf,
    base: String,
}

fn instance(brokers: &str, destinations: &str, topics: &[(String, String)]) -> Instance {
    let port = free_port();
    let admin =
        format!("admin:\n  listen: 127.0.0.1:{port}\n  token: {TOKEN}\nledger:\n  enabled: true\n");
    let kafka_extra = kafka_settings("", "");
    let (dir, config) = Setup {
        kafka_extra: &kafka_extra,
        router_extra: &admin,
        ..Setup::lifecycle(brokers, "fleet", destinations, topics.to_vec())
    }
    .write();
    Instance {
        _dir: dir,
        config,
        base: format!("http://127.0.0.1:{port}"),
    }
}

/// (status, body as JSON) of a call to an admin API, with the admin token.
async fn call(method: &str, url: &str, body: Option<&str>) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = reqwest::Client::new()
        .request(method, url)
        .bearer_auth(TOKEN)
        .header("x-router-actor", "e2e");
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_owned());
    }
    match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            let text = response.text().await.unwrap_or_default();
            (
                status,
                serde_json::from_str(&text).unwrap_or(Value::String(text)),
            )
        }
        Err(_) => (0, Value::Null),
    }
}

/// Polls until `done`, failing after [`WAIT`]; returns how long it took.
async fn until(what: &str, mut done: impl AsyncFnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !done().await {
        assert!(started.elapsed() < WAIT, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    started.elapsed()
}

async fn ready(base: &str) {
    until("the instance is ready", async || {
        reqwest::get(format!("{base}/readyz"))
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;
}

async fn source_enabled(base: &str) -> Option<bool> {
    call("GET", &format!("{base}/v1/sources/lifecycle"), None)
        .await
        .1["enabled"]
        .as_bool()
}

/// Whether destination `id` is shown disabled by the instance at `base`.
async fn destination_disabled(base: &str, id: &str) -> bool {
    let (_, list) = call("GET", &format!("{base}/v1/destinations?limit=100"), None).await;
    list["destinations"].as_array().is_some_and(|all| {
        all.iter()
            .any(|d| d["id"] == id && !d["disabled"].is_null())
    })
}

/// The deliveries that arrive within `quiet` of each other: (destination, event id).
async fn arrivals(receiver: &mut Receiver, quiet: Duration) -> Vec<(String, String)> {
    let mut got = Vec::new();
    while let Some(r) = receiver.next_within(quiet).await {
        got.push(pair(&r));
    }
    got.sort();
    got
}

/// The next request `receiver` got for delivery `webhook_id` (others are passed over).
async fn next_of(receiver: &mut Receiver, webhook_id: &str) -> Received {
    loop {
        let received = receiver.next().await;
        if received.header("webhook-id") == Some(webhook_id) {
            return received;
        }
    }
}

/// Every event of `range` to each of `destinations`, sorted.
fn expected(range: std::ops::Range<usize>, destinations: &[&str]) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = range
        .flat_map(|i| {
            destinations
                .iter()
                .map(move |d| ((*d).to_owned(), format!("evt-{i}")))
        })
        .collect();
    all.sort();
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runtime_changes_reach_every_instance_through_the_control_topic() {
    let tansu = Tansu::start(&TOPICS);
    let brokers = tansu.brokers();
    let mut receiver = Receiver::ok().await;
    // `flaky` answers its first request 503, then 200; it tells which instance delivered.
    let mut flaky = Receiver::start(vec![Reply::status(503)]).await;
    let (shared, mut topics) = destinations(&receiver, &[("a", ""), ("b", "")]);
    topics.push(topic(
        "flaky",
        "  - id: lifecycle",
        "  - { name: to-flaky, destination: flaky }",
    ));
    let flaky_url = flaky.url("/flaky");
    let with_flaky = |who: &str| {
        shared.clone()
            + &webhook(
                "flaky",
                &flaky_url,
                &format!(
                    "    custom_headers: {{ x-instance: \"{who}\" }}\n    retry: {{ retries: 2, initial_backoff: 10ms, max_backoff: 10ms }}\n"
                ),
            )
    };
    let a = instance(&brokers, &with_flaky("a"), &topics);
    let b = instance(&brokers, &with_flaky("b"), &topics);
    let _router_a = RouterProcess::start(BIN, &a.config, "a");
    ready(&a.base).await;
    let _router_b = RouterProcess::start(BIN, &b.config, "b");
    ready(&b.base).await;

    produce_events_to(&brokers, LIFECYCLE, &updates(0..6)).await;
    let quiet = Duration::from_secs(4);
    assert_eq!(
        arrivals(&mut receiver, quiet).await,
        expected(0..6, &["a", "b"])
    );

    // Off through A: off on A and B, whoever holds the partitions.
    let asked = Instant::now();
    let (status, source) = call(
        "PATCH",
        &format!("{}/v1/sources/lifecycle", a.base),
        Some(r#"{"enabled": false}"#),
    )
    .await;
    assert_eq!(status, 200, "{source}");
    assert_eq!(
        (
            &source["enabled"],
            &source["file_enabled"],
            &source["override"]["by"]
        ),
        (&false.into(), &true.into(), &"admin (e2e)".into()),
        "{source}"
    );
    until("B sees the source off", async || {
        source_enabled(&b.base).await == Some(false)
    })
    .await;
    let took = asked.elapsed();
    eprintln!("source off through A, applied on B {took:?} after the PATCH was sent");
    assert!(
        took <= Duration::from_secs(2),
        "applied within 2 s: {took:?}"
    );
    produce_events_to(&brokers, LIFECYCLE, &updates(6..12)).await;
    assert_eq!(
        arrivals(&mut receiver, quiet).await,
        vec![],
        "no instance delivers a disabled source's events"
    );

    // On again through B.
    let (status, _) = call(
        "PATCH",
        &format!("{}/v1/sources/lifecycle", b.base),
        Some(r#"{"enabled": true}"#),
    )
    .await;
    assert_eq!(status, 200);
    until("A sees the source on", async || {
        source_enabled(&a.base).await == Some(true)
    })
    .await;
    produce_events_to(&brokers, LIFECYCLE, &updates(12..18)).await;
    assert_eq!(
        arrivals(&mut receiver, quiet).await,
        expected(12..18, &["a", "b"])
    );

    // Destination b disabled through A: disabled on B too; enabled through B, both deliver.
    let (status, answer) = call(
        "POST",
        &format!("{}/v1/destinations/b/disable", a.base),
        Some(r#"{"reason": "maintenance"}"#),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    until("B sees b disabled", async || {
        destination_disabled(&b.base, "b").await
    })
    .await;
    produce_events_to(&brokers, LIFECYCLE, &updates(18..24)).await;
    assert_eq!(
        arrivals(&mut receiver, quiet).await,
        expected(18..24, &["a"]),
        "no instance delivers to the disabled destination"
    );
    let (status, _) = call(
        "POST",
        &format!("{}/v1/destinations/b/enable", b.base),
        None,
    )
    .await;
    assert_eq!(status, 200);
    until("A sees b enabled", async || {
        !destination_disabled(&a.base, "b").await
    })
    .await;
    produce_events_to(&brokers, LIFECYCLE, &updates(24..30)).await;
    assert_eq!(
        arrivals(&mut receiver, quiet).await,
        expected(24..30, &["a", "b"])
    );

    // Subscription to-a paused through B: nobody sends to it.
    let (status, answer) = call(
        "PATCH",
        &format!("{}/v1/subscriptions/to-a", b.base),
        Some(r#"{"paused": true}"#),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    until("A sees to-a paused", async || {
        let (_, list) = call(
            "GET",
            &format!("{}/v1/subscriptions?limit=100", a.base),
            None,
        )
        .await;
        list["subscriptions"].as_array().is_some_and(|all| {
            all.iter()
                .any(|s| s["name"] == "to-a" && !s["paused"].is_null())
        })
    })
    .await;
    produce_events_to(&brokers, LIFECYCLE, &updates(30..36)).await;
    assert_eq!(
        arrivals(&mut receiver, quiet).await,
        expected(30..36, &["b"])
    );
    call(
        "PATCH",
        &format!("{}/v1/subscriptions/to-a", a.base),
        Some(r#"{"paused": false}"#),
    )
    .await;

    // The first delivery to `flaky` (a 503, then a 200) is shown by the instance that did not
    // make it, with both attempts; resent through that one, it arrives again with its id.
    // Requests in flight at once are recorded as they are answered: the 503 is among them.
    let first = loop {
        let received = flaky.next().await;
        if received.status == 503 {
            break received;
        }
    };
    let webhook_id = first.header("webhook-id").unwrap().to_owned();
    let second = next_of(&mut flaky, &webhook_id).await;
    assert_eq!(second.status, 200);
    let other = match second.header("x-instance") {
        Some("a") => &b,
        _ => &a,
    };
    let shown = until("the other instance shows the delivery", async || {
        let (_, d) = call(
            "GET",
            &format!("{}/v1/deliveries/{webhook_id}", other.base),
            None,
        )
        .await;
        d["state"] == "delivered"
    })
    .await;
    eprintln!("delivery by one instance shown by the other within {shown:?}");
    let (_, delivery) = call(
        "GET",
        &format!("{}/v1/deliveries/{webhook_id}", other.base),
        None,
    )
    .await;
    let statuses: Vec<&Value> = delivery["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["status"])
        .collect();
    assert_eq!(statuses, [503, 200], "{delivery}");
    let notification_id = delivery["notification_id"].as_str().unwrap().to_owned();
    let (_, notification) = call(
        "GET",
        &format!("{}/v1/notifications/{notification_id}", other.base),
        None,
    )
    .await;
    assert_eq!(notification["status"], "success", "{notification}");
    let listed = command(
        BIN,
        &[
            "deliveries",
            "list",
            "--subscription",
            "to-flaky",
            "--status",
            "delivered",
            "--limit",
            "100",
        ],
        &other.config,
    )
    .await;
    assert!(listed.contains(&webhook_id), "{listed}");
    let resent = command(BIN, &["deliveries", "resend", &webhook_id], &other.config).await;
    assert!(resent.contains("handed to the retry topic"), "{resent}");
    let again = next_of(&mut flaky, &webhook_id).await;
    assert_eq!(again.event_id(), second.event_id());

    // A record not written by a router (no authentication code) is skipped by every instance.
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .create()
        .unwrap();
    let forged = r#"{"v":1,"kind":"source","id":"lifecycle","enabled":false,"by":"mallory","at":"2026-12-02T07:00:00Z"}"#;
    producer
        .send(
            FutureRecord::to(CONTROL)
                .key("source/lifecycle")
                .payload(forged),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    producer
        .send(
            FutureRecord::to(CONTROL)
                .key("source/lifecycle")
                .payload("not json"),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    producer
        .send(
            FutureRecord::to(LEDGER)
                .key(webhook_id.as_str())
                .payload(r#"{"v":1}"#),
            Duration::from_secs(10),
        )
        .await
        .unwrap();

    // A third instance started later reads the same state from the topic's start.
    let c = instance(&brokers, &with_flaky("c"), &topics);
    let router_c = RouterProcess::start(BIN, &c.config, "c");
    ready(&c.base).await;
    let settled = |base: String| {
        let id = webhook_id.clone();
        async move {
            let mut answer = Value::Null;
            until("the resend is in the ledger", async || {
                answer = call("GET", &format!("{base}/v1/deliveries/{id}"), None)
                    .await
                    .1;
                answer["history"].as_array().is_some_and(|h| h.len() == 3)
            })
            .await;
            answer
        }
    };
    let on_other = settled(other.base.clone()).await;
    assert_eq!(
        settled(c.base.clone()).await,
        on_other,
        "a later instance answers the same"
    );
    let (_, on_a) = call("GET", &format!("{}/v1/control", a.base), None).await;
    let (_, on_c) = call("GET", &format!("{}/v1/control", c.base), None).await;
    assert_eq!(on_a["changes"], on_c["changes"], "{on_a}\n{on_c}");
    assert_eq!(on_c["total_count"], 3, "{on_c}");
    for base in [&a.base, &b.base, &c.base] {
        assert_eq!(
            source_enabled(base).await,
            Some(true),
            "the forged record is skipped"
        );
    }
    let log = std::fs::read_to_string(&router_c.log).unwrap();
    assert!(log.contains("Control record skipped: not valid."), "{log}");
    assert!(log.contains("Ledger record skipped: not valid."), "{log}");

    // C's store deleted: restarted, C rebuilds it from the topic and answers the same.
    let status = router_c.terminate(WAIT).await;
    assert!(status.success(), "{status:?}");
    std::fs::remove_dir_all(c.config.with_file_name("data")).unwrap();
    let _router_c = RouterProcess::start(BIN, &c.config, "c-again");
    ready(&c.base).await;
    assert_eq!(
        settled(c.base.clone()).await,
        on_other,
        "a rebuilt store answers the same"
    );
    // Partitions move while C leaves and joins again: wait for every delivery (at least once).
    produce_events_to(&brokers, LIFECYCLE, &updates(36..42)).await;
    let wanted: std::collections::BTreeSet<(String, String)> =
        expected(36..42, &["a", "b"]).into_iter().collect();
    let mut got = std::collections::BTreeSet::new();
    while !wanted.is_subset(&got) {
        got.insert(pair(&receiver.next().await));
    }
    assert_eq!(
        got, wanted,
        "every event delivered to a and b, nothing else"
    );
}
