//! Runtime control shared by every instance: the compacted control topic
//! (`kafka.control_topic`) holding the changes made while the router runs — sources turned on or
//! off over the files, destinations disabled (by an operator, or automatically after a 410 or a
//! whole retry horizon of failures) and enabled again, subscriptions paused and resumed, and the
//! silences made and expired.
//!
//! Every instance reads the whole topic from its start (assigned, never a group member), keeps
//! the latest record per key ([`ControlState`]) and applies each change as it arrives: a source
//! override puts a new configuration in effect (the files stay the baseline), a destination's
//! state reaches its lane, a pause is looked up per delivery, a silence joins this instance's
//! [`Silences`] (what deliveries, `explain` and impact previews consult). The admin API writes records
//! ([`Control::write`]) and answers once this instance has read them back, or, after
//! [`WRITE_TIMEOUT`], that they are written but not applied here yet. The router consumes nothing
//! before the topic is read up to where it ended at start ([`Control::wait_ready`]). Records are JSON with
//! a `kind`, authenticated like the retry records under `kafka.internal_key`; one that is not
//! valid is logged and skipped. At start the silences of the old silences topic are carried in
//! once ([`upkeep`]), and silences long expired are cleared.

mod reader;
pub(crate) mod record;
mod state;
#[cfg(test)]
mod tests;
pub(crate) mod upkeep;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard};
use std::time::Duration;

use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use tokio::sync::watch;
use tracing::{info, warn};

pub(crate) use reader::{ensure_topic, retrying, run};
pub(crate) use record::{Change, ControlRecord, Read};
pub(crate) use state::{Applied, ControlState};

use crate::dispatch::Deliverer;
use crate::kafka::assigned::ReaderContext;
use crate::kafka::{AUTH_HEADER, InternalKey, KafkaHealth};
use crate::reload::Live;
use crate::silence::Silences;

/// How long a write lasts at most: queued, delivered to the broker and read back by this
/// instance. The control producer's `message.timeout.ms` is no longer ([`PRODUCER_TIMEOUT_MS`]).
pub(crate) const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// The control producer's `message.timeout.ms`: a record not delivered by the end of a write is
/// not delivered later.
pub(crate) const PRODUCER_TIMEOUT_MS: &str = "9000";

/// What became of a record written: in effect on this instance, or written to the topic but not
/// read back yet (within [`WRITE_TIMEOUT`]); it is applied here when it is, on every instance as
/// each reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Applied,
    Pending,
}

/// Why a control record could not be written or the topic not read.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("no control topic: this router runs without Kafka")]
    NoProducer,
    #[error("cannot write to the control topic {topic}: {error}")]
    Write {
        topic: String,
        error: rdkafka::error::KafkaError,
    },
    #[error(
        "the control topic {topic} is missing and cannot be created: {reason}. Create it (compacted: cleanup.policy=compact, one partition) or let the router's Kafka user create topics"
    )]
    Create { topic: String, reason: String },
    #[error("cannot read the control topic {topic}: {error}")]
    Read {
        topic: String,
        error: rdkafka::error::KafkaError,
    },
}

impl ControlError {
    /// Whether it says that no broker can be reached (rather than that one refused or failed).
    pub fn is_outage(&self) -> bool {
        match self {
            Self::Write { error, .. } | Self::Read { error, .. } => {
                crate::kafka::assigned::is_outage(error)
            }
            Self::NoProducer | Self::Create { .. } => false,
        }
    }
}

/// The control topic as this instance sees it: what it has read, and how it writes.
pub struct Control {
    topic: String,
    key: InternalKey,
    producer: Option<FutureProducer<ReaderContext>>,
    state: RwLock<ControlState>,
    /// Set once the topic has been read up to where it ended at start.
    caught_up: Arc<AtomicBool>,
    /// Set once caught up and the old silences topic taken over: ready (`/readyz`).
    ready: Arc<AtomicBool>,
    /// Set while the old silences topic is being taken over (what readiness waits for).
    taking_over: Arc<AtomicBool>,
    /// The silences the topic holds, with their matchers compiled.
    silences: Arc<Silences>,
    /// The next offset to read, per partition: what has been applied.
    applied: watch::Sender<HashMap<i32, i64>>,
    /// What source overrides are put in effect through.
    live: Mutex<Option<Arc<Live>>>,
    /// Whose lanes hear of destinations enabled again.
    deliverer: Mutex<Option<Arc<Deliverer>>>,
    /// What the reader tells whether the brokers can be reached.
    health: Mutex<Option<Arc<KafkaHealth>>>,
    /// Who automatic changes are made by: `router <host>`.
    instance: String,
    /// Why the topic cannot be used, once that is known: the router stops with it.
    fatal: Mutex<Option<String>>,
}

impl Control {
    /// Reads and writes `topic` with records authenticated under `key`; without a producer
    /// (tests), nothing is written.
    pub(crate) fn new(
        topic: &str,
        key: InternalKey,
        producer: Option<FutureProducer<ReaderContext>>,
    ) -> Self {
        let host = std::env::var("HOSTNAME")
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| format!("pid {}", std::process::id()));
        Self {
            topic: topic.to_owned(),
            key,
            producer,
            state: RwLock::new(ControlState::default()),
            caught_up: Arc::default(),
            ready: Arc::default(),
            taking_over: Arc::default(),
            silences: Silences::new(),
            applied: watch::Sender::new(HashMap::new()),
            live: Mutex::new(None),
            deliverer: Mutex::new(None),
            health: Mutex::new(None),
            instance: format!("router {host}"),
            fatal: Mutex::new(None),
        }
    }

    /// Records why the control topic cannot be used; the router stops with it.
    pub fn fail(&self, why: String) {
        *lock(&self.fatal) = Some(why);
    }

    /// Why the control topic could not be used, if that stopped the router.
    pub fn fatal(&self) -> Option<String> {
        lock(&self.fatal).clone()
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Who an automatic change is made by.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// The state as read so far.
    pub fn state(&self) -> RwLockReadGuard<'_, ControlState> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the topic has been read up to where it ended at start (`/readyz`).
    pub fn caught_up(&self) -> bool {
        self.caught_up.load(Ordering::Acquire)
    }

    /// The flag readiness reads: set once the topic has been read up to where it ended at start
    /// and the old silences topic has been taken over ([`upkeep`]).
    pub fn ready_flag(&self) -> Arc<AtomicBool> {
        self.ready.clone()
    }

    /// The flag set while the old silences topic is being taken over (caught up, not ready yet).
    pub fn takeover_flag(&self) -> Arc<AtomicBool> {
        self.taking_over.clone()
    }

    /// Whether the topic is read up to its end and the old silences topic taken over.
    pub fn ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Waits until ready ([`Self::ready_flag`]), or `shutdown`: whether ready.
    pub async fn wait_ready(&self, shutdown: &tokio_util::sync::CancellationToken) -> bool {
        while !self.ready() {
            tokio::select! {
                () = shutdown.cancelled() => return false,
                () = tokio::time::sleep(Duration::from_millis(100)) => {}
            }
        }
        true
    }

    /// Every silence the topic holds, as deliveries consult them.
    pub fn silences(&self) -> &Arc<Silences> {
        &self.silences
    }

    /// Makes source overrides reach `live`'s configuration, from now on and at once.
    pub async fn attach_live(&self, live: Arc<Live>) {
        *lock(&self.live) = Some(live.clone());
        let state = self.state().clone();
        live.set_control_state(state).await;
    }

    /// Makes the reader tell `health` whether the brokers can be reached (from its next client).
    pub fn attach_health(&self, health: Arc<KafkaHealth>) {
        *lock(&self.health) = Some(health);
    }

    fn health(&self) -> Option<Arc<KafkaHealth>> {
        lock(&self.health).clone()
    }

    /// Makes destinations enabled again reach `deliverer`'s lanes.
    pub fn attach_deliverer(&self, deliverer: Arc<Deliverer>) {
        *lock(&self.deliverer) = Some(deliverer);
    }

    /// Why destination `id` is disabled fleet-wide, if it is.
    pub fn destination_disabled(&self, id: &str) -> Option<String> {
        self.state().destination_disabled(id).map(|(why, _)| why)
    }

    /// Whether subscription `name` is paused.
    pub fn paused(&self, name: &str) -> bool {
        self.state().paused(name).is_some()
    }

    /// Writes `change` made `by` someone and waits until this instance has applied it, for at
    /// most [`WRITE_TIMEOUT`] in all: [`Written::Pending`] when it was written but not read back
    /// by then (it is applied when it is).
    pub async fn write(&self, change: Change, by: &str) -> Result<Written, ControlError> {
        self.write_record(&ControlRecord::new(change, by)).await
    }

    /// Writes `record` as it is and waits until this instance has applied it.
    pub async fn write_record(&self, record: &ControlRecord) -> Result<Written, ControlError> {
        let key = record.change.key();
        self.send(&key, Some(&record.value())).await
    }

    /// Clears what the key of `kind` `id` set (a tombstone): a source back to its file's value.
    pub async fn clear(&self, kind: &str, id: &str) -> Result<Written, ControlError> {
        self.send(&record::key(kind, id), None).await
    }

    /// Writes `change` in the background, made by this instance (an automatic disable): a
    /// failure is logged, never waited for.
    pub fn publish(self: &Arc<Self>, change: Change) {
        let control = self.clone();
        tokio::spawn(async move {
            let what = change.key();
            let by = control.instance.clone();
            if let Err(error) = control.write(change, &by).await {
                warn!(message = "The automatic change could not be written to the control topic; it holds on this instance only.", change = %what, %error);
            }
        });
    }

    async fn send(&self, key: &str, value: Option<&[u8]>) -> Result<Written, ControlError> {
        let producer = self.producer.as_ref().ok_or(ControlError::NoProducer)?;
        let deadline = tokio::time::Instant::now() + WRITE_TIMEOUT;
        let code = record::sign(&self.key, &self.topic, key, value);
        let headers = OwnedHeaders::new().insert(Header {
            key: AUTH_HEADER,
            value: Some(code.as_bytes()),
        });
        let mut outgoing = FutureRecord::to(&self.topic).key(key).headers(headers);
        if let Some(value) = value {
            outgoing = outgoing.payload(value);
        }
        let failed = |error| ControlError::Write {
            topic: self.topic.clone(),
            error,
        };
        // The queue and the delivery both count against the deadline (the producer gives up on
        // a record by then too: `message.timeout.ms`).
        let delivery = producer.send(outgoing, WRITE_TIMEOUT);
        let delivered = match tokio::time::timeout_at(deadline, delivery).await {
            Ok(Ok(delivered)) => delivered,
            Ok(Err((error, _))) => return Err(failed(error)),
            Err(_) => {
                return Err(failed(rdkafka::error::KafkaError::MessageProduction(
                    rdkafka::types::RDKafkaErrorCode::MessageTimedOut,
                )));
            }
        };
        let mut applied = self.applied.subscribe();
        let read_back = applied.wait_for(|offsets| {
            offsets
                .get(&delivered.partition)
                .is_some_and(|next| *next > delivered.offset)
        });
        if tokio::time::timeout_at(deadline, read_back).await.is_err() {
            warn!(
                message = "A control record was written but not read back in time; it applies when it is.",
                key
            );
            return Ok(Written::Pending);
        }
        Ok(Written::Applied)
    }

    /// Applies one record read back at `offset` of `partition`.
    async fn apply(&self, read: Read, partition: i32, offset: i64) {
        let applied = {
            let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
            state.apply(read.clone())
        };
        match (&read, applied) {
            (_, Applied::Sources) => {
                let live = lock(&self.live).clone();
                if let Some(live) = live {
                    let state = self.state().clone();
                    live.set_control_state(state).await;
                }
            }
            (
                Read::Set(ControlRecord {
                    change: Change::Destination { id, enabled, .. },
                    ..
                }),
                _,
            ) if *enabled => self.enable_lane(id),
            (Read::Cleared { id, .. }, Applied::Destination) => self.enable_lane(id),
            (
                Read::Set(ControlRecord {
                    change: Change::Silence(silence),
                    ..
                }),
                _,
            ) => {
                if let Err(error) = self.silences.put(silence.clone()) {
                    // Checked when decoded: a silence that does not compile is never read.
                    warn!(message = "Silence not applied: not valid.", id = %silence.id, %error);
                }
            }
            (Read::Cleared { id, .. }, Applied::Silence) => self.silences.remove(id),
            _ => {}
        }
        if let Read::Set(record) = &read {
            info!(message = "Control change applied.", kind = record.change.kind(), id = record.change.id(), by = %record.by, at = %record.at);
        }
        self.mark_applied(partition, offset);
    }

    fn mark_applied(&self, partition: i32, offset: i64) {
        self.applied.send_modify(|offsets| {
            let next = offsets.entry(partition).or_insert(0);
            *next = (*next).max(offset + 1);
        });
    }

    fn enable_lane(&self, id: &str) {
        let deliverer = lock(&self.deliverer).clone();
        if let Some(deliverer) = deliverer {
            deliverer.enable_destination(id);
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
