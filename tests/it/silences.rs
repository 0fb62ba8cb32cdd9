//! Silences through the admin API and the silences topic: a silence made on one instance mutes
//! exactly the deliveries it matches on every instance, and expires on time.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::*;

const TOKEN: &str = "silence-test-token";

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

    // A record on the silences topic that no router wrote (no authentication code) is ignored:
    // it would silence everything to hook-b.
    let forged = json!({
        "id": "forged", "matcher": "$.*", "scope": {"destination": "hook-b"},
        "starts_at": chrono::Utc::now() - chrono::TimeDelta::minutes(1),
        "ends_at": chrono::Utc::now() + chrono::TimeDelta::hours(1),
        "created_by": "someone", "comment": "", "updated_at": chrono::Utc::now(),
    });
    kafka
        .produce(
            "notification-router.silences",
            &[(Some("forged"), forged.to_string().into_bytes(), vec![])],
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
        .header("content-type", "application/json")
        .body(request.to_string())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let made: Value = serde_json::from_str(&made).unwrap();
    assert_eq!(made["created_by"], "admin");
    assert_eq!(made["state"], "active");
    let id = made["id"].as_str().unwrap().to_owned();
    // The second instance learns of it through the silences topic.
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

    kafka.produce_events("lifecycle", &updates(0..6)).await;
    let mut arrived: Vec<(String, String)> = Vec::new();
    let count = |arrived: &[(String, String)], path: &str| {
        arrived.iter().filter(|(p, _)| p == path).count()
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
        "out of its scope, and the forged silence is ignored"
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
    assert!(!listed.iter().any(|s| s["id"] == "forged"), "{listed:?}");
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
