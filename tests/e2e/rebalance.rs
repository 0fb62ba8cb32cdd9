//! A second and a third router instance join the group mid-stream: nothing is lost, whatever
//! the assignment strategy.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_and_third_instance_joining_with_cooperative_sticky_assignment_lose_nothing() {
    instances_joining_mid_stream("cooperative-sticky").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_and_third_instance_joining_with_range_assignment_lose_nothing() {
    instances_joining_mid_stream("range").await;
}

/// Streams events while three routers join one after the other, each once the previous one has
/// delivered; every event must arrive, and every instance must have delivered some.
async fn instances_joining_mid_stream(strategy: &str) {
    const INSTANCES: usize = 3;
    const BATCH: usize = 20;
    let tansu = Tansu::start(&TOPICS);
    let brokers = tansu.brokers();
    // A little latency per delivery, so records are in flight when partitions move.
    let mut receiver =
        Receiver::answering_delayed(Arc::new(|_, _| Some(200)), Duration::from_millis(5)).await;
    let kafka_extra = kafka_settings(
        &format!(", partition.assignment.strategy: {strategy}"),
        "  max_in_flight: 20\n",
    );
    // One configuration per instance, alike but for a header that tells who delivered.
    let configs: Vec<_> = (0..INSTANCES)
        .map(|i| {
            let destinations = webhook(
                "hook",
                receiver.url("/hook"),
                &format!("    custom_headers: {{ x-instance: \"{i}\" }}\n"),
            );
            Setup {
                kafka_extra: &kafka_extra,
                ..Setup::lifecycle(&brokers, "rebalance", &destinations, all_to_hook())
            }
            .write()
        })
        .collect();

    let mut produced = 0;
    let mut delivered = BTreeSet::new();
    let mut by_instance = [0usize; INSTANCES];
    let mut running = vec![RouterProcess::start(BIN, &configs[0].1, "instance-0")];
    // Stream until the newest instance is delivering, start the next, and keep streaming until
    // the last has taken over partitions and delivered from them.
    while by_instance[INSTANCES - 1] < BATCH {
        produce_events_to(&brokers, LIFECYCLE, &updates(produced..produced + BATCH)).await;
        produced += BATCH;
        while delivered.len() < produced - BATCH / 2 {
            let received = receiver.next().await;
            let instance: usize = received.header("x-instance").unwrap().parse().unwrap();
            by_instance[instance] += 1;
            delivered.insert(received.event_id());
        }
        let newest = running.len() - 1;
        if running.len() < INSTANCES && by_instance[newest] >= 2 * BATCH {
            let i = running.len();
            running.push(RouterProcess::start(
                BIN,
                &configs[i].1,
                &format!("instance-{i}"),
            ));
        }
    }
    while delivered.len() < produced {
        let received = receiver.next().await;
        by_instance[received
            .header("x-instance")
            .unwrap()
            .parse::<usize>()
            .unwrap()] += 1;
        delivered.insert(received.event_id());
    }
    for router in running {
        let status = router.terminate(WAIT).await;
        assert!(status.success(), "{status:?}");
    }
    eprintln!("{strategy}: {produced} events; deliveries by instance {by_instance:?}");
    let missing: Vec<usize> = (0..produced)
        .filter(|i| !delivered.contains(&format!("evt-{i}")))
        .collect();
    assert!(missing.is_empty(), "not delivered: {missing:?}");
    assert!(
        by_instance.iter().all(|n| *n >= BATCH / 2),
        "every instance delivered: {by_instance:?}"
    );
}
