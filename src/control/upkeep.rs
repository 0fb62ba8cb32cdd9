//! The silences' upkeep in the control topic: at start, once the topic is read up to its end, the
//! silences of the old silences topic (`kafka.silences_topic`, where silences were kept before)
//! are carried in once; then, every hour, the records of silences ended more than
//! [`ENDED_KEPT`] ago are cleared.
//!
//! The takeover is idempotent: a silence the control topic already holds is not carried (what the
//! control topic says of it is newer), a carried record is the old one as it was (who made it and
//! when: instances starting together write the same record), and a `takeover/<old topic>` record
//! written at the end says that the old topic is not to be read again. Silences ended long ago
//! are not carried, as they would be cleared at once.
//!
//! It is bounded: while no broker can be reached it waits (as the control topic's reader does),
//! but an old topic that cannot be read (not authorised, no leader, a read that stalls) or a
//! control record that cannot be written is tried [`TAKEOVER_ATTEMPTS`] times, then logged as an
//! error, and the instance becomes ready without it; the next start tries again.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use super::record::VERSION;
use super::{Change, Control, ControlError, ControlRecord};
use crate::config::KafkaSettings;
use crate::kafka::InternalKey;
use crate::kafka::assigned::{self, REQUEST_TIMEOUT, TICK};
use crate::silence::Silence;

/// How long an ended silence stays listed (as expired) before its record is cleared; as
/// Alertmanager keeps expired silences by default.
pub(crate) const ENDED_KEPT: TimeDelta = TimeDelta::days(5);

/// How often ended silences are looked for.
const SWEEP_EVERY: Duration = Duration::from_secs(3600);

/// How many times a takeover that fails with the brokers reachable is tried at start before the
/// instance goes on without it (the next start tries again).
pub(crate) const TAKEOVER_ATTEMPTS: u32 = 4;

/// How long the old topic's reading waits for its next record before it counts as stalled.
const STALL: Duration = Duration::from_secs(10);

/// Once `control` has read its topic up to its end: takes `old_topic` over, then says the
/// instance ready and clears ended silences every hour until `shutdown`.
pub(crate) async fn run(
    control: Arc<Control>,
    settings: KafkaSettings,
    brokers: String,
    old_topic: String,
    shutdown: CancellationToken,
) {
    while !control.caught_up() {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(TICK) => {}
        }
    }
    control.taking_over.store(true, Ordering::Release);
    let taken = tokio::select! {
        () = shutdown.cancelled() => return,
        taken = takeover(&control, &settings, &brokers, &old_topic) => taken,
    };
    control.taking_over.store(false, Ordering::Release);
    // Not fatal: the fleet goes on with the silences of the control topic; the next start tries
    // again, as nothing says it was taken over.
    if let Err(error) = taken {
        error!(message = "The old silences topic cannot be taken over: its silences are not applied; the next start tries again.", topic = %old_topic, reason = %error, attempts = TAKEOVER_ATTEMPTS);
    }
    control.ready.store(true, Ordering::Release);
    loop {
        sweep(&control).await;
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(SWEEP_EVERY) => {}
        }
    }
}

/// Tries [`take_over`] until it succeeds: while no broker can be reached, again every second
/// (as the control topic's reader waits); on any other failure (the old topic not readable, a
/// write refused or timed out) at most [`TAKEOVER_ATTEMPTS`] times, waiting twice as long each
/// time. The last error when it gives up.
async fn takeover(
    control: &Control,
    settings: &KafkaSettings,
    brokers: &str,
    old_topic: &str,
) -> Result<(), ControlError> {
    let (mut failures, mut outages) = (0, 0_u64);
    let mut wait = Duration::from_secs(1);
    loop {
        let error = match take_over(control, settings, brokers, old_topic).await {
            Ok(()) => return Ok(()),
            Err(error) => error,
        };
        if error.is_outage() {
            outages += 1;
            if outages.is_power_of_two() {
                warn!(message = "Kafka cannot be reached yet; the old silences topic is taken over once it can.", topic = %old_topic, %error, failures = outages);
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        failures += 1;
        if failures >= TAKEOVER_ATTEMPTS {
            return Err(error);
        }
        warn!(message = "Taking the old silences topic over failed; trying again.", topic = %old_topic, %error, attempt = failures, of = TAKEOVER_ATTEMPTS);
        tokio::time::sleep(wait).await;
        wait *= 2;
    }
}

/// Carries the silences of `old_topic` that the control topic does not hold into it, then
/// records that it was taken over; nothing when that was done before, or the topic does not exist
/// or is empty.
async fn take_over(
    control: &Control,
    settings: &KafkaSettings,
    brokers: &str,
    old_topic: &str,
) -> Result<(), ControlError> {
    if control.state().taken_over(old_topic) {
        return Ok(());
    }
    let (settings, brokers, topic, key) = (
        settings.clone(),
        brokers.to_owned(),
        old_topic.to_owned(),
        control.key.clone(),
    );
    let read = tokio::task::spawn_blocking(move || read_old(&settings, &brokers, &topic, &key))
        .await
        .expect("the old silences topic's reading task")?;
    let Some(silences) = read else {
        info!(message = "No old silences topic to take over (none, or empty).", topic = %old_topic);
        return Ok(());
    };
    let now = Utc::now();
    let (mut carried, mut held) = (0, 0);
    for silence in silences.into_values() {
        if ended_long_ago(&silence, now) {
            continue;
        }
        if control.state().has_silence(&silence.id) {
            held += 1;
            continue;
        }
        control.write_record(&carry(silence)).await?;
        carried += 1;
    }
    let takeover = Change::Takeover {
        id: old_topic.to_owned(),
    };
    control.write(takeover, control.instance()).await?;
    info!(message = "Silences of the old silences topic carried into the control topic; the old topic is not read again and can be deleted.", from = %old_topic, to = %control.topic(), carried, already_held = held);
    Ok(())
}

/// Whether `silence` ended more than [`ENDED_KEPT`] before `now`: its record is cleared (or not
/// carried).
pub(crate) fn ended_long_ago(silence: &Silence, now: DateTime<Utc>) -> bool {
    silence.ends_at + ENDED_KEPT <= now
}

/// The control record of a silence of the old topic: made by whom and when it says.
pub(crate) fn carry(silence: Silence) -> ControlRecord {
    ControlRecord {
        v: VERSION,
        by: silence.created_by.clone(),
        at: silence.updated_at,
        change: Change::Silence(silence),
    }
}

/// The silences `topic` holds, latest record per id, read up to where it ends now (records not
/// authenticated under `key`, or not a valid silence, are logged and skipped); `None` when the
/// topic does not exist or holds nothing. Blocking.
fn read_old(
    settings: &KafkaSettings,
    brokers: &str,
    topic: &str,
    key: &InternalKey,
) -> Result<Option<BTreeMap<String, Silence>>, ControlError> {
    let failed = |error| ControlError::Read {
        topic: topic.to_owned(),
        error,
    };
    let consumer: BaseConsumer = assigned::reader_config(settings, brokers, "silences-takeover")
        .create()
        .map_err(failed)?;
    let partitions = assigned::watermarks(&consumer, topic, REQUEST_TIMEOUT).map_err(failed)?;
    if partitions.is_empty() {
        return Ok(None);
    }
    let mut assignment = TopicPartitionList::new();
    let mut ends = HashMap::new();
    for (partition, low, high) in partitions {
        assignment
            .add_partition_offset(topic, partition, Offset::Beginning)
            .map_err(failed)?;
        if high > low {
            ends.insert(partition, high);
        }
    }
    if ends.is_empty() {
        return Ok(None);
    }
    consumer.assign(&assignment).map_err(failed)?;
    let mut silences = BTreeMap::new();
    let mut stalled_since = Instant::now();
    loop {
        // Read up to where each partition ended at start: by the consumer's position, which
        // passes what is no message (a transaction marker, records compacted away) as well.
        if let Ok(positions) = consumer.position() {
            ends.retain(|partition, end| {
                !matches!(positions.find_partition(topic, *partition).map(|p| p.offset()), Some(Offset::Offset(at)) if at >= *end)
            });
        }
        if ends.is_empty() {
            return Ok(Some(silences));
        }
        let message = match consumer.poll(TICK) {
            Some(Ok(message)) => message,
            Some(Err(error)) => return Err(failed(error)),
            None if stalled_since.elapsed() < STALL => continue,
            None => {
                let stalled = KafkaError::MessageConsumption(RDKafkaErrorCode::OperationTimedOut);
                return Err(failed(stalled));
            }
        };
        stalled_since = Instant::now();
        let (partition, offset) = (message.partition(), message.offset());
        if ends.get(&partition).is_some_and(|end| offset + 1 >= *end) {
            ends.remove(&partition);
        }
        let headers = assigned::headers(&message);
        let id = String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned();
        let read = key
            .verify(topic, message.key(), message.payload(), &headers)
            .map_err(|why| why.to_string())
            .and_then(|()| old_record(&id, message.payload()));
        match read {
            Ok(Some(silence)) => {
                silences.insert(id, silence);
            }
            Ok(None) => {
                silences.remove(&id);
            }
            Err(why) => {
                warn!(
                    message = "Silence record of the old silences topic skipped: not valid.",
                    topic, partition, offset, id, why
                );
            }
        }
    }
}

/// A record of the old topic: the silence keyed `id`, or none (a tombstone).
fn old_record(id: &str, value: Option<&[u8]>) -> Result<Option<Silence>, String> {
    let Some(value) = value else {
        return Ok(None);
    };
    let silence: Silence = serde_json::from_slice(value).map_err(|e| e.to_string())?;
    silence.compile().map_err(|e| e.to_string())?;
    if silence.id != id || id.is_empty() {
        return Err(format!("the key {id:?} is not the silence's id"));
    }
    Ok(Some(silence))
}

/// Clears the records of the silences that ended more than [`ENDED_KEPT`] ago.
async fn sweep(control: &Control) {
    let ended = control.state().silences_ended(Utc::now());
    for id in ended {
        match control.clear("silence", &id).await {
            Ok(_) => info!(
                message = "Silence ended long ago cleared from the control topic.",
                id
            ),
            Err(error) => {
                warn!(message = "An ended silence could not be cleared; tried again in an hour.", id, %error);
            }
        }
    }
}
