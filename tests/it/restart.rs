//! A restart in the middle of a stream neither loses nor skips an event: offsets are committed
//! only behind the watermark, so a record still in flight when the router stops is read again.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::support::*;

const SOURCE: &str = "  - { id: lifecycle, type: resource-lifecycle-events, enabled: true, kafka_topics: [lifecycle] }";
const EVENTS: usize = 300;
const HELD: &str = "evt-40";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_mid_stream_loses_and_skips_nothing() {
    let kafka = Kafka::start(&["lifecycle"]);
    // While `hold` is set, the receiver never answers the delivery of HELD: it stays in flight,
    // and every later event of its partition finishes before it.
    let hold = Arc::new(AtomicBool::new(true));
    let holding = hold.clone();
    let mut receiver = Receiver::start(Arc::new(move |_, body| {
        let held = body["data"]["event_id"] == HELD && holding.load(Ordering::SeqCst);
        if held { None } else { Some(200) }
    }))
    .await;
    let destinations = webhook("hook", &receiver.url("/hook"), "    timeout: 120s\n");
    let topics = vec![topic("all", "  - id: lifecycle", "  - { name: all, destination: hook }")];
    let setup = Setup { brokers: kafka.brokers(), group: "restart", sources: SOURCE, destinations: &destinations, topics, templates: vec![], kafka_extra: "" };

    // One key, so one partition, in order.
    let events: Vec<_> = (0..EVENTS).map(|i| lifecycle_event("resource-controller.instance.update", &format!("evt-{i}"), "us-south", "db")).collect();
    let records: Vec<_> = events.iter().map(|e| (Some("one-partition"), e.to_string().into_bytes(), vec![])).collect();

    let first = setup.start();
    kafka.produce("lifecycle", &records[..EVENTS / 2]).await;
    let mut delivered = BTreeSet::new();
    while delivered.len() < EVENTS / 2 - 1 {
        delivered.insert(receiver.next().await.body["data"]["event_id"].as_str().unwrap().to_owned());
    }
    assert!(!delivered.contains(HELD));
    // Stop while HELD is in flight: the drain gives up after its timeout, and the committed
    // position stays at HELD even though everything after it was delivered.
    first.stop().await;
    hold.store(false, Ordering::SeqCst);

    let second = setup.start();
    kafka.produce("lifecycle", &records[EVENTS / 2..]).await;
    let mut again = Vec::new();
    while !(0..EVENTS).all(|i| delivered.contains(&format!("evt-{i}"))) {
        let id = receiver.next().await.body["data"]["event_id"].as_str().unwrap().to_owned();
        again.push(id.clone());
        delivered.insert(id);
    }
    second.stop().await;
    assert!(again.iter().any(|id| id == HELD), "the record in flight at the stop is delivered after the restart");
    let redelivered = again.iter().filter(|id| id[4..].parse::<usize>().unwrap() < EVENTS / 2).count();
    assert!(redelivered <= EVENTS / 2, "only what came after the held record is read again: {redelivered}");
}
