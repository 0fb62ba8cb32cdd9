//! Routing end to end: Kafka in, the right webhook out.

use std::collections::BTreeSet;

use notification_router::event::LIFECYCLE_CATALOGUE;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_lifecycle_pair_is_routed_by_its_type() {
    let kafka = Kafka::start(&["lifecycle"]);
    let mut receiver = Receiver::ok().await;
    // One topic per catalogue pair, each selecting exactly its type and posting to its own path.
    let mut topics = Vec::new();
    let mut destinations = String::new();
    for (i, entry) in LIFECYCLE_CATALOGUE.iter().enumerate() {
        destinations += &webhook(
            &format!("hook-{i}"),
            receiver.url(&format!("/{}", entry.ce_type)),
            "",
        );
        topics.push(topic(
            &format!("pair-{i}"),
            &format!(
                "  - id: lifecycle\n    rules:\n      - event_type_filter: \"$.type == '{}'\"",
                entry.ce_type
            ),
            &format!("  - {{ name: sub-{i}, destination: hook-{i} }}"),
        ));
    }
    let router = Setup::lifecycle(kafka.brokers(), "pairs", &destinations, topics).start();

    let events: Vec<_> = LIFECYCLE_CATALOGUE
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            lifecycle_event(
                entry.event_type,
                &format!("evt-{i}"),
                "us-south",
                &format!("resource-{i}"),
            )
        })
        .collect();
    kafka.produce_events("lifecycle", &events).await;

    let received = receiver.take(LIFECYCLE_CATALOGUE.len()).await;
    router.stop().await;
    assert!(
        receiver.drain().is_empty(),
        "each event is delivered once, to its own topic only"
    );
    let mut seen = BTreeSet::new();
    for delivery in &received {
        let body = delivery.json();
        let ce_type = body["type"].as_str().expect("notification has a type");
        assert_eq!(
            delivery.path,
            format!("/{ce_type}"),
            "delivered to the topic of its own type"
        );
        assert!(seen.insert(ce_type.to_owned()), "{ce_type} delivered twice");
        assert_eq!(delivery.json()["ibmensourceid"], "lifecycle");
        assert_eq!(
            delivery.json()["data"]["event_type"]
                .as_str()
                .map(|t| t.replace("resource-controller.", "")),
            Some(ce_type.rsplit('.').next().unwrap().replace(':', "."))
        );
        assert!(delivery.header("webhook-id").unwrap().starts_with("msg_"));
        assert_eq!(delivery.header("content-type").unwrap(), "application/json");
    }
    assert_eq!(seen.len(), 24, "all 24 catalogue pairs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_source_delivers_nothing_and_a_topic_can_take_two_sources() {
    let kafka = Kafka::start(&["ops", "billing", "audit"]);
    let mut receiver = Receiver::ok().await;
    let sources = "  - { id: ops, type: resource-lifecycle-events, enabled: true, kafka_topics: [ops] }\n  \
                   - { id: billing, type: resource-lifecycle-events, enabled: true, kafka_topics: [billing] }\n  \
                   - { id: audit, type: resource-lifecycle-events, enabled: false, kafka_topics: [audit] }";
    let destinations = webhook("all", receiver.url("/all"), "");
    // No rules: every event of each listed source. The disabled one is listed too.
    let topics = vec![topic(
        "everything",
        "  - id: ops\n  - id: billing\n  - id: audit",
        "  - { name: everything-all, destination: all }",
    )];
    let router = Setup {
        sources,
        ..Setup::lifecycle(kafka.brokers(), "two-sources", &destinations, topics)
    }
    .start();

    let create = "resource-controller.instance.create";
    kafka
        .produce_events(
            "audit",
            &[
                lifecycle_event(create, "audit-1", "eu-de", "a"),
                lifecycle_event(create, "audit-2", "eu-de", "b"),
            ],
        )
        .await;
    kafka
        .produce_events("ops", &[lifecycle_event(create, "ops-1", "eu-de", "c")])
        .await;
    kafka
        .produce_events(
            "billing",
            &[lifecycle_event(
                "resource-controller.key.delete",
                "billing-1",
                "eu-de",
                "d",
            )],
        )
        .await;

    let ids = event_ids_through_stop(&mut receiver, 2, router).await;
    assert_eq!(
        ids,
        ["billing-1", "ops-1"],
        "both enabled sources reach the topic; the disabled one never does"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_filter_on_event_properties_selects_events() {
    let kafka = Kafka::start(&["lifecycle"]);
    let mut filtered = Receiver::ok().await;
    let mut all = Receiver::ok().await;
    let destinations = webhook("filtered", filtered.url("/us-south-keys"), "")
        + &webhook("all", all.url("/all"), "");
    let topics = vec![
        topic(
            "us-south-keys",
            "  - id: lifecycle\n    rules:\n      - event_type_filter: \"$.type =~ 'key:(create|delete)$'\"\n        notification_filter: \"$.data.event_properties.region_id == 'us-south'\"",
            "  - { name: keys, destination: filtered }",
        ),
        topic(
            "audit",
            "  - id: lifecycle",
            "  - { name: audit-all, destination: all }",
        ),
    ];
    let router = Setup::lifecycle(kafka.brokers(), "filter", &destinations, topics).start();

    kafka
        .produce_events(
            "lifecycle",
            &[
                lifecycle_event("resource-controller.key.create", "k-eu", "eu-de", "key-eu"),
                lifecycle_event(
                    "resource-controller.key.create",
                    "k-us",
                    "us-south",
                    "key-us",
                ),
                lifecycle_event(
                    "resource-controller.instance.create",
                    "i-us",
                    "us-south",
                    "db-us",
                ),
                lifecycle_event(
                    "resource-controller.key.delete",
                    "k-us-2",
                    "us-south",
                    "key-us-2",
                ),
            ],
        )
        .await;
    // The catch-all topic sees all four, so all four have been routed once it has.
    all.take(4).await;
    let ids = event_ids_through_stop(&mut filtered, 2, router).await;
    assert_eq!(ids, ["k-us", "k-us-2"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloudevents_in_structured_and_binary_mode_are_routed() {
    let kafka = Kafka::start(&["lifecycle"]);
    let mut receiver = Receiver::ok().await;
    let destinations = webhook("hook", receiver.url("/hook"), "");
    let topics = vec![topic(
        "key-failures",
        "  - id: lifecycle\n    rules:\n      - event_type_filter: \"$.type == 'com.ibm.cloud.resource-lifecycle-events.key:create_failure'\"",
        "  - { name: keys, destination: hook }",
    )];
    let router = Setup::lifecycle(kafka.brokers(), "cloudevents", &destinations, topics).start();

    let data = lifecycle_event(
        "resource-controller.key.create_failure",
        "raw-id",
        "us-south",
        "key-1",
    );
    let structured = serde_json::json!({
        "specversion": "1.0", "id": "ce-structured", "source": "/resource-controller", "time": "2026-11-21T09:30:00Z",
        "type": "com.ibm.cloud.resource-lifecycle-events.key:create_failure", "datacontenttype": "application/json", "data": data,
    });
    let binary_headers: Vec<(&str, &[u8])> = vec![
        ("ce_specversion", b"1.0"),
        ("ce_id", b"ce-binary"),
        ("ce_source", b"/resource-controller"),
        (
            "ce_type",
            b"com.ibm.cloud.resource-lifecycle-events.key:create_failure",
        ),
        ("content-type", b"application/json"),
    ];
    kafka
        .produce(
            "lifecycle",
            &[
                (None, structured.to_string().into_bytes(), vec![]),
                (None, data.to_string().into_bytes(), binary_headers),
            ],
        )
        .await;
    let mut ids: Vec<String> = receiver
        .take(2)
        .await
        .iter()
        .map(|r| r.json()["id"].as_str().unwrap().to_owned())
        .collect();
    router.stop().await;
    ids.sort();
    assert_eq!(ids, ["ce-binary", "ce-structured"]);
}
