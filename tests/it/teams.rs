//! Microsoft Teams deliveries end to end: Kafka to a stand-in Workflows webhook that checks each
//! Adaptive Card against the schema and answers as Teams does.

use crate::support::*;
use testkit::teams::TeamsServer;

const SHIPPED: &str = include_str!("../../templates/teams/lifecycle.json.hbs");
const FAST_RETRY: &str =
    "    allow_http: true\n    retry: { retries: 2, initial_backoff: 50ms, max_backoff: 100ms }\n";

fn destination(id: &str, teams: &TeamsServer) -> String {
    format!(
        "  - id: {id}\n    type: teams\n    url: \"{}\"\n{FAST_RETRY}",
        teams.url()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_card_arrives_after_a_throttle_with_event_text_shown_as_typed() {
    let kafka = Kafka::start(&["lifecycle"]);
    let mut teams = TeamsServer::start().await;
    teams.throttle(1);
    let topics = vec![topic(
        "failures",
        "  - id: lifecycle",
        "  - { name: team, destination: chat, template: teams/lifecycle.json.hbs }",
    )];
    let destinations = destination("chat", &teams);
    let router = Setup {
        templates: vec![("teams/lifecycle.json.hbs", SHIPPED)],
        ..Setup::lifecycle(kafka.brokers(), "teams", &destinations, topics)
    }
    .start();

    let hostile = "**db** [click](https://evil.test)";
    let event = lifecycle_event(
        "resource-controller.instance.create_failure",
        "evt-teams",
        "eu-gb",
        hostile,
    );
    kafka.produce_events("lifecycle", &[event]).await;
    let (throttled, posted) = (teams.next().await, teams.next().await);
    router.stop().await;

    assert_eq!(throttled.status, 429);
    assert_eq!(throttled.json, posted.json, "the retry posts the same card");
    assert_eq!(posted.status, 202, "{:?}", posted.error);
    let card = posted.card();
    assert_eq!(card["version"], "1.5");
    assert_eq!(card["body"][0]["color"], "Attention", "HIGH is red");
    let escaped = "\\*\\*db\\*\\* \\[click\\]\\(https://evil.test\\)";
    assert_eq!(card["body"][1]["facts"][0]["value"], escaped);
    assert_eq!(card["body"][1]["facts"][1]["value"], "eu-gb");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_card_is_cut_to_the_size_limit_and_a_refused_card_is_dead_lettered() {
    let kafka = Kafka::start(&["lifecycle"]);
    let mut teams = TeamsServer::start().await;
    // A template Teams refuses: version 2.0 is not one it renders.
    let refused = r#"{"type": "AdaptiveCard", "version": "2.0", "body": [{"type": "TextBlock", "text": "{{ibmendefaultshort}}"}]}"#;
    let topics = vec![topic(
        "failures",
        "  - id: lifecycle",
        "  - { name: default-card, destination: chat }\n  - { name: future-card, destination: chat, template: teams/future.json.hbs }",
    )];
    let destinations = destination("chat", &teams);
    let router = Setup {
        templates: vec![("teams/future.json.hbs", refused)],
        ..Setup::lifecycle(kafka.brokers(), "teams-limits", &destinations, topics)
    }
    .start();

    let huge = "x".repeat(40_000);
    let event = lifecycle_event(
        "resource-controller.instance.update",
        "evt-huge",
        "us-south",
        &huge,
    );
    kafka.produce_events("lifecycle", &[event]).await;
    let (first, second) = (teams.next().await, teams.next().await);
    let letters = kafka.dead_letters(1).await;
    router.stop().await;

    let (accepted, refused) = if first.status == 202 {
        (first, second)
    } else {
        (second, first)
    };
    assert_eq!(accepted.status, 202, "{:?}", accepted.error);
    assert!(accepted.body.len() <= testkit::teams::MAX_BYTES);
    let card = accepted.card();
    let cut = card["body"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| {
            b["text"]
                .as_str()
                .is_some_and(|t| t.ends_with("… (truncated)"))
        })
        .count();
    assert!(cut >= 1, "the cut is visible: {card}");
    assert_eq!(refused.status, 400);
    let (headers, _) = &letters[0];
    assert_eq!(headers["dlq-subscription"], "future-card");
    assert_eq!(headers["dlq-reason"], "delivery-rejected");
    assert!(
        headers["dlq-detail"].contains("1.0 to 1.5"),
        "{}",
        headers["dlq-detail"]
    );
    assert!(!headers["dlq-detail"].contains("s3cretSignature"));
}

#[test]
fn render_shows_the_card_without_the_webhook_signature() {
    let destinations = "  - id: chat\n    type: teams\n    url: \"https://example.webhook.office.com/workflows/1/invoke?sig=s3cretSignature\"\n";
    let topics = vec![topic(
        "failures",
        "  - id: lifecycle",
        "  - { name: team, destination: chat }",
    )];
    let (_dir, config) = Setup::lifecycle("127.0.0.1:9092", "cli", destinations, topics).write();
    let event = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/events/instance-create-failure.json");
    let output = std::process::Command::new(BIN)
        .args(["render", "--subscription", "team", "--config"])
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
    assert!(!out.contains("s3cretSignature"), "{out}");
    let message: serde_json::Value =
        serde_json::from_str(&out[out.find("\n{").unwrap()..]).unwrap();
    testkit::teams::check(&message).unwrap();
    assert_eq!(
        message["attachments"][0]["content"]["body"][0]["text"],
        "instance create\\_failure: App Configuration-0001 \\(failure\\)"
    );
}
