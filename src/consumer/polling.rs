//! The thread that polls a consumer. librdkafka runs the rebalance callback (which waits for the
//! revoked partitions to drain, then commits) and serves error and statistics events on the
//! thread that polls, so that thread is one of its own, not one of the runtime's: the runtime's
//! size is a tuning choice. Records go to the consuming loop through a small channel; errors are
//! served as fast as they come (the context reports them), never paced by a sleep, so records
//! and rebalances queued behind them are not held up.
//!
//! On stop it commits and closes the consumer. Without a broker either can block for a long
//! time (librdkafka's close waits for the group coordinator), so the loop waits for them only
//! until a deadline ([`Polling::close`]) and the process may end while they still wait: what was
//! not committed is read again after a restart.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::OwnedMessage;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::offsets::Polled as PolledAt;
use super::rebalance::{RebalanceContext, commit};

/// A consumer polled by a [`Polling`] thread.
pub(crate) type KafkaConsumer = BaseConsumer<RebalanceContext>;

/// What the polling thread hands to the consuming loop, each with when it was polled: a
/// loop that holds records checks that their partition was not revoked since
/// ([`OffsetTracker::begin_polled`](super::offsets::OffsetTracker::begin_polled)), as records
/// polled before a revoke may still wait in the channel after it.
#[derive(Debug)]
pub(crate) enum Polled {
    Record(OwnedMessage, PolledAt),
    /// The end of a partition was reached (only with `enable.partition.eof`).
    End(i32, PolledAt),
}

/// Records waiting in the channel at most; the loop's own back-pressure does the rest.
const CHANNEL: usize = 64;

/// How long one poll waits for an event.
const POLL: Duration = Duration::from_millis(100);

/// How the final commit and close went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Closing {
    Committed,
    Closed,
}

/// A consumer's polling thread.
pub(crate) struct Polling {
    pub records: mpsc::Receiver<Polled>,
    stop: CancellationToken,
    progress: mpsc::UnboundedReceiver<Closing>,
    name: &'static str,
}

impl Polling {
    /// Starts polling `consumer` on a thread named `name`. Must be called within the runtime.
    pub(crate) fn start(
        consumer: Arc<KafkaConsumer>,
        name: &'static str,
    ) -> std::io::Result<Polling> {
        let (records_tx, records) = mpsc::channel(CHANNEL);
        let (progress_tx, progress) = mpsc::unbounded_channel();
        let stop = CancellationToken::new();
        let runtime = tokio::runtime::Handle::current();
        let stopping = stop.clone();
        std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                poll(&consumer, &records_tx, &stopping, &runtime);
                drop(records_tx);
                finish(consumer, &progress_tx, name);
            })?;
        Ok(Polling {
            records,
            stop,
            progress,
            name,
        })
    }

    /// Stops polling, then commits the stored offsets and closes the consumer on the polling
    /// thread, waiting for both until `deadline` at most. Says what could not be done.
    pub(crate) async fn close(mut self, deadline: Duration) {
        self.stop.cancel();
        // Records still in the channel are not started: they are read again.
        self.records.close();
        let until = tokio::time::Instant::now() + deadline;
        let mut committed = false;
        loop {
            match tokio::time::timeout_at(until, self.progress.recv()).await {
                Ok(Some(Closing::Committed)) => committed = true,
                Ok(Some(Closing::Closed)) => {
                    info!(message = "Kafka consumer closed.", consumer = self.name);
                    return;
                }
                Ok(None) => return,
                Err(_) => break,
            }
        }
        if committed {
            warn!(message = "The Kafka consumer did not close in time (is a broker reachable?); exiting without it. Its partitions go to another member once its session times out.", consumer = self.name, deadline = ?deadline);
        } else {
            warn!(message = "The final offset commit did not complete in time (is a broker reachable?); exiting without it. What was settled since the last commit will be read again after a restart.", consumer = self.name, deadline = ?deadline);
        }
    }
}

/// Polls until `stop`, handing records and partition ends to `records`.
fn poll(
    consumer: &KafkaConsumer,
    records: &mpsc::Sender<Polled>,
    stop: &CancellationToken,
    runtime: &tokio::runtime::Handle,
) {
    while !stop.is_cancelled() {
        let polled = consumer.poll(POLL);
        // A rebalance is served inside `poll`, before any record of the new assignment.
        let at = consumer.context().offsets.lock().polled();
        let polled = match polled {
            None => continue,
            Some(Ok(message)) => {
                let context = consumer.context();
                context.health.record_read(context.client);
                Polled::Record(message.detach(), at)
            }
            Some(Err(KafkaError::PartitionEOF(partition))) => Polled::End(partition, at),
            // The context has reported it (rate-limited); librdkafka recovers by itself.
            Some(Err(_)) => continue,
        };
        if !hand_over(records, polled, stop, runtime) {
            return;
        }
    }
}

/// Sends `polled`, waiting for room while the loop takes no more; false once stopped.
fn hand_over(
    records: &mpsc::Sender<Polled>,
    polled: Polled,
    stop: &CancellationToken,
    runtime: &tokio::runtime::Handle,
) -> bool {
    let polled = match records.try_send(polled) {
        Ok(()) => return true,
        Err(mpsc::error::TrySendError::Closed(_)) => return false,
        Err(mpsc::error::TrySendError::Full(polled)) => polled,
    };
    runtime.block_on(async {
        tokio::select! {
            biased;
            () = stop.cancelled() => false,
            permit = records.reserve() => match permit {
                Ok(permit) => {
                    permit.send(polled);
                    true
                }
                Err(_) => false,
            },
        }
    })
}

/// Commits and closes `consumer`, telling `progress` as each is done. The close is the
/// consumer's drop (which closes it and polls until closed), once every other holder has let it
/// go. Without a broker the commit or the close may never return, or another holder may never
/// let go: this thread then never lets its reference go either, so that no drop elsewhere closes
/// (and blocks); the loop stops waiting at its deadline.
fn finish(
    consumer: Arc<KafkaConsumer>,
    progress: &mpsc::UnboundedSender<Closing>,
    name: &'static str,
) {
    commit(consumer.as_ref());
    let _ = progress.send(Closing::Committed);
    let started = Instant::now();
    let mut consumer = consumer;
    loop {
        match Arc::try_unwrap(consumer) {
            Ok(only) => {
                drop(only);
                let _ = progress.send(Closing::Closed);
                return;
            }
            Err(shared) if started.elapsed() > CLOSE_GIVE_UP => {
                warn!(
                    message = "The Kafka consumer is still in use; it is not closed.",
                    consumer = name
                );
                std::mem::forget(shared);
                return;
            }
            Err(shared) => {
                consumer = shared;
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

/// How long the polling thread waits for the consumer's other holders to let it go.
const CLOSE_GIVE_UP: Duration = Duration::from_secs(600);

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use rdkafka::ClientConfig;
    use rdkafka::Message;
    use testkit::kafka::{MockKafka, produce_to};

    use super::*;
    use crate::consumer::{Offsets, Rebalanced};
    use crate::kafka::KafkaHealth;

    const WAIT: Duration = Duration::from_secs(30);

    async fn next_event(
        events: &mut mpsc::UnboundedReceiver<Rebalanced>,
        what: &str,
    ) -> Rebalanced {
        tokio::time::timeout(WAIT, events.recv())
            .await
            .unwrap_or_else(|_| panic!("{what} in time"))
            .expect("the context lives")
    }

    async fn next_record(records: &mut mpsc::Receiver<Polled>) -> (i64, PolledAt) {
        match tokio::time::timeout(WAIT, records.recv()).await {
            Ok(Some(Polled::Record(message, at))) => (message.offset(), at),
            other => panic!("a record, not {other:?}"),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn records_polled_before_their_partition_was_revoked_are_not_begun_after_it() {
        let kafka = MockKafka::start(&[("t", 1)]);
        let records: Vec<_> = (0..5).map(|i| (None, vec![i], vec![])).collect();
        produce_to(kafka.brokers(), "t", &records).await;
        let offsets = Arc::new(Offsets::default());
        let (events_tx, mut events) = mpsc::unbounded_channel();
        let metrics = crate::telemetry::metrics::global();
        let context = RebalanceContext {
            offsets: offsets.clone(),
            busy: Arc::new(Offsets::default()),
            drain_timeout: Duration::from_secs(1),
            events: Some(events_tx),
            health: Arc::new(KafkaHealth::new(kafka.brokers(), metrics)),
            client: "test",
        };
        let consumer: Arc<KafkaConsumer> = Arc::new(
            ClientConfig::new()
                .set("bootstrap.servers", kafka.brokers())
                .set("group.id", "stamps")
                .set("auto.offset.reset", "earliest")
                .set("enable.auto.commit", "false")
                .set("enable.auto.offset.store", "false")
                .set("session.timeout.ms", "6000")
                .set("heartbeat.interval.ms", "500")
                .create_with_context(context)
                .expect("a consumer"),
        );
        consumer.subscribe(&["t"]).expect("subscribed");
        let mut polling = Polling::start(consumer.clone(), "test-stamps").expect("polling");
        assert!(matches!(
            next_event(&mut events, "assigned").await,
            Rebalanced::Assigned(_)
        ));
        let (offset, at) = next_record(&mut polling.records).await;
        let begun = offsets.lock().begin_polled("t", 0, offset, at);
        assert!(begun.is_some(), "a record of the current assignment");
        // The other four wait in the channel while the partition is revoked and assigned again.
        tokio::time::timeout(WAIT, async {
            while polling.records.len() < 4 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("the rest polled");
        consumer.unsubscribe();
        assert!(matches!(
            next_event(&mut events, "revoked").await,
            Rebalanced::Revoked(_)
        ));
        consumer.subscribe(&["t"]).expect("subscribed again");
        assert!(matches!(
            next_event(&mut events, "assigned again").await,
            Rebalanced::Assigned(_)
        ));
        let mut stale = Vec::new();
        for _ in 0..4 {
            let (offset, at) = next_record(&mut polling.records).await;
            assert!(offsets.lock().begin_polled("t", 0, offset, at).is_none());
            stale.push(offset);
        }
        assert_eq!(stale, [1, 2, 3, 4], "polled before the revoke");
        // Nothing was committed: the partition is read again from its start, and each record
        // of the new assignment is begun.
        for expected in 0..5 {
            let (offset, at) = next_record(&mut polling.records).await;
            assert_eq!(offset, expected);
            assert!(offsets.lock().begin_polled("t", 0, offset, at).is_some());
        }
        drop(consumer);
        polling.close(Duration::from_secs(5)).await;
    }
}
