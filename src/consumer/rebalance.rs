//! The consumers' context: on revoke, let the revoked partitions drain (bounded), then commit
//! synchronously, so the next owner starts where this one stopped; tell the consuming loop.
//! Errors and statistics go to [`KafkaHealth`]. All of it runs on the consumer's polling thread.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use tracing::{debug, info, warn};

use super::offsets::{Offsets, Ticket};
use crate::kafka::KafkaHealth;

/// Shared with the record tasks through [`Offsets`].
pub(crate) struct RebalanceContext {
    /// The watermark: what may be committed.
    pub offsets: Arc<Offsets>,
    /// What a revoke waits for: the records being worked on. For the sources' consumer this is
    /// `offsets` itself; the retry consumer holds records it is not working on yet.
    pub busy: Arc<Offsets>,
    pub drain_timeout: Duration,
    /// Told about every assignment change, after it is applied.
    pub events: Option<tokio::sync::mpsc::UnboundedSender<Rebalanced>>,
    /// Where errors and statistics go.
    pub health: Arc<KafkaHealth>,
    /// This consumer, in logs and for [`KafkaHealth`].
    pub client: &'static str,
}

/// An assignment change, for the consuming loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Rebalanced {
    Assigned(Vec<(String, i32)>),
    Revoked(Vec<(String, i32)>),
}

impl RebalanceContext {
    /// The context of a consumer whose records are all being worked on until settled.
    pub(crate) fn new(
        offsets: Arc<Offsets>,
        drain_timeout: Duration,
        health: Arc<KafkaHealth>,
        client: &'static str,
    ) -> Self {
        Self {
            busy: offsets.clone(),
            offsets,
            drain_timeout,
            events: None,
            health,
            client,
        }
    }
}

impl ClientContext for RebalanceContext {
    fn error(&self, error: KafkaError, reason: &str) {
        self.health.error(self.client, &error, reason);
    }

    fn stats_raw(&self, statistics: &[u8]) {
        self.health.statistics(self.client, statistics);
    }
}

impl ConsumerContext for RebalanceContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Revoke(list) => {
                let partitions = partitions_of(list);
                if partitions.is_empty() {
                    return;
                }
                if !self.busy.wait_drained(&partitions, self.drain_timeout) {
                    warn!(message = "Revoked partitions did not drain in time; their unfinished records will be redelivered.", partitions = ?partitions);
                }
                if consumer.assignment_lost() {
                    // The session expired (no broker answered): a commit would wait for a
                    // coordinator that the group cannot rejoin before this callback returns.
                    warn!(message = "Partitions lost (the group session expired); not committing. Records settled since the last commit will be read again.", partitions = ?partitions);
                } else {
                    commit(consumer);
                }
                for offsets in [&self.offsets, &self.busy] {
                    let mut tracker = offsets.lock();
                    for (topic, partition) in &partitions {
                        tracker.revoke(topic, *partition);
                    }
                }
                info!(message = "Partitions revoked.", partitions = ?partitions);
                if let Some(events) = &self.events {
                    let _ = events.send(Rebalanced::Revoked(partitions));
                }
            }
            Rebalance::Assign(list) => {
                let partitions = partitions_of(list);
                let mut tracker = self.offsets.lock();
                for (topic, partition) in &partitions {
                    tracker.assign(topic, *partition);
                }
                drop(tracker);
                info!(message = "Partitions assigned.", partitions = ?partitions);
            }
            Rebalance::Error(error) => warn!(message = "Rebalance failed.", %error),
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let (Rebalance::Assign(list), Some(events)) = (rebalance, &self.events) {
            let _ = events.send(Rebalanced::Assigned(partitions_of(list)));
        }
    }
}

/// Commits the stored offsets synchronously; having nothing to commit is fine.
pub(super) fn commit<C: Consumer<X>, X: ConsumerContext>(consumer: &C) {
    match consumer.commit_consumer_state(CommitMode::Sync) {
        Ok(()) => debug!(message = "Offsets committed."),
        Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
        Err(error) => {
            warn!(message = "Offset commit failed; records after the last commit will be redelivered.", %error)
        }
    }
}

/// Stores the position for a settled ticket's partition, to be committed by the next (auto-)commit.
/// The position is stored as given: the next offset to consume.
pub(crate) fn store<C: Consumer<X>, X: ConsumerContext>(
    consumer: &C,
    ticket: &Ticket,
    position: i64,
) {
    let mut list = TopicPartitionList::new();
    let stored = list
        .add_partition_offset(&ticket.topic, ticket.partition, Offset::Offset(position))
        .and_then(|()| consumer.store_offsets(&list));
    if let Err(error) = stored {
        // Since librdkafka 1.9 a partition no longer assigned answers with a state error: its
        // records will be read again by its new owner.
        debug!(message = "Offset not stored.", topic = %ticket.topic, partition = ticket.partition, position, %error);
    }
}

fn partitions_of(list: &TopicPartitionList) -> Vec<(String, i32)> {
    list.elements()
        .iter()
        .map(|e| (e.topic().to_owned(), e.partition()))
        .collect()
}
