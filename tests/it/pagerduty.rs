//! PagerDuty deliveries end to end: Kafka to a stand-in that checks each event against the
//! Events API v2 schema and keeps incidents by `dedup_key`.

use crate::support::*;
use testkit::pagerduty::{PagerDutyReply, PagerDutyServer, ROUTING_KEY};

const SHIPPED: &str = include_str!("../../templates/pagerduty/lifecycle.json.hbs");
const FAST_RETRY: &str =
    "    allow_http: true\n    retry: { retries: 2, initial_backoff: 50ms, max_backoff: 100ms }\n";
const CRN: &str = "crn:v1:bluemix:public:databases-for-postgresql:eu-gb:a/a1b2c3d4e5f60718293a4b5c6d7e8f90:db-1::";

/// An event about the one resource of these tests.
fn about_db(event_type: &str, event_id: &str) -> serde_json::Value {
    let mut event = lifecycle_event(event_type, event_id, "eu-gb", "orders-db");
    event["event_properties"]["crn"] = CRN.into();
    event
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_then_the_success_opens_and_resolves_one_incident() {
    let kafka = Kafka::start(&["lifecycle"]);
    let mut pagerduty = PagerDutyServer::start().await;
    // PagerDuty throttles the first event; the router retries it.
    pagerduty.reply(PagerDutyReply::Throttled);
    let destinations = format!(
        "  - id: oncall\n    type: pagerduty\n    routing_key: {ROUTING_KEY}\n    url: \"{}\"\n{FAST_RETRY}",
        pagerduty.url()
    );
    let topics = vec![topic(
        "incidents",
        "  - id: lifecycle",
        "  - { name: page, destination: oncall, template: pagerduty/lifecycle.json.hbs }",
    )];
    let router = Setup {
        templates: vec![("pagerduty/lifecycle.json.hbs", SHIPPED)],
        ..Setup::lifecycle(kafka.brokers(), "pagerduty", &destinations, topics)
    }
    .start();

    let failed = about_db("resource-controller.instance.create_failure", "evt-fail");
    kafka.produce_events("lifecycle", &[failed]).await;
    let (throttled, trigger) = (pagerduty.next().await, pagerduty.next().await);
    // Only once the incident is open does the success arrive (the two may take other partitions).
    let created = about_db("resource-controller.instance.create", "evt-ok");
    kafka.produce_events("lifecycle", &[created]).await;
    let resolve = pagerduty.next().await;
    router.stop().await;

    assert_eq!(throttled.status, 429);
    assert_eq!(
        throttled.json, trigger.json,
        "the retry sends the same event"
    );
    assert_eq!(trigger.status, 202, "{:?}", trigger.errors);
    assert_eq!(resolve.status, 202, "{:?}", resolve.errors);
    let event = &trigger.json;
    assert_eq!(event["routing_key"], ROUTING_KEY);
    assert_eq!(event["event_action"], "trigger");
    assert_eq!(event["dedup_key"], format!("{CRN}/instance:create"));
    let payload = &event["payload"];
    assert_eq!(payload["severity"], "error", "HIGH is error by default");
    assert_eq!(payload["source"], CRN);
    assert_eq!(payload["component"], "orders-db");
    assert!(
        payload["summary"].as_str().unwrap().ends_with("(eu-gb)"),
        "{payload}"
    );
    assert_eq!(
        payload["custom_details"]["initiator"],
        "jane.doe@example.com"
    );
    assert_eq!(resolve.json["event_action"], "resolve");
    assert_eq!(resolve.json["dedup_key"], event["dedup_key"]);

    let incidents = pagerduty.incidents();
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    assert!(incidents[0].resolved);
    assert_eq!(incidents[0].triggers, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_pagerduty_refuses_is_dead_lettered_at_once_without_its_key() {
    let kafka = Kafka::start(&["lifecycle"]);
    let mut pagerduty = PagerDutyServer::start().await;
    // Not the 32 characters of an integration key: PagerDuty answers 400.
    let destinations = format!(
        "  - id: oncall\n    type: pagerduty\n    routing_key: mistyped-key-1234\n    url: \"{}\"\n{FAST_RETRY}",
        pagerduty.url()
    );
    let topics = vec![topic(
        "incidents",
        "  - id: lifecycle",
        "  - { name: page, destination: oncall, severity: { HIGH: critical } }",
    )];
    let router = Setup::lifecycle(kafka.brokers(), "pagerduty-400", &destinations, topics).start();

    let failed = about_db("resource-controller.instance.update_failure", "evt-bad");
    kafka.produce_events("lifecycle", &[failed]).await;
    let refused = pagerduty.next().await;
    let letters = kafka.dead_letters(1).await;
    router.stop().await;

    assert_eq!(refused.status, 400);
    assert_eq!(refused.json["payload"]["severity"], "critical");
    assert!(
        refused.errors[0].contains("routing_key"),
        "{:?}",
        refused.errors
    );
    let (headers, _) = &letters[0];
    assert_eq!(headers["dlq-destination"], "oncall");
    assert_eq!(headers["dlq-reason"], "delivery-rejected");
    assert_eq!(headers["dlq-attempts"], "1", "a 400 is not retried");
    let detail = &headers["dlq-detail"];
    assert!(detail.contains("Event object is invalid"), "{detail}");
    assert!(
        !detail.contains("mistyped-key-1234"),
        "the key is never shown"
    );
    assert!(pagerduty.incidents().is_empty());
}

#[test]
fn render_and_explain_show_the_event_its_action_and_its_key() {
    let destinations = format!(
        "  - id: oncall\n    type: pagerduty\n    routing_key: {ROUTING_KEY}\n    url: http://127.0.0.1:9/v2/enqueue\n    allow_http: true\n"
    );
    let topics = vec![topic(
        "incidents",
        "  - id: lifecycle",
        "  - { name: page, destination: oncall, dedup_key: '{{subject}}' }",
    )];
    let setup = Setup::lifecycle("127.0.0.1:9092", "cli", &destinations, topics);
    let (_dir, config) = setup.write();
    let event = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/events/instance-create-failure.json");
    let run = |args: &[&str]| {
        let output = std::process::Command::new(BIN)
            .args(args)
            .arg("--config")
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
        String::from_utf8(output.stdout).unwrap()
    };

    let rendered = run(&["render", "--subscription", "page"]);
    assert!(
        rendered.starts_with("POST http://127.0.0.1:9"),
        "{rendered}"
    );
    let body: serde_json::Value =
        serde_json::from_str(&rendered[rendered.find("\n{").unwrap()..]).unwrap();
    assert_eq!(body["routing_key"], "****", "the key is never shown");
    assert_eq!(body["event_action"], "trigger");
    assert_eq!(body["payload"]["severity"], "error");
    assert_eq!(body["dedup_key"], body["payload"]["source"], "{rendered}");

    let explained = run(&["explain"]);
    assert!(
        explained
            .contains("      pagerduty: trigger (resolve_on does not match), dedup_key \"crn:"),
        "{explained}"
    );
}

/// The lines of the error `config::load` refuses `setup` with.
fn refusal(setup: &Setup) -> String {
    let (_dir, path) = setup.write();
    notification_router::config::load(&path)
        .expect_err("the configuration is refused")
        .to_string()
}

#[test]
fn bad_pagerduty_settings_name_the_file_the_item_and_the_reason() {
    let destinations = "  - id: oncall\n    type: pagerduty\n    routing_key: \"\"\n  - id: paging\n    type: pagerduty\n    routing_key: k\n    url: http://events.example.com/v2/enqueue\n";
    let error = refusal(&Setup::lifecycle(
        "127.0.0.1:9092",
        "bad",
        destinations,
        vec![],
    ));
    let expected = [
        "router.yaml: destinations[0] (oncall).routing_key: is empty",
        "router.yaml: destinations[1] (paging).url: http://events.example.com uses http",
    ];
    for line in expected {
        assert!(error.contains(line), "{line}\nnot in:\n{error}");
    }

    let destinations =
        format!("  - id: paging\n    type: pagerduty\n    routing_key: {ROUTING_KEY}\n");
    let topics = vec![topic(
        "incidents",
        "  - id: lifecycle",
        "  - { name: page, destination: paging, severity: { HIGH: sev1 }, resolve_on: '$.type ==' }\n  - { name: chat, destination: paging, channels: [C1] }",
    )];
    let error = refusal(&Setup::lifecycle(
        "127.0.0.1:9092",
        "bad",
        &destinations,
        topics,
    ));
    let expected = [
        "incidents.yaml: subscriptions[0] (page).severity.HIGH: \"sev1\" is not a PagerDuty severity; valid: critical, error, warning, info",
        "incidents.yaml: subscriptions[0] (page).resolve_on: is not a filter: column",
        "incidents.yaml: subscriptions[1] (chat).channels: is an attribute of slack subscriptions, but destination \"paging\" is a pagerduty destination",
    ];
    for line in expected {
        assert!(error.contains(line), "{line}\nnot in:\n{error}");
    }
}
