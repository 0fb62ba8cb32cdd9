//! Table tests of the comparison: each kind of change counted with its reason.

use std::sync::Arc;

use chrono::Utc;

use super::*;
use crate::control::{Change, ControlRecord, ControlState, Read};
use crate::silence::{Silence, Silences};

const ROUTER: &str = "kafka:\n  brokers: 127.0.0.1:9092\n  internal_key: test-internal-key-0123456789abcdef\nsources:\n  - id: lifecycle\n    name: Lifecycle\n    type: resource-lifecycle-events\n    enabled: ENABLED\n    kafka_topics: [lifecycle-events]\ndestinations:\n  - id: ops\n    type: webhook\n    url: https://ops.example.com/hook\n  - id: audit\n    type: webhook\n    url: https://audit.example.com/hook\n";

/// A configuration with the lifecycle source on or off and one topic file.
fn config(enabled: bool, topic: &str) -> (tempfile::TempDir, Config) {
    let dir = tempfile::tempdir().unwrap();
    let router = ROUTER.replace("ENABLED", if enabled { "true" } else { "false" });
    std::fs::write(dir.path().join("router.yaml"), router).unwrap();
    std::fs::create_dir(dir.path().join("topics")).unwrap();
    std::fs::write(dir.path().join("topics/failures.yaml"), topic).unwrap();
    let config = crate::config::load(&dir.path().join("router.yaml")).unwrap();
    (dir, config)
}

fn topic(filter: &str, destination: &str) -> String {
    format!(
        "name: failures\nsources:\n  - id: lifecycle\n    rules:\n      - event_type_filter: \"{filter}\"\nsubscriptions:\n  - name: oncall\n    destination: {destination}\n"
    )
}

fn record(sub_type: &str, region: &str, n: usize) -> Record {
    let event = serde_json::json!({
        "account_id": "a1b2c3d4e5f60718293a4b5c6d7e8f90",
        "event_id": format!("evt-{n}"),
        "event_type": format!("resource-controller.instance.{sub_type}"),
        "timestamp": "2026-11-21T09:30:00Z",
        "context": {"activity": {"action": "x.instance.create", "message": "m", "outcome": "success", "target_name": "db"}},
        "event_properties": {"crn": "crn:v1:bluemix:public:x:us-south:a/1::", "name": "db", "region_id": region, "type": "service_instance"}
    });
    Record {
        topic: "lifecycle-events".to_owned(),
        value: Some(serde_json::to_vec(&event).unwrap()),
        headers: vec![],
    }
}

/// 6 create failures in us-south, 4 in eu-de, 5 creates.
fn traffic() -> Vec<Record> {
    let mut records = Vec::new();
    for n in 0..6 {
        records.push(record("create_failure", "us-south", n));
    }
    for n in 6..10 {
        records.push(record("create_failure", "eu-de", n));
    }
    for n in 10..15 {
        records.push(record("create", "us-south", n));
    }
    records
}

fn compare(current: &Config, proposed: &Config) -> Report {
    let none = Runtime::default();
    let mut comparison = Comparison::new(current, proposed, &none);
    for record in traffic() {
        comparison.add(&record);
    }
    comparison.finish()
}

fn row<'r>(report: &'r Report, subscription: &str, destination: &str) -> &'r Row {
    report
        .rows
        .iter()
        .find(|r| r.subscription == subscription && r.destination == destination)
        .unwrap_or_else(|| panic!("no row {subscription} -> {destination}: {report:?}"))
}

const FAILURES: &str = "$.type =~ 'create_failure'";

#[test]
fn each_kind_of_change_is_counted_with_its_reason() {
    let (_a, current) = config(true, &topic(FAILURES, "ops"));
    // (proposed source on, its topic, subscription, destination, before, after, gained,
    //  lost, a phrase of the reason)
    // (proposed source on, topic file, destination, before, after, gained, lost, a phrase
    // of the reason)
    type Case<'a> = (bool, String, &'a str, u64, u64, u64, u64, &'a str);
    let cases: [Case<'_>; 5] = [
        (true, topic(FAILURES, "ops"), "ops", 10, 10, 0, 0, ""),
        (
            true,
            topic(
                &format!("{FAILURES} && $.data.event_properties.region_id == 'us-south'"),
                "ops",
            ),
            "ops",
            10,
            6,
            0,
            4,
            "no rule of topic failures matches",
        ),
        (
            true,
            topic(FAILURES, "audit"),
            "ops",
            10,
            0,
            0,
            10,
            "subscription oncall goes to audit",
        ),
        (
            false,
            topic(FAILURES, "ops"),
            "ops",
            10,
            0,
            0,
            10,
            "source lifecycle is disabled",
        ),
        (
            true,
            topic("$.type =~ 'create_failur3'", "ops"),
            "ops",
            10,
            0,
            0,
            10,
            "no rule of topic failures matches",
        ),
    ];
    for (enabled, topic, destination, before, after, gained, lost, why) in cases {
        let (_b, proposed) = config(enabled, &topic);
        let report = compare(&current, &proposed);
        assert_eq!(report.records, 15);
        let r = row(&report, "oncall", destination);
        assert_eq!(
            (r.before, r.after, r.gained, r.lost),
            (before, after, gained, lost),
            "{topic}"
        );
        assert_eq!(report.changed(), gained + lost > 0);
        assert_eq!(r.lost_samples.len(), lost.min(3) as usize);
        for sample in &r.lost_samples {
            assert!(sample.why.contains(why), "{}", sample.why);
            assert!(
                sample
                    .why
                    .starts_with("before: topic failures rule 1 matches"),
                "{}",
                sample.why
            );
            assert!(sample.event_type.ends_with("instance:create_failure"));
        }
    }
}

#[test]
fn a_moved_subscription_gains_at_its_new_destination() {
    let (_a, current) = config(true, &topic(FAILURES, "ops"));
    let (_b, proposed) = config(true, &topic(FAILURES, "audit"));
    let report = compare(&current, &proposed);
    let r = row(&report, "oncall", "audit");
    assert_eq!((r.before, r.after, r.gained, r.lost), (0, 10, 10, 0));
    assert!(
        r.gained_samples[0]
            .why
            .contains("before: subscription oncall goes to ops")
    );
}

#[test]
fn a_source_turned_on_gains_its_whole_traffic() {
    let (_a, current) = config(false, &topic("$.*", "ops"));
    let (_b, proposed) = config(true, &topic("$.*", "ops"));
    let report = compare(&current, &proposed);
    let r = row(&report, "oncall", "ops");
    assert_eq!((r.before, r.after, r.gained, r.lost), (0, 15, 15, 0));
}

#[test]
fn records_neither_side_accepts_are_counted_apart() {
    let (_a, current) = config(true, &topic(FAILURES, "ops"));
    let none = Runtime::default();
    let mut comparison = Comparison::new(&current, &current, &none);
    comparison.add(&Record {
        topic: "lifecycle-events".to_owned(),
        value: Some(b"not json".to_vec()),
        headers: vec![],
    });
    let report = comparison.finish();
    assert_eq!((report.records, report.rejected), (1, 1));
    assert!(!report.changed());
}

/// The runtime state of `changes` (as read from the control topic) and `silences`.
fn runtime(changes: &[Change], silences: Option<Arc<Silences>>) -> Runtime {
    let mut control = ControlState::default();
    for change in changes {
        control.apply(Read::Set(ControlRecord::new(change.clone(), "test")));
    }
    Runtime::new(control, silences, Utc::now())
}

/// As `measure` compares: `runtime`'s source overrides laid over both sides.
fn compare_under(current: &Config, proposed: &Config, runtime: &Runtime) -> Report {
    let (current, proposed) = (runtime.applied(current), runtime.applied(proposed));
    let mut comparison = Comparison::new(&current, &proposed, runtime);
    for record in traffic() {
        comparison.add(&record);
    }
    comparison.finish()
}

fn narrowed() -> String {
    topic(
        &format!("{FAILURES} && $.data.event_properties.region_id == 'us-south'"),
        "ops",
    )
}

#[test]
fn a_paused_subscription_delivers_on_neither_side() {
    let (_a, current) = config(true, &topic(FAILURES, "ops"));
    let (_b, proposed) = config(true, &narrowed());
    let paused = runtime(
        &[Change::Subscription {
            id: "oncall".to_owned(),
            paused: true,
        }],
        None,
    );
    let report = compare_under(&current, &proposed, &paused);
    assert!(!report.changed(), "{report:?}");
    assert!(report.rows.iter().all(|r| r.before == 0 && r.after == 0));
}

#[test]
fn a_disabled_destination_is_why_a_moved_subscription_loses() {
    let (_a, current) = config(true, &topic(FAILURES, "ops"));
    let (_b, proposed) = config(true, &topic(FAILURES, "audit"));
    let disabled = runtime(
        &[Change::Destination {
            id: "audit".to_owned(),
            enabled: false,
            reason: Some("maintenance".to_owned()),
        }],
        None,
    );
    let report = compare_under(&current, &proposed, &disabled);
    let r = row(&report, "oncall", "ops");
    assert_eq!((r.before, r.after, r.gained, r.lost), (10, 0, 0, 10));
    assert!(report.rows.iter().all(|r| r.destination != "audit"));
    let why = &r.lost_samples[0].why;
    assert!(
        why.ends_with(
            "now: subscription oncall goes to audit, where destination audit is disabled (maintenance)"
        ),
        "{why}"
    );
}

#[test]
fn silenced_deliveries_count_on_neither_side() {
    let (_a, current) = config(true, &topic(FAILURES, "ops"));
    let (_b, proposed) = config(true, &narrowed());
    let silences = Silences::new();
    let now = Utc::now();
    silences
        .put(Silence {
            id: "eu-maintenance".to_owned(),
            matcher: "$.data.event_properties.region_id == 'eu-de'".to_owned(),
            scope: crate::silence::Scope::default(),
            starts_at: now - chrono::TimeDelta::hours(1),
            ends_at: now + chrono::TimeDelta::hours(1),
            created_by: "test".to_owned(),
            comment: String::new(),
            updated_at: now,
        })
        .unwrap();
    let report = compare_under(&current, &proposed, &runtime(&[], Some(silences)));
    let r = row(&report, "oncall", "ops");
    assert_eq!((r.before, r.after, r.gained, r.lost), (6, 6, 0, 0));
    assert!(!report.changed());
}

#[test]
fn a_source_override_applies_to_both_sides() {
    // The files have the source off; the control topic turns it on.
    let (_a, current) = config(false, &topic(FAILURES, "ops"));
    let (_b, proposed) = config(false, &topic(FAILURES, "ops"));
    let on = runtime(
        &[Change::Source {
            id: "lifecycle".to_owned(),
            enabled: true,
        }],
        None,
    );
    let report = compare_under(&current, &proposed, &on);
    assert!(!report.changed(), "{report:?}");
    assert_eq!(row(&report, "oncall", "ops").before, 10);
    // A configuration already in effect (the override in it) against the files: the same.
    let in_effect = on.applied(&current);
    let report = compare_under(&in_effect, &proposed, &on);
    assert!(!report.changed(), "{report:?}");
    let (_c, proposed) = config(false, &narrowed());
    let report = compare_under(&current, &proposed, &on);
    let r = row(&report, "oncall", "ops");
    assert_eq!((r.before, r.after, r.gained, r.lost), (10, 6, 0, 4));
}
