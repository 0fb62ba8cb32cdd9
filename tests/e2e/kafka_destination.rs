//! The Kafka destination on a real Kafka-protocol broker: `notification-router run` reads events
//! from tansu and produces each notification to another topic of it, keyed by `webhook-id`,
//! with CloudEvents headers, every one acknowledged before its offset is committed.

use std::collections::BTreeSet;

use crate::common::*;

const CHAINED: &str = "chained";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_notification_is_produced_once_to_the_chained_topic() {
    const EVENTS: usize = 20;
    let tansu = Tansu::start(&[
        (LIFECYCLE, 3),
        (RETRY_TOPIC, 3),
        (DIGEST_TOPIC, 3),
        (DEAD_LETTER_TOPIC, 1),
        (CHAINED, 1),
    ]);
    let brokers = tansu.brokers();
    // One record per batch, as the router's own producers on tansu (see `kafka_settings`).
    let destinations = format!(
        "  - id: chain\n    type: kafka\n    topic: {CHAINED}\n    brokers: {brokers}\n    properties: {{ batch.num.messages: \"1\" }}\n"
    );
    let topics = vec![topic(
        "all",
        "  - id: lifecycle",
        "  - { name: to-chain, destination: chain }",
    )];
    let setup = Setup {
        kafka_extra: &kafka_settings("", ""),
        ..Setup::lifecycle(&brokers, "chain", &destinations, topics)
    };
    let (_dir, config) = setup.write();
    let router = RouterProcess::start(BIN, &config, "router");
    produce_events_to(&brokers, LIFECYCLE, &updates(0..EVENTS)).await;
    let records = read_topic_keyed(&brokers, CHAINED, 1, EVENTS).await;
    let status = router.terminate(WAIT).await;
    assert!(status.success(), "{status:?}");

    let ids: BTreeSet<&str> = records
        .iter()
        .map(|(_, (headers, _))| headers["ce_id"].as_str())
        .collect();
    let keys: BTreeSet<&str> = records.iter().filter_map(|(k, _)| k.as_deref()).collect();
    assert_eq!(ids.len(), EVENTS, "every event once");
    assert_eq!(keys.len(), EVENTS, "one webhook-id per delivery");
    for (_, (headers, value)) in &records {
        assert_eq!(headers["ce_specversion"], "1.0");
        assert_eq!(headers["content-type"], "application/json");
        let notification: serde_json::Value = serde_json::from_slice(value).unwrap();
        assert_eq!(notification["id"], headers["ce_id"].as_str());
    }
}
