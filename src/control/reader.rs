//! Reading the control topic: created when missing (compacted), then read by every instance from
//! its start with partitions assigned (no consumer group), each record checked and applied as it
//! arrives; caught up once the offsets it ended at on start are read.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::{Control, ControlError, record};
use crate::config::KafkaSettings;
use crate::kafka::assigned::{REQUEST_TIMEOUT, ReadEnd, ReaderContext, TICK};

/// The control topic's consumer.
type Reader = StreamConsumer<ReaderContext>;
use crate::kafka::{self, KafkaHealth, assigned};

/// How often an unreachable Kafka is tried again.
const RETRY_EVERY: Duration = Duration::from_secs(1);

/// Creates `topic` compacted, with one partition (and the brokers' replication), unless it
/// exists; with `retention_ms`, records older than that are deleted too. A clear error when it
/// cannot.
pub(crate) async fn ensure_topic(
    settings: &KafkaSettings,
    brokers: &str,
    topic: &str,
    retention_ms: Option<u64>,
    health: Option<Arc<KafkaHealth>>,
) -> Result<(), ControlError> {
    let create = |reason: String| ControlError::Create {
        topic: topic.to_owned(),
        reason,
    };
    let mut config = kafka::producer_config(settings, brokers);
    config.set("allow.auto.create.topics", "false");
    if health.is_some() {
        config = assigned::with_statistics(config);
    }
    // Its errors are logged as the readers' are: a refused certificate explained, and with
    // `health` an outage said (as the control reader's, whose name it shares), as this is the
    // first client to reach the brokers.
    let context = ReaderContext::new(health.clone(), "control");
    let admin: Arc<AdminClient<ReaderContext>> = Arc::new(
        config
            .create_with_context(context)
            .map_err(|e| create(e.to_string()))?,
    );
    let (asked, name) = (admin.clone(), topic.to_owned());
    let found = tokio::task::spawn_blocking(move || exists(&asked, &name))
        .await
        // Cancelled when the runtime shuts down before the lookup ran (or it panicked).
        .map_err(|e| create(format!("the topic lookup did not finish: {e}")))?;
    // The admin client's own errors are not served (its polling thread takes only admin
    // results): whether the brokers answered is told from the lookup.
    if let Some(health) = &health {
        match &found {
            Ok(_) => health.answered("control"),
            Err(ControlError::Read { error, .. }) if !answered(error) => {
                health.unanswered("control");
            }
            Err(_) => {}
        }
    }
    if found? {
        return Ok(());
    }
    let retention = retention_ms.map(|ms| ms.to_string());
    let mut new =
        NewTopic::new(topic, 1, TopicReplication::Fixed(-1)).set("cleanup.policy", "compact");
    if let Some(retention) = &retention {
        new = new
            .set("cleanup.policy", "compact,delete")
            .set("retention.ms", retention);
    }
    let options = AdminOptions::new()
        .operation_timeout(Some(REQUEST_TIMEOUT))
        .request_timeout(Some(REQUEST_TIMEOUT));
    let results = admin
        .create_topics([&new], &options)
        .await
        .map_err(|e| create(e.to_string()))?;
    for result in results {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((_, code)) => return Err(create(code.to_string())),
        }
    }
    info!(message = "Created the compacted topic.", topic);
    Ok(())
}

/// Whether a failed metadata request got an answer from a broker (a topic's error), rather than
/// none (timed out, no connection).
fn answered(error: &KafkaError) -> bool {
    !matches!(
        error.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::OperationTimedOut
                | RDKafkaErrorCode::BrokerTransportFailure
                | RDKafkaErrorCode::AllBrokersDown
        )
    )
}

/// Whether `topic` exists, by the brokers' metadata.
fn exists(admin: &AdminClient<ReaderContext>, topic: &str) -> Result<bool, ControlError> {
    let metadata = admin
        .inner()
        .fetch_metadata(Some(topic), REQUEST_TIMEOUT)
        .map_err(|error| ControlError::Read {
            topic: topic.to_owned(),
            error,
        })?;
    let mut found = false;
    for t in metadata.topics().iter().filter(|t| t.name() == topic) {
        // Not authorised, or without a leader: not to be created, but tried again.
        if let Some(code) = assigned::topic_error(t.error()) {
            return Err(ControlError::Read {
                topic: topic.to_owned(),
                error: KafkaError::MetadataFetch(code),
            });
        }
        found |= t.error().is_none() && !t.partitions().is_empty();
    }
    Ok(found)
}

/// Runs `attempt` until it succeeds, again every second while the brokers cannot be reached or
/// the topic not read (a [`ControlError::Read`]: logged once, then ever more rarely); any other
/// error ends it.
/// `None` when `shutdown` came first.
pub(crate) async fn retrying<T, F: std::future::Future<Output = Result<T, ControlError>>>(
    what: &str,
    shutdown: &CancellationToken,
    mut attempt: impl FnMut() -> F,
) -> Result<Option<T>, ControlError> {
    let mut failures: u64 = 0;
    loop {
        match attempt().await {
            Ok(done) => return Ok(Some(done)),
            Err(ControlError::Read { topic, error }) => {
                failures += 1;
                if failures.is_power_of_two() {
                    if assigned::is_outage(&error) {
                        warn!(message = "Kafka cannot be reached yet; retrying.", what, topic = %topic, %error, failures);
                    } else {
                        warn!(message = "The topic cannot be read yet; retrying.", what, topic = %topic, %error, failures);
                    }
                }
            }
            Err(other) => return Err(other),
        }
        tokio::select! {
            () = shutdown.cancelled() => return Ok(None),
            () = tokio::time::sleep(RETRY_EVERY) => {}
        }
    }
}

/// Creates the control topic when missing, then reads it from its start until `shutdown`,
/// applying each valid record to `control`. Waits for the brokers while they cannot be reached;
/// after an outage, starts over with a new client (see [`kafka::assigned`]).
pub(crate) async fn run(
    control: Arc<Control>,
    settings: &KafkaSettings,
    brokers: &str,
    shutdown: CancellationToken,
) -> Result<(), ControlError> {
    let topic = control.topic.clone();
    let mut started = false;
    loop {
        let ensured = retrying("the control topic", &shutdown, || {
            ensure_topic(settings, brokers, &topic, None, control.health())
        })
        .await;
        let ensured = match ensured {
            Ok(ensured) => ensured,
            // At start a topic that cannot be created stops the router; once running, a broker
            // back without it is waited for.
            Err(error) if started => {
                warn!(message = "The control topic cannot be created again yet; retrying.", topic = %topic, %error);
                tokio::select! {
                    () = shutdown.cancelled() => return Ok(()),
                    () = tokio::time::sleep(RETRY_EVERY * 5) => continue,
                }
            }
            Err(error) => return Err(error),
        };
        if ensured.is_none() {
            return Ok(());
        }
        let assigned = retrying("the control topic", &shutdown, || {
            let (control, settings, brokers) =
                (control.clone(), settings.clone(), brokers.to_owned());
            async move {
                tokio::task::spawn_blocking(move || assign(&control, &settings, &brokers))
                    .await
                    .expect("the control topic's assignment task")
            }
        })
        .await?;
        let Some((consumer, ends)) = assigned else {
            return Ok(());
        };
        started = true;
        if follow(&control, consumer, &ends, &shutdown).await == ReadEnd::Shutdown {
            return Ok(());
        }
        info!(message = "No Kafka broker answers: the control topic is read on once one does.", topic = %topic);
    }
}

/// Applies what `consumer` reads until shutdown or an outage (the consumer is then closed).
async fn follow(
    control: &Control,
    consumer: Reader,
    ends: &HashMap<i32, i64>,
    shutdown: &CancellationToken,
) -> ReadEnd {
    let topic = &control.topic;
    let mut failures: u64 = 0;
    loop {
        if !control.caught_up() && caught_up(control, ends) {
            control.caught_up.store(true, Ordering::Release);
            info!(message = "Control topic read up to its end: runtime changes in effect.", topic = %topic, changes = control.state().records().count());
        }
        let message = tokio::select! {
            () = shutdown.cancelled() => return ReadEnd::Shutdown,
            received = tokio::time::timeout(TICK, consumer.recv()) => match received {
                Err(_) => continue,
                Ok(Err(error)) if assigned::is_outage(&error) => {
                    assigned::close_in_background(consumer);
                    return ReadEnd::Outage;
                }
                Ok(Err(error)) => {
                    failures += 1;
                    // Once, then ever more rarely while it lasts (librdkafka reconnects by itself).
                    if failures.is_power_of_two() {
                        warn!(message = "Reading the control topic failed; retrying.", topic = %topic, %error, failures);
                    }
                    tokio::time::sleep(TICK).await;
                    continue;
                }
                Ok(Ok(message)) => message,
            },
        };
        let headers = assigned::headers(&message);
        let (partition, offset) = (message.partition(), message.offset());
        match record::decode(
            &control.key,
            topic,
            message.key(),
            message.payload(),
            &headers,
        ) {
            Ok(read) => control.apply(read, partition, offset).await,
            Err(invalid) => {
                warn!(message = "Control record skipped: not valid.", topic = %topic, partition, offset, reason = %invalid);
                control.mark_applied(partition, offset);
            }
        }
    }
}

/// A consumer of every partition of the control topic from its start, and where each
/// partition ended (the partitions with records).
fn assign(
    control: &Control,
    settings: &KafkaSettings,
    brokers: &str,
) -> Result<(Reader, HashMap<i32, i64>), ControlError> {
    let topic = control.topic.clone();
    let failed = |error| ControlError::Read {
        topic: topic.clone(),
        error,
    };
    let mut config = assigned::reader_config(settings, brokers, "control-reader");
    let health = control.health();
    if health.is_some() {
        config = assigned::with_statistics(config);
    }
    // It reports the brokers' reachability: at start it is the only client reading.
    let consumer: Reader = config
        .create_with_context(ReaderContext::new(health, "control"))
        .map_err(failed)?;
    let partitions = assigned::watermarks(&consumer, &topic, REQUEST_TIMEOUT).map_err(failed)?;
    // Just created, or not yet in the metadata the broker answers with: no partition to read is
    // not caught up but not read yet (tried again).
    if partitions.is_empty() {
        return Err(failed(KafkaError::MetadataFetch(
            RDKafkaErrorCode::UnknownTopicOrPartition,
        )));
    }
    let mut assignment = TopicPartitionList::new();
    let mut ends = HashMap::new();
    let applied = control.applied.borrow().clone();
    let mut positions = HashMap::new();
    for &(partition, low, high) in &partitions {
        // After an outage, where this instance stopped, when the partition still holds it; from
        // its start when it does not (a broker back without its data: offsets started over), so
        // that records already applied are not applied again in their old order.
        let next = applied
            .get(&partition)
            .copied()
            .filter(|next| (low..=high).contains(next));
        assignment
            .add_partition_offset(
                &topic,
                partition,
                next.map_or(Offset::Beginning, Offset::Offset),
            )
            .map_err(failed)?;
        if high > next.unwrap_or(low) {
            ends.insert(partition, high);
        }
        positions.insert(partition, next.unwrap_or(low));
    }
    control.applied.send_replace(positions);
    consumer.assign(&assignment).map_err(failed)?;
    info!(message = "Reading the control topic.", topic = %topic, partitions = partitions.len(), records = ends.values().sum::<i64>());
    Ok((consumer, ends))
}

/// Whether every partition has been read up to where it ended at start.
fn caught_up(control: &Control, ends: &HashMap<i32, i64>) -> bool {
    let applied = control.applied.borrow();
    ends.iter()
        .all(|(partition, end)| applied.get(partition).is_some_and(|next| next >= end))
}
