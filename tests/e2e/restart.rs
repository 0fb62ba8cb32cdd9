//! The broker goes away for 10 s and comes back on the same port (empty: its storage is in
//! memory): the router carries on by itself.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_router_recovers_from_a_broker_restart_without_intervention() {
    const BATCH: usize = 20;
    let mut tansu = Tansu::start(&TOPICS);
    let brokers = tansu.brokers();
    let mut receiver = Receiver::ok().await;
    let destinations = webhook("hook", receiver.url("/hook"), "");
    let setup = Setup {
        kafka_extra: &kafka_settings("", ""),
        ..Setup::lifecycle(&brokers, "broker-restart", &destinations, all_to_hook())
    };
    let (_dir, config) = setup.write();
    let mut router = RouterProcess::start(BIN, &config, "router");
    produce_events_to(&brokers, LIFECYCLE, &updates(0..BATCH)).await;
    receiver.take(BATCH).await;

    tansu.stop();
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert!(router.exited().is_none(), "the router waits for the broker");
    tansu.restart();

    // The broker lost the records and the committed offsets, and tansu answers a fetch beyond
    // the end of a partition with nothing rather than an out-of-range error: a consumer may wait
    // at its old position until the new partition reaches it. So recovery is what is asserted:
    // one event at a time to each partition until each has delivered one...
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .create()
        .expect("producer");
    let mut sent_to = HashMap::new();
    let mut recovered = [false; 3];
    let mut next = BATCH;
    let deadline = Instant::now() + WAIT;
    while !recovered.iter().all(|r| *r) {
        // Readers of a topic that came back under a new ID crashed the process once (a
        // segmentation fault in librdkafka, src/kafka/assigned.rs).
        if let Some(status) = router.exited() {
            panic!("the router exited after the broker restart: {status:?}");
        }
        assert!(
            Instant::now() < deadline,
            "partitions {recovered:?} delivered after the broker restart"
        );
        for partition in (0..3).filter(|p| !recovered[*p]) {
            let event = updates(next..next + 1).remove(0);
            let id = format!("evt-{next}");
            producer
                .send(
                    FutureRecord::to(LIFECYCLE)
                        .partition(i32::try_from(partition).unwrap())
                        .key(&id)
                        .payload(&event.to_string()),
                    Timeout::After(Duration::from_secs(10)),
                )
                .await
                .expect("produced");
            sent_to.insert(id, partition);
            next += 1;
        }
        let until = Instant::now() + Duration::from_millis(300);
        while let Some(received) = receiver
            .next_within(until.saturating_duration_since(Instant::now()))
            .await
        {
            if let Some(partition) = sent_to.get(&received.event_id()) {
                recovered[*partition] = true;
            }
        }
    }
    eprintln!(
        "recovered after {} events published since the broker restart",
        next - BATCH
    );
    // ...then every event of a new batch arrives.
    produce_events_to(&brokers, LIFECYCLE, &updates(next..next + BATCH)).await;
    let mut delivered = BTreeSet::new();
    while !(next..next + BATCH).all(|i| delivered.contains(&format!("evt-{i}"))) {
        delivered.insert(receiver.next().await.event_id());
    }
    let status = router.terminate(WAIT).await;
    assert!(status.success(), "{status:?}");
}
