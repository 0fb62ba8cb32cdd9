//! The sources' consumer: the consume loop, back-pressure, the offset watermark and rebalances.
//!
//! The guarantee is at least once: a record's offset is stored for commit only when it and every
//! earlier record of its partition are settled (delivered, or written to the retry or
//! dead-letter topic). It stops holding where Kafka's own does: a record deleted by retention
//! before it is read, or a dead-letter topic that accepts a write and then loses it.
//!
//! - [`run`] (this file): reads the enabled sources' topics, starts a task per record, follows
//!   the subscription as reloads change it.
//! - `polling`: the thread that polls the consumer, and its commit and close on stop.
//! - `backpressure`: how many records may be in flight, in all and per partition.
//! - `offsets`: the per-partition watermark of settled records.
//! - `rebalance`: on revoke, drain (bounded) and commit; commit and store helpers.
//! - `own_topic`: starting the consumer of one of the router's own topics (retry, digest).

mod backpressure;
mod offsets;
pub(crate) mod own_topic;
mod polling;
mod rebalance;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use rdkafka::consumer::Consumer;
use rdkafka::message::OwnedMessage;
use rdkafka::{Message, Offset, TopicPartitionList};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, error, info, warn};

use crate::config::Config;
use crate::dispatch::Deliverer;
use crate::kafka::{self, KafkaHealth};
use crate::process::RecordProcessor;
use crate::reload::Live;
use crate::telemetry::metrics::{self, PartitionLabels};

pub(crate) use backpressure::{Backpressure, Partition, Waiting};
#[cfg(test)]
pub(crate) use offsets::OffsetTracker;
pub(crate) use offsets::{Offsets, Ticket};
pub(crate) use polling::{KafkaConsumer, Polled, Polling};
pub(crate) use rebalance::{RebalanceContext, Rebalanced, store};

/// Why a consumer (the sources' or the retry topic's) could not start.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StartError {
    #[error("cannot create the {0} consumer: {1}")]
    Create(&'static str, #[source] rdkafka::error::KafkaError),
    #[error("cannot subscribe to {0}: {1}")]
    Subscribe(&'static str, #[source] rdkafka::error::KafkaError),
    #[error("cannot start the {0} polling thread: {1}")]
    Polling(&'static str, #[source] std::io::Error),
}

/// How long shutdown waits for the final commit and the consumer's close after the drain. Both
/// wait for the group coordinator, and without a broker they would never end (README,
/// "Stop without a broker").
pub(crate) const CLOSE_TIMEOUT: Duration = Duration::from_secs(3);

/// Consumes the enabled sources' topics until shutdown, following the subscription as reloads
/// change it ([`subscription`]). Back-pressure pauses fetching from busy partitions (or all of
/// them) while the consumer keeps being polled, on a thread of its own ([`Polling`]).
pub(crate) async fn run(
    live: &Live,
    brokers: &str,
    deliverer: Arc<Deliverer>,
    shutdown: CancellationToken,
    consuming: Arc<AtomicBool>,
    health: Arc<KafkaHealth>,
) -> Result<(), StartError> {
    let mut changes = live.subscribe();
    let config = changes.borrow_and_update().clone();
    let kafka = &config.router.kafka;
    let processor = Arc::new(RecordProcessor::new(&config, deliverer));
    let offsets = Arc::new(Offsets::default());
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let context = RebalanceContext {
        events: Some(events_tx),
        ..RebalanceContext::new(offsets.clone(), kafka.drain_timeout, health, "sources")
    };
    let consumer: Arc<KafkaConsumer> = Arc::new(
        kafka::consumer_config(kafka, brokers)
            .create_with_context(context)
            .map_err(|e| StartError::Create("sources'", e))?,
    );
    let mut subscribed = BTreeSet::new();
    resubscribe(consumer.as_ref(), &mut subscribed, &config)
        .map_err(|e| StartError::Subscribe("the sources' Kafka topics", e))?;
    if subscribed.is_empty() {
        warn!(message = "No source is enabled: nothing to consume until one is. Turn one on with `notification-router sources enable ID`.", config = %config.path.display());
    } else {
        info!(message = "Consuming.", topics = ?subscribed, group_id = %kafka.group_id, brokers);
    }
    let mut polling = Polling::start(consumer.clone(), "kafka-sources")
        .map_err(|e| StartError::Polling("sources'", e))?;
    consuming.store(true, Ordering::Release);
    tokio::spawn(report_lag(consumer.clone(), shutdown.clone()));

    let mut pressure = Backpressure::new(kafka.max_in_flight, kafka.max_in_flight_per_partition);
    let (finished_tx, mut finished) = mpsc::unbounded_channel::<Partition>();
    let records = Records {
        processor,
        offsets: offsets.clone(),
        consumer: Arc::downgrade(&consumer),
        shutdown: shutdown.clone(),
        finished: finished_tx,
        tasks: TaskTracker::new(),
    };
    // A record with no room (its partition's limit or the total reached) waits, and the loop
    // takes no more for up to FULL_GRACE before pausing (see `Waiting`).
    let mut waiting = Waiting::new(FULL_GRACE);
    loop {
        while let Some((partition, message)) = waiting.next_admitted(&pressure) {
            records.start(partition, message, &mut pressure);
        }
        if let Some(partition) = waiting.overdue(&pressure, Instant::now()) {
            pause(consumer.as_ref(), &pressure.pause_for(&partition), true);
            continue;
        }
        let deadline = waiting.deadline(&pressure);
        let polled = tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            Some(event) = events.recv() => {
                match event {
                    Rebalanced::Assigned(partitions) => {
                        pause(consumer.as_ref(), &pressure.assigned(&partitions), true);
                    }
                    Rebalanced::Revoked(partitions) => {
                        waiting.revoked(&partitions);
                        pressure.revoked(&partitions);
                    }
                }
                continue;
            }
            Some(partition) = finished.recv() => {
                pause(consumer.as_ref(), &pressure.finished(&partition), false);
                continue;
            }
            Ok(()) = changes.changed() => {
                let config = changes.borrow_and_update().clone();
                let before = subscribed.clone();
                match resubscribe(consumer.as_ref(), &mut subscribed, &config) {
                    Ok(()) if before != subscribed => {
                        info!(message = "Subscription changed.", topics = ?subscribed, before = ?before);
                    }
                    Ok(()) => {}
                    Err(error) => error!(message = "Cannot change the subscription to the sources' Kafka topics; the previous one stays.", %error),
                }
                continue;
            }
            () = sleep_until(deadline), if deadline.is_some() => continue,
            polled = polling.records.recv(), if deadline.is_none() => polled,
        };
        match polled {
            Some(Polled::Record(message, _)) => {
                let partition = (message.topic().to_owned(), message.partition());
                waiting.push(partition, Instant::now(), message);
            }
            Some(Polled::End(..)) => {}
            None => {
                error!(message = "The sources' polling thread stopped; shutting down.");
                shutdown.cancel();
                break;
            }
        }
    }

    let tasks = records.tasks.clone();
    drop(records);
    info!(message = "Shutting down: draining in-flight records.", in_flight = tasks.len(), waiting = waiting.len(), timeout = ?kafka.drain_timeout);
    tasks.close();
    if tokio::time::timeout(kafka.drain_timeout, tasks.wait())
        .await
        .is_err()
    {
        warn!(
            message = "Drain timed out; unfinished records will be redelivered after restart.",
            in_flight = tasks.len()
        );
    }
    // What is still in flight must not hold the close's revoke callback; the polling thread
    // closes the consumer once it holds the only reference.
    offsets.lock().clear();
    drop(consumer);
    polling.close(CLOSE_TIMEOUT).await;
    info!(message = "Stopped.");
    Ok(())
}

/// What a record task needs: it processes the record, then moves the committable offset and
/// reports its partition finished.
struct Records {
    processor: Arc<RecordProcessor>,
    offsets: Arc<Offsets>,
    /// Weak: a record still in flight after the drain must not keep the consumer from closing
    /// (and leaving its group); its offset is then not stored, and it is read again.
    consumer: Weak<KafkaConsumer>,
    shutdown: CancellationToken,
    finished: mpsc::UnboundedSender<Partition>,
    tasks: TaskTracker,
}

impl Records {
    /// Starts a task for `message` of `partition`, counted in `pressure` until it finishes.
    fn start(&self, partition: Partition, message: OwnedMessage, pressure: &mut Backpressure) {
        pressure.started(&partition);
        let ticket = self
            .offsets
            .lock()
            .begin(&partition.0, partition.1, message.offset());
        let (processor, offsets, consumer, shutdown, finished) = (
            self.processor.clone(),
            self.offsets.clone(),
            self.consumer.clone(),
            self.shutdown.clone(),
            self.finished.clone(),
        );
        self.tasks.spawn(async move {
            if processor.process(&message, &shutdown).await {
                offsets.finish(&ticket, |position| {
                    if let Some(consumer) = consumer.upgrade() {
                        store(consumer.as_ref(), &ticket, position);
                    }
                });
            }
            let _ = finished.send(partition);
        });
    }
}

/// The topics to consume under `config`: the enabled sources', and those already consumed whose
/// source is still configured (a source disabled while running stays subscribed, so its records
/// are dropped and committed rather than delivered when it is enabled again).
fn subscription(config: &Config, subscribed: &BTreeSet<String>) -> BTreeSet<String> {
    let configured: BTreeSet<&str> = config
        .table
        .sources()
        .iter()
        .flat_map(|s| s.kafka_topics.iter().map(String::as_str))
        .collect();
    config
        .table
        .enabled_kafka_topics()
        .into_iter()
        .chain(
            subscribed
                .iter()
                .map(String::as_str)
                .filter(|t| configured.contains(t)),
        )
        .map(str::to_owned)
        .collect()
}

/// Subscribes to [`subscription`] when it differs from `subscribed`.
fn resubscribe<C: Consumer<X>, X: rdkafka::consumer::ConsumerContext>(
    consumer: &C,
    subscribed: &mut BTreeSet<String>,
    config: &Config,
) -> rdkafka::error::KafkaResult<()> {
    let wanted = subscription(config, subscribed);
    if wanted == *subscribed {
        return Ok(());
    }
    if wanted.is_empty() {
        consumer.unsubscribe();
    } else {
        let topics: Vec<&str> = wanted.iter().map(String::as_str).collect();
        consumer.subscribe(&topics)?;
    }
    *subscribed = wanted;
    Ok(())
}

/// Sleeps until `deadline`, or not at all without one.
async fn sleep_until(deadline: Option<Instant>) {
    if let Some(deadline) = deadline {
        tokio::time::sleep_until(deadline.into()).await;
    }
}

/// How long the consume loop holds a record with no room for it (its partition's in-flight
/// limit or the total reached) before it pauses that partition, or every one.
const FULL_GRACE: Duration = Duration::from_millis(250);

/// How often consumer lag is measured for `/metrics`.
const LAG_INTERVAL: Duration = Duration::from_secs(15);

/// Measures the lag of each assigned partition (its end minus the committed offset) for
/// `/metrics`, every [`LAG_INTERVAL`], until shutdown. The calls block on the broker, so they
/// run off the async workers.
async fn report_lag(consumer: Arc<KafkaConsumer>, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(LAG_INTERVAL) => {}
        }
        let consumer = consumer.clone();
        let Ok(lags) = tokio::task::spawn_blocking(move || measure_lag(&consumer)).await else {
            continue;
        };
        for (topic, partition, lag) in lags {
            let labels = PartitionLabels {
                topic,
                partition: partition.to_string(),
            };
            metrics::global()
                .consumer_lag
                .get_or_create(&labels)
                .set(lag);
        }
    }
}

fn measure_lag(consumer: &KafkaConsumer) -> Vec<(String, i32, i64)> {
    let timeout = Duration::from_secs(5);
    let Ok(assignment) = consumer.assignment() else {
        return Vec::new();
    };
    let committed = consumer
        .committed_offsets(assignment.clone(), timeout)
        .unwrap_or(assignment);
    committed
        .elements()
        .iter()
        .filter_map(|element| {
            let (low, high) = consumer
                .fetch_watermarks(element.topic(), element.partition(), timeout)
                .ok()?;
            let position = match element.offset() {
                Offset::Offset(offset) => offset,
                _ => low,
            };
            Some((
                element.topic().to_owned(),
                element.partition(),
                (high - position).max(0),
            ))
        })
        .collect()
}

/// Pauses (or resumes) fetching from `partitions`; polling goes on either way.
fn pause<C: Consumer<X>, X: rdkafka::consumer::ConsumerContext>(
    consumer: &C,
    partitions: &[(String, i32)],
    pause: bool,
) {
    if partitions.is_empty() {
        return;
    }
    let mut list = TopicPartitionList::new();
    for (topic, partition) in partitions {
        let _ = list.add_partition_offset(topic, *partition, Offset::Invalid);
    }
    let result = if pause {
        debug!(message = "Back-pressure: pausing partitions.", partitions = ?partitions);
        consumer.pause(&list)
    } else {
        debug!(message = "Back-pressure released: resuming partitions.", partitions = ?partitions);
        consumer.resume(&list)
    };
    if let Err(error) = result {
        debug!(message = "Cannot pause or resume partitions.", %error);
    }
}
