//! A crash against a broker in a process of its own: the router is killed with SIGKILL while
//! deliveries wait on the retry topic, and started again; the receivers' records say what
//! arrived. (SIGKILL and SIGTERM mid-stream are end-to-end scenarios against tansu: tests/e2e.)

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::support::*;
use testkit::process::{BrokerProcess, RouterProcess};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_while_deliveries_wait_on_the_retry_topic_loses_and_repeats_nothing() {
    const EVENTS: usize = 200;
    let broker = BrokerProcess::start(BIN, &["lifecycle"]);
    let (mut receiver, down) = Receiver::with_outage("/flaky").await;
    let retry = "    retry: { retries: 0, schedule: [500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms, 500ms], horizon: 1h }\n    circuit_breaker: { failures: 1000 }\n";
    let destinations =
        webhook("flaky", receiver.url("/flaky"), retry) + &webhook("ok", receiver.url("/ok"), "");
    let topics = vec![topic(
        "all",
        "  - id: lifecycle",
        "  - { name: to-flaky, destination: flaky }\n  - { name: to-ok, destination: ok }",
    )];
    let setup = Setup::lifecycle(broker.brokers(), "retry-kill", &destinations, topics);
    let (_dir, config) = setup.write();
    produce_all(broker.brokers(), "lifecycle", &updates(0..EVENTS)).await;

    let first = RouterProcess::start(BIN, &config, "first");
    let mut log = Vec::new();
    // Every event reached `ok`, and every `flaky` delivery failed at least twice: once fresh,
    // once from the retry topic.
    let failures = |log: &[Received]| {
        let mut count: BTreeMap<String, usize> = BTreeMap::new();
        for r in log.iter().filter(|r| r.path == "/flaky") {
            *count.entry(r.event_id()).or_default() += 1;
        }
        count
    };
    while log.iter().filter(|r: &&Received| r.path == "/ok").count() < EVENTS
        || failures(&log).len() < EVENTS
        || failures(&log).values().any(|n| *n < 2)
    {
        log.push(receiver.next().await);
    }
    first.kill();
    log.extend(receiver.drain());
    assert!(log.iter().all(|r| r.path == "/ok" || r.status == 503));
    down.store(false, Ordering::SeqCst);

    let second = RouterProcess::start(BIN, &config, "second");
    let delivered = |log: &[Received]| {
        log.iter()
            .filter(|r| r.path == "/flaky" && r.status == 200)
            .map(Received::event_id)
            .collect::<BTreeSet<_>>()
    };
    while delivered(&log).len() < EVENTS {
        log.push(receiver.next().await);
    }
    let status = second.terminate(Duration::from_secs(60)).await;
    assert!(status.success());
    log.extend(receiver.drain());

    let mut ids: HashMap<String, BTreeSet<String>> = HashMap::new();
    for r in log.iter().filter(|r| r.path == "/flaky") {
        ids.entry(r.event_id())
            .or_default()
            .insert(r.header("webhook-id").unwrap().to_owned());
    }
    assert!(
        ids.values().all(|set| set.len() == 1),
        "one webhook-id per delivery"
    );
    let successes = log
        .iter()
        .filter(|r| r.path == "/flaky" && r.status == 200)
        .count();
    assert_eq!(
        successes, EVENTS,
        "each waiting delivery is made once after the restart: later retry records replace \
         earlier ones, and nothing before the kill had succeeded"
    );
}
