//! The PagerDuty event built from notifications: keys, actions, severities, limits, templates.

use serde_json::{Map, Value, json};

use super::*;
use crate::channels::config::SubscriptionConfig;
use crate::filter::Filter;
use crate::render::InlineTemplate;

const CRN: &str = "crn:v1:bluemix:public:databases-for-postgresql:eu-gb:a/acc:inst-1::";

fn notification(sub_type: &str, severity: &str) -> Value {
    json!({
        "type": format!("com.ibm.cloud.resource-lifecycle-events.instance:{sub_type}"),
        "subject": CRN,
        "source": "/resource-controller/accounts/acc",
        "time": "2026-11-21T09:30:00Z",
        "ibmensourceid": "lifecycle",
        "ibmenseverity": severity,
        "ibmendefaultshort": format!("instance {sub_type} db"),
        "notification_id": "n-1",
    })
}

fn defaults() -> Attributes {
    Attributes {
        dedup_key: None,
        severity: SeverityMap::default(),
        resolve_on: default_resolve_on(),
    }
}

fn subscription(yaml: &str) -> SubscriptionConfig {
    serde_yaml_ng::from_str(&format!("{{name: s, destination: pd, {yaml}}}")).unwrap()
}

#[test]
fn a_failure_and_the_success_of_one_operation_share_a_key() {
    let failed = default_dedup_key(&notification("create_failure", "HIGH"));
    let created = default_dedup_key(&notification("create", "LOW"));
    let progress = default_dedup_key(&notification("create_inprogress", "LOW"));
    assert_eq!(failed, format!("{CRN}/instance:create"));
    assert_eq!(created, failed);
    assert_eq!(progress, failed);
    let deleted = default_dedup_key(&notification("delete_failure", "HIGH"));
    assert_ne!(deleted, failed, "another operation is another incident");
}

#[test]
fn the_default_resolve_on_matches_successes_of_fallible_operations_only() {
    let resolve = default_resolve_on();
    let cases = [
        ("create", true),
        ("update_plan", true),
        ("delete", true),
        ("create_failure", false),
        ("create_inprogress", false),
        ("apply_promo_code", false),
        ("restore", false),
    ];
    for (sub_type, expected) in cases {
        let n = notification(sub_type, "LOW");
        assert_eq!(resolve.matches(&n), expected, "{sub_type}");
    }
}

#[test]
fn a_failure_triggers_and_the_success_resolves_with_the_same_key() {
    let trigger = build(
        &defaults(),
        &notification("create_failure", "HIGH"),
        None,
        "d",
    )
    .unwrap();
    let resolve = build(&defaults(), &notification("create", "LOW"), None, "d").unwrap();
    assert_eq!(trigger["event_action"], "trigger");
    assert_eq!(trigger["payload"]["severity"], "error");
    assert_eq!(trigger["payload"]["source"], CRN);
    assert_eq!(trigger["payload"]["summary"], "instance create_failure db");
    assert_eq!(
        trigger["payload"]["class"],
        trigger["payload"]["custom_details"]["type"]
    );
    assert_eq!(resolve["event_action"], "resolve");
    assert_eq!(resolve["dedup_key"], trigger["dedup_key"]);
    assert!(
        resolve.get("payload").is_none(),
        "a resolve carries no payload"
    );
}

#[test]
fn subscriptions_set_the_key_the_severity_and_the_resolving_filter() {
    let mut problems = Vec::new();
    let config = subscription(
        "dedup_key: '{{ibmensourceid}}:{{subject}}', severity: {high: critical}, \
         resolve_on: \"$.ibmenseverity == 'LOW'\"",
    );
    let attributes = config::attributes(&config, &mut problems);
    assert!(problems.is_empty(), "{problems:?}");
    let event = build(
        &attributes,
        &notification("create_failure", "HIGH"),
        None,
        "d",
    )
    .unwrap();
    assert_eq!(event["dedup_key"], format!("lifecycle:{CRN}"));
    assert_eq!(event["payload"]["severity"], "critical");
    let low = build(&attributes, &notification("update", "LOW"), None, "d").unwrap();
    assert_eq!(low["event_action"], "resolve");
}

#[test]
fn bad_attributes_name_the_field_and_the_reason() {
    let mut problems = Vec::new();
    let config =
        subscription("dedup_key: '{{#if x}}', severity: {HIGH: urgent}, resolve_on: '$.type =='");
    config::attributes(&config, &mut problems);
    let fields: Vec<&str> = problems.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(fields, ["dedup_key", "severity.HIGH", "resolve_on"]);
    assert!(
        problems[1]
            .1
            .contains("valid: critical, error, warning, info")
    );
}

#[test]
fn a_long_summary_is_cut_visibly_and_a_long_key_hashed() {
    let mut n = notification("create_failure", "HIGH");
    n["ibmendefaultshort"] = "é".repeat(3000).into();
    n["subject"] = "c".repeat(400).into();
    let event = build(&defaults(), &n, None, "d").unwrap();
    let summary = event["payload"]["summary"].as_str().unwrap();
    assert_eq!(summary.chars().count(), SUMMARY_MAX);
    assert!(summary.ends_with(TRUNCATION_MARKER));
    let key = event["dedup_key"].as_str().unwrap();
    assert!(
        key.starts_with("sha256:") && key.len() <= DEDUP_KEY_MAX,
        "{key}"
    );
}

#[test]
fn template_fields_go_over_the_defaults_and_are_checked() {
    let n = notification("create_failure", "HIGH");
    let fields = |v: Value| -> Option<Map<String, Value>> { v.as_object().cloned() };
    let event = build(
        &defaults(),
        &n,
        fields(json!({"summary": "DB down", "links": [{"href": "https://x.test", "text": "x"}]})),
        "pagerduty/t.json.hbs",
    )
    .unwrap();
    assert_eq!(event["payload"]["summary"], "DB down");
    assert_eq!(event["payload"]["source"], CRN, "defaults stay");
    assert_eq!(event["links"][0]["href"], "https://x.test");
    let cases = [
        (json!({"title": "x"}), "unknown field \"title\""),
        (json!({"severity": "urgent"}), "severity"),
        (json!({"summary": " "}), "summary is empty"),
        (json!({"links": {}}), "links must be an array"),
    ];
    for (rendered, expected) in cases {
        let error = build(&defaults(), &n, fields(rendered), "pagerduty/t.json.hbs").unwrap_err();
        assert!(error.to_string().contains(expected), "{error}");
    }
}

#[test]
fn an_empty_rendered_key_is_refused() {
    let attributes = Attributes {
        dedup_key: Some(InlineTemplate::compile("{{#if nothing}}x{{/if}}").unwrap()),
        resolve_on: Filter::parse("false").unwrap(),
        ..defaults()
    };
    let n = json!({"nothing": false, "type": "t"});
    let error = build(&attributes, &n, None, "d").unwrap_err();
    assert!(
        error.to_string().contains("dedup_key rendered empty"),
        "{error}"
    );
}
