//! `dead-letters list` and `dead-letters replay`, run as a user runs them, against a broker a
//! running router uses: what was dead-lettered is listed, and replayed deliveries arrive with
//! their original `webhook-id`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::support::*;
use testkit::process::{command, replay_hook};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_lettered_deliveries_are_listed_and_replayed_with_their_webhook_id() {
    const EVENTS: usize = 5;
    let kafka = Kafka::start(&["lifecycle"]);
    let broken = Arc::new(AtomicBool::new(true));
    let is_broken = broken.clone();
    let mut receiver = Receiver::answering(Arc::new(move |_, _| {
        Some(if is_broken.load(Ordering::SeqCst) {
            400
        } else {
            200
        })
    }))
    .await;
    let destinations = webhook("hook", receiver.url("/hook"), "");
    let setup = Setup::lifecycle(kafka.brokers(), "replay", &destinations, all_to_hook());
    let (_dir, config) = setup.write();
    let router = setup.start();

    kafka.produce_events("lifecycle", &updates(0..EVENTS)).await;
    kafka
        .produce("lifecycle", &[(None, b"{not json".to_vec(), vec![])])
        .await;
    let letters = kafka.dead_letters(EVENTS + 1).await;
    // webhook-id of each failed delivery, by event.
    let mut original = BTreeMap::new();
    for r in receiver.take(EVENTS).await {
        assert_eq!(r.status, 400);
        original.insert(r.event_id(), r.header("webhook-id").unwrap().to_owned());
    }
    let dead: BTreeSet<&str> = letters
        .iter()
        .filter(|(h, _)| h["dlq-kind"] == "delivery")
        .map(|(h, _)| h["dlq-webhook-id"].as_str())
        .collect();
    assert_eq!(dead, original.values().map(String::as_str).collect());

    let listed = command(
        BIN,
        &["dead-letters", "list", "--destination", "hook"],
        &config,
    )
    .await;
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), EVENTS, "{listed}");
    for id in original.values() {
        assert!(listed.contains(&format!("webhook-id={id}")), "{listed}");
    }
    assert!(lines.iter().all(|l| l.contains("delivery-rejected")));
    let all = command(BIN, &["dead-letters", "list", "--json"], &config).await;
    let objects: Vec<serde_json::Value> = all
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON lines"))
        .collect();
    assert_eq!(objects.len(), EVENTS + 1);
    assert!(objects.iter().any(|o| o["reason"] == "not-json"));
    let none = command(
        BIN,
        &["dead-letters", "list", "--destination", "other"],
        &config,
    )
    .await;
    assert!(none.is_empty(), "{none}");

    let dry = command(BIN, &["dead-letters", "replay", "--dry-run"], &config).await;
    assert!(
        dry.contains(&format!(
            "{} matched; {EVENTS} would be replayed to {RETRY_TOPIC}; skipped: 1 input record(s)",
            EVENTS + 1
        )),
        "{dry}"
    );

    broken.store(false, Ordering::SeqCst);
    let arrived = replay_hook(BIN, &config, &mut receiver, EVENTS).await;
    router.stop().await;
    assert_eq!(
        arrived, original,
        "each replayed delivery keeps its webhook-id"
    );
}
