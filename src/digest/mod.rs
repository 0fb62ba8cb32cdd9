//! Digests: one message per group of a subscription's notifications. A delivery of a
//! subscription with `digest:` is written to the digest topic (by the dispatcher, before its
//! source record is committed) instead of being sent; the digest consumer (this file) reads the
//! topic back, gathers each group's entries and sends each group's digest when it is due,
//! through the same attempts, retries and dead letters as any delivery.
//!
//! # Design
//! - Records are keyed by subscription and group, so a group lands on one partition and is
//!   sent by the instance that owns it: the digest consumer's own group (`<group_id>.digest`).
//!   A group is held per (partition, key): when partitions are added, a key's old and new
//!   partitions are groups of their own, each read and settled on its own.
//! - A record polled before its partition was revoked (still queued when the revoke is
//!   served) is dropped: the partition's next owner reads it; nothing is held, sealed or
//!   settled from it here.
//! - A group's first entry waits `wait` for company; then at most one digest per `interval`;
//!   a group of `max_items` goes at once.
//! - Sending a digest: a seal record fixes its members (the group's entries up to an offset)
//!   and its `webhook-id` (from the group and its members' own ids); the digest is
//!   attempted (delivered, or handed to the retry or dead-letter topic as one job); a sent
//!   record follows; then its members' records may be committed, behind the same contiguous
//!   watermark as the sources' records.
//! - After an assignment a partition is read to its end before any of its digests is sent, so
//!   a crash's work is rebuilt from the records: a seal without its sent record is sent again,
//!   with the same members and id; a crash re-sends at most that digest.
//! - At most `kafka.max_pending_retries` records are held (entries waiting, members of the
//!   digests being sent, unreadable records being dead-lettered): beyond that the consumer
//!   pauses its partitions (and keeps polling) until sent digests bring it below 90 %.
//! - Every record is authenticated under `kafka.internal_key`; one that is not is written to
//!   the dead-letter topic as `invalid-digest-record` (kind `input`), never sent.

mod config;
mod groups;
mod read;
mod record;
mod send;
mod split;
mod topic;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rdkafka::consumer::Consumer;
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

pub(crate) use config::{Digest, DigestConfig};
pub(crate) use record::{Entry, Kind};
pub(crate) use split::halves;
pub(crate) use topic::DigestTopic;

use crate::config::KafkaSettings;
use crate::consumer::own_topic::{self, OwnTopicConsumer, OwnTopicNames};
use crate::consumer::{self, KafkaConsumer, Offsets, Rebalanced, StartError, Ticket};
use crate::dispatch::Deliverer;
use crate::kafka::KafkaHealth;
use groups::{GroupId, Groups, Timing};

/// What a digest's task came to.
#[derive(Debug)]
struct Done {
    group_id: GroupId,
    id: String,
    /// When it was sent; `None` when shutdown came first.
    sent_at: Option<DateTime<Utc>>,
    members: Vec<Ticket>,
}

/// What a task of the consumer came to.
#[derive(Debug)]
enum Finished {
    Digest(Done),
    /// An unreadable record's dead letter was written, or shutdown came first.
    Unreadable,
}

/// The consumer's state, apart from what the loop waits on.
struct State {
    consumer: Arc<KafkaConsumer>,
    deliverer: Arc<Deliverer>,
    offsets: Arc<Offsets>,
    busy: Arc<Offsets>,
    groups: Groups,
    topic: String,
    max_pending: usize,
    paused: bool,
    /// Members of the digests being sent: held until their task ends.
    sending: usize,
    /// Unreadable records being dead-lettered: each holds its record until written.
    unreadable: usize,
    tasks: TaskTracker,
    done: mpsc::UnboundedSender<Finished>,
    shutdown: CancellationToken,
}

/// Runs the digest consumer until `shutdown`, then lets the digests being sent finish
/// (bounded) and commits.
pub(crate) async fn run(
    settings: &KafkaSettings,
    brokers: &str,
    deliverer: Arc<Deliverer>,
    shutdown: CancellationToken,
    health: Arc<KafkaHealth>,
) -> Result<(), StartError> {
    let names = OwnTopicNames {
        client: "digest",
        topic: "the digest topic",
        thread: "kafka-digest",
        polling: "digest consumer's",
    };
    let topic = &settings.digest_topic;
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
        deliverer,
        offsets,
        busy,
        groups: Groups::default(),
        topic: settings.digest_topic.clone(),
        max_pending: settings.max_pending_retries,
        paused: false,
        sending: 0,
        unreadable: 0,
        tasks: TaskTracker::new(),
        done: done_tx,
        shutdown: shutdown.clone(),
    };
    loop {
        state.send_due();
        state.apply_pause();
        let sleep = state.sleep();
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            Some(event) = events.recv() => state.rebalanced(event),
            Some(finished) = done.recv() => state.finished(finished),
            polled = polling.records.recv() => match polled {
                Some(polled) => state.received(polled),
                None => {
                    warn!(message = "The digest consumer's polling thread stopped; shutting down.");
                    shutdown.cancel();
                    break;
                }
            },
            () = tokio::time::sleep(sleep) => {}
        }
    }
    info!(
        message = "Digest consumer stopping: letting the digests being sent finish.",
        in_flight = state.tasks.len(),
        held = state.held()
    );
    state.tasks.close();
    if tokio::time::timeout(settings.drain_timeout, state.tasks.wait())
        .await
        .is_err()
    {
        warn!(message = "Digest drain timed out; unsent digests will be read again after restart.");
    }
    while let Ok(finished) = done.try_recv() {
        state.finished(finished);
    }
    state.offsets.lock().clear();
    state.busy.lock().clear();
    drop((state, consumer));
    polling.close(consumer::CLOSE_TIMEOUT).await;
    Ok(())
}

impl State {
    /// How each subscription's digests are timed, in the configuration in effect now.
    fn timing(&self) -> impl Fn(&str) -> Timing + use<> {
        let snapshot = self.deliverer.snapshot();
        move |subscription: &str| {
            snapshot
                .table()
                .subscription_by_name(subscription)
                .and_then(|s| s.digest.as_deref())
                .map_or(Timing::FLUSH, Timing::of)
        }
    }

    /// How long the loop may sleep: until the earliest due digest, at most a minute.
    fn sleep(&self) -> Duration {
        let most = Duration::from_secs(60);
        match self.groups.next_due(self.timing()) {
            Some(due) => (due - Utc::now()).to_std().unwrap_or_default().min(most),
            None => most,
        }
    }

    /// Starts sending every digest that is due.
    fn send_due(&mut self) {
        let timing = self.timing();
        for batch in self.groups.take_due(Utc::now(), timing) {
            self.spawn(batch);
        }
    }

    /// A task ended.
    fn finished(&mut self, finished: Finished) {
        match finished {
            Finished::Digest(done) => {
                self.sending = self.sending.saturating_sub(done.members.len());
                self.sent(done);
            }
            Finished::Unreadable => self.unreadable = self.unreadable.saturating_sub(1),
        }
    }

    /// What is held: entries waiting in groups, members of the digests being sent and
    /// unreadable records being dead-lettered. At `max_pending` the digest topic is paused.
    fn held(&self) -> usize {
        self.groups.len() + self.sending + self.unreadable
    }

    /// A digest's task ended.
    fn sent(&mut self, done: Done) {
        // A digest of a partition revoked while it was sent: its group is gone (the partition's
        // next owner reads its seal and sent records), and so are its members' tickets.
        let current = done
            .members
            .first()
            .is_some_and(|ticket| self.offsets.lock().is_current(ticket));
        if !current {
            return;
        }
        self.groups.finished(&done.group_id, &done.id, done.sent_at);
        if done.sent_at.is_some() {
            for ticket in &done.members {
                self.settle(ticket);
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

    fn rebalanced(&mut self, event: Rebalanced) {
        match event {
            Rebalanced::Assigned(partitions) => {
                let mut ours = TopicPartitionList::new();
                for (topic, partition) in partitions {
                    if topic == self.topic {
                        self.groups.catching_up(partition);
                        let _ = ours.add_partition_offset(&topic, partition, Offset::Invalid);
                    }
                }
                if self.paused {
                    let _ = self.consumer.pause(&ours);
                }
            }
            Rebalanced::Revoked(partitions) => {
                let ours: Vec<i32> = partitions
                    .iter()
                    .filter(|(topic, _)| *topic == self.topic)
                    .map(|(_, partition)| *partition)
                    .collect();
                self.groups.revoke(&ours);
            }
        }
    }

    /// Pauses the digest topic while `max_pending` entries are held; resumes below 90 %.
    fn apply_pause(&mut self) {
        let held = self.held();
        let Some(pause) = crate::retry::pause_change(self.paused, held, self.max_pending) else {
            return;
        };
        let Ok(assignment) = self.consumer.assignment() else {
            return;
        };
        let result = if pause {
            warn!(
                message = "Digest groups full; pausing the digest topic.",
                held,
                max_pending_retries = self.max_pending
            );
            let partitions = self.groups.stop_catching_up();
            if !partitions.is_empty() {
                info!(message = "Digest groups full before the assigned partitions were read to their end; sending what is held.", partitions = ?partitions);
            }
            self.consumer.pause(&assignment)
        } else {
            info!(
                message = "Digest groups have room again; resuming the digest topic.",
                held
            );
            self.consumer.resume(&assignment)
        };
        if let Err(error) = result {
            warn!(message = "Cannot pause or resume the digest topic.", %error);
        }
        self.paused = pause;
    }
}
