//! The fleet's shared state on the mock cluster: the delivery ledger (a delivery's attempts with
//! their status codes, the notification's status, pages of deliveries, a resend with the same
//! `webhook-id`), subscriptions paused and destinations disabled through the control topic, a
//! second instance answering the same, and ledger records that are not valid skipped.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;

use crate::support::*;

const TOKEN: &str = "fleet-test-token";

async fn call(method: &str, url: &str, body: Option<&str>) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = reqwest::Client::new()
        .request(method, url)
        .bearer_auth(TOKEN);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_owned());
    }
    let Ok(response) = request.send().await else {
        return (0, Value::Null);
    };
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Polls `url` until `done` says yes about its JSON, failing after [`WAIT`].
async fn until(url: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (status, body) = call("GET", url, None).await;
        if status == 200 && done(&body) {
            return body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out: {url}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn ready(base: &str) {
    until(&format!("{base}/readyz"), |_| true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ledger_shows_every_attempt_on_every_instance_and_resends_with_the_same_id() {
    let kafka = Kafka::start(&["lifecycle"]);
    let mut receiver = Receiver::start(vec![Reply::status(503)]).await;
    let destinations = webhook(
        "hook",
        receiver.url("/hook"),
        "    retry: { retries: 2, initial_backoff: 10ms, max_backoff: 10ms }\n",
    );
    let topics = vec![topic(
        "all",
        "  - id: lifecycle",
        "  - { name: to-hook, destination: hook }",
    )];
    let start = |port: u16| {
        let admin = format!(
            "admin:\n  listen: 127.0.0.1:{port}\n  token: {TOKEN}\nledger:\n  enabled: true\n"
        );
        Setup {
            router_extra: &admin,
            ..Setup::lifecycle(kafka.brokers(), "fleet-it", &destinations, topics.clone())
        }
        .start()
    };
    let (port_a, port_b) = (free_port(), free_port());
    let a = start(port_a);
    let b = start(port_b);
    let (base_a, base_b) = (
        format!("http://127.0.0.1:{port_a}"),
        format!("http://127.0.0.1:{port_b}"),
    );
    ready(&base_a).await;
    ready(&base_b).await;

    kafka.produce_events("lifecycle", &updates(0..1)).await;
    let first = receiver.next().await;
    let second = receiver.next().await;
    assert_eq!((first.status, second.status), (503, 200));
    let webhook_id = second.header("webhook-id").unwrap().to_owned();
    assert_eq!(first.header("webhook-id"), Some(webhook_id.as_str()));

    for base in [&base_a, &base_b] {
        let delivery = until(&format!("{base}/v1/deliveries/{webhook_id}"), |d| {
            d["state"] == "delivered"
        })
        .await;
        let statuses: Vec<&Value> = delivery["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| &a["status"])
            .collect();
        assert_eq!(statuses, [503, 200], "{delivery}");
        assert_eq!(delivery["subscription"], "to-hook");
        assert_eq!(delivery["attempts"], 2);
        let notification_id = delivery["notification_id"].as_str().unwrap();
        let (status, notification) = call(
            "GET",
            &format!("{base}/v1/notifications/{notification_id}"),
            None,
        )
        .await;
        assert_eq!(status, 200, "{notification}");
        assert_eq!(notification["status"], "success");
        assert_eq!(
            notification["deliveries"][0]["webhook_id"],
            webhook_id.as_str()
        );
    }
    let (_, page) = call(
        "GET",
        &format!("{base_a}/v1/deliveries?subscription=to-hook&status=delivered"),
        None,
    )
    .await;
    assert_eq!(
        page["deliveries"].as_array().map(Vec::len),
        Some(1),
        "{page}"
    );
    let (_, none) = call(
        "GET",
        &format!("{base_a}/v1/deliveries?status=dead_lettered"),
        None,
    )
    .await;
    assert_eq!(none["deliveries"], Value::Array(vec![]), "{none}");

    // Resent through B: delivered again with the same webhook-id.
    let (status, answer) = call(
        "POST",
        &format!("{base_b}/v1/deliveries/{webhook_id}/resend"),
        None,
    )
    .await;
    assert_eq!(status, 202, "{answer}");
    let again = receiver.next().await;
    assert_eq!(again.header("webhook-id"), Some(webhook_id.as_str()));
    assert_eq!(again.event_id(), "evt-0");

    // Paused through A: B does not send either, and records it.
    let (status, answer) = call(
        "PATCH",
        &format!("{base_a}/v1/subscriptions/to-hook"),
        Some(r#"{"paused": true}"#),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    until(&format!("{base_b}/v1/subscriptions"), |list| {
        !list["subscriptions"][0]["paused"].is_null()
    })
    .await;
    kafka.produce_events("lifecycle", &updates(1..4)).await;
    let paused = until(&format!("{base_b}/v1/deliveries?status=paused"), |page| {
        page["deliveries"].as_array().is_some_and(|d| d.len() == 3)
    })
    .await;
    assert_eq!(paused["deliveries"][0]["subscription"], "to-hook");
    assert!(
        receiver
            .next_within(Duration::from_millis(500))
            .await
            .is_none()
    );
    call(
        "PATCH",
        &format!("{base_b}/v1/subscriptions/to-hook"),
        Some(r#"{"paused": false}"#),
    )
    .await;

    // A ledger record not written by a router is skipped.
    kafka
        .produce(
            LEDGER_TOPIC,
            &[(Some("msg_forged"), br#"{"v":1}"#.to_vec(), vec![])],
        )
        .await;
    kafka.produce_events("lifecycle", &updates(4..5)).await;
    let next = receiver.next().await;
    assert_eq!(next.event_id(), "evt-4");
    let id = next.header("webhook-id").unwrap().to_owned();
    until(&format!("{base_a}/v1/deliveries/{id}"), |d| {
        d["state"] == "delivered"
    })
    .await;
    let (status, _) = call("GET", &format!("{base_a}/v1/deliveries/msg_forged"), None).await;
    assert_eq!(status, 404);
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destination_gone_on_one_instance_is_disabled_on_all_until_enabled() {
    let kafka = Kafka::start(&["lifecycle"]);
    let mut receiver = Receiver::start(vec![Reply::status(410)]).await;
    let destinations = webhook("hook", receiver.url("/hook"), "");
    let start = |port: u16| {
        let admin = format!(
            "admin:\n  listen: 127.0.0.1:{port}\n  token: {TOKEN}\nledger:\n  enabled: true\n"
        );
        Setup {
            router_extra: &admin,
            ..Setup::lifecycle(kafka.brokers(), "fleet-gone", &destinations, all_to_hook())
        }
        .start()
    };
    let (port_a, port_b) = (free_port(), free_port());
    let (a, b) = (start(port_a), start(port_b));
    let bases = [
        format!("http://127.0.0.1:{port_a}"),
        format!("http://127.0.0.1:{port_b}"),
    ];
    for base in &bases {
        ready(base).await;
    }
    kafka.produce_events("lifecycle", &updates(0..1)).await;
    assert_eq!(receiver.next().await.status, 410);
    for base in &bases {
        let list = until(&format!("{base}/v1/destinations"), |list| {
            !list["destinations"][0]["disabled"].is_null()
        })
        .await;
        let disabled = &list["destinations"][0]["disabled"];
        assert_eq!(disabled["reason"], "it answered 410 Gone", "{list}");
        assert!(
            disabled["by"].as_str().unwrap().starts_with("router "),
            "{list}"
        );
    }
    kafka.produce_events("lifecycle", &updates(1..2)).await;
    assert!(receiver.next_within(Duration::from_secs(1)).await.is_none());

    let (status, answer) = call(
        "POST",
        &format!("{}/v1/destinations/hook/enable", bases[1]),
        None,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    for base in &bases {
        until(&format!("{base}/v1/destinations"), |list| {
            list["destinations"][0]["disabled"].is_null()
        })
        .await;
    }
    kafka.produce_events("lifecycle", &updates(2..6)).await;
    let wanted: BTreeSet<String> = (2..6).map(|i| format!("evt-{i}")).collect();
    let mut got = BTreeSet::new();
    while !wanted.is_subset(&got) {
        got.insert(receiver.next().await.event_id());
    }
    // evt-1 was dead-lettered while the destination was disabled; it may come again only as at
    // least once allows, read again by the other instance after the two shared the partitions
    // out before its offset was committed.
    got.remove("evt-1");
    assert_eq!(got, wanted);
    a.stop().await;
    b.stop().await;
}
