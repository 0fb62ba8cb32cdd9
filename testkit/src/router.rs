//! The router as tests see it without its types: its configuration written to a folder, the
//! events it reads, and what its dead letters must say.

use std::path::PathBuf;

use serde_json::{Value, json};

use crate::kafka::{MockKafka, ReadRecord, Record, produce_events_to, produce_to, read_topic};

/// The lifecycle source most tests read: enabled, on the Kafka topic `lifecycle`.
pub const LIFECYCLE_SOURCE: &str = "  - { id: lifecycle, type: resource-lifecycle-events, enabled: true, kafka_topics: [lifecycle] }";

pub const DEAD_LETTER_TOPIC: &str = "router.dead-letter";
pub const RETRY_TOPIC: &str = "router.retry";
pub const DIGEST_TOPIC: &str = "router.digest";
/// `kafka.internal_key` of every test's router: the key of its retry and dead-letter records.
pub const INTERNAL_KEY: &str = "test-internal-key-0123456789abcdef";

/// The `http:` lines that let deliveries reach the test receivers on 127.0.0.1, which the
/// router refuses by default (they are not public addresses).
pub const LOOPBACK_ALLOWED: &str = "  allow_private_networks: [127.0.0.0/8]\n";

/// The parts of a test's configuration.
pub struct Setup<'a> {
    pub brokers: &'a str,
    pub group: &'a str,
    /// YAML list items under `sources:`.
    pub sources: &'a str,
    /// YAML list items under `destinations:`.
    pub destinations: &'a str,
    /// (file name, YAML) topic files.
    pub topics: Vec<(String, String)>,
    /// (path under templates/, text).
    pub templates: Vec<(&'a str, &'a str)>,
    /// Extra lines under `kafka:`.
    pub kafka_extra: &'a str,
    /// Lines under `http:`; [`LOOPBACK_ALLOWED`] unless a test needs the default policy.
    pub http: &'a str,
    /// Extra top-level lines of `router.yaml` (`dedup:`, ...).
    pub router_extra: &'a str,
}

impl<'a> Setup<'a> {
    /// A setup reading [`LIFECYCLE_SOURCE`], with no templates and default Kafka settings.
    pub fn lifecycle(
        brokers: &'a str,
        group: &'a str,
        destinations: &'a str,
        topics: Vec<(String, String)>,
    ) -> Self {
        Setup {
            brokers,
            group,
            sources: LIFECYCLE_SOURCE,
            destinations,
            topics,
            templates: vec![],
            kafka_extra: "",
            http: LOOPBACK_ALLOWED,
            router_extra: "",
        }
    }

    pub fn write(&self) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let router = format!(
            "kafka:\n  brokers: {}\n  group_id: {}\n  dead_letter_topic: {DEAD_LETTER_TOPIC}\n  retry_topic: {RETRY_TOPIC}\n  digest_topic: {DIGEST_TOPIC}\n  commit_interval: 100ms\n  drain_timeout: 5s\n  internal_key: {INTERNAL_KEY}\n{}\nhttp:\n{}\n{}\nsources:\n{}\ndestinations:\n{}\n",
            self.brokers,
            self.group,
            self.kafka_extra,
            self.http,
            self.router_extra,
            self.sources,
            self.destinations
        );
        std::fs::write(dir.path().join("router.yaml"), router).unwrap();
        std::fs::create_dir_all(dir.path().join("topics")).unwrap();
        for (name, text) in &self.topics {
            std::fs::write(dir.path().join("topics").join(name), text).unwrap();
        }
        for (path, text) in &self.templates {
            let path = dir.path().join("templates").join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let router = dir.path().join("router.yaml");
        (dir, router)
    }
}

/// A mock cluster with the topics a test needs (3 partitions each), the dead-letter topic (1)
/// and the retry and digest topics (3 each).
pub struct Kafka {
    pub broker: MockKafka,
}

impl Kafka {
    pub fn start(topics: &[&str]) -> Self {
        let mut all: Vec<(&str, i32)> = topics.iter().map(|t| (*t, 3)).collect();
        all.push((DEAD_LETTER_TOPIC, 1));
        all.push((RETRY_TOPIC, 3));
        all.push((DIGEST_TOPIC, 3));
        Self {
            broker: MockKafka::start(&all),
        }
    }

    pub fn brokers(&self) -> &str {
        self.broker.brokers()
    }

    /// Produces records (key, value, headers) in order and waits for each acknowledgement.
    pub async fn produce(&self, topic: &str, records: &[Record<'_>]) {
        produce_to(self.brokers(), topic, records).await;
    }

    /// Produces JSON events, each keyed by its `event_id`.
    pub async fn produce_events(&self, topic: &str, events: &[Value]) {
        produce_events_to(self.brokers(), topic, events).await;
    }

    /// Reads `n` records of the dead-letter topic from its start: (headers, value).
    pub async fn dead_letters(&self, n: usize) -> Vec<ReadRecord> {
        read_topic(self.brokers(), DEAD_LETTER_TOPIC, 1, n).await
    }
}

/// Checks the dead letters of the `hung` destination, which never answers: one per delivery
/// (`deliveries` of them, told apart by `webhook-id`), each with its notification and its attempt
/// times, each for its exhausted horizon or for the destination that horizon disabled (and at
/// least one of the former).
pub fn assert_hung_dead_letters(letters: &[ReadRecord], deliveries: usize) {
    let mut webhook_ids = std::collections::BTreeSet::new();
    for (headers, body) in letters {
        assert_eq!(headers["dlq-destination"], "hung");
        // Once it has failed for a whole horizon the destination is disabled: later ones say so.
        assert!(
            ["retries-exhausted", "destination-disabled"].contains(&headers["dlq-reason"].as_str()),
            "{headers:?}"
        );
        assert!(headers["dlq-first-attempt"] <= headers["dlq-last-attempt"]);
        let notification: Value = serde_json::from_slice(body).unwrap();
        assert!(notification["data"]["event_id"].is_string());
        webhook_ids.insert(headers["dlq-webhook-id"].clone());
    }
    assert_eq!(
        webhook_ids.len(),
        deliveries,
        "one dead letter per delivery"
    );
    assert!(
        letters
            .iter()
            .any(|(h, _)| h["dlq-reason"] == "retries-exhausted"),
        "the first ones used up their horizon"
    );
}

/// A raw resource-controller event of the catalogue, as `004_*.txt` describes it.
pub fn lifecycle_event(event_type: &str, event_id: &str, region: &str, name: &str) -> Value {
    json!({
        "account_id": "a1b2c3d4e5f60718293a4b5c6d7e8f90",
        "event_id": event_id,
        "event_type": event_type,
        "timestamp": "2026-11-21T09:30:00Z",
        "context": {
            "subject_id": "IBMid-550000ABCD",
            "subject_name": "jane.doe@example.com",
            "activity": {
                "action": "databases-for-postgresql.instance.create",
                "message": format!("Databases for PostgreSQL: {event_type} {name}"),
                "outcome": "success",
                "reason_reasonCode": 201,
                "target_name": name
            }
        },
        "event_properties": {
            "crn": format!("crn:v1:bluemix:public:databases-for-postgresql:{region}:a/a1b2c3d4e5f60718293a4b5c6d7e8f90:{event_id}::"),
            "name": name,
            "region_id": region,
            "resource_group_id": "4f1c2d3e4a5b6c7d8e9f0a1b2c3d4e5f",
            "state": "active",
            "type": "service_instance"
        }
    })
}

/// Instance updates `evt-{i}` for each `i` in `ids`: a stream of distinct, matching events.
pub fn updates(ids: std::ops::Range<usize>) -> Vec<Value> {
    ids.map(|i| {
        lifecycle_event(
            "resource-controller.instance.update",
            &format!("evt-{i}"),
            "us-south",
            "db",
        )
    })
    .collect()
}

/// The topic file most tests use: every lifecycle event to the destination `hook`.
pub fn all_to_hook() -> Vec<(String, String)> {
    vec![topic(
        "all",
        "  - id: lifecycle",
        "  - { name: all, destination: hook }",
    )]
}

/// A webhook destination list item; the test receivers speak http, so it allows http.
pub fn webhook(id: &str, url: impl std::fmt::Display, extra: &str) -> String {
    format!("  - id: {id}\n    type: webhook\n    url: {url}\n    allow_http: true\n{extra}")
}

/// A topic file with one source and one subscription.
pub fn topic(name: &str, sources: &str, subscriptions: &str) -> (String, String) {
    (
        format!("{name}.yaml"),
        format!("name: {name}\nsources:\n{sources}\nsubscriptions:\n{subscriptions}\n"),
    )
}
