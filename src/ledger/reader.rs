//! Materialising the ledger: every instance reads every partition of the topic (assigned, no
//! consumer group) from where its store left off — from the start for a new or deleted store —
//! and applies the records in batches; entries older than the retention are pruned hourly.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use super::record;
use super::store::Store;
use crate::config::KafkaSettings;
use crate::control;
use crate::kafka::InternalKey;
use crate::kafka::assigned::{self, ReadEnd};

/// The most records applied in one store transaction.
const BATCH: usize = 500;

/// How long a batch waits to fill.
const BATCH_WAIT: Duration = Duration::from_millis(100);

/// How often entries past the retention are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Creates `topic` when missing (compacted, with `retention`), then reads it into `store` until
/// `shutdown`. Without a topic, the API answers from what the store has, and deliveries go on.
pub(crate) async fn run(
    store: Arc<Store>,
    settings: KafkaSettings,
    brokers: String,
    topic: String,
    key: InternalKey,
    retention: Duration,
    shutdown: CancellationToken,
) {
    let retention_ms = u64::try_from(retention.as_millis()).unwrap_or(u64::MAX);
    let mut failures: u64 = 0;
    loop {
        let ensured = control::retrying("the ledger topic", &shutdown, || {
            control::ensure_topic(&settings, &brokers, &topic, Some(retention_ms), None)
        })
        .await;
        match ensured {
            Ok(Some(())) => {}
            Ok(None) => return,
            Err(why) => {
                error!(message = "The ledger topic cannot be used: deliveries go on, their history is not kept.", topic = %topic, error = %why);
                return;
            }
        }
        match read(
            &store, &settings, &brokers, &topic, &key, retention, &shutdown,
        )
        .await
        {
            Ok(ReadEnd::Shutdown) => return,
            Ok(ReadEnd::Outage) => {
                info!(message = "No Kafka broker answers: the ledger is read again from where the store stands once one does.", topic = %topic);
            }
            Err(why) => {
                // A broker slow to come back, or the store: tried again, said once in a while.
                failures += 1;
                if failures.is_power_of_two() {
                    warn!(message = "The ledger cannot be read yet; the delivery API answers from what the store has meanwhile. Retrying.", topic = %topic, error = %why, failures);
                }
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(Duration::from_secs(5)) => {}
                }
            }
        }
    }
}

/// Reads `topic` into `store` from where the store stands until shutdown or an outage (the
/// consumer is then closed).
async fn read(
    store: &Arc<Store>,
    settings: &KafkaSettings,
    brokers: &str,
    topic: &str,
    key: &InternalKey,
    retention: Duration,
    shutdown: &CancellationToken,
) -> Result<ReadEnd, String> {
    let config = assigned::reader_config(settings, brokers, "ledger-reader");
    let consumer: Arc<StreamConsumer> = Arc::new(config.create().map_err(|e| e.to_string())?);
    let (asking, name) = (consumer.clone(), topic.to_owned());
    let metadata = tokio::task::spawn_blocking(move || {
        asking.fetch_metadata(Some(&name), Duration::from_secs(10))
    })
    .await
    .map_err(|e| format!("the ledger topic's lookup did not finish: {e}"))?
    .map_err(|e| e.to_string())?;
    let consumer = Arc::into_inner(consumer).expect("the lookup task has ended");
    let stored = store.offsets().map_err(|e| e.to_string())?;
    let mut assignment = TopicPartitionList::new();
    for partition in metadata
        .topics()
        .iter()
        .filter(|t| t.name() == topic)
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
    {
        let from = stored
            .iter()
            .find(|(p, _)| *p == partition)
            .map_or(Offset::Beginning, |(_, next)| Offset::Offset(*next));
        assignment
            .add_partition_offset(topic, partition, from)
            .map_err(|e| e.to_string())?;
    }
    consumer.assign(&assignment).map_err(|e| e.to_string())?;
    let (entries, _) = store.size().unwrap_or_default();
    info!(
        message = "Reading the delivery ledger.",
        topic,
        partitions = assignment.count(),
        stored_entries = entries
    );
    let mut last_prune: Option<tokio::time::Instant> = None;
    let mut failures: u64 = 0;
    loop {
        if last_prune.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
            last_prune = Some(tokio::time::Instant::now());
            prune(store, retention);
        }
        let mut batch = Vec::new();
        let mut outage = false;
        let deadline = tokio::time::Instant::now() + BATCH_WAIT;
        while batch.len() < BATCH {
            let message = tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep_until(deadline) => break,
                received = consumer.recv() => received,
            };
            let message = match message {
                Ok(message) => message,
                Err(error) if assigned::is_outage(&error) => {
                    outage = true;
                    break;
                }
                Err(error) => {
                    failures += 1;
                    if failures.is_power_of_two() {
                        warn!(message = "Reading the ledger failed; retrying.", topic, %error, failures);
                    }
                    tokio::time::sleep(BATCH_WAIT).await;
                    break;
                }
            };
            let headers = assigned::headers(&message);
            let read = match record::decode(key, topic, message.key(), message.payload(), &headers)
            {
                Ok(read) => Some(read),
                Err(invalid) => {
                    warn!(message = "Ledger record skipped: not valid.", topic, partition = message.partition(), offset = message.offset(), reason = %invalid);
                    None
                }
            };
            batch.push((message.partition(), message.offset(), read));
        }
        if !batch.is_empty() {
            let store = store.clone();
            let applied = tokio::task::spawn_blocking(move || store.apply(batch)).await;
            match applied {
                Ok(Ok(())) => {}
                Ok(Err(why)) => warn!(message = "Ledger records not stored.", error = %why),
                Err(why) => warn!(message = "Ledger records not stored.", error = %why),
            }
        }
        if shutdown.is_cancelled() {
            persist(store).await;
            return Ok(ReadEnd::Shutdown);
        }
        if outage {
            assigned::close_in_background(consumer);
            return Ok(ReadEnd::Outage);
        }
    }
}

/// Commits durably what the last batches committed without fsync.
async fn persist(store: &Arc<Store>) {
    let store = store.clone();
    match tokio::task::spawn_blocking(move || store.persist()).await {
        Ok(Ok(())) => {}
        Ok(Err(why)) => warn!(message = "Ledger store not persisted.", error = %why),
        Err(why) => warn!(message = "Ledger store not persisted.", error = %why),
    }
}

/// Removes what is older than `retention` from the store.
fn prune(store: &Store, retention: Duration) {
    let Ok(retention) = chrono::TimeDelta::from_std(retention) else {
        return;
    };
    let before = chrono::Utc::now() - retention;
    match store.prune(before) {
        Ok(0) => {}
        Ok(pruned) => info!(
            message = "Ledger entries past the retention pruned.",
            pruned
        ),
        Err(why) => warn!(message = "Ledger entries could not be pruned.", error = %why),
    }
}
