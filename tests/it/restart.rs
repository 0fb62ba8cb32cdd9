//! A restart in the middle of a stream neither loses nor skips an event: offsets are committed
//! only behind the watermark, so a record still in flight when the router stops is read again.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::support::*;

const EVENTS: usize = 300;
const HELD: &str = "evt-40";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_mid_stream_loses_and_skips_nothing() {
    let kafka = Kafka::start(&["lifecycle"]);
    // While `hold` is set, the receiver never answers the delivery of HELD: it stays in flight,
    // and every later event of its partition finishes before it.
    let hold = Arc::new(AtomicBool::new(true));
    let holding = hold.clone();
    let mut receiver = Receiver::answering(Arc::new(move |_, body| {
        let held = body["data"]["event_id"] == HELD && holding.load(Ordering::SeqCst);
        if held { None } else { Some(200) }
    }))
    .await;
    let destinations = webhook("hook", receiver.url("/hook"), "    timeout: 120s\n");
    let topics = all_to_hook();
    let setup = Setup::lifecycle(kafka.brokers(), "restart", &destinations, topics);

    // One key, so one partition, in order.
    let events = updates(0..EVENTS);
    let records: Vec<_> = events
        .iter()
        .map(|e| (Some("one-partition"), e.to_string().into_bytes(), vec![]))
        .collect();

    let first = setup.start();
    kafka.produce("lifecycle", &records[..EVENTS / 2]).await;
    let mut delivered = BTreeSet::new();
    while delivered.len() < EVENTS / 2 - 1 {
        delivered.insert(receiver.next().await.event_id());
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
        let id = receiver.next().await.event_id();
        again.push(id.clone());
        delivered.insert(id);
    }
    second.stop().await;
    assert!(
        again.iter().any(|id| id == HELD),
        "the record in flight at the stop is delivered after the restart"
    );
    let redelivered = again
        .iter()
        .filter(|id| id[4..].parse::<usize>().unwrap() < EVENTS / 2)
        .count();
    assert!(
        redelivered <= EVENTS / 2,
        "only what came after the held record is read again: {redelivered}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_instance_joining_mid_stream_loses_nothing() {
    instances_joining_mid_stream("cooperative-sticky", 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_and_third_instance_joining_with_range_assignment_lose_nothing() {
    instances_joining_mid_stream("range", 3).await;
}

/// Streams events while `instances` routers join one after the other, each once the previous
/// one has delivered; every event must arrive, and every instance must have delivered some.
async fn instances_joining_mid_stream(strategy: &str, instances: usize) {
    const BATCH: usize = 20;
    let kafka = Kafka::start(&["lifecycle"]);
    // A little latency per delivery, so records are in flight when partitions move.
    let mut receiver = Receiver::answering(Arc::new(|_, _| {
        std::thread::sleep(std::time::Duration::from_millis(2));
        Some(200)
    }))
    .await;
    // Each instance tags its deliveries, so the test sees the partitions move.
    let destinations: Vec<String> = (0..instances)
        .map(|i| {
            webhook(
                "hook",
                receiver.url("/hook"),
                &format!("    custom_headers: {{ x-instance: \"{i}\" }}\n"),
            )
        })
        .collect();
    let topics = all_to_hook();
    let kafka_extra = format!(
        "  max_in_flight: 20\n  properties: {{ partition.assignment.strategy: {strategy} }}\n"
    );
    let setup = |destinations| Setup {
        kafka_extra: &kafka_extra,
        ..Setup::lifecycle(kafka.brokers(), "rebalance", destinations, topics.clone())
    };

    let mut produced = 0;
    let mut delivered = BTreeSet::new();
    let mut by_instance = vec![0usize; instances];
    let mut running = vec![setup(&destinations[0]).start()];
    // Stream until the newest instance is delivering, start the next, and keep streaming until
    // the last has taken over partitions and delivered from them.
    while by_instance[instances - 1] < BATCH {
        kafka
            .produce_events("lifecycle", &updates(produced..produced + BATCH))
            .await;
        produced += BATCH;
        while delivered.len() < produced - BATCH / 2 {
            let received = receiver.next().await;
            let instance: usize = received.header("x-instance").unwrap().parse().unwrap();
            by_instance[instance] += 1;
            delivered.insert(received.event_id());
        }
        let newest = running.len() - 1;
        if running.len() < instances && by_instance[newest] >= 100 / running.len() {
            running.push(setup(&destinations[running.len()]).start());
        }
    }
    while delivered.len() < produced {
        delivered.insert(receiver.next().await.event_id());
    }
    for router in running {
        router.stop().await;
    }
    assert!(
        (0..produced).all(|i| delivered.contains(&format!("evt-{i}"))),
        "every event delivered"
    );
    assert!(
        by_instance.iter().all(|n| *n >= BATCH / 2),
        "every instance delivered: {by_instance:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_router_recovers_from_a_broker_outage_without_intervention() {
    const BATCH: usize = 20;
    let kafka = Kafka::start(&["lifecycle"]);
    let mut receiver = Receiver::ok().await;
    let destinations = webhook("hook", receiver.url("/hook"), "");
    let router = Setup::lifecycle(kafka.brokers(), "outage", &destinations, all_to_hook()).start();
    kafka.produce_events("lifecycle", &updates(0..BATCH)).await;
    let mut delivered: BTreeSet<String> = receiver
        .take(BATCH)
        .await
        .iter()
        .map(Received::event_id)
        .collect();

    // The broker is away for 10 s, then back on the same address with its data.
    kafka.broker.down();
    let brokers = kafka.brokers().to_owned();
    let reachable = tokio::task::spawn_blocking(move || {
        let client: rdkafka::consumer::BaseConsumer = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", &brokers)
            .create()
            .expect("client");
        rdkafka::consumer::Consumer::fetch_metadata(
            &client,
            None,
            std::time::Duration::from_secs(3),
        )
        .is_ok()
    })
    .await
    .unwrap();
    assert!(!reachable, "the broker is down");
    tokio::time::sleep(std::time::Duration::from_secs(7)).await;
    kafka.broker.up();
    kafka
        .produce_events("lifecycle", &updates(BATCH..2 * BATCH))
        .await;
    while delivered.len() < 2 * BATCH {
        delivered.insert(receiver.next().await.event_id());
    }
    router.stop().await;
    assert!((0..2 * BATCH).all(|i| delivered.contains(&format!("evt-{i}"))));
}
