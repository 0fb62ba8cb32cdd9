//! The audit-event sources: every catalogue entry of the seeds is routed by its type, the example
//! events reach the example topics end to end, malformed events are dead-lettered, and a filter
//! naming an unknown type is a warning.

use std::path::Path;
use std::process::Command;

use notification_router::event::{RawRecord, SourceKind, normalise};
use serde_json::Value;

use crate::catalogue_events::{Generated, activity_tracker_events, ubiops_events};
use crate::support::*;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn normalised(kind: SourceKind, event: &Value) -> notification_router::event::Notification {
    let bytes = event.to_string();
    let record = RawRecord {
        value: Some(bytes.as_bytes()),
        headers: &[],
    };
    normalise("audit", kind, &record, 1 << 20)
        .unwrap_or_else(|rejection| panic!("rejected {event}: {rejection}"))
}

#[test]
fn every_generated_event_gets_its_type_severity_and_a_readable_summary() {
    let families = [
        (
            SourceKind::ActivityTracker,
            activity_tracker_events(),
            94 + 12,
        ),
        (SourceKind::UbiopsAudit, ubiops_events(), 12 * 4),
    ];
    for (kind, generated, count) in families {
        assert_eq!(generated.len(), count, "{kind:?}");
        for g in &generated {
            let n = normalised(kind, &g.event);
            let short = n.body["ibmendefaultshort"].as_str().unwrap_or_default();
            let context = format!("{}: {short}", g.ce_type);
            assert_eq!(n.event_type, g.ce_type, "{context}");
            assert_eq!(n.body["ibmenseverity"], g.severity, "{context}");
            assert_eq!(
                n.body["data"], g.event,
                "{context}: data is the event as it arrived"
            );
            assert!(short.contains("jane@example.com"), "{context}");
            if let Some(name) = &g.name {
                assert!(short.contains(name.as_str()), "{context}");
            }
            let long = n.body["ibmendefaultlong"].as_str().unwrap_or_default();
            assert!(
                long.ends_with('.') && long.len() > short.len(),
                "{context}: {long}"
            );
        }
    }
}

/// Routes `generated` events of a source of `kind` through one topic per type (`$.type == '…'`),
/// each to its own path, and checks every event arrives exactly once, at its type's path.
async fn each_is_routed_by_its_type(kind: &str, generated: &[Generated]) {
    let kafka = Kafka::start(&["audit"]);
    let mut receiver = Receiver::ok().await;
    let types: Vec<&str> = {
        let mut types: Vec<&str> = generated.iter().map(|g| g.ce_type.as_str()).collect();
        types.sort_unstable();
        types.dedup();
        types
    };
    let mut destinations = String::new();
    let mut topics = Vec::new();
    for (i, ce_type) in types.iter().enumerate() {
        destinations += &webhook(
            &format!("hook-{i}"),
            receiver.url(&format!("/{ce_type}")),
            "",
        );
        topics.push(topic(
            &format!("type-{i}"),
            &format!(
                "  - id: audit\n    rules:\n      - event_type_filter: \"$.type == '{ce_type}'\""
            ),
            &format!("  - {{ name: sub-{i}, destination: hook-{i} }}"),
        ));
    }
    let sources =
        format!("  - {{ id: audit, type: {kind}, enabled: true, kafka_topics: [audit] }}");
    let router = Setup {
        sources: &sources,
        ..Setup::lifecycle(kafka.brokers(), kind, &destinations, topics)
    }
    .start();
    let records: Vec<Record<'_>> = generated
        .iter()
        .map(|g| (None, g.event.to_string().into_bytes(), vec![]))
        .collect();
    kafka.produce("audit", &records).await;

    let received = receiver.take(generated.len()).await;
    router.stop().await;
    assert!(receiver.drain().is_empty(), "each event is delivered once");
    let mut found: Vec<(String, String)> = received
        .iter()
        .map(|r| {
            let ce_type = r.json()["type"].as_str().expect("a type").to_owned();
            assert_eq!(
                r.path,
                format!("/{ce_type}"),
                "delivered by its own type's rule"
            );
            (ce_type, r.json()["data"].to_string())
        })
        .collect();
    let mut expected: Vec<(String, String)> = generated
        .iter()
        .map(|g| (g.ce_type.clone(), g.event.to_string()))
        .collect();
    found.sort();
    expected.sort();
    assert_eq!(found, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_activity_tracker_action_and_older_spelling_is_routed_by_its_type() {
    each_is_routed_by_its_type("activity-tracker", &activity_tracker_events()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_ubiops_object_type_and_action_is_routed_by_its_type() {
    each_is_routed_by_its_type("ubiops-audit", &ubiops_events()).await;
}

/// The example events of `examples/events/<folder>/`, by file name, sorted.
fn examples(folder: &str) -> Vec<(String, Value)> {
    let dir = Path::new(ROOT).join("examples/events").join(folder);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("entry").path())
        .collect();
    files.sort();
    files
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).expect("readable example");
            let name = path
                .file_name()
                .expect("a name")
                .to_string_lossy()
                .into_owned();
            (
                name,
                serde_json::from_str(&text).expect("examples are JSON"),
            )
        })
        .collect()
}

#[test]
fn every_example_event_normalises_as_its_readme_says() {
    #[rustfmt::skip]
    let table = [
        (SourceKind::ActivityTracker, "activity-tracker", "application-update-failure-2020-spelling.json", "com.ibm.cloud.codeengine.application:update", "HIGH",
         "Application storefront could not be updated in project beta by sam@example.com — failure: image registry.example.com/storefront:v12 cannot be pulled: unauthorized (422)"),
        (SourceKind::ActivityTracker, "activity-tracker", "archiving-turned-off.json", "com.ibm.cloud.logdnaat.account-archive-setting:configure", "LOW",
         "Archiving setting configured in instance at-us-south by lee@example.com — success"),
        (SourceKind::ActivityTracker, "activity-tracker", "buildrun-create-failure.json", "com.ibm.cloud.codeengine.buildrun:create", "HIGH",
         "Build run api-build-run-7 could not be created in project alpha by ci-pipeline — failure: Build run quota of the project exhausted (100 of 100 build runs) (403)"),
        (SourceKind::ActivityTracker, "activity-tracker", "pods-list-large-response.json", "com.ibm.cloud.codeengine.pods:list", "LOW",
         "Pods listed in project alpha by jane@example.com — success"),
        (SourceKind::ActivityTracker, "activity-tracker", "secret-create.json", "com.ibm.cloud.codeengine.secret:create", "LOW",
         "Secret db-creds created in project alpha by jane@example.com — success"),
        (SourceKind::UbiopsAudit, "ubiops", "deployment-delete.json", "com.ubiops.deployment:delete", "MEDIUM",
         "Deployment deleted in project alpha by jane@example.com"),
        (SourceKind::UbiopsAudit, "ubiops", "deployment-environment-variable-update.json", "com.ubiops.deployment_environment_variable:update", "LOW",
         "Deployment environment variable DB_PASSWORD updated in project alpha by sam@example.com"),
        (SourceKind::UbiopsAudit, "ubiops", "service-user-create.json", "com.ubiops.service_user:create", "LOW",
         "Service user ci-deployer created in project alpha by jane@example.com"),
        (SourceKind::UbiopsAudit, "ubiops", "version-file-download.json", "com.ubiops.version_file:info", "LOW",
         "Downloaded deployment file of version 'v3' of deployment 'fraud-scoring' in project alpha by lee@example.com"),
        (SourceKind::Cloudevents, "cloudevents", "build-finished.json", "dev.example.ci.build:finished", "LOW",
         "dev.example.ci.build:finished: storefront@9f3e1c2"),
        (SourceKind::Cloudevents, "cloudevents", "invoice-overdue.json", "com.example.billing.invoice:overdue", "HIGH",
         "Invoice 2024-118 is 30 days overdue"),
    ];
    let mut seen = 0;
    for folder in ["activity-tracker", "ubiops", "cloudevents"] {
        for (name, event) in examples(folder) {
            let row = table.iter().find(|row| row.1 == folder && row.2 == name);
            let (kind, _, _, ce_type, severity, short) =
                row.unwrap_or_else(|| panic!("{folder}/{name} is not in the table"));
            let n = normalised(*kind, &event);
            assert_eq!(
                (
                    n.event_type.as_str(),
                    &n.body["ibmenseverity"],
                    &n.body["ibmendefaultshort"]
                ),
                (*ce_type, &Value::from(*severity), &Value::from(*short)),
                "{folder}/{name}"
            );
            seen += 1;
        }
    }
    assert_eq!(seen, table.len(), "every row has its file");
    let pods = &examples("activity-tracker")[3].1;
    let long = normalised(SourceKind::ActivityTracker, pods).body["ibmendefaultlong"].clone();
    assert!(
        long.as_str()
            .is_some_and(|l| l.ends_with("not included for performance and size reasons.")),
        "{long}"
    );
}

/// The shipped topic files that read only the audit-event sources, as (file name, text).
fn shipped_audit_topics() -> Vec<(String, String)> {
    let audit_sources = ["activity-tracker", "ubiops-audit", "api-events"];
    let dir = Path::new(ROOT).join("topics");
    let mut topics = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("topics folder") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("readable topic");
        let yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).expect("topic is YAML");
        let sources = yaml["sources"].as_sequence().expect("topic has sources");
        if sources.iter().all(|s| {
            s["id"]
                .as_str()
                .is_some_and(|id| audit_sources.contains(&id))
        }) {
            let name = path
                .file_name()
                .expect("a name")
                .to_string_lossy()
                .into_owned();
            topics.push((name, text));
        }
    }
    topics.sort();
    topics
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_topics_deliver_the_example_events_and_malformed_ones_are_dead_lettered() {
    let kafka = Kafka::start(&[
        "activity-tracker-events",
        "ubiops-audit-events",
        "api-events",
    ]);
    let mut receiver = Receiver::ok().await;
    let sources = "  - { id: activity-tracker, type: activity-tracker, enabled: true, kafka_topics: [activity-tracker-events] }\n  \
                   - { id: ubiops-audit, type: ubiops-audit, enabled: true, kafka_topics: [ubiops-audit-events] }\n  \
                   - { id: api-events, type: cloudevents, enabled: true, kafka_topics: [api-events] }";
    let destinations = webhook("platform-webhook", receiver.url("/platform"), "")
        + &webhook("security-webhook", receiver.url("/security"), "")
        + &webhook("everything", receiver.url("/all"), "");
    let mut topics = shipped_audit_topics();
    assert_eq!(topics.len(), 5, "{topics:?}");
    // A catch-all, so the test knows when every example has been routed.
    topics.push(topic(
        "all-audit-events",
        "  - id: activity-tracker\n  - id: ubiops-audit\n  - id: api-events",
        "  - { name: all-audit-events, destination: everything }",
    ));
    let router = Setup {
        sources,
        ..Setup::lifecycle(kafka.brokers(), "examples", &destinations, topics)
    }
    .start();

    // Per Kafka topic, one partition: a malformed event first, then the examples.
    let malformed = [
        (
            "activity-tracker-events",
            "activity-tracker",
            r#"{"outcome":"success","eventTime":"2024-10-09T14:03:27Z"}"#,
            "missing-field",
            "missing field \"action\"",
        ),
        (
            "ubiops-audit-events",
            "ubiops-audit",
            r#"{"date":"2024-06-03T08:15:42Z","action":"rename","object_type":"deployment"}"#,
            "unknown-event-type",
            "action \"rename\" is not one of create, update, delete, info",
        ),
        (
            "api-events",
            "api-events",
            r#"{"invoice":"2024-118"}"#,
            "missing-field",
            "missing field \"specversion\": a cloudevents source takes CloudEvents only (structured, or binary with ce_* headers)",
        ),
    ];
    let mut example_count = 0;
    for ((kafka_topic, source, bad, _, _), folder) in
        malformed
            .iter()
            .zip(["activity-tracker", "ubiops", "cloudevents"])
    {
        let mut records: Vec<Record<'_>> = vec![(
            Some("one"),
            bad.as_bytes().to_vec(),
            vec![("x-test", source.as_bytes())],
        )];
        for (_, event) in examples(folder) {
            records.push((Some("one"), event.to_string().into_bytes(), vec![]));
            example_count += 1;
        }
        kafka.produce(kafka_topic, &records).await;
    }

    // Every example through the catch-all, plus the six the example topics select.
    let received = receiver.take(example_count + 6).await;
    let letters = kafka.dead_letters(malformed.len()).await;
    router.stop().await;
    assert!(receiver.drain().is_empty(), "nothing else is delivered");
    assert_eq!(
        received.iter().filter(|r| r.path == "/all").count(),
        example_count
    );

    let mut routed: Vec<(&str, String)> = received
        .iter()
        .filter(|r| r.path != "/all")
        .map(|r| {
            let ce_type = r.json()["type"].as_str().expect("a type").to_owned();
            (r.path.as_str(), ce_type)
        })
        .collect();
    routed.sort_unstable();
    assert_eq!(
        routed
            .iter()
            .map(|(path, ce_type)| (*path, ce_type.as_str()))
            .collect::<Vec<_>>(),
        [
            ("/platform", "com.example.billing.invoice:overdue"),
            ("/platform", "com.ibm.cloud.codeengine.application:update"),
            ("/platform", "com.ibm.cloud.codeengine.buildrun:create"),
            ("/platform", "com.ubiops.deployment:delete"),
            ("/security", "com.ibm.cloud.codeengine.secret:create"),
            (
                "/security",
                "com.ibm.cloud.logdnaat.account-archive-setting:configure"
            ),
        ]
    );
    let body = |ce_type: &str| {
        received
            .iter()
            .find(|r| r.path != "/all" && r.json()["type"] == ce_type)
            .expect("delivered")
            .json()
    };
    assert_eq!(
        body("com.ibm.cloud.codeengine.secret:create")["ibmendefaultshort"],
        "Secret db-creds created in project alpha by jane@example.com — success"
    );
    assert_eq!(
        body("com.ibm.cloud.codeengine.application:update")["data"]["action"],
        "codeengine.appliction.update",
        "the older spelling reaches the topic of the current type, and data keeps it"
    );
    assert_eq!(
        body("com.ubiops.deployment:delete")["ibmensourceid"],
        "ubiops-audit"
    );

    for (kafka_topic, source, bad, reason, detail) in malformed {
        let (headers, value) = letters
            .iter()
            .find(|(h, _)| h.get("x-test").map(String::as_str) == Some(source))
            .unwrap_or_else(|| panic!("{source}'s malformed event not dead-lettered"));
        assert_eq!(
            (
                headers["dlq-reason"].as_str(),
                headers["dlq-detail"].as_str()
            ),
            (reason, detail)
        );
        assert_eq!(headers["dlq-source"], source);
        assert_eq!(headers["dlq-original-topic"], kafka_topic);
        assert_eq!(value, bad.as_bytes());
    }
}

#[test]
fn validate_warns_about_a_type_no_catalogue_lists_and_still_succeeds() {
    let destinations = webhook("hook", "http://127.0.0.1:9/hook", "");
    let setup = Setup {
        sources: "  - { id: audit, type: activity-tracker, kafka_topics: [audit] }",
        ..Setup::lifecycle(
            "127.0.0.1:1",
            "g",
            &destinations,
            vec![topic(
                "secrets",
                "  - id: audit\n    rules:\n      - event_type_filter: \"$.type == 'com.ibm.cloud.codeengine.secrets:delete'\"",
                "  - { name: s, destination: hook }",
            )],
        )
    };
    let (_dir, router) = setup.write();
    let output = Command::new(env!("CARGO_BIN_EXE_notification-router"))
        .args(["validate", "--config"])
        .arg(&router)
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].starts_with("warning: "), "{stderr}");
    assert!(
        lines[0].ends_with(
            "secrets.yaml: sources[0].rules[0].event_type_filter: topic \"secrets\", source \"audit\": \
             type \"com.ibm.cloud.codeengine.secrets:delete\" is not one the activity-tracker catalogue lists, \
             so the rule may never match; did you mean \"com.ibm.cloud.codeengine.secret:delete\"?"
        ),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("valid: 1 sources (0 enabled), 1 topics"),
        "{stdout}"
    );
}
