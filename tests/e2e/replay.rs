//! Dead-lettered deliveries replayed with `dead-letters replay` once the receiver is fixed: all
//! arrive, each with its original `webhook-id`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_dead_letters_all_arrive_with_their_original_webhook_id() {
    const EVENTS: usize = 20;
    let tansu = Tansu::start(&TOPICS);
    let brokers = tansu.brokers();
    // Broken: every delivery is refused (400, permanent), so it is dead-lettered at once.
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
    let setup = Setup {
        kafka_extra: &kafka_settings("", ""),
        ..Setup::lifecycle(&brokers, "replay", &destinations, all_to_hook())
    };
    let (_dir, config) = setup.write();
    let router = RouterProcess::start(BIN, &config, "router");
    produce_events_to(&brokers, LIFECYCLE, &updates(0..EVENTS)).await;

    let mut original = BTreeMap::new();
    for r in receiver.take(EVENTS).await {
        assert_eq!(r.status, 400);
        original.insert(r.event_id(), r.header("webhook-id").unwrap().to_owned());
    }
    let letters = read_topic(&brokers, DEAD_LETTER_TOPIC, 1, EVENTS).await;
    assert!(
        letters
            .iter()
            .all(|(h, _)| h["dlq-reason"] == "delivery-rejected")
    );
    let listed = command(
        BIN,
        &["dead-letters", "list", "--destination", "hook"],
        &config,
    )
    .await;
    assert_eq!(listed.lines().count(), EVENTS, "{listed}");

    broken.store(false, Ordering::SeqCst);
    let arrived = replay_hook(BIN, &config, &mut receiver, EVENTS).await;
    let status = router.terminate(WAIT).await;
    assert!(status.success(), "{status:?}");
    assert!(
        receiver.drain().is_empty(),
        "each replayed delivery arrives once"
    );
    assert_eq!(
        arrived, original,
        "each replayed delivery keeps its webhook-id"
    );
}
