//! The `notification-router` binary as a user runs it: validate, publish, run and stop on SIGTERM.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

const BIN: &str = env!("CARGO_BIN_EXE_notification-router");

/// Runs a command that must succeed (its stderr is the failure message); returns its stdout.
fn succeed(command: &mut Command) -> String {
    let output = command.output().expect("the binary runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn render_prints_what_each_channel_would_send_without_sending() {
    let render = |subscription: &str| {
        succeed(Command::new(BIN).args([
            "render",
            "--config",
            "router.yaml",
            "--subscription",
            subscription,
            "--event",
            "examples/events/instance-create-failure.json",
        ]))
    };
    let webhook = render("platform-oncall");
    assert!(
        webhook.starts_with("POST http://127.0.0.1:9000\n"),
        "{webhook}"
    );
    assert!(webhook.contains("authorization: ****\n"), "{webhook}");
    assert!(
        webhook.contains("\"summary\": \"instance create_failure"),
        "{webhook}"
    );

    let email = render("platform-oncall-email");
    assert!(
        email.contains("to 2 recipient(s) in 1 batch(es)"),
        "{email}"
    );
    assert!(
        email.contains("Subject: [HIGH] instance create_failure: App Configuration-0001 (failure)"),
        "{email}"
    );
    assert!(email.contains("To: undisclosed-recipients:;"), "{email}");
    assert!(
        email.contains("Content-Type: text/html; charset=utf-8"),
        "{email}"
    );

    let slack = render("platform-oncall-slack");
    assert!(
        slack.starts_with("POST http://127.0.0.1:9000/****\n"),
        "the webhook path is a secret: {slack}"
    );
    let body = &slack[slack.find("\n{").expect("a JSON body")..];
    let message: serde_json::Value = serde_json::from_str(body.trim()).expect("the body is JSON");
    assert_eq!(message["attachments"][0]["color"], "#da1e28");

    let unknown = Command::new(BIN)
        .args([
            "render",
            "--config",
            "router.yaml",
            "--subscription",
            "nope",
            "--event",
            "x.json",
        ])
        .output()
        .unwrap();
    assert!(!unknown.status.success());
    assert!(
        String::from_utf8_lossy(&unknown.stderr)
            .contains("unknown subscription \"nope\"; valid: platform-api-high-severity, "),
        "{}",
        String::from_utf8_lossy(&unknown.stderr)
    );
}

#[test]
fn explain_says_why_an_event_reaches_a_topic_or_not() {
    let out = succeed(Command::new(BIN).args([
        "explain",
        "--config",
        "router.yaml",
        "--event",
        "examples/events/instance-create-failure.json",
    ]));
    assert!(
        out.starts_with("Source: resource-lifecycle-events (resource-lifecycle-events), DISABLED"),
        "{out}"
    );
    assert!(
        out.contains("type:     com.ibm.cloud.resource-lifecycle-events.instance:create_failure\n            listed in the resource-lifecycle-events catalogue"),
        "{out}"
    );
    assert!(out.contains("  ✓ instance-failures (topics/instance-failures.yaml, 3 subscription(s))\n      rule 1: matches"), "{out}");
    assert!(
        out.contains("          ✗ $.type =~ 'resource-lifecycle-events\\.key:(create|delete)'\n              $.type is \"com.ibm.cloud.resource-lifecycle-events.instance:create_failure\""),
        "which part failed, and what the path held: {out}"
    );
    assert!(
        out.contains(
            "  - code-engine-failures: not for this source (its sources: activity-tracker)"
        ),
        "{out}"
    );
    assert!(
        out.ends_with("Deliveries:\n  none: the source is disabled\n"),
        "{out}"
    );

    // With the source enabled, the deliveries it would make.
    let dir = tempfile::tempdir().unwrap();
    let router = std::fs::read_to_string("router.yaml").unwrap().replacen(
        "enabled: false",
        "enabled: true",
        1,
    );
    std::fs::write(dir.path().join("router.yaml"), router).unwrap();
    for folder in ["topics", "templates"] {
        let status = Command::new("cp")
            .args(["-r", folder])
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(status.success());
    }
    let enabled = succeed(
        Command::new(BIN)
            .args([
                "explain",
                "--event",
                "examples/events/instance-create-failure.json",
                "--config",
            ])
            .arg(dir.path().join("router.yaml")),
    );
    for line in [
        "  platform-oncall (topic instance-failures) → platform-webhook (webhook, webhook/lifecycle-summary.json.hbs), delivery id msg_",
        "  platform-oncall-email (topic instance-failures) → oncall-email (email, email/lifecycle), delivery id msg_",
        "  platform-oncall-slack (topic instance-failures) → oncall-slack (slack, slack/lifecycle.json.hbs), delivery id msg_",
    ] {
        assert!(enabled.contains(line), "{line}\n{enabled}");
    }
}

#[test]
fn validate_accepts_the_shipped_config_and_lists_each_problem_of_a_broken_one() {
    let shipped = succeed(Command::new(BIN).args(["validate", "--config", "router.yaml"]));
    assert!(
        shipped
            .contains("valid: 4 sources (0 enabled), 9 topics, 11 subscriptions, 4 destinations")
    );

    let setup = Setup {
        brokers: "127.0.0.1:1",
        group: "g",
        sources: "  - { id: lifecycle, type: resource-lifecycle-events, kafka_topics: [lifecycle] }",
        destinations: &webhook("hook", "ftp://example.com/x", ""),
        topics: vec![topic(
            "broken",
            "  - id: nope\n  - id: lifecycle\n    rules:\n      - event_type_filter: \"$.type == \"",
            "  - { name: s, destination: gone }",
        )],
        templates: vec![],
        kafka_extra: "",
        http: LOOPBACK_ALLOWED,
        router_extra: "",
    };
    let (_dir, router) = setup.write();
    let broken = Command::new(BIN)
        .args(["validate", "--config"])
        .arg(&router)
        .output()
        .unwrap();
    assert_eq!(broken.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&broken.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines.len(),
        5,
        "one line per problem, then a count:\n{stderr}"
    );
    assert!(lines[0].ends_with("router.yaml: destinations[0] (hook).url: scheme \"ftp\" is not supported: use http or https"), "{stderr}");
    assert!(
        lines[1].ends_with("broken.yaml: sources[0].id: unknown source \"nope\"; valid: lifecycle"),
        "{stderr}"
    );
    assert!(lines[2].contains("broken.yaml: sources[1].rules[0].event_type_filter: column 11: unexpected end of filter"), "{stderr}");
    assert!(lines[3].ends_with("broken.yaml: subscriptions[0] (s).destination: unknown destination \"gone\"; valid: hook"), "{stderr}");
    assert!(lines[4].ends_with("4 problem(s) found."), "{stderr}");
}

#[test]
fn validate_refuses_a_digest_whose_template_renders_one_notification() {
    let destinations = webhook("hook", "http://127.0.0.1:1/x", "");
    let setup = Setup {
        templates: vec![(
            "webhook/one.json.hbs",
            "{\"id\": \"{{notification_id}}\", \"type\": \"{{type}}\"}",
        )],
        ..Setup::lifecycle(
            "127.0.0.1:1",
            "g",
            &destinations,
            vec![topic(
                "failures",
                "  - id: lifecycle",
                "  - { name: grouped, destination: hook, template: webhook/one.json.hbs, digest: { wait: 1m } }",
            )],
        )
    };
    let (_dir, router) = setup.write();
    let refused = Command::new(BIN)
        .args(["validate", "--config"])
        .arg(&router)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "the problem, then a count:\n{stderr}");
    assert!(
        lines[0].contains("failures.yaml: subscriptions[0] (grouped).template: \"webhook/one.json.hbs\" does not render a digest ("),
        "{stderr}"
    );
    assert!(lines[0].contains("notification_id"), "the reason: {stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_then_run_delivers_the_seed_event_and_sigterm_drains_and_exits() {
    let kafka = Kafka::start(&["lifecycle"]);
    let mut receiver = Receiver::ok().await;
    let destinations = webhook("hook", receiver.url("/hook"), "");
    let topics = all_to_hook();
    let (_dir, config) = Setup::lifecycle(kafka.brokers(), "cli", &destinations, topics).write();

    let published = succeed(
        Command::new(BIN)
            .args(["publish", "--config"])
            .arg(&config)
            .args([
                "--brokers",
                kafka.brokers(),
                "examples/events/instance-create.json",
            ]),
    );
    assert!(published.contains("1 event(s) published."));

    let mut router = Command::new(BIN)
        .args(["run", "--log-format", "json", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let delivery = receiver.next().await;
    assert_eq!(
        delivery.json()["data"]["event_id"],
        "7ca39870-eb1b-6c50-88b1-48c04123494"
    );
    assert_eq!(
        delivery.json()["type"],
        "com.ibm.cloud.resource-lifecycle-events.instance:create"
    );

    let signalled = Instant::now();
    assert!(
        Command::new("kill")
            .args(["-TERM", &router.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let output = tokio::task::spawn_blocking(move || {
        let _ = router.try_wait();
        router.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    // drain_timeout is 5s in test configs; nothing is in flight, so it exits well within it.
    assert!(
        signalled.elapsed() < Duration::from_secs(7),
        "exited after {:?}",
        signalled.elapsed()
    );
    assert!(output.status.success(), "exit status {:?}", output.status);
    let logs = String::from_utf8_lossy(&output.stderr);
    let delivered = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| l["message"] == "Delivered.")
        .unwrap_or_else(|| panic!("no JSON 'Delivered.' line in:\n{logs}"));
    assert_eq!(delivered["subscription"], "all");
    assert_eq!(delivered["destination"], "hook");
    assert_eq!(delivered["source"], "lifecycle");
    assert_eq!(
        delivered["notification_id"],
        delivery.json()["notification_id"]
    );
    assert!(
        logs.contains("Shutdown signal received.") && logs.contains("Stopped."),
        "{logs}"
    );
}

#[test]
fn keys_generate_makes_a_pair_whose_public_key_keys_show_prints() {
    let generated = succeed(Command::new(BIN).args(["keys", "generate"]));
    let value = |prefix: &str| {
        generated
            .lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next())
            .unwrap_or_else(|| panic!("no {prefix} line in {generated}"))
            .to_owned()
    };
    let (private, public) = (value("private key"), value("public key"));
    assert!(private.starts_with("whsk_") && public.starts_with("whpk_"));

    let shown = succeed(
        Command::new(BIN)
            .args([
                "keys",
                "show",
                "platform-webhook",
                "--config",
                "router.yaml",
            ])
            .env("PLATFORM_WEBHOOK_SIGNING_KEY", &private),
    );
    assert_eq!(shown, format!("{public}\n"));
    assert!(!shown.contains(&private[5..]));

    let rendered = succeed(
        Command::new(BIN)
            .args([
                "render",
                "--config",
                "router.yaml",
                "--subscription",
                "platform-oncall",
            ])
            .args(["--event", "examples/events/instance-create-failure.json"])
            .env("PLATFORM_WEBHOOK_SIGNING_KEY", &private),
    );
    assert!(
        rendered.contains("webhook-signature: v1a,<ed25519 when sent>\n"),
        "{rendered}"
    );

    let unsigned = Command::new(BIN)
        .args([
            "keys",
            "show",
            "security-webhook",
            "--config",
            "router.yaml",
        ])
        .output()
        .unwrap();
    assert!(!unsigned.status.success());
    assert!(
        String::from_utf8_lossy(&unsigned.stderr).contains(
            "destination \"security-webhook\" has no signing keys (0 shared secret(s)): add `signing.keys`"
        ),
        "{}",
        String::from_utf8_lossy(&unsigned.stderr)
    );
    let secret = succeed(Command::new(BIN).args(["keys", "generate", "--secret"]));
    assert!(secret.starts_with("secret: whsec_"), "{secret}");
}

/// A copy of the shipped configuration (router.yaml, topics/, templates/) in a temporary folder.
fn shipped_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy("router.yaml", dir.path().join("router.yaml")).unwrap();
    for folder in ["topics", "templates"] {
        let status = Command::new("cp")
            .arg("-r")
            .arg(folder)
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(status.success());
    }
    dir
}

#[test]
fn sources_enable_turns_exactly_one_source_on_and_the_startup_hint_matches_it() {
    let dir = shipped_copy();
    let config = dir.path().join("router.yaml");
    let before = std::fs::read_to_string(&config).unwrap();
    let list = |config: &std::path::Path| {
        succeed(
            Command::new(BIN)
                .args(["sources", "list", "--config"])
                .arg(config),
        )
    };
    assert!(
        list(&config)
            .lines()
            .all(|l| l.split_whitespace().nth(2) == Some("off"))
    );

    let out = succeed(
        Command::new(BIN)
            .args(["sources", "enable", "resource-lifecycle-events", "--config"])
            .arg(&config),
    );
    assert!(
        out.contains("Source resource-lifecycle-events is enabled"),
        "{out}"
    );
    let after = std::fs::read_to_string(&config).unwrap();
    let changed: Vec<(&str, &str)> = before
        .lines()
        .zip(after.lines())
        .filter(|(b, a)| b != a)
        .collect();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(changed[0].1.trim(), "enabled: true");
    let on: Vec<String> = list(&config)
        .lines()
        .filter(|l| l.split_whitespace().nth(2) == Some("on"))
        .map(str::to_owned)
        .collect();
    assert_eq!(on.len(), 1, "{on:?}");
    assert!(on[0].starts_with("resource-lifecycle-events "), "{on:?}");

    // An unknown source is refused with the valid ones, and nothing is written.
    let unknown = Command::new(BIN)
        .args(["sources", "enable", "no-such-source", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(!unknown.status.success());
    let message = String::from_utf8_lossy(&unknown.stderr);
    assert!(message.contains("no-such-source"), "{message}");
    assert!(message.contains("resource-lifecycle-events"), "{message}");
    assert_eq!(std::fs::read_to_string(&config).unwrap(), after);

    // The router's first-run hint names that source's topic and an example of its type.
    let mut router = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(router.stdout.take().unwrap());
    let mut hint = String::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !hint.starts_with("Publish an event:") && Instant::now() < deadline {
        hint.clear();
        if std::io::BufRead::read_line(&mut stdout, &mut hint).unwrap() == 0 {
            break;
        }
    }
    let _ = router.kill();
    let _ = router.wait();
    assert!(
        hint.contains("--topic resource-lifecycle-events examples/events/instance-create.json"),
        "{hint}"
    );

    let out = succeed(
        Command::new(BIN)
            .args([
                "sources",
                "disable",
                "resource-lifecycle-events",
                "--config",
            ])
            .arg(&config),
    );
    assert!(out.contains("is disabled"), "{out}");
    assert_eq!(std::fs::read_to_string(&config).unwrap(), before);
}
