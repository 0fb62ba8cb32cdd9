//! Table-driven routing tests over a small compiled table.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::*;
use crate::config::files::{RouterFile, TopicFile};
use crate::event::Notification;
use crate::render::Templates;

const ROUTER: &str = r#"
kafka: { brokers: "127.0.0.1:9092", internal_key: routing-tests-internal-key-0123456789 }
sources:
  - { id: lifecycle, type: resource-lifecycle-events, enabled: true, kafka_topics: [lifecycle] }
  - { id: other, type: resource-lifecycle-events, enabled: true, kafka_topics: [other] }
  - { id: off, type: resource-lifecycle-events, enabled: false, kafka_topics: [off] }
destinations:
  - { id: hook-a, type: webhook, url: "https://hooks.example.com/a" }
  - { id: hook-b, type: webhook, url: "https://hooks.example.com/b" }
"#;

/// (file name, topic YAML)
const TOPICS: &[(&str, &str)] = &[
    (
        "failures.yaml",
        r#"
name: failures
sources:
  - id: lifecycle
    rules:
      - event_type_filter: "$.type =~ ':.*_failure$'"
subscriptions: [{ name: failures-a, destination: hook-a }, { name: failures-b, destination: hook-b }]
"#,
    ),
    (
        "keys-us-south.yaml",
        r#"
name: keys-us-south
sources:
  - id: lifecycle
    rules:
      - event_type_filter: "$.type =~ '\\.key:'"
        notification_filter: "$.data.event_properties.region_id == 'us-south'"
subscriptions: [{ name: keys-a, destination: hook-a }]
"#,
    ),
    (
        "two-sources.yaml",
        r#"
name: two-sources
sources:
  - id: lifecycle
    rules:
      - event_type_filter: "$.type =~ 'instance:create$'"
      - event_type_filter: "$.type =~ 'instance:delete$'"
  - id: other
subscriptions: [{ name: two-b, destination: hook-b }]
"#,
    ),
    (
        "disabled-rule.yaml",
        r#"
name: disabled-rule
sources:
  - id: lifecycle
    rules:
      - { enabled: false, event_type_filter: "$.*" }
  - id: off
subscriptions: [{ name: disabled-a, destination: hook-a }]
"#,
    ),
];

fn table() -> RoutingTable {
    let router: RouterFile = serde_yaml_ng::from_str(ROUTER).expect("test router parses");
    let topics: Vec<(PathBuf, TopicFile)> = TOPICS
        .iter()
        .map(|(file, text)| {
            (
                PathBuf::from(file),
                serde_yaml_ng::from_str(text).expect("test topic parses"),
            )
        })
        .collect();
    crate::config::compile(
        Path::new("router.yaml"),
        &router,
        topics,
        &Templates::empty(),
    )
    .expect("test config compiles")
    .table
}

fn notification(source: &str, kind: &str, region: &str) -> Notification {
    Notification {
        id: format!("n-{source}-{kind}-{region}"),
        source_id: source.into(),
        event_type: format!("com.ibm.cloud.resource-lifecycle-events.{kind}"),
        body: json!({
            "type": format!("com.ibm.cloud.resource-lifecycle-events.{kind}"),
            "data": { "event_properties": { "region_id": region } },
        }),
    }
}

#[test]
fn routes_each_event_to_every_matching_topic_and_subscription() {
    let table = table();
    // (source, type:sub_type, region, expected subscriptions in order)
    let cases: &[(&str, &str, &str, &[&str])] = &[
        (
            "lifecycle",
            "instance:create_failure",
            "eu-de",
            &["failures-a", "failures-b"],
        ),
        (
            "lifecycle",
            "key:create_failure",
            "us-south",
            &["failures-a", "failures-b", "keys-a"],
        ),
        ("lifecycle", "key:create", "us-south", &["keys-a"]),
        ("lifecycle", "key:create", "eu-de", &[]),
        ("lifecycle", "instance:create", "eu-de", &["two-b"]),
        ("lifecycle", "instance:delete", "eu-de", &["two-b"]),
        ("lifecycle", "instance:update", "eu-de", &[]),
        // A topic with a source and no rules takes all its events.
        ("other", "instance:update", "eu-de", &["two-b"]),
        ("other", "key:delete_failure", "eu-de", &["two-b"]),
    ];
    for (source, kind, region, expected) in cases {
        let index = table.source_index(source).expect("source exists");
        let Route::Matched { deliveries, .. } =
            table.route(index, &notification(source, kind, region))
        else {
            panic!("{source} is enabled");
        };
        let got: Vec<&str> = deliveries
            .iter()
            .map(|d| d.subscription.name.as_str())
            .collect();
        assert_eq!(&got, expected, "{source} {kind} {region}");
        for delivery in &deliveries {
            assert_eq!(
                delivery.destination.id,
                table.destinations()[delivery.subscription.destination].id
            );
        }
    }
}

#[test]
fn a_disabled_source_delivers_nothing() {
    let table = table();
    let index = table.source_index("off").expect("source exists");
    assert!(matches!(
        table.route(index, &notification("off", "instance:create", "x")),
        Route::SourceDisabled
    ));
    assert_eq!(table.enabled_kafka_topics(), vec!["lifecycle", "other"]);
}

#[test]
fn delivery_ids_are_stable_per_notification_and_subscription() {
    let table = table();
    let index = table.source_index("lifecycle").expect("source exists");
    let event = notification("lifecycle", "instance:create_failure", "x");
    let ids = |n: &Notification| match table.route(index, n) {
        Route::Matched { deliveries, .. } => deliveries
            .iter()
            .map(|d| d.webhook_id.clone())
            .collect::<Vec<_>>(),
        Route::SourceDisabled => vec![],
    };
    let first = ids(&event);
    assert_eq!(first, ids(&event), "same notification, same ids");
    assert_eq!(first.len(), 2);
    assert_ne!(first[0], first[1], "each subscription has its own id");
    assert!(first[0].starts_with("msg_"));
    let mut other = event.clone();
    other.id.push('x');
    assert_ne!(ids(&other)[0], first[0], "another notification, another id");
}
