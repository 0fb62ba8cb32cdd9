//! Silences through the admin API and the control topic: a silence made on one instance mutes
//! exactly the deliveries it matches on every instance, and expires on time; silence records
//! that are not valid are skipped; the silences of the old silences topic are carried into the
//! control topic once.

use std::collections::BTreeSet;
use std::time::Duration;

use notification_router::kafka::{AUTH_HEADER, InternalKey};
use serde_json::{Value, json};

use crate::support::*;

const TOKEN: &str = "silence-test-token";

/// Where silences were kept before the control topic, by default.
const OLD_TOPIC: &str = "notification-router.silences";

/// The authentication code a router of the tests writes on a record of `topic`.
fn code(topic: &str, key: &str, value: &[u8]) -> String {
    InternalKey::new(INTERNAL_KEY.as_bytes()).sign(topic, Some(key.as_bytes()), Some(value), &[])
}

async fn ready(base: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let ok = reqwest::get(format!("{base}/readyz"))
            .await
            .is_ok_and(|r| r.status() == 200);
        if ok {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "never ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn silences(base: &str) -> Vec<Value> {
    let text = reqwest::get(format!("{base}/v1/silences"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    body["silences"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silence_made_on_one_instance_mutes_exactly_its_matches_everywhere_and_expires_on_time() {
    let kafka = Kafka::start(&["lifecycle"]);
    let mut receiver = Receiver::ok().await;
    let destinations =
        webhook("hook-a", receiver.url("/a"), "") + &webhook("hook-b", receiver.url("/b"), "");
    let topics = || {
        vec![topic(
            "all",
            "  - id: lifecycle",
            "  - { name: to-a, destination: hook-a }\n  - { name: to-b, destination: hook-b }",
        )]
    };
    let ports = [free_port(), free_port()];
    let admins: Vec<String> = ports
        .iter()
        .map(|port| format!("admin:\n  listen: 127.0.0.1:{port}\n  token: {TOKEN}\n"))
        .collect();
    let bases: Vec<String> = ports
        .iter()
        .map(|port| format!("http://127.0.0.1:{port}"))
        .collect();
    let routers: Vec<RunningRouter> = admins
        .iter()
        .map(|admin| {
            Setup {
                router_extra: admin,
                ..Setup::lifecycle(kafka.brokers(), "silenced", &destinations, topics())
            }
            .start()
        })
        .collect();
    for base in &bases {
        ready(base).await;
    }

    // Silence records of the control topic that would silence everything to hook-b are skipped:
    // one that no router wrote (no authentication code), and one authenticated but not a valid
    // silence (its comment is too long).
    let silence_of_everything = |id: &str, comment: &str| {
        json!({
            "v": 1, "kind": "silence", "id": id, "matcher": "$.data.event_id =~ '.*'",
            "scope": {"destination": "hook-b"},
            "starts_at": chrono::Utc::now() - chrono::TimeDelta::minutes(1),
            "ends_at": chrono::Utc::now() + chrono::TimeDelta::hours(1),
            "created_by": "someone", "comment": comment, "updated_at": chrono::Utc::now(),
            "by": "someone", "at": chrono::Utc::now(),
        })
        .to_string()
        .into_bytes()
    };
    let forged = silence_of_everything("forged", "");
    let invalid = silence_of_everything("invalid", &"x".repeat(2001));
    let invalid_code = code(CONTROL_TOPIC, "silence/invalid", &invalid);
    kafka
        .produce(
            CONTROL_TOPIC,
            &[
                (Some("silence/forged"), forged, vec![]),
                (
                    Some("silence/invalid"),
                    invalid,
                    vec![(AUTH_HEADER, invalid_code.as_bytes())],
                ),
            ],
        )
        .await;

    // Made on the first instance: events 1 and 3 (and 13, sent after it ends), to hook-a only, for a few seconds.
    let ends_at = chrono::Utc::now() + chrono::TimeDelta::seconds(6);
    let request = json!({
        "matcher": "$.data.event_id =~ '^evt-1?[13]$'",
        "scope": {"destination": "hook-a"},
        "ends_at": ends_at,
        "comment": "maintenance of a and c",
    });
    let client = reqwest::Client::new();
    let refused = client
        .post(format!("{}/v1/silences", bases[0]))
        .header("content-type", "application/json")
        .body(request.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401, "a silence needs the admin token");
    let made = client
        .post(format!("{}/v1/silences", bases[0]))
        .bearer_auth(TOKEN)
        .header("x-router-actor", "alice")
        .header("content-type", "application/json")
        .body(request.to_string())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let made: Value = serde_json::from_str(&made).unwrap();
    // Made by the operator the call names.
    assert_eq!(made["created_by"], "admin (alice)");
    assert_eq!(made["state"], "active");
    let id = made["id"].as_str().unwrap().to_owned();
    // The second instance learns of it through the control topic.
    let deadline = tokio::time::Instant::now() + WAIT;
    while !silences(&bases[1])
        .await
        .iter()
        .any(|s| s["id"] == id.as_str())
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never reached the other instance"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // There it is the control record `silence/<id>`, made by the admin token; the records that
    // are not valid were never applied.
    let control: Value = serde_json::from_str(
        &reqwest::get(format!("{}/v1/control", bases[1]))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    let changes = control["changes"].as_array().unwrap();
    let record = changes.iter().find(|c| c["kind"] == "silence").unwrap();
    assert_eq!(
        (&record["id"], &record["by"], &record["matcher"]),
        (&json!(id), &json!("admin (alice)"), &request["matcher"]),
        "{control}"
    );
    assert_eq!(changes.len(), 1, "{control}");

    kafka.produce_events("lifecycle", &updates(0..6)).await;
    let mut arrived: Vec<(String, String)> = Vec::new();
    // Distinct events: a delivery may repeat (at least once).
    let count = |arrived: &[(String, String)], path: &str| {
        arrived
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, id)| id)
            .collect::<BTreeSet<_>>()
            .len()
    };
    while count(&arrived, "/b") < 6 || count(&arrived, "/a") < 4 {
        let received = receiver.next().await;
        arrived.push((received.path.clone(), received.event_id()));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    arrived.extend(
        receiver
            .drain()
            .iter()
            .map(|r| (r.path.clone(), r.event_id())),
    );
    let ids = |path: &str| -> BTreeSet<String> {
        arrived
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, id)| id.clone())
            .collect()
    };
    let expected =
        |ids: &[usize]| -> BTreeSet<String> { ids.iter().map(|i| format!("evt-{i}")).collect() };
    assert_eq!(
        ids("/b"),
        expected(&[0, 1, 2, 3, 4, 5]),
        "out of its scope, and the forged and invalid silences are skipped"
    );
    assert_eq!(
        ids("/a"),
        expected(&[0, 2, 4, 5]),
        "exactly the matches are silenced"
    );
    assert_eq!(count(&arrived, "/a"), 4, "{arrived:?}");

    // Once ends_at has passed, a matching event is delivered again, on either instance.
    let wait = (ends_at - chrono::Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait + Duration::from_millis(200)).await;
    let listed = silences(&bases[1]).await;
    assert!(
        !listed
            .iter()
            .any(|s| s["id"] == "forged" || s["id"] == "invalid"),
        "{listed:?}"
    );
    let listed = listed.iter().find(|s| s["id"] == id.as_str()).unwrap();
    assert_eq!(listed["state"], "expired");
    kafka.produce_events("lifecycle", &updates(13..14)).await;
    let mut after = BTreeSet::new();
    while after.len() < 2 {
        let received = receiver.next().await;
        after.insert((received.path.clone(), received.event_id()));
    }
    assert!(
        after.contains(&("/a".to_owned(), "evt-13".to_owned())),
        "{after:?}"
    );

    let metrics = reqwest::get(format!("{}/metrics", bases[0]))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("notification_router_deliveries_silenced_total{subscription=\"to-a\"} 2"),
        "both silenced deliveries are counted (the metrics are the process's)"
    );

    // The CLI makes, lists and expires silences through the admin API.
    let cli = |args: &[&str]| {
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        let base = bases[0].clone();
        async move {
            let output = tokio::task::spawn_blocking(move || {
                std::process::Command::new(BIN)
                    .arg("silences")
                    .args(["--url", &base])
                    .args(&args)
                    .env("ROUTER_ADMIN_TOKEN", TOKEN)
                    .output()
                    .unwrap()
            })
            .await
            .unwrap();
            let out = String::from_utf8_lossy(&output.stdout).into_owned();
            assert!(
                output.status.success(),
                "{out}{}",
                String::from_utf8_lossy(&output.stderr)
            );
            out
        }
    };
    let added = cli(&[
        "add",
        "--matcher",
        "$.data.event_id == 'evt-42'",
        "--for",
        "1h",
        "--subscription",
        "to-b",
        "--comment",
        "by hand",
    ])
    .await;
    let new_id = added.split_whitespace().next().unwrap().to_owned();
    assert!(
        added.contains("active") && added.contains("subscription=to-b"),
        "{added}"
    );
    let listed = cli(&["list"]).await;
    assert!(listed.contains(&new_id) && listed.contains(&id), "{listed}");
    // `explain` reads the running router's silences through its admin API.
    let event = tempfile::NamedTempFile::new().unwrap();
    let evt42 = lifecycle_event(
        "resource-controller.instance.update",
        "evt-42",
        "us-south",
        "db",
    );
    std::fs::write(event.path(), evt42.to_string()).unwrap();
    let config = routers[0].config.clone();
    let explained = tokio::task::spawn_blocking(move || {
        std::process::Command::new(BIN)
            .arg("--config")
            .arg(&config)
            .arg("explain")
            .arg("--event")
            .arg(event.path())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let explained = String::from_utf8_lossy(&explained.stdout).into_owned();
    let silenced = format!("silenced now by {new_id}");
    let line = explained.lines().position(|l| l.contains(&silenced));
    let to_a = explained.lines().position(|l| l.starts_with("  to-a "));
    let to_b = explained.lines().position(|l| l.starts_with("  to-b "));
    let (line, to_a, to_b) = (line.unwrap(), to_a.unwrap(), to_b.unwrap());
    assert!(
        to_b < line && (to_a < to_b || line < to_a),
        "under the to-b delivery only:\n{explained}"
    );
    let expired = cli(&["expire", &new_id]).await;
    assert!(expired.contains("expired"), "{expired}");
    for router in routers {
        router.stop().await;
    }
}

/// The records of the control topic, with their keys.
async fn control_records(kafka: &Kafka) -> Vec<KeyedRecord> {
    let count = record_count(kafka.brokers(), CONTROL_TOPIC, 1).await;
    read_topic_keyed(
        kafka.brokers(),
        CONTROL_TOPIC,
        1,
        usize::try_from(count).unwrap(),
    )
    .await
}

/// The values of the records of `key` in `records`.
fn values_of(records: &[KeyedRecord], key: &str) -> Vec<Vec<u8>> {
    records
        .iter()
        .filter(|(k, _)| k.as_deref() == Some(key))
        .map(|(_, (_, value))| value.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silence_left_in_the_old_silences_topic_is_carried_into_the_control_topic_once() {
    let kafka = Kafka::start(&["lifecycle", OLD_TOPIC]);
    let now = chrono::Utc::now();
    let old = |id: &str, matcher: &str, ends_at: chrono::DateTime<chrono::Utc>| {
        json!({
            "id": id, "matcher": matcher, "scope": {},
            "starts_at": now - chrono::TimeDelta::days(7), "ends_at": ends_at,
            "created_by": "ops", "comment": "carried", "updated_at": now - chrono::TimeDelta::days(7),
        })
        .to_string()
        .into_bytes()
    };
    // In effect: events 1 and 4 muted.
    let kept = old(
        "old-1",
        "$.data.event_id =~ '^evt-[14]$'",
        now + chrono::TimeDelta::hours(1),
    );
    // Ended six days ago: cleared rather than carried.
    let ended = old(
        "old-ended",
        "$.data.event_id =~ '.*'",
        now - chrono::TimeDelta::days(6),
    );
    // Not written by a router: skipped.
    let forged = old(
        "old-forged",
        "$.data.event_id =~ '.*'",
        now + chrono::TimeDelta::hours(1),
    );
    let (kept_code, ended_code) = (
        code(OLD_TOPIC, "old-1", &kept),
        code(OLD_TOPIC, "old-ended", &ended),
    );
    kafka
        .produce(
            OLD_TOPIC,
            &[
                (
                    Some("old-1"),
                    kept,
                    vec![(AUTH_HEADER, kept_code.as_bytes())],
                ),
                (
                    Some("old-ended"),
                    ended,
                    vec![(AUTH_HEADER, ended_code.as_bytes())],
                ),
                (Some("old-forged"), forged, vec![]),
            ],
        )
        .await;

    let mut receiver = Receiver::ok().await;
    let destinations = webhook("hook", receiver.url("/hook"), "");
    let topics = vec![topic(
        "all",
        "  - id: lifecycle",
        "  - { name: carried-to-hook, destination: hook }",
    )];
    let start = |port: u16| {
        let admin = format!("admin:\n  listen: 127.0.0.1:{port}\n  token: {TOKEN}\n");
        let router = Setup {
            router_extra: &admin,
            ..Setup::lifecycle(
                kafka.brokers(),
                "silences-takeover",
                &destinations,
                topics.clone(),
            )
        }
        .start();
        (router, format!("http://127.0.0.1:{port}"))
    };
    // Two instances starting together: each is ready once the old topic is taken over.
    let (a, base_a) = start(free_port());
    let (b, base_b) = start(free_port());
    for base in [&base_a, &base_b] {
        ready(base).await;
        let listed = silences(base).await;
        let ids: Vec<&str> = listed.iter().filter_map(|s| s["id"].as_str()).collect();
        assert_eq!(ids, ["old-1"], "{listed:?}");
        assert_eq!(listed[0]["created_by"], "ops");
        assert_eq!(listed[0]["comment"], "carried");
        assert_eq!(listed[0]["state"], "active");
    }

    // Carried as the old record was, whichever instance carried it; and the takeover recorded.
    let records = control_records(&kafka).await;
    let carried = values_of(&records, "silence/old-1");
    assert!(!carried.is_empty(), "{records:?}");
    assert!(carried.iter().all(|v| *v == carried[0]), "{records:?}");
    let record: Value = serde_json::from_slice(&carried[0]).unwrap();
    assert_eq!(record["kind"], "silence");
    assert_eq!(record["by"], "ops");
    assert!(values_of(&records, "silence/old-ended").is_empty());
    assert!(values_of(&records, "silence/old-forged").is_empty());
    assert!(!values_of(&records, &format!("takeover/{OLD_TOPIC}")).is_empty());

    // It mutes on the instances that carried it.
    kafka.produce_events("lifecycle", &updates(0..6)).await;
    let mut arrived = BTreeSet::new();
    while arrived.len() < 4 {
        arrived.insert(receiver.next().await.event_id());
    }
    let silenced =
        "notification_router_deliveries_silenced_total{subscription=\"carried-to-hook\"} 2";
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let metrics = reqwest::get(format!("{base_a}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if metrics.contains(silenced) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{metrics}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    arrived.extend(receiver.drain().iter().map(Received::event_id));
    let expected: BTreeSet<String> = ["evt-0", "evt-2", "evt-3", "evt-5"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    assert_eq!(arrived, expected);

    // Started again, an instance does not carry it a second time.
    a.stop().await;
    let (c, base_c) = start(free_port());
    ready(&base_c).await;
    let listed = silences(&base_c).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    let again = control_records(&kafka).await;
    assert_eq!(
        values_of(&again, "silence/old-1").len(),
        carried.len(),
        "{again:?}"
    );
    b.stop().await;
    c.stop().await;
}

/// A silence record of the old silences topic, authenticated, in effect for an hour.
fn old_silence(id: &str) -> (String, Vec<u8>, String) {
    let now = chrono::Utc::now();
    let value = json!({
        "id": id, "matcher": "$.data.event_id =~ '.*'", "scope": {},
        "starts_at": now - chrono::TimeDelta::hours(1), "ends_at": now + chrono::TimeDelta::hours(1),
        "created_by": "ops", "comment": "old", "updated_at": now,
    })
    .to_string()
    .into_bytes();
    let code = code(OLD_TOPIC, id, &value);
    (id.to_owned(), value, code)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_silences_topic_that_cannot_be_read_is_given_up_and_the_instance_becomes_ready() {
    let kafka = Kafka::start(&["lifecycle", OLD_TOPIC]);
    let (id, value, auth) = old_silence("unreadable");
    kafka
        .produce(
            OLD_TOPIC,
            &[(Some(&id), value, vec![(AUTH_HEADER, auth.as_bytes())])],
        )
        .await;
    // The router's Kafka user may not read it: its metadata says so.
    kafka.broker.topic_error(
        OLD_TOPIC,
        RDKafkaRespErr::RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
    );
    let receiver = Receiver::ok().await;
    let destinations = webhook("hook", receiver.url("/hook"), "");
    let topics = vec![topic(
        "all",
        "  - id: lifecycle",
        "  - { name: to-hook, destination: hook }",
    )];
    let port = free_port();
    let admin = format!("admin:\n  listen: 127.0.0.1:{port}\n  token: {TOKEN}\n");
    let router = Setup {
        router_extra: &admin,
        ..Setup::lifecycle(
            kafka.brokers(),
            "silences-unreadable",
            &destinations,
            topics,
        )
    }
    .start();
    let base = format!("http://127.0.0.1:{port}");
    // Ready once the takeover is given up, without the silence it could not read, and without
    // saying that the old topic was taken over (the next start tries again).
    ready(&base).await;
    assert!(silences(&base).await.is_empty());
    let records = control_records(&kafka).await;
    assert!(
        values_of(&records, &format!("takeover/{OLD_TOPIC}")).is_empty(),
        "{records:?}"
    );
    router.stop().await;

    // Readable again: the next start carries it.
    kafka
        .broker
        .topic_error(OLD_TOPIC, RDKafkaRespErr::RD_KAFKA_RESP_ERR_NO_ERROR);
    let port = free_port();
    let admin = format!("admin:\n  listen: 127.0.0.1:{port}\n  token: {TOKEN}\n");
    let topics = vec![topic(
        "all",
        "  - id: lifecycle",
        "  - { name: to-hook, destination: hook }",
    )];
    let router = Setup {
        router_extra: &admin,
        ..Setup::lifecycle(
            kafka.brokers(),
            "silences-unreadable",
            &destinations,
            topics,
        )
    }
    .start();
    let base = format!("http://127.0.0.1:{port}");
    ready(&base).await;
    let listed = silences(&base).await;
    let ids: Vec<&str> = listed.iter().filter_map(|s| s["id"].as_str()).collect();
    assert_eq!(ids, ["unreadable"], "{listed:?}");
    router.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_control_topic_whose_metadata_fails_at_start_is_read_once_it_answers_before_anything_is_delivered()
 {
    let kafka = Kafka::start(&["lifecycle"]);
    // A silence already in the control topic, of event 1.
    let now = chrono::Utc::now();
    let record = json!({
        "v": 1, "kind": "silence", "id": "held", "matcher": "$.data.event_id == 'evt-1'",
        "scope": {}, "starts_at": now - chrono::TimeDelta::minutes(1),
        "ends_at": now + chrono::TimeDelta::hours(1), "created_by": "ops", "comment": "",
        "updated_at": now, "by": "ops", "at": now,
    })
    .to_string()
    .into_bytes();
    let auth = code(CONTROL_TOPIC, "silence/held", &record);
    kafka
        .produce(
            CONTROL_TOPIC,
            &[(
                Some("silence/held"),
                record,
                vec![(AUTH_HEADER, auth.as_bytes())],
            )],
        )
        .await;
    // Its metadata has no leader for a while: no partition to read is not "read to its end".
    kafka.broker.topic_error(
        CONTROL_TOPIC,
        RDKafkaRespErr::RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
    );
    // Event 1 is waiting in the source topic.
    kafka.produce_events("lifecycle", &updates(1..2)).await;
    let mut receiver = Receiver::ok().await;
    let destinations = webhook("hook", receiver.url("/hook"), "");
    let topics = vec![topic(
        "all",
        "  - id: lifecycle",
        "  - { name: to-hook, destination: hook }",
    )];
    let port = free_port();
    let admin = format!("admin:\n  listen: 127.0.0.1:{port}\n  token: {TOKEN}\n");
    let router = Setup {
        router_extra: &admin,
        ..Setup::lifecycle(kafka.brokers(), "control-metadata", &destinations, topics)
    }
    .start();
    let base = format!("http://127.0.0.1:{port}");
    // Give the router time to look at the topic while its metadata fails (and, were it
    // consuming already, to deliver event 1).
    tokio::time::sleep(Duration::from_secs(8)).await;
    kafka
        .broker
        .topic_error(CONTROL_TOPIC, RDKafkaRespErr::RD_KAFKA_RESP_ERR_NO_ERROR);
    // Ready only with what the control topic holds in effect.
    ready(&base).await;
    let listed = silences(&base).await;
    let ids: Vec<&str> = listed.iter().filter_map(|s| s["id"].as_str()).collect();
    assert_eq!(ids, ["held"], "{listed:?}");
    // Event 1 is silenced, not delivered; event 2 is delivered.
    kafka.produce_events("lifecycle", &updates(2..3)).await;
    assert_eq!(receiver.next().await.event_id(), "evt-2");
    let silenced = "notification_router_deliveries_silenced_total{subscription=\"to-hook\"} 1";
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let metrics = reqwest::get(format!("{base}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if metrics.contains(silenced) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{metrics}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(receiver.drain().is_empty());
    router.stop().await;
}
