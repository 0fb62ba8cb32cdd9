//! The Kafka destination end to end: events read from the router's cluster are produced to a
//! topic of a second cluster, keyed by `webhook-id`, with CloudEvents binary-mode headers.

use notification_router::event::notification_id;
use notification_router::routing::delivery_id;
use testkit::kafka::{MockKafka, read_topic_keyed};

use crate::support::*;

const SUMMARY: &str = include_str!("../../templates/kafka/lifecycle-summary.json.hbs");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_are_produced_to_another_cluster_with_cloudevents_headers() {
    let kafka = Kafka::start(&["lifecycle"]);
    let other = MockKafka::start(&[("chained", 1), ("summaries", 1)]);
    let destinations = format!(
        "  - id: chain\n    type: kafka\n    topic: chained\n    brokers: {0}\n  - id: summary\n    type: kafka\n    topic: summaries\n    brokers: {0}\n",
        other.brokers()
    );
    let topics = vec![topic(
        "all",
        "  - id: lifecycle",
        "  - { name: to-chain, destination: chain }\n  - { name: to-summary, destination: summary, template: kafka/lifecycle-summary.json.hbs }",
    )];
    let router = Setup {
        templates: vec![("kafka/lifecycle-summary.json.hbs", SUMMARY)],
        ..Setup::lifecycle(kafka.brokers(), "kafka-destination", &destinations, topics)
    }
    .start();

    let event = lifecycle_event(
        "resource-controller.instance.create_failure",
        "evt-k",
        "eu-de",
        "db",
    );
    kafka.produce_events("lifecycle", &[event]).await;
    let chained = read_topic_keyed(other.brokers(), "chained", 1, 1).await;
    let summaries = read_topic_keyed(other.brokers(), "summaries", 1, 1).await;
    router.stop().await;

    let id = notification_id(&["lifecycle", "evt-k"]);
    let (key, (headers, value)) = &chained[0];
    assert_eq!(key.as_deref(), Some(delivery_id(&id, "to-chain").as_str()));
    assert_eq!(headers["ce_specversion"], "1.0");
    assert_eq!(headers["ce_id"], "evt-k");
    assert_eq!(
        headers["ce_type"],
        "com.ibm.cloud.resource-lifecycle-events.instance:create_failure"
    );
    assert_eq!(
        headers["ce_source"],
        "/resource-controller/accounts/a1b2c3d4e5f60718293a4b5c6d7e8f90"
    );
    assert_eq!(headers["ce_time"], "2026-11-21T09:30:00Z");
    assert!(headers["ce_subject"].starts_with("crn:v1:"));
    assert_eq!(headers["content-type"], "application/json");
    let notification: serde_json::Value = serde_json::from_slice(value).unwrap();
    assert_eq!(notification["notification_id"], id.as_str());
    assert_eq!(notification["data"]["event_id"], "evt-k");

    let (key, (headers, value)) = &summaries[0];
    assert_eq!(
        key.as_deref(),
        Some(delivery_id(&id, "to-summary").as_str())
    );
    assert_eq!(headers["ce_id"], "evt-k");
    let summary: serde_json::Value = serde_json::from_slice(value).unwrap();
    assert_eq!(summary["severity"], "HIGH");
    assert_eq!(summary["resource"], headers["ce_subject"].as_str());
}

#[test]
fn render_shows_the_record_and_an_embedded_router_cluster_needs_brokers() {
    let destinations = "  - id: chain\n    type: kafka\n    topic: chained\n";
    let topics = vec![topic(
        "all",
        "  - id: lifecycle",
        "  - { name: to-chain, destination: chain }",
    )];
    let (_dir, config) = Setup::lifecycle("k1:9092", "cli", destinations, topics.clone()).write();
    let event = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/events/instance-create-failure.json");
    let output = std::process::Command::new(BIN)
        .args(["render", "--subscription", "to-chain", "--config"])
        .arg(&config)
        .arg("--event")
        .arg(&event)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let out = String::from_utf8(output.stdout).unwrap();
    assert!(
        out.starts_with("PRODUCE chained on k1:9092 (acks=all)\nkey: "),
        "{out}"
    );
    assert!(out.contains("\nce_specversion: 1.0\n"), "{out}");

    let (_dir, path) = Setup::lifecycle("embedded", "cli", destinations, topics).write();
    let error = notification_router::config::load(&path)
        .expect_err("refused")
        .to_string();
    assert!(
        error.contains(
            "destinations[0] (chain).brokers: is needed: the router's kafka.brokers is `embedded`"
        ),
        "{error}"
    );
}
