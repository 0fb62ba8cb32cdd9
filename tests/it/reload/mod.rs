//! Live configuration: a source toggled while events stream cuts over exactly, `PATCH` writes an
//! override to the control topic and leaves the file alone, a source not consumed at start is
//! subscribed when enabled, an invalid edit is rejected while the running configuration keeps
//! routing, and reloads on `POST /-/reload`, on a file change and on SIGHUP (of a real
//! `notification-router run`, in `files`).

mod files;

use std::path::Path;
use std::time::Duration;

use notification_router::config;
use rdkafka::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use serde_json::Value;

use crate::support::*;
use testkit::process::{BrokerProcess, RouterProcess};

const TOKEN: &str = "reload-test-token";

/// The `admin:` section on `port`, with the token and a comment that must survive edits.
fn admin_section(port: u16) -> String {
    format!(
        "# The admin server: this comment must survive every edit.\nadmin:\n  listen: 127.0.0.1:{port}\n  token: {TOKEN}\n"
    )
}

/// Sends a request to the admin server: (status, body as JSON or as a string).
async fn call(method: &str, url: &str, body: Option<&str>, token: Option<&str>) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
    let mut request = reqwest::Client::new().request(method, url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_owned());
    }
    let response = request.send().await.expect("the admin server answers");
    let status = response.status().as_u16();
    let text = response.text().await.expect("a body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn patch_source(base: &str, id: &str, body: &str) -> (u16, Value) {
    call(
        "PATCH",
        &format!("{base}/v1/sources/{id}"),
        Some(body),
        Some(TOKEN),
    )
    .await
}

/// Polls until `done`, failing the test after [`WAIT`].
async fn until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !done().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the admin server on `base` reports ready.
async fn ready(base: &str) {
    until("the router is ready", async || {
        reqwest::get(format!("{base}/readyz"))
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;
}

/// A counter of this process's metrics (a label set unique to one test).
fn counter(line_start: &str) -> usize {
    notification_router::telemetry::metrics::global()
        .encode()
        .lines()
        .find_map(|line| {
            line.strip_prefix(line_start)?
                .strip_prefix(' ')?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

fn ids(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("evt-{i}")).collect()
}

/// Event ids sorted by their number.
fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort_by_key(|id| id["evt-".len()..].parse::<usize>().expect("evt-N"));
    ids
}

/// Produces `events` as records of one key (one partition, in order), through one producer.
async fn produce_in_order(brokers: &str, topic: &str, events: &[Value]) {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .expect("producer");
    for event in events {
        let value = event.to_string();
        let record = FutureRecord::to(topic).key("one-key").payload(&value);
        producer
            .send(record, Timeout::After(Duration::from_secs(10)))
            .await
            .expect("produce");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_toggled_while_events_stream_cuts_over_exactly() {
    let kafka = Kafka::start(&["cutover"]);
    let mut receiver = Receiver::ok().await;
    let port = free_port();
    let admin = admin_section(port);
    let destinations = webhook("hook", receiver.url("/hook"), "");
    let source_line = "  - { id: cutover, type: resource-lifecycle-events, enabled: true, kafka_topics: [cutover] }";
    let router = Setup {
        sources: source_line,
        // One record of a partition at a time, so the records are routed in their order; fetched
        // again without waiting once resumed, so the stream is still flowing at the cut.
        kafka_extra: "  max_in_flight_per_partition: 1\n  properties: { fetch.wait.max.ms: \"5\" }\n",
        router_extra: &admin,
        ..Setup::lifecycle(
            kafka.brokers(),
            "cutover",
            &destinations,
            vec![topic(
                "all",
                "  - id: cutover",
                "  - { name: all, destination: hook }",
            )],
        )
    }
    .start();
    let base = format!("http://127.0.0.1:{port}");
    ready(&base).await;
    let dropped =
        || counter("notification_router_events_dropped_source_disabled_total{source=\"cutover\"}");
    let original = std::fs::read_to_string(&router.config).expect("router.yaml");

    // 20 events stream in; the source is disabled once the first 3 have been delivered.
    let brokers = kafka.brokers().to_owned();
    let stream =
        tokio::spawn(async move { produce_in_order(&brokers, "cutover", &updates(0..20)).await });
    let mut delivered: Vec<String> = receiver
        .take(3)
        .await
        .iter()
        .map(Received::event_id)
        .collect();
    let (status, source) = patch_source(&base, "cutover", r#"{"enabled": false}"#).await;
    assert_eq!(status, 200, "{source}");
    assert_eq!(
        (&source["id"], &source["enabled"]),
        (&"cutover".into(), &false.into())
    );
    assert_eq!(
        (
            &source["file_enabled"],
            &source["override"]["enabled"],
            &source["override"]["by"]
        ),
        (&true.into(), &false.into(), &"admin".into()),
        "an override in the control topic over the file's value: {source}"
    );
    assert_eq!(
        std::fs::read_to_string(&router.config).expect("router.yaml"),
        original,
        "the file stays the baseline"
    );
    stream.await.expect("the stream was produced");
    until("every streamed event delivered or dropped", async || {
        delivered.extend(receiver.drain().iter().map(Received::event_id));
        delivered.len() + dropped() >= 20
    })
    .await;
    let cut = delivered.len();
    assert_eq!(
        sorted(delivered.clone()),
        ids(0..cut),
        "exactly the events before the cut are delivered, each once"
    );
    assert_eq!(dropped(), 20 - cut, "every event after the cut is dropped");

    // Disabled: the next events are all dropped, none delivered.
    produce_in_order(kafka.brokers(), "cutover", &updates(20..25)).await;
    until("the events of the disabled source dropped", async || {
        delivered.extend(receiver.drain().iter().map(Received::event_id));
        delivered.len() + dropped() >= 25
    })
    .await;
    assert_eq!(delivered.len(), cut, "nothing delivered while disabled");
    assert_eq!(dropped(), 25 - cut);

    // Enabled again: the next events are all delivered, none dropped.
    let (status, source) = patch_source(&base, "cutover", r#"{"enabled": true}"#).await;
    assert_eq!(
        (status, &source["enabled"]),
        (200, &true.into()),
        "{source}"
    );
    produce_in_order(kafka.brokers(), "cutover", &updates(25..30)).await;
    let after: Vec<String> = receiver
        .take(5)
        .await
        .iter()
        .map(Received::event_id)
        .collect();
    assert_eq!(sorted(after), ids(25..30));
    assert_eq!(dropped(), 25 - cut, "nothing dropped once enabled");
    assert_eq!(
        std::fs::read_to_string(&router.config).expect("router.yaml"),
        original,
        "the file is never edited by the API"
    );
    router.stop().await;
    assert!(receiver.drain().is_empty(), "nothing delivered twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enabling_a_source_not_consumed_at_start_subscribes_to_its_topic() {
    let kafka = Kafka::start(&["late"]);
    let mut receiver = Receiver::ok().await;
    let port = free_port();
    let admin = admin_section(port);
    let destinations = webhook("hook", receiver.url("/late"), "");
    let router = Setup {
        // The only source, off: the router starts with nothing to consume.
        sources: "  - id: late\n    type: resource-lifecycle-events\n    kafka_topics: [late]\n",
        router_extra: &admin,
        ..Setup::lifecycle(
            kafka.brokers(),
            "late",
            &destinations,
            vec![topic(
                "all",
                "  - id: late",
                "  - { name: all, destination: hook }",
            )],
        )
    }
    .start();
    let base = format!("http://127.0.0.1:{port}");
    ready(&base).await;
    let original = std::fs::read_to_string(&router.config).expect("router.yaml");

    // What the API refuses leaves the file alone.
    for (body, token, status) in [
        (r#"{"enabled": true}"#, None, 401),
        (r#"{"enabled": "yes"}"#, Some(TOKEN), 400),
        ("{}", Some(TOKEN), 400),
        (r#"{"enabled": true, "name": "x"}"#, Some(TOKEN), 400),
    ] {
        let (got, answer) = call(
            "PATCH",
            &format!("{base}/v1/sources/late"),
            Some(body),
            token,
        )
        .await;
        assert_eq!(got, status, "{body}: {answer}");
    }
    let (status, answer) = patch_source(&base, "nope", r#"{"enabled": true}"#).await;
    assert_eq!(status, 404, "{answer}");
    assert_eq!(
        std::fs::read_to_string(&router.config).expect("router.yaml"),
        original
    );

    let (status, source) = patch_source(&base, "late", r#"{"enabled": true}"#).await;
    assert_eq!(status, 200, "{source}");
    assert_eq!(source["enabled"], true);
    let (_, listed) = call("GET", &format!("{base}/v1/sources/late"), None, None).await;
    assert_eq!(listed, source, "PATCH answers the source as GET does");
    assert_eq!(
        (&source["file_enabled"], &source["override"]["enabled"]),
        (&false.into(), &true.into()),
        "{source}"
    );
    assert_eq!(
        std::fs::read_to_string(&router.config).expect("router.yaml"),
        original,
        "the override is in the control topic; the file stays as it is"
    );

    kafka.produce_events("late", &updates(0..3)).await;
    let got: Vec<String> = receiver
        .take(3)
        .await
        .iter()
        .map(Received::event_id)
        .collect();
    assert_eq!(sorted(got), ids(0..3));
    router.stop().await;
}

/// A topic file routing every event of `source` to `destination`.
fn route_to(source: &str, destination: &str) -> String {
    format!(
        "name: all\nsources:\n  - id: {source}\nsubscriptions:\n  - {{ name: all, destination: {destination} }}\n"
    )
}

/// A topic file whose filter does not parse and whose destination does not exist.
const BROKEN_TOPIC: &str = "name: all\nsources:\n  - id: steady\n    rules:\n      - event_type_filter: \"$.type ==\"\nsubscriptions:\n  - { name: all, destination: nowhere }\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_through_the_api_rejects_an_invalid_configuration_and_keeps_routing() {
    let kafka = Kafka::start(&["steady"]);
    let mut receiver = Receiver::ok().await;
    let port = free_port();
    let admin = admin_section(port);
    let destinations = webhook("a", receiver.url("/a"), "") + &webhook("b", receiver.url("/b"), "");
    let router = Setup {
        sources: "  - { id: steady, type: resource-lifecycle-events, enabled: true, kafka_topics: [steady] }",
        router_extra: &admin,
        ..Setup::lifecycle(
            kafka.brokers(),
            "steady",
            &destinations,
            vec![("all.yaml".into(), route_to("steady", "a"))],
        )
    }
    .start();
    let base = format!("http://127.0.0.1:{port}");
    ready(&base).await;
    let topic_file = router.config.with_file_name("topics").join("all.yaml");
    kafka.produce_events("steady", &updates(0..1)).await;
    assert_eq!(receiver.next().await.path, "/a");

    std::fs::write(&topic_file, BROKEN_TOPIC).expect("write");
    let (status, _) = call("POST", &format!("{base}/-/reload"), None, None).await;
    assert_eq!(status, 401, "a reload needs the token");
    let (status, body) = call("POST", &format!("{base}/-/reload"), None, Some(TOKEN)).await;
    assert_eq!(status, 422, "{body}");
    let expected: Vec<String> = config::load(&router.config)
        .expect_err("the configuration is broken")
        .0
        .iter()
        .map(ToString::to_string)
        .collect();
    let messages: Vec<&str> = body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["message"].as_str().expect("a message"))
        .collect();
    assert_eq!(messages, expected, "the problems `validate` prints");
    assert!(
        messages.iter().any(|m| m.contains("all.yaml")),
        "{messages:?}"
    );

    kafka.produce_events("steady", &updates(1..2)).await;
    let kept = receiver.next().await;
    assert_eq!(
        (kept.path.as_str(), kept.event_id()),
        ("/a", "evt-1".into()),
        "the running configuration keeps routing"
    );

    std::fs::write(&topic_file, route_to("steady", "b")).expect("write");
    let (status, body) = call("POST", &format!("{base}/-/reload"), None, Some(TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["summary"]["subscriptions"], 1);
    assert_eq!(body["summary"]["enabled_sources"], 1);
    kafka.produce_events("steady", &updates(2..3)).await;
    let moved = receiver.next().await;
    assert_eq!(
        (moved.path.as_str(), moved.event_id()),
        ("/b", "evt-2".into())
    );
    router.stop().await;
    assert!(receiver.drain().is_empty());
}
