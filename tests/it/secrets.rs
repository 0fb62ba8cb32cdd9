//! No secret leaks: the router binary runs at trace level with canary secrets in every place a
//! secret can be (SASL password, custom sensitive header, signing secret and key, Slack token and
//! webhook path, SMTP password), through deliveries that succeed and deliveries that fail (one
//! receiver echoing the request headers back in its error), and no canary may appear in anything
//! it printed, nor in any dead-letter record.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use crate::support::*;
use testkit::slack::{SlackReply, SlackServer, WEBHOOK_PATH};
use testkit::smtp::{Script, SmtpServer};

const BIN: &str = env!("CARGO_BIN_EXE_notification-router");

/// (environment variable, canary value) handed to the router through `${VAR}`.
const CANARIES: [(&str, &str); 6] = [
    ("CANARY_SASL_PASSWORD", "canary-sasl-Pw9f2"),
    ("CANARY_HEADER", "canary-header-Hx7q1"),
    // whsec_ + base64("canary-signing-secret-0123456789")
    (
        "CANARY_WHSEC",
        "whsec_Y2FuYXJ5LXNpZ25pbmctc2VjcmV0LTAxMjM0NTY3ODk=",
    ),
    // whsk_ + base64("canary-signing-key-0123456789abc")
    (
        "CANARY_WHSK",
        "whsk_Y2FuYXJ5LXNpZ25pbmcta2V5LTAxMjM0NTY3ODlhYmM=",
    ),
    ("CANARY_SLACK_TOKEN", "xoxb-canary-Tk3m8"),
    ("CANARY_SMTP_PASSWORD", "canary-smtp-Sp5v4"),
];

/// Every text that must never be printed: each canary, the base64 inside the signing ones, and
/// the secret part of the Slack webhook path.
fn needles() -> Vec<String> {
    let mut needles: Vec<String> = CANARIES.iter().map(|(_, v)| (*v).to_owned()).collect();
    needles.push("Y2FuYXJ5LXNpZ25pbmctc2VjcmV0".to_owned());
    needles.push("Y2FuYXJ5LXNpZ25pbmcta2V5".to_owned());
    needles.push(WEBHOOK_PATH.rsplit('/').next().expect("secret").to_owned());
    needles
}

/// Answers 400 with every request header in the body, as a careless receiver might.
async fn echoing_receiver() -> Receiver {
    let echo: Answers = Arc::new(|request| {
        let echoed: Vec<String> = request
            .headers
            .iter()
            .map(|(k, v)| format!("{k}: {}", v.to_str().unwrap_or_default()))
            .collect();
        Answer::Reply(Reply::status(400).body(echoed.join("\n")))
    });
    Receiver::with(echo, Duration::ZERO).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_canary_secret_reaches_trace_logs_or_the_dead_letter_topic() {
    let kafka = Kafka::start(&["lifecycle"]);
    let mut receiver = Receiver::ok().await;
    let echo = echoing_receiver().await;
    let mut slack = SlackServer::start().await;
    slack.reply_for("#canary", SlackReply::api_error("invalid_auth"));
    let smtp = SmtpServer::start(Script::new());

    let sensitive = "    custom_headers: { authorization: \"Bearer ${CANARY_HEADER}\" }\n    sensitive_headers: [authorization]\n    signing: { secrets: [\"${CANARY_WHSEC}\"], keys: [\"${CANARY_WHSK}\"] }\n    retry: { retries: 1, initial_backoff: 50ms, max_backoff: 100ms }\n";
    let retry = "    retry: { retries: 1, initial_backoff: 50ms, max_backoff: 100ms }\n";
    let destinations = [
        webhook("hook-ok", receiver.url("/ok"), sensitive),
        webhook("hook-echo", echo.url("/echo"), sensitive),
        format!(
            "  - id: chat\n    type: slack\n    allow_http: true\n    slack: {{ type: incoming_webhook, url: \"{}\" }}\n{retry}",
            slack.webhook_url()
        ),
        format!(
            "  - id: bot\n    type: slack\n    allow_http: true\n    slack: {{ type: bot, token: \"${{CANARY_SLACK_TOKEN}}\", api_url: \"{}\" }}\n{retry}",
            slack.api_url()
        ),
        format!(
            "  - id: mail-ok\n    type: email\n    smtp: {{ url: {}, starttls: off }}\n    from: alerts@example.com\n{retry}",
            smtp.url()
        ),
        // The test server offers no AUTH, so this one fails holding its password.
        format!(
            "  - id: mail-auth\n    type: email\n    smtp: {{ url: {}, starttls: off, username: router, password: \"${{CANARY_SMTP_PASSWORD}}\" }}\n    from: alerts@example.com\n{retry}",
            smtp.url()
        ),
    ]
    .concat();
    let subscriptions = [
        "  - { name: hook-ok, destination: hook-ok }",
        "  - { name: hook-echo, destination: hook-echo }",
        "  - { name: chat, destination: chat }",
        "  - { name: bot, destination: bot, channels: [\"#canary\"] }",
        "  - { name: mail-ok, destination: mail-ok, recipients: [ops@example.com] }",
        "  - { name: mail-auth, destination: mail-auth, recipients: [ops@example.com] }",
    ]
    .join("\n");
    let topics = vec![topic("all", "  - id: lifecycle", &subscriptions)];
    let setup = Setup {
        kafka_extra: "  properties: { sasl.username: router, sasl.password: \"${CANARY_SASL_PASSWORD}\" }\n",
        ..Setup::lifecycle(kafka.brokers(), "canary", &destinations, topics)
    };
    let (_dir, config) = setup.write();

    let mut command = Command::new(BIN);
    command
        .args(["run", "--log-level", "trace", "--config"])
        .arg(&config)
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in CANARIES {
        command.env(name, value);
    }
    let router = command.spawn().expect("the router starts");

    let event = lifecycle_event(
        "resource-controller.instance.create_failure",
        "evt-canary",
        "us-south",
        "db",
    );
    kafka.produce_events("lifecycle", &[event]).await;
    let delivered = receiver.next().await;
    let posts = [slack.next().await, slack.next().await];
    let mail = {
        let smtp = smtp.clone();
        tokio::task::spawn_blocking(move || smtp.wait_for(1))
            .await
            .unwrap()
    };
    let letters = kafka.dead_letters(3).await;

    assert!(
        Command::new("kill")
            .args(["-TERM", &router.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let output = tokio::task::spawn_blocking(move || router.wait_with_output().unwrap())
        .await
        .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );

    // The secrets were really used: the receiver got the header and signatures.
    assert_eq!(
        delivered.header("authorization").unwrap(),
        "Bearer canary-header-Hx7q1"
    );
    let signature = &delivered.header("webhook-signature").unwrap();
    assert!(signature.starts_with("v1,") && signature.contains(" v1a,"));
    assert_eq!(posts.len(), 2);
    assert_eq!(mail.len(), 1);
    // The failures are the ones meant, and the logs are trace-level.
    let mut destinations: Vec<&str> = letters
        .iter()
        .map(|(h, _)| h["dlq-destination"].as_str())
        .collect();
    destinations.sort_unstable();
    assert_eq!(destinations, ["bot", "hook-echo", "mail-auth"]);
    let echo_letter = letters
        .iter()
        .find(|(h, _)| h["dlq-destination"] == "hook-echo")
        .expect("the echo's dead letter");
    assert!(
        echo_letter.0["dlq-detail"].contains("authorization: ****"),
        "the echoed header is scrubbed: {}",
        echo_letter.0["dlq-detail"]
    );
    assert!(printed.contains("TRACE"), "trace logs were printed");
    assert!(printed.contains("Delivered."), "{printed}");

    for needle in needles() {
        for line in printed.lines() {
            assert!(!line.contains(&needle), "{needle} printed: {line}");
        }
        for (headers, value) in &letters {
            for (name, text) in headers {
                assert!(
                    !text.contains(&needle),
                    "{needle} in dead-letter {name}: {text}"
                );
            }
            assert!(
                !String::from_utf8_lossy(value).contains(&needle),
                "{needle} in a dead-letter value"
            );
        }
    }
}
