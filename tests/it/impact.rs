//! `impact` against retained traffic on the mock cluster: a narrowed filter, a subscription
//! moved to another destination, a source turned off and on, a rule with a typo and a git
//! revision, each reported with the right counts and samples; the run delivers and commits
//! nothing. `POST /v1/impact` applies the router's runtime state (source overrides, pauses,
//! silences) to both sides.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use reqwest::Method;
use serde_json::Value;

use crate::support::{
    Kafka, Receiver, RunningRouter, Setup, Start, lifecycle_event, topic, webhook,
};

mod runtime;

const BIN: &str = env!("CARGO_BIN_EXE_notification-router");
const GROUP: &str = "impact-router";

/// 1,200 create failures in us-south, 300 in eu-de and 500 creates: 2,000 records.
fn traffic() -> Vec<Value> {
    let event = |kind: &str, region: &str, n: usize| {
        lifecycle_event(
            &format!("resource-controller.instance.{kind}"),
            &format!("evt-{n}"),
            region,
            "db",
        )
    };
    let mut events: Vec<Value> = (0..1200)
        .map(|n| event("create_failure", "us-south", n))
        .collect();
    events.extend((1200..1500).map(|n| event("create_failure", "eu-de", n)));
    events.extend((1500..2000).map(|n| event("create", "us-south", n)));
    events
}

fn failures_topic(filter: &str, destination: &str) -> (String, String) {
    topic(
        "failures",
        &format!("  - id: lifecycle\n    rules:\n      - event_type_filter: \"{filter}\""),
        &format!("  - {{ name: oncall, destination: {destination} }}"),
    )
}

const FAILURES: &str = "$.type =~ 'create_failure'";

/// Runs `impact` with the current configuration at `config`; returns the exit code and the
/// JSON report.
fn impact(config: &Path, from: &str) -> (i32, Value) {
    let output = Command::new(BIN)
        .args([
            "impact",
            "--config-from",
            from,
            "--last",
            "100000",
            "--json",
            "--config",
        ])
        .arg(config)
        .output()
        .expect("the binary runs");
    let code = output.status.code().expect("exit code");
    assert!(
        code == 0 || code == 1,
        "impact failed ({code}): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = serde_json::from_slice(&output.stdout).expect("a JSON report");
    (code, report)
}

/// (before, after, gained, lost) of one row.
fn counts(report: &Value, subscription: &str, destination: &str) -> (u64, u64, u64, u64) {
    let row = report["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["subscription"] == subscription && r["destination"] == destination)
        .unwrap_or_else(|| panic!("no row {subscription} -> {destination}: {report:#}"));
    let n = |field: &str| row[field].as_u64().expect("a count");
    (n("before"), n("after"), n("gained"), n("lost"))
}

fn samples<'r>(report: &'r Value, destination: &str, direction: &str) -> &'r Vec<Value> {
    report["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["destination"] == destination)
        .and_then(|r| r[format!("{direction}_samples")].as_array())
        .expect("samples")
}

/// Three samples, each a create failure of the traffic, that made the difference for `why`.
fn assert_samples(samples: &[Value], why: &str) {
    assert_eq!(samples.len(), 3, "{samples:#?}");
    for sample in samples {
        assert!(
            sample["type"]
                .as_str()
                .unwrap()
                .ends_with("instance:create_failure"),
            "{sample}"
        );
        let n: usize = sample["id"]
            .as_str()
            .unwrap()
            .trim_start_matches("evt-")
            .parse()
            .unwrap();
        assert!(n < 1500, "{sample}");
        assert!(sample["short"].as_str().unwrap().contains("db"), "{sample}");
        assert_eq!(sample["why"], why);
    }
}

/// A copy of the current configuration's folder with `topic` written over its topic file and
/// `edit` applied to its router.yaml.
fn proposal(
    current: &Path,
    topic: (String, String),
    edit: impl Fn(String) -> String,
) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let folder = current.parent().unwrap();
    let router = std::fs::read_to_string(current).unwrap();
    std::fs::write(dir.path().join("router.yaml"), edit(router)).unwrap();
    std::fs::create_dir(dir.path().join("topics")).unwrap();
    std::fs::write(dir.path().join("topics").join(&topic.0), topic.1).unwrap();
    assert!(folder.join("topics").join(&topic.0).exists());
    dir
}

/// A call to the admin API with the admin token: the status and the JSON answered. A `429`
/// (another preview running: the tests share one process) is tried again.
async fn call(method: reqwest::Method, url: &str, token: &str, body: Value) -> (u16, Value) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let answer = reqwest::Client::new()
            .request(method.clone(), url)
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = answer.status().as_u16();
        if status == 429 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        let body = answer.bytes().await.unwrap();
        return (status, serde_json::from_slice(&body).unwrap_or(Value::Null));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn reports_each_change_on_retained_traffic_and_delivers_nothing() {
    let kafka = Kafka::start(&["lifecycle"]);
    let mut receiver = Receiver::ok().await;
    let destinations = format!(
        "{}{}",
        webhook("hook", receiver.url("/hook"), ""),
        webhook("other", receiver.url("/other"), "")
    );
    let setup = Setup::lifecycle(
        kafka.brokers(),
        GROUP,
        &destinations,
        vec![failures_topic(FAILURES, "hook")],
    );
    let (dir, current) = setup.write();
    kafka.produce_events("lifecycle", &traffic()).await;

    // The proposal is the current configuration: nothing changes, exit code 0.
    let (code, report) = impact(&current, dir.path().to_str().unwrap());
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["records"], 2000);
    assert_eq!(report["changed"], false);
    assert_eq!(counts(&report, "oncall", "hook"), (1500, 1500, 0, 0));

    // A filter narrowed to us-south: the 300 eu-de failures are lost.
    let narrowed = proposal(
        &current,
        failures_topic(
            "$.type =~ 'create_failure' && $.data.event_properties.region_id == 'us-south'",
            "hook",
        ),
        |r| r,
    );
    let (code, report) = impact(&current, narrowed.path().to_str().unwrap());
    assert_eq!(code, 1);
    assert_eq!(counts(&report, "oncall", "hook"), (1500, 1200, 0, 300));
    let lost = samples(&report, "hook", "lost");
    assert_eq!(lost.len(), 3);
    for sample in lost {
        assert!(
            sample["type"]
                .as_str()
                .unwrap()
                .ends_with("instance:create_failure")
        );
        let id = sample["id"].as_str().unwrap();
        let n: usize = id.trim_start_matches("evt-").parse().unwrap();
        assert!((1200..1500).contains(&n), "{id} is not an eu-de failure");
        assert!(sample["short"].as_str().unwrap().contains("db"));
        let why = sample["why"].as_str().unwrap();
        assert!(
            why.contains("before: topic failures rule 1 matches"),
            "{why}"
        );
        assert!(
            why.contains("now: no rule of topic failures matches"),
            "{why}"
        );
    }

    // The subscription moved to another destination.
    let moved = proposal(&current, failures_topic(FAILURES, "other"), |r| r);
    let (code, report) = impact(&current, moved.path().to_str().unwrap());
    assert_eq!(code, 1);
    assert_eq!(counts(&report, "oncall", "hook"), (1500, 0, 0, 1500));
    assert_eq!(counts(&report, "oncall", "other"), (0, 1500, 1500, 0));
    assert_samples(
        samples(&report, "hook", "lost"),
        "before: topic failures rule 1 matches; now: subscription oncall goes to other",
    );
    assert_samples(
        samples(&report, "other", "gained"),
        "now: topic failures rule 1 matches; before: subscription oncall goes to hook",
    );

    // The source turned off: its whole traffic is lost.
    let off = proposal(&current, failures_topic(FAILURES, "hook"), |r| {
        r.replace("enabled: true", "enabled: false")
    });
    let (code, report) = impact(&current, off.path().to_str().unwrap());
    assert_eq!(code, 1);
    assert_eq!(counts(&report, "oncall", "hook"), (1500, 0, 0, 1500));
    assert_samples(
        samples(&report, "hook", "lost"),
        "before: topic failures rule 1 matches; now: source lifecycle is disabled",
    );

    // The other way round, the source turned on: its whole traffic is gained.
    let (code, report) = impact(
        &off.path().join("router.yaml"),
        dir.path().to_str().unwrap(),
    );
    assert_eq!(code, 1);
    assert_eq!(counts(&report, "oncall", "hook"), (0, 1500, 1500, 0));
    assert_samples(
        samples(&report, "hook", "gained"),
        "now: topic failures rule 1 matches; before: source lifecycle is disabled",
    );

    // A rule with a typo matches nothing.
    let typo = proposal(
        &current,
        failures_topic("$.type =~ 'create_failur3'", "hook"),
        |r| r,
    );
    let (code, report) = impact(&current, typo.path().to_str().unwrap());
    assert_eq!(code, 1);
    assert_eq!(counts(&report, "oncall", "hook"), (1500, 0, 0, 1500));
    assert_samples(
        samples(&report, "hook", "lost"),
        "before: topic failures rule 1 matches; now: no rule of topic failures matches",
    );

    // --last bounds what is read and says how much was left out.
    let output = Command::new(BIN)
        .args(["impact", "--config-from"])
        .arg(narrowed.path())
        .args(["--last", "300", "--json", "--config"])
        .arg(&current)
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["records"], 300, "{report:#}");
    assert_eq!(report["coverage"]["topics"][0]["left_out"], 1700);

    // Nothing was delivered and the router's group has committed nothing.
    assert!(receiver.next_within(Duration::from_secs(1)).await.is_none());
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", kafka.brokers())
        .set("group.id", GROUP)
        .create()
        .unwrap();
    let mut partitions = TopicPartitionList::new();
    for p in 0..3 {
        partitions.add_partition("lifecycle", p);
    }
    let committed = consumer
        .committed_offsets(partitions, Duration::from_secs(10))
        .unwrap();
    for element in committed.elements() {
        assert_eq!(element.offset(), Offset::Invalid, "{element:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn compares_with_a_git_revision_of_the_configuration() {
    let kafka = Kafka::start(&["lifecycle"]);
    let receiver = Receiver::ok().await;
    let destinations = webhook("hook", receiver.url("/hook"), "");
    let narrowed = failures_topic(
        "$.type =~ 'create_failure' && $.data.event_properties.region_id == 'us-south'",
        "hook",
    );
    let setup = Setup::lifecycle(kafka.brokers(), GROUP, &destinations, vec![narrowed]);
    let (dir, current) = setup.write();
    kafka.produce_events("lifecycle", &traffic()).await;
    // HEAD holds the narrowed filter; the working tree goes back to every failure.
    let git = |args: &[&str]| {
        let status = Command::new("git")
            .current_dir(dir.path())
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "narrowed"]);
    let (name, text) = failures_topic(FAILURES, "hook");
    std::fs::write(dir.path().join("topics").join(name), text).unwrap();

    let (code, report) = impact(&current, "HEAD");
    assert_eq!(code, 1);
    assert_eq!(report["proposed"], "git revision HEAD");
    assert_eq!(counts(&report, "oncall", "hook"), (1500, 1200, 0, 300));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_admin_api_previews_proposed_files_with_the_token() {
    const TOKEN: &str = "impact-test-token";
    let kafka = Kafka::start(&["lifecycle"]);
    let receiver = Receiver::ok().await;
    let (router, port) = router_with_admin(&kafka, &receiver, TOKEN).await;
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/v1/impact");
    let (name, narrowed) = failures_topic(
        "$.type =~ 'create_failure' && $.data.event_properties.region_id == 'us-south'",
        "hook",
    );
    let body = serde_json::json!({"files": {format!("topics/{name}"): narrowed}, "last": 100000});
    let post = |token: Option<&'static str>, body: Value| {
        let mut request = client
            .post(&url)
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    // The admin server comes up with the router.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let unauthorised = loop {
        match post(None, body.clone()).await {
            Ok(answer) => break answer,
            Err(_) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("the admin server never answered: {e}"),
        }
    };
    assert_eq!(unauthorised.status(), 401);

    let (status, report) = call(Method::POST, &url, TOKEN, body).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["records"], 2000, "{report:#}");
    assert_eq!(report["changed"], true);
    assert_eq!(counts(&report, "oncall", "hook"), (1500, 1200, 0, 300));

    // Files outside the configuration's folders are refused; an invalid proposal is a 422.
    for name in [
        "../../etc/x.yaml",
        "topics/../../x.yaml",
        "router.yaml",
        "/etc/x.yaml",
    ] {
        let outside = serde_json::json!({"files": {name: "x"}});
        let (status, answer) = call(Method::POST, &url, TOKEN, outside).await;
        assert_eq!(status, 400, "{name}: {answer}");
    }
    let invalid = serde_json::json!({"files": {"topics/failures.yaml": "name: [unclosed"}});
    let (status, answer) = call(Method::POST, &url, TOKEN, invalid).await;
    assert_eq!(status, 422, "{answer}");
    router.stop().await;
}

/// A router on `kafka` whose subscription sends the failures to `receiver`, with an admin server
/// answering `token`, started once the retained traffic is produced; and the admin port.
async fn router_with_admin(
    kafka: &Kafka,
    receiver: &Receiver,
    token: &str,
) -> (RunningRouter, u16) {
    let destinations = webhook("hook", receiver.url("/hook"), "");
    let port = crate::support::free_port();
    let admin = format!("admin:\n  listen: 127.0.0.1:{port}\n  token: {token}\n");
    let setup = Setup {
        router_extra: &admin,
        ..Setup::lifecycle(
            kafka.brokers(),
            GROUP,
            &destinations,
            vec![failures_topic(FAILURES, "hook")],
        )
    };
    kafka.produce_events("lifecycle", &traffic()).await;
    (setup.start(), port)
}
