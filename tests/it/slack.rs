//! Slack deliveries end to end: Kafka to a local server that answers as Slack does.

use crate::support::*;
use testkit::slack::{SlackReply, SlackServer};

const SHIPPED: &str = include_str!("../../templates/slack/lifecycle.json.hbs");
const FAST_RETRY: &str =
    "    allow_http: true\n    retry: { retries: 2, initial_backoff: 50ms, max_backoff: 100ms }\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_template_posts_a_coloured_message_where_event_text_cannot_ping_anyone() {
    let kafka = Kafka::start(&["lifecycle"]);
    let mut slack = SlackServer::start().await;
    // Slack rate-limits the first post; the router waits the second it asks for.
    slack.reply(SlackReply::rate_limited(1));
    let destinations = format!(
        "  - id: chat\n    type: slack\n    slack: {{ type: incoming_webhook, url: \"{}\" }}\n{FAST_RETRY}",
        slack.webhook_url()
    );
    let topics = vec![topic(
        "failures",
        "  - id: lifecycle",
        "  - { name: chat, destination: chat, template: slack/lifecycle.json.hbs }",
    )];
    let router = Setup {
        templates: vec![("slack/lifecycle.json.hbs", SHIPPED)],
        ..Setup::lifecycle(kafka.brokers(), "slack", &destinations, topics)
    }
    .start();

    let hostile = "<!channel> db & <@U024BE7LH>";
    let event = lifecycle_event(
        "resource-controller.instance.create_failure",
        "evt-slack",
        "eu-gb",
        hostile,
    );
    kafka.produce_events("lifecycle", &[event]).await;
    let (limited, posted) = (slack.next().await, slack.next().await);
    router.stop().await;

    assert_eq!(
        limited.json, posted.json,
        "the retry posts the same message"
    );
    let message = &posted.json;
    let escaped = "&lt;!channel&gt; db &amp; &lt;@U024BE7LH&gt;";
    let text = message["text"].as_str().expect("fallback text");
    assert!(text.starts_with("instance create_failure"), "{text}");
    assert!(text.contains(escaped), "{text}");
    let header = &message["blocks"][0];
    assert_eq!(header["type"], "header");
    assert!(header["text"]["text"].as_str().unwrap().contains(escaped));
    let attachment = &message["attachments"][0];
    assert_eq!(attachment["color"], "#da1e28", "HIGH severity is red");
    let blocks = attachment["blocks"].as_array().expect("blocks");
    let fields: Vec<&str> = blocks[0]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| f["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            format!("*Resource*\n{escaped}").as_str(),
            "*Region*\neu-gb",
            "*Account*\na1b2c3d4e5f60718293a4b5c6d7e8f90",
            "*Initiator*\njane.doe@example.com",
            "*Outcome*\nsuccess (reason code 201)",
            "*Severity*\nHIGH",
        ]
    );
    let raw = String::from_utf8_lossy(&posted.body);
    assert!(
        !raw.contains("<!channel>") && !raw.contains("<@U024BE7LH>"),
        "{raw}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_posts_to_each_channel_and_refused_channels_and_tokens_are_dead_lettered() {
    let kafka = Kafka::start(&["lifecycle"]);
    let mut slack = SlackServer::start().await;
    slack.reply_for("C2", SlackReply::api_error("channel_not_found"));
    let revoked = SlackServer::start().await;
    revoked.reply(SlackReply::api_error("invalid_auth"));
    let destinations = format!(
        "  - id: bot\n    type: slack\n    slack: {{ type: bot, token: xoxb-good, api_url: \"{}\" }}\n{FAST_RETRY}  - id: revoked\n    type: slack\n    slack: {{ type: bot, token: xoxb-revoked, api_url: \"{}\" }}\n{FAST_RETRY}",
        slack.api_url(),
        revoked.api_url()
    );
    let topics = vec![topic(
        "all",
        "  - id: lifecycle",
        "  - { name: ops, destination: bot, channels: [C1, C2, C3], attachment_color: \"#123456\" }\n  - { name: old, destination: revoked, channels: [C9] }",
    )];
    let router = Setup::lifecycle(kafka.brokers(), "slack-bot", &destinations, topics).start();

    let event = lifecycle_event(
        "resource-controller.instance.delete",
        "evt-bot",
        "us-east",
        "old-db",
    );
    kafka.produce_events("lifecycle", &[event]).await;
    let letters = kafka.dead_letters(2).await;
    let posts = slack.drain();
    router.stop().await;

    let mut channels: Vec<&str> = posts.iter().filter_map(|p| p.channel()).collect();
    channels.sort_unstable();
    assert_eq!(
        channels,
        ["C1", "C2", "C3"],
        "each channel once, C2 refused"
    );
    let post = posts.iter().find(|p| p.channel() == Some("C1")).unwrap();
    assert_eq!(post.path, "/api/chat.postMessage");
    assert_eq!(post.header("authorization"), Some("Bearer xoxb-good"));
    // EN's default layout, coloured: bold short text, long text, divider, payload context.
    let message = &post.json;
    let attachment = &message["attachments"][0];
    assert_eq!(
        attachment["fallback"], "instance delete: old-db (success)",
        "the notification text, not shown twice"
    );
    assert_eq!(attachment["color"], "#123456");
    let types: Vec<&str> = attachment["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["section", "section", "divider", "context"]);
    assert_eq!(
        attachment["blocks"][0]["text"]["text"],
        "*instance delete: old-db (success)*"
    );
    let payload = attachment["blocks"][3]["elements"][0]["text"]
        .as_str()
        .unwrap();
    assert!(payload.contains("evt-bot"), "{payload}");

    let header = |d: &str| {
        letters
            .iter()
            .find(|(h, _)| h["dlq-destination"] == d)
            .map(|(h, _)| h)
            .unwrap_or_else(|| panic!("no dead letter for {d}"))
    };
    let refused = header("bot");
    assert_eq!(refused["dlq-reason"], "recipients-rejected");
    assert!(
        refused["dlq-detail"].contains("C2: channel_not_found"),
        "{}",
        refused["dlq-detail"]
    );
    let auth = header("revoked");
    assert_eq!(auth["dlq-reason"], "delivery-rejected");
    assert_eq!(auth["dlq-attempts"], "1", "invalid_auth is not retried");
    assert!(
        auth["dlq-detail"].contains("invalid_auth"),
        "{}",
        auth["dlq-detail"]
    );
    assert!(
        !auth["dlq-detail"].contains("xoxb-revoked"),
        "the token is never shown"
    );
    assert_eq!(revoked.hits(), 1);
}
