//! No secret leaks: the router binary runs at trace level with canary secrets in every place a
//! secret can be (SASL password, custom sensitive header, signing secret and key, Slack token and
//! webhook path, SMTP password), through deliveries that succeed and deliveries that fail (one
//! receiver echoing the request headers back in its error), and no canary may appear in anything
//! it printed, nor in any dead-letter record.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;

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

/// Answers 404 quoting the request's path and query, as many frameworks' error pages do.
async fn path_quoting_receiver() -> std::net::SocketAddr {
    let app = Router::new().fallback(|uri: axum::http::Uri| async move {
        (StatusCode::NOT_FOUND, format!("Cannot POST {uri}"))
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// Issue 17, item 5: receivers such as Teams, Discord, Google Chat and Zapier carry their
/// credential in the URL. With canaries in a webhook URL's path and query and in a custom header
/// not listed as sensitive, the router binary at trace level, a delivery that fails (the receiver
/// quoting the path), the admin API and `render`: no canary in the API's answers, in anything
/// printed, in the dead-letter record or in `render`'s output. The URL is shown as scheme, host
/// and port; a header's value only when `public_headers` lists it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_canary_in_a_webhook_url_or_header_reaches_the_api_logs_dead_letters_or_render() {
    const NEEDLES: [&str; 3] = ["canary-path-Ux3", "canary-sig-Qv8", "canary-header-Hd5"];
    let kafka = Kafka::start(&["lifecycle"]);
    let receiver = path_quoting_receiver().await;
    let origin = format!("http://{receiver}");
    let url = format!("{origin}/hooks/canary-path-Ux3?sig=canary-sig-Qv8");
    let destinations = webhook(
        "hook",
        format!("\"{url}\""),
        "    custom_headers: { x-api-key: canary-header-Hd5, x-team: platform }\n    public_headers: [x-team]\n    retry: { retries: 0, schedule: [] }\n",
    );
    let port = free_port();
    let admin = format!("admin:\n  listen: 127.0.0.1:{port}\n  token: url-test-token\n");
    let setup = Setup {
        router_extra: &admin,
        ..Setup::lifecycle(kafka.brokers(), "url-canary", &destinations, all_to_hook())
    };
    let (dir, config) = setup.write();

    let event = lifecycle_event(
        "resource-controller.instance.create_failure",
        "evt-url-canary",
        "us-south",
        "db",
    );
    let event_file = dir.path().join("event.json");
    std::fs::write(&event_file, event.to_string()).unwrap();
    let render = Command::new(BIN)
        .args(["render", "--config"])
        .arg(&config)
        .args(["--subscription", "all", "--event"])
        .arg(&event_file)
        .output()
        .expect("render runs");
    assert!(render.status.success(), "{render:?}");
    let rendered = format!(
        "{}{}",
        String::from_utf8_lossy(&render.stdout),
        String::from_utf8_lossy(&render.stderr)
    );
    assert!(
        rendered.starts_with(&format!("POST {origin}\n")),
        "{rendered}"
    );
    assert!(rendered.contains("x-api-key: ****\n"), "{rendered}");
    assert!(rendered.contains("x-team: platform\n"), "{rendered}");

    let router = Command::new(BIN)
        .args(["run", "--log-level", "trace", "--config"])
        .arg(&config)
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the router starts");
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = tokio::time::Instant::now() + WAIT;
    while !client
        .get(format!("{base}/readyz"))
        .send()
        .await
        .is_ok_and(|a| a.status() == 200)
    {
        assert!(tokio::time::Instant::now() < deadline, "never ready");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    kafka.produce_events("lifecycle", &[event]).await;
    let letters = kafka.dead_letters(1).await;

    let get = |path: String| {
        let client = client.clone();
        async move {
            let answer = client
                .get(path)
                .send()
                .await
                .expect("the admin server answers");
            answer.text().await.expect("a body")
        }
    };
    let destinations = get(format!("{base}/v1/destinations")).await;
    assert!(
        destinations.contains(&format!("\"{origin}\"")),
        "{destinations}"
    );
    assert!(destinations.contains("\"platform\""), "{destinations}");
    let test = client
        .post(format!("{base}/v1/destinations/hook/test"))
        .bearer_auth("url-test-token")
        .send()
        .await
        .expect("the admin server answers")
        .text()
        .await
        .expect("a body");
    let test: serde_json::Value = serde_json::from_str(&test).expect("JSON");
    let id = test["notification_id"].as_str().expect("an id").to_owned();
    let status = loop {
        let status = get(format!("{base}/v1/notifications/{id}")).await;
        if !status.contains("inprogress") {
            break status;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the test never ended"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(status.contains("404"), "{status}");

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
    assert!(printed.contains("TRACE"), "trace logs were printed");
    let (headers, _) = &letters[0];
    assert!(headers["dlq-detail"].contains("HTTP 404"), "{headers:?}");

    let mut seen = vec![
        ("render", rendered),
        ("GET /v1/destinations", destinations),
        ("GET /v1/notifications/{id}", status),
        ("the logs", printed),
    ];
    seen.extend(
        headers
            .iter()
            .map(|(name, value)| ("a dead-letter header", format!("{name}: {value}"))),
    );
    for needle in NEEDLES {
        for (place, text) in &seen {
            for line in text.lines() {
                assert!(!line.contains(needle), "{needle} in {place}: {line}");
            }
        }
    }
}
