//! `dead-letters list` and `dead-letters replay`, run as a user runs them, against a broker a
//! running router uses: what was dead-lettered is listed, and replayed deliveries arrive with
//! their original `webhook-id`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::support::*;
use testkit::process::{command, replay_hook};

/// A receiver answering 400 (a permanent refusal: dead-lettered at once) while the returned
/// flag is set, 200 once it is cleared.
async fn refusing_receiver() -> (Receiver, Arc<AtomicBool>) {
    let broken = Arc::new(AtomicBool::new(true));
    let is_broken = broken.clone();
    let receiver = Receiver::answering(Arc::new(move |_, _| {
        Some(if is_broken.load(Ordering::SeqCst) {
            400
        } else {
            200
        })
    }))
    .await;
    (receiver, broken)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_lettered_deliveries_are_listed_and_replayed_with_their_webhook_id() {
    const EVENTS: usize = 5;
    let kafka = Kafka::start(&["lifecycle"]);
    let (mut receiver, broken) = refusing_receiver().await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_dead_letter_is_not_replayed() {
    let kafka = Kafka::start(&["lifecycle"]);
    let (mut receiver, broken) = refusing_receiver().await;
    let destinations = webhook("hook", receiver.url("/hook"), "");
    let setup = Setup::lifecycle(
        kafka.brokers(),
        "replay-forged",
        &destinations,
        all_to_hook(),
    );
    let (_dir, config) = setup.write();
    let router = setup.start();
    kafka.produce_events("lifecycle", &updates(0..1)).await;
    assert_eq!(receiver.next().await.status, 400);
    let (genuine, value) = kafka.dead_letters(1).await.remove(0);

    // Dead letters made by someone who can write to the topic: the genuine one's headers, a
    // notification of their own, without a code or with the genuine record's.
    let mut notification: serde_json::Value = serde_json::from_slice(&value).unwrap();
    notification["data"]["event_id"] = "evt-forged".into();
    let forged = serde_json::to_vec(&notification).unwrap();
    let headers = |with_code: bool| -> Vec<(&str, &[u8])> {
        genuine
            .iter()
            .filter(|(k, _)| with_code || k.as_str() != "router-auth")
            .map(|(k, v)| {
                let v: &[u8] = if k == "dlq-webhook-id" {
                    b"msg_forged"
                } else {
                    v.as_bytes()
                };
                (k.as_str(), v)
            })
            .collect()
    };
    kafka
        .produce(
            DEAD_LETTER_TOPIC,
            &[
                (Some("msg_forged"), forged.clone(), headers(false)),
                (Some("msg_forged"), forged, headers(true)),
            ],
        )
        .await;

    broken.store(false, Ordering::SeqCst);
    let replayed = command(BIN, &["dead-letters", "replay"], &config).await;
    assert!(
        replayed.contains("3 matched; 1 replayed to router.retry; skipped: 0 input record(s), 0 of an unknown subscription, 0 unreadable, 2 not written by the router."),
        "{replayed}"
    );
    let arrived = receiver.next().await;
    assert_eq!(
        (arrived.status, arrived.event_id()),
        (200, "evt-0".to_owned())
    );
    // Whatever the retry topic holds has been read once the genuine replay arrived.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    router.stop().await;
    let late: Vec<String> = receiver.drain().iter().map(Received::event_id).collect();
    assert!(late.is_empty(), "delivered: {late:?}");
}
