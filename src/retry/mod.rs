//! The retry topic, written ([`RetryTopic`], in `topic`) and read back by the retry consumer (this
//! file; `read` takes each polled record in): it reads the retry topic in the same process, holds
//! each delivery in memory until it is due, then makes its next attempt — in order of due time,
//! without busy-polling and without ever stopping to poll Kafka (so `max.poll.interval.ms` cannot
//! expire).
//!
//! # Design
//! - Its own consumer group (`<group_id>.retry`), so that its rebalances and the sources' are
//!   independent. It polls all the time; a timer wakes it for the earliest due delivery.
//! - Records are held in a [`Schedule`], one per delivery (`webhook-id`): a later record of the
//!   same delivery replaces an earlier one, a tombstone settles it. After an assignment a
//!   partition is read to its end before any of its deliveries is attempted, so what a crash
//!   interrupted is not repeated from stale records.
//! - A record's offset is committed once the delivery it holds is settled — delivered (then a
//!   tombstone is written), written again for its next step, or dead-lettered (then a tombstone)
//!   — and every earlier record of its partition too (the same watermark as the sources').
//! - At most `kafka.max_pending_retries` deliveries are held: beyond that the consumer pauses its
//!   partitions (and keeps polling) until the schedule drains below 90 %.
//! - A record is trusted only with a valid authentication code under `kafka.internal_key`
//!   (written by [`RetryTopic`]): anything else is dead-lettered as `invalid-retry-record`,
//!   never delivered, and a tombstone without one settles nothing.
//! - A due delivery whose destination's queue is full is parked until the lane has room; one
//!   whose circuit is open is held again until the next probe time, in memory (no write, no
//!   attempt counted), or until the circuit closes if that comes first. Both stay within the
//!   delivery's horizon.

mod read;
mod schedule;
#[cfg(test)]
mod tests;
mod topic;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use rdkafka::consumer::Consumer;
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

pub(crate) use schedule::{Held, Park, Schedule};
pub(crate) use topic::{RetryTopic, SETTLES as RETRY_SETTLES};

use crate::config::KafkaSettings;
use crate::consumer::own_topic::{self, OwnTopicConsumer, OwnTopicNames};
use crate::consumer::{self, KafkaConsumer, Offsets, Rebalanced, StartError, Ticket};
use crate::dispatch::lanes::Lane;
use crate::dispatch::{Attempt, Deliverer, Job, Next, Settled};
use crate::kafka::KafkaHealth;

type RetryConsumer = KafkaConsumer;

/// The dead-letter reason of a retry record that is not a job or not the router's.
pub(crate) const INVALID_RETRY_RECORD: &str = "invalid-retry-record";

/// What a delivery task came to.
#[derive(Debug)]
enum Outcome {
    /// Settled: its record may be committed.
    Settled,
    /// Shutdown came first.
    Unsettled,
    /// Not attempted (circuit open, queue full): hold it again, due at `job.due`.
    Hold(Box<Job>),
}

#[derive(Debug)]
struct Done {
    ticket: Ticket,
    outcome: Outcome,
}

/// The consumer's state, apart from what the loop waits on.
struct State {
    consumer: Arc<RetryConsumer>,
    deliverer: Arc<Deliverer>,
    offsets: Arc<Offsets>,
    busy: Arc<Offsets>,
    schedule: Schedule,
    catching_up: HashSet<i32>,
    /// Deliveries held because their destination's circuit was open, by lane: due at once when
    /// it closes.
    circuit_held: HashMap<usize, Vec<String>>,
    /// The lanes told that deliveries are parked for them ([`Lane::retries_held`]).
    held_lanes: Vec<Arc<Lane>>,
    topic: String,
    max_pending: usize,
    paused: bool,
    tasks: TaskTracker,
    done: mpsc::UnboundedSender<Done>,
    shutdown: CancellationToken,
}

/// Runs the retry consumer until `shutdown`, then drains its deliveries (bounded) and commits.
pub(crate) async fn run(
    settings: &KafkaSettings,
    brokers: &str,
    deliverer: Arc<Deliverer>,
    shutdown: CancellationToken,
    health: Arc<KafkaHealth>,
) -> Result<(), StartError> {
    let names = OwnTopicNames {
        client: "retry",
        topic: "the retry topic",
        thread: "kafka-retry",
        polling: "retry consumer's",
    };
    let topic = &settings.retry_topic;
    let OwnTopicConsumer {
        consumer,
        mut polling,
        offsets,
        busy,
        mut events,
    } = own_topic::start(settings, brokers, topic, &names, health)?;
    let (done_tx, mut done) = mpsc::unbounded_channel();
    let mut state = State {
        consumer: consumer.clone(),
        deliverer: deliverer.clone(),
        offsets,
        busy,
        schedule: Schedule::default(),
        catching_up: HashSet::new(),
        circuit_held: HashMap::new(),
        held_lanes: Vec::new(),
        topic: settings.retry_topic.clone(),
        max_pending: settings.max_pending_retries,
        paused: false,
        tasks: TaskTracker::new(),
        done: done_tx,
        shutdown: shutdown.clone(),
    };
    let space = deliverer.space();
    loop {
        state.dispatch_due();
        state.tell_held_lanes();
        state.apply_pause();
        let sleep = state.sleep();
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            Some(event) = events.recv() => state.rebalanced(event),
            Some(finished) = done.recv() => state.finished(finished),
            () = space.notified() => {
                state.unpark_lanes();
                state.hurry_closed_circuits();
            }
            polled = polling.records.recv() => match polled {
                Some(polled) => state.received(polled),
                None => {
                    warn!(message = "The retry consumer's polling thread stopped; shutting down.");
                    shutdown.cancel();
                    break;
                }
            },
            () = tokio::time::sleep(sleep) => {}
        }
    }

    info!(
        message = "Retry consumer stopping: draining deliveries in progress.",
        in_flight = state.tasks.len(),
        held = state.schedule.len()
    );
    state.tasks.close();
    if tokio::time::timeout(settings.drain_timeout, state.tasks.wait())
        .await
        .is_err()
    {
        warn!(
            message = "Retry drain timed out; unfinished retries will be read again after restart."
        );
    }
    while let Ok(finished) = done.try_recv() {
        state.finished(finished);
    }
    // What is still in flight must not hold the close's revoke callback; the polling thread
    // closes the consumer once it holds the only reference.
    state.offsets.lock().clear();
    state.busy.lock().clear();
    drop((state, consumer));
    polling.close(consumer::CLOSE_TIMEOUT).await;
    Ok(())
}

impl State {
    /// How long the loop may sleep: until the earliest due delivery, at most a minute.
    fn sleep(&mut self) -> Duration {
        let most = Duration::from_secs(60);
        match self.schedule.next_due() {
            Some(due) => (due - Utc::now()).to_std().unwrap_or_default().min(most),
            None => most,
        }
    }

    /// Starts the deliveries that are due, in order of due time.
    fn dispatch_due(&mut self) {
        let now = Utc::now();
        let full = self.schedule.len() >= self.max_pending;
        let snapshot = self.deliverer.snapshot();
        while let Some(key) = self.schedule.pop_due(now) {
            let Some(held) = self.schedule.get(&key) else {
                continue;
            };
            let partition = held.ticket.partition;
            if self.catching_up.contains(&partition) && !full {
                self.schedule.park(&key, Park::CatchingUp(partition));
                continue;
            }
            let place = match snapshot.lane_of(&held.job) {
                Some(lane) => match snapshot.lanes().get(lane).enter() {
                    Some(place) => Some(place),
                    None => {
                        self.schedule.park(&key, Park::Lane(lane));
                        continue;
                    }
                },
                None => None,
            };
            let Some(held) = self.schedule.take(&key) else {
                continue;
            };
            self.spawn(held, place);
        }
    }

    fn spawn(&self, held: Held, place: Option<crate::dispatch::lanes::Place>) {
        let Held { mut job, ticket } = held;
        let working = self
            .busy
            .lock()
            .begin(&ticket.topic, ticket.partition, ticket.offset);
        let (deliverer, busy, done, shutdown) = (
            self.deliverer.clone(),
            self.busy.clone(),
            self.done.clone(),
            self.shutdown.clone(),
        );
        let offset = ticket.offset;
        self.tasks.spawn(async move {
            let key = job.webhook_id.clone();
            // The configuration in effect now: the job's subscription is looked up again.
            let snapshot = deliverer.snapshot();
            let attempt = snapshot.attempt_with(&mut job, false, place).await;
            let deferred = matches!(attempt, Attempt::Deferred { .. });
            let outcome = match snapshot.next(job, attempt) {
                Next::Retry(job) if deferred => Outcome::Hold(Box::new(job)),
                next => match record_after(deliverer.settle(next, &shutdown).await) {
                    Record::Kept => Outcome::Unsettled,
                    Record::Committed => Outcome::Settled,
                    Record::Tombstoned => {
                        if deliverer.writer().tombstone(&key, offset, &shutdown).await {
                            Outcome::Settled
                        } else {
                            Outcome::Unsettled
                        }
                    }
                },
            };
            busy.finish(&working, |_| {});
            let _ = done.send(Done { ticket, outcome });
        });
    }

    /// A delivery task ended.
    fn finished(&mut self, done: Done) {
        match done.outcome {
            Outcome::Settled => self.settle(&done.ticket),
            Outcome::Unsettled => {}
            Outcome::Hold(job) => {
                if self.offsets.lock().is_current(&done.ticket) {
                    if let Some(lane) = self.deliverer.snapshot().lane_of(&job) {
                        let keys = self.circuit_held.entry(lane).or_default();
                        keys.push(job.webhook_id.clone());
                    }
                    let held = Held {
                        job: *job,
                        ticket: done.ticket,
                    };
                    if let Some(replaced) = self.schedule.hold(held) {
                        self.settle(&replaced);
                    }
                }
            }
        }
    }

    /// Marks a record settled; stores the committable position when it moved.
    fn settle(&self, ticket: &Ticket) {
        let consumer = &self.consumer;
        self.offsets.finish(ticket, |position| {
            consumer::store(consumer.as_ref(), ticket, position);
        });
    }

    /// Makes the deliveries held for a circuit that has closed since due now, rather than at
    /// the next probe time they were held until.
    fn hurry_closed_circuits(&mut self) {
        if self.circuit_held.is_empty() {
            return;
        }
        let snapshot = self.deliverer.snapshot();
        let now = Utc::now();
        let lanes = snapshot.lanes();
        let closed: Vec<usize> = self
            .circuit_held
            .keys()
            .copied()
            .filter(|lane| lanes.try_get(*lane).is_none_or(|lane| !lane.circuit_open()))
            .collect();
        for lane in closed {
            for key in self.circuit_held.remove(&lane).unwrap_or_default() {
                self.schedule.hurry(&key, now);
            }
        }
    }

    /// Tells the lanes of the configuration in effect whether deliveries are parked for them,
    /// so that fresh deliveries go behind those instead of waiting for each freed place.
    fn tell_held_lanes(&mut self) {
        let parked = self.schedule.parked_lanes();
        // The usual case, on every turn of the loop: nothing parked, nothing told.
        if parked.is_empty() && self.held_lanes.is_empty() {
            return;
        }
        let snapshot = self.deliverer.snapshot();
        let held: Vec<Arc<Lane>> = parked
            .into_iter()
            .filter_map(|lane| snapshot.lanes().try_get(lane).cloned())
            .collect();
        let same = held.len() == self.held_lanes.len()
            && held
                .iter()
                .all(|l| self.held_lanes.iter().any(|h| Arc::ptr_eq(l, h)));
        if same {
            return;
        }
        for lane in &self.held_lanes {
            lane.retries_held(false);
        }
        for lane in &held {
            lane.retries_held(true);
        }
        self.held_lanes = held;
    }

    /// Puts deliveries parked for a full lane back on the timeline, as many as it has room for.
    fn unpark_lanes(&mut self) {
        let snapshot = self.deliverer.snapshot();
        for lane in self.schedule.parked_lanes() {
            // A reload may have moved or removed the destination: let its deliveries look again.
            let room = snapshot
                .lanes()
                .try_get(lane)
                .map_or(usize::MAX, |lane| lane.room());
            self.schedule.unpark(Park::Lane(lane), room);
        }
    }

    fn rebalanced(&mut self, event: Rebalanced) {
        match event {
            Rebalanced::Assigned(partitions) => {
                let ours: Vec<i32> = partitions
                    .iter()
                    .filter(|(topic, _)| *topic == self.topic)
                    .map(|(_, partition)| *partition)
                    .collect();
                self.catching_up.extend(ours.iter().copied());
                if self.paused {
                    let _ = self.consumer.pause(&list(&self.topic, &ours));
                }
            }
            Rebalanced::Revoked(partitions) => {
                for (_, partition) in &partitions {
                    self.catching_up.remove(partition);
                    self.schedule
                        .unpark(Park::CatchingUp(*partition), usize::MAX);
                }
                let tracker = self.offsets.lock();
                self.schedule.retain(|ticket| tracker.is_current(ticket));
            }
        }
    }

    /// Pauses the retry topic while the schedule is full; resumes below 90 %.
    /// The schedule filled before a newly assigned partition was read to its end: reading on
    /// needs room, and room needs deliveries, so what was parked until the end is delivered
    /// now. A later record of the same delivery, not read yet, then replaces nothing: at worst
    /// an attempt is repeated (at least once), with its `webhook-id`.
    fn stop_catching_up(&mut self) {
        if self.catching_up.is_empty() {
            return;
        }
        let partitions = std::mem::take(&mut self.catching_up);
        info!(
            message = "Retry schedule full before the assigned partitions were read to their end; delivering what is held.",
            partitions = ?partitions
        );
        self.schedule.caught_up(&partitions);
    }

    fn apply_pause(&mut self) {
        let held = self.schedule.len();
        let Some(pause) = pause_change(self.paused, held, self.max_pending) else {
            return;
        };
        let Ok(assignment) = self.consumer.assignment() else {
            return;
        };
        let result = if pause {
            warn!(
                message = "Retry schedule full; pausing the retry topic.",
                held,
                max_pending_retries = self.max_pending
            );
            self.stop_catching_up();
            self.consumer.pause(&assignment)
        } else {
            info!(
                message = "Retry schedule has room again; resuming the retry topic.",
                held
            );
            self.consumer.resume(&assignment)
        };
        if let Err(error) = result {
            warn!(message = "Cannot pause or resume the retry topic.", %error);
        }
        self.paused = pause;
    }
}

/// What becomes of a retry record once its delivery is settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Record {
    /// Shutdown came first: not committed, read again after a restart.
    Kept,
    /// Committed: the next record of this delivery, just written, replaces it.
    Committed,
    /// Nothing replaces it: a tombstone says the delivery is done, then it is committed.
    Tombstoned,
}

fn record_after(settled: Settled) -> Record {
    match settled {
        Settled::Unsettled => Record::Kept,
        Settled::Retried => Record::Committed,
        Settled::Delivered
        | Settled::DeadLettered
        | Settled::Digested
        | Settled::RetriedInParts => Record::Tombstoned,
    }
}

/// Whether to pause (`Some(true)`) or resume (`Some(false)`) the retry topic (or the digest
/// topic), holding `held` of at most `max_pending` deliveries: pause when full, resume below
/// 90 %, else leave it.
pub(crate) fn pause_change(paused: bool, held: usize, max_pending: usize) -> Option<bool> {
    if !paused && held >= max_pending {
        Some(true)
    } else if paused && held < max_pending - max_pending / 10 {
        Some(false)
    } else {
        None
    }
}

fn list(topic: &str, partitions: &[i32]) -> TopicPartitionList {
    let mut list = TopicPartitionList::new();
    for partition in partitions {
        let _ = list.add_partition_offset(topic, *partition, Offset::Invalid);
    }
    list
}
