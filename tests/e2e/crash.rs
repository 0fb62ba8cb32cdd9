//! The router killed with SIGKILL, or stopped with SIGTERM, in the middle of a stream, then
//! started again: what the receivers recorded shows nothing lost, and what was repeated.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::*;

const DESTINATIONS: [(&str, &str); 3] = [("a", ""), ("b", ""), ("c", "")];
/// Records in flight at once (`kafka.max_in_flight`). Each pause and resume costs tansu a fetch
/// that lists the whole partition, so a bound much lower makes 20,000 events slow.
const MAX_IN_FLIGHT: usize = 500;
/// The router's default `session.timeout.ms`.
const SESSION_TIMEOUT: Duration = Duration::from_secs(10);
/// The drain timeout of [`Setup`]'s configuration.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_stream_loses_nothing_and_redelivers_at_most_the_uncommitted() {
    const EVENTS: usize = 20_000;
    const ALL: usize = EVENTS * DESTINATIONS.len();
    let tansu = Tansu::start(&TOPICS);
    let brokers = tansu.brokers();
    // Answers take a little while, so records are in flight across commits.
    let mut receiver =
        Receiver::answering_delayed(Arc::new(|_, _| Some(200)), Duration::from_millis(2)).await;
    let (destinations, topics) = destinations(&receiver, &DESTINATIONS);
    let kafka_extra = kafka_settings("", &format!("  max_in_flight: {MAX_IN_FLIGHT}\n"));
    let setup = Setup {
        kafka_extra: &kafka_extra,
        ..Setup::lifecycle(&brokers, "kill-9", &destinations, topics)
    };
    let (_dir, config) = setup.write();

    let first = RouterProcess::start(BIN, &config, "first");
    // The stream is produced while the router delivers.
    let producing = {
        let brokers = brokers.clone();
        tokio::spawn(async move { produce_all(&brokers, LIFECYCLE, &updates(0..EVENTS)).await })
    };
    // SIGKILL at a random point between 30 % and 80 % of the deliveries: no drain, no commit.
    let kill_after = rand::random_range(ALL * 3 / 10..ALL * 8 / 10);
    let mut log = receiver.take(kill_after).await;
    first.kill();
    log.extend(receiver.drain());
    let before_restart = log.len();
    let landed = producing.await.unwrap();
    // What the killed router had committed, and what it had handed to the retry topic: a
    // delivery may come again only if its record was not committed, or if it waited in the
    // retry topic (whose consumer may not have committed it).
    let committed = committed_offsets(&brokers, "kill-9", LIFECYCLE, 3).await;
    let handed: HashSet<String> = keys_to_end(&brokers, RETRY_TOPIC, 3)
        .await
        .into_iter()
        .collect();
    eprintln!("killed after {before_restart} of {ALL} deliveries");
    // The restart comes once the killed consumer's session has expired (`session.timeout.ms`,
    // 10 s): tansu 0.6.0 expires a member only when another one contacts the group, and a
    // member joining before then was seen to get no partitions for over a minute.
    tokio::time::sleep(SESSION_TIMEOUT + Duration::from_secs(1)).await;

    let second = RouterProcess::start(BIN, &config, "second");
    let mut seen: BTreeSet<(String, String)> = log.iter().map(pair).collect();
    while seen.len() < ALL {
        let Some(received) = receiver.next_within(WAIT).await else {
            panic!(
                "{} of {ALL} deliveries, none for {WAIT:?}; the restarted router's log ends:\n{}",
                seen.len(),
                log_tail(&second.log, 40)
            );
        };
        seen.insert(pair(&received));
        log.push(received);
    }
    let status = second.terminate(WAIT).await;
    assert!(status.success(), "{status:?}");
    log.extend(receiver.drain());

    // Every event reached every destination; a redelivery carries the first one's webhook-id.
    let mut ids: HashMap<(String, String), BTreeSet<String>> = HashMap::new();
    for r in &log {
        ids.entry(pair(r))
            .or_default()
            .insert(r.header("webhook-id").unwrap().to_owned());
    }
    assert_eq!(ids.len(), ALL, "every event at every destination");
    assert!(
        ids.values().all(|set| set.len() == 1),
        "one webhook-id per delivery"
    );
    assert!(before_restart < ALL, "the kill came mid-stream");
    // Redeliveries: only records the killed router had not committed (in flight, or answered
    // after its last commit). A restart from the start, or from an offset committed before its
    // deliveries were answered, would fail here.
    assert!(
        committed.values().sum::<i64>() > 0,
        "the killed router had committed: {committed:?}"
    );
    let uncommitted = |event: &str| {
        let (partition, offset) = landed[event];
        offset >= committed[&partition]
    };
    for (destination, _) in DESTINATIONS {
        let path = format!("/{destination}");
        // event → (times delivered, webhook-id)
        let mut times: HashMap<String, (usize, String)> = HashMap::new();
        for r in log.iter().filter(|r| r.path == path) {
            let webhook_id = r.header("webhook-id").unwrap().to_owned();
            times.entry(r.event_id()).or_insert((0, webhook_id)).0 += 1;
        }
        let repeated: Vec<(&String, &String)> = times
            .iter()
            .filter(|(_, (n, _))| *n > 1)
            .map(|(event, (_, id))| (event, id))
            .collect();
        let open = landed.keys().filter(|e| uncommitted(e)).count();
        eprintln!(
            "{destination}: {} redelivered; at the kill {open} events were not committed ({committed:?}) and {} deliveries had gone through the retry topic",
            repeated.len(),
            handed.len()
        );
        let acknowledged: Vec<_> = repeated
            .iter()
            .filter(|(event, id)| !uncommitted(event) && !handed.contains(*id))
            .collect();
        assert!(
            acknowledged.is_empty(),
            "{destination}: {} deliveries repeated though their record was committed and they never waited in the retry topic, e.g. {:?}",
            acknowledged.len(),
            acknowledged.iter().take(5).collect::<Vec<_>>()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_stream_exits_within_the_drain_timeout_and_a_restart_repeats_nothing_acknowledged()
 {
    const EVENTS: usize = 2_000;
    const ALL: usize = EVENTS * DESTINATIONS.len();
    let tansu = Tansu::start(&TOPICS);
    let brokers = tansu.brokers();
    let mut receiver = Receiver::ok().await;
    let (destinations, topics) = destinations(&receiver, &DESTINATIONS);
    let kafka_extra = kafka_settings("", &format!("  max_in_flight: {MAX_IN_FLIGHT}\n"));
    let setup = Setup {
        kafka_extra: &kafka_extra,
        ..Setup::lifecycle(&brokers, "sigterm", &destinations, topics)
    };
    let (_dir, config) = setup.write();

    let first = RouterProcess::start(BIN, &config, "first");
    let producing = {
        let brokers = brokers.clone();
        tokio::spawn(async move { produce_all(&brokers, LIFECYCLE, &updates(0..EVENTS)).await })
    };
    let mut before = receiver.take(ALL / 3).await;
    let signalled = Instant::now();
    let status = first.terminate(WAIT).await;
    let exit_took = signalled.elapsed();
    assert!(status.success(), "a SIGTERM is a clean exit: {status:?}");
    assert!(
        exit_took <= DRAIN_TIMEOUT + Duration::from_secs(2),
        "exited {exit_took:?} after SIGTERM; the drain timeout is {DRAIN_TIMEOUT:?}"
    );
    before.extend(receiver.drain());
    producing.await.unwrap();
    // Acknowledged: answered by the receiver before the signal.
    let acknowledged: BTreeSet<(String, String)> = before
        .iter()
        .filter(|r| r.at <= signalled)
        .map(pair)
        .collect();
    let before: BTreeSet<(String, String)> = before.iter().map(pair).collect();
    assert!(before.len() < ALL, "stopped mid-stream");
    eprintln!(
        "exit {exit_took:?} after SIGTERM; {} acknowledged before it, {} delivered before the exit",
        acknowledged.len(),
        before.len()
    );

    let second = RouterProcess::start(BIN, &config, "second");
    let mut after = Vec::new();
    let mut all = before.clone();
    while all.len() < ALL {
        let received = pair(&receiver.next().await);
        all.insert(received.clone());
        after.push(received);
    }
    let status = second.terminate(WAIT).await;
    assert!(status.success(), "{status:?}");
    after.extend(receiver.drain().iter().map(pair));
    let repeated: Vec<_> = after.iter().filter(|p| acknowledged.contains(*p)).collect();
    assert!(
        repeated.is_empty(),
        "acknowledged before the SIGTERM and delivered again after the restart: {} (first: {:?})",
        repeated.len(),
        repeated.first()
    );
    let drained_again = after.iter().filter(|p| before.contains(*p)).count();
    eprintln!("delivered during the drain and again after the restart: {drained_again}");
    assert_eq!(all.len(), ALL, "every event at every destination");
}
