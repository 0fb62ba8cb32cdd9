//! The per-partition contiguous watermark: which offset is safe to commit while records finish out of order.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Where one in-flight record stands; handed back to [`OffsetTracker::finish`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ticket {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    generation: u64,
}

/// When a record (or a partition's end) was polled: the tracker's count of assignments then.
/// A record is of its partition's current assignment when that assignment began no later
/// ([`OffsetTracker::begin_polled`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Polled(u64);

#[derive(Debug)]
struct Partition {
    /// Bumped on every new assignment, so a record finishing after a revoke cannot move a later one.
    generation: u64,
    /// Whether a record was begun in this assignment (`next` and `stored` are set by the first).
    started: bool,
    in_flight: BTreeSet<i64>,
    /// One past the highest offset begun.
    next: i64,
    /// The last position handed out for storing; at first, the offset fetching started from.
    stored: i64,
}

/// Tracks in-flight offsets per partition and says when the committable position moves.
#[derive(Debug, Default)]
pub(crate) struct OffsetTracker {
    topics: HashMap<String, HashMap<i32, Partition>>,
    generations: u64,
}

impl OffsetTracker {
    /// Records that `offset` is being processed.
    pub(crate) fn begin(&mut self, topic: &str, partition: i32, offset: i64) -> Ticket {
        let partitions = match self.topics.get_mut(topic) {
            Some(partitions) => partitions,
            None => self.topics.entry(topic.to_owned()).or_default(),
        };
        let state = partitions.entry(partition).or_insert_with(|| {
            self.generations += 1;
            Partition::new(self.generations)
        });
        if !state.started {
            state.started = true;
            state.next = offset;
            state.stored = offset;
        }
        state.in_flight.insert(offset);
        state.next = state.next.max(offset + 1);
        Ticket {
            topic: topic.to_owned(),
            partition,
            offset,
            generation: state.generation,
        }
    }

    /// A partition assigned: records polled from now on are of a new assignment of it (one still
    /// assigned, as in an incremental assignment, keeps its own).
    pub(crate) fn assign(&mut self, topic: &str, partition: i32) {
        let partitions = self.topics.entry(topic.to_owned()).or_default();
        let generations = &mut self.generations;
        partitions.entry(partition).or_insert_with(|| {
            *generations += 1;
            Partition::new(*generations)
        });
    }

    /// The stamp of a record polled now (see [`Polled`]).
    pub(crate) fn polled(&self) -> Polled {
        Polled(self.generations)
    }

    /// Whether a record (or an end) of `partition` polled at `polled` is of its current
    /// assignment: the partition is assigned, and was not revoked (nor assigned again) since.
    pub(crate) fn is_assigned(&self, topic: &str, partition: i32, polled: Polled) -> bool {
        self.topics
            .get(topic)
            .and_then(|p| p.get(&partition))
            .is_some_and(|s| s.generation <= polled.0)
    }

    /// Records that `offset`, polled at `polled`, is being processed, when it is of its
    /// partition's current assignment; `None` for a record polled before its partition was
    /// revoked: its partition's next owner reads it again, and nothing may be done with it here.
    pub(crate) fn begin_polled(
        &mut self,
        topic: &str,
        partition: i32,
        offset: i64,
        polled: Polled,
    ) -> Option<Ticket> {
        self.is_assigned(topic, partition, polled)
            .then(|| self.begin(topic, partition, offset))
    }

    /// Records that a ticket's record is settled. Returns the position to store (the next offset
    /// to consume) when it moved: the lowest offset still in flight, or one past the highest begun.
    pub(crate) fn finish(&mut self, ticket: &Ticket) -> Option<i64> {
        let state = self
            .topics
            .get_mut(&ticket.topic)?
            .get_mut(&ticket.partition)?;
        if state.generation != ticket.generation || !state.in_flight.remove(&ticket.offset) {
            return None;
        }
        let position = state.in_flight.first().copied().unwrap_or(state.next);
        if state.stored >= position {
            return None;
        }
        state.stored = position;
        Some(position)
    }

    /// Whether a ticket belongs to the current assignment of its partition.
    pub(crate) fn is_current(&self, ticket: &Ticket) -> bool {
        self.topics
            .get(&ticket.topic)
            .and_then(|p| p.get(&ticket.partition))
            .is_some_and(|s| s.generation == ticket.generation)
    }

    /// How many records of a partition are in flight.
    pub(crate) fn in_flight(&self, topic: &str, partition: i32) -> usize {
        self.topics
            .get(topic)
            .and_then(|p| p.get(&partition))
            .map_or(0, |s| s.in_flight.len())
    }

    /// Forgets a partition: it was revoked. Tickets of it still out are ignored when they finish.
    pub(crate) fn revoke(&mut self, topic: &str, partition: i32) {
        if let Some(partitions) = self.topics.get_mut(topic) {
            partitions.remove(&partition);
        }
    }

    /// Forgets every partition.
    pub(crate) fn clear(&mut self) {
        self.topics.clear();
    }
}

impl Partition {
    fn new(generation: u64) -> Self {
        Partition {
            generation,
            started: false,
            in_flight: BTreeSet::new(),
            next: 0,
            stored: 0,
        }
    }
}

/// An [`OffsetTracker`] shared between the consumer, the record tasks and the rebalance callback.
#[derive(Debug, Default)]
pub(crate) struct Offsets {
    tracker: Mutex<OffsetTracker>,
    settled: Condvar,
}

impl Offsets {
    pub(crate) fn lock(&self) -> MutexGuard<'_, OffsetTracker> {
        self.tracker
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Settles a ticket and wakes anyone draining. When the committable position moved, `store` is
    /// called with it under the lock, so positions are stored in the order they were reached.
    pub(crate) fn finish(&self, ticket: &Ticket, store: impl FnOnce(i64)) {
        let mut tracker = self.lock();
        if let Some(position) = tracker.finish(ticket) {
            store(position);
        }
        drop(tracker);
        self.settled.notify_all();
    }

    /// Begins `message`, polled at `polled`, when it is of its partition's current assignment
    /// ([`OffsetTracker::begin_polled`]); `None` (and a debug line) for one polled before its
    /// partition was revoked, which its next owner reads.
    pub(crate) fn begin_message(
        &self,
        message: &rdkafka::message::OwnedMessage,
        polled: Polled,
    ) -> Option<Ticket> {
        use rdkafka::Message;
        let (topic, partition, offset) = (message.topic(), message.partition(), message.offset());
        let ticket = self.lock().begin_polled(topic, partition, offset, polled);
        if ticket.is_none() {
            tracing::debug!(
                message =
                    "Record of a partition revoked since it was polled; its next owner reads it.",
                topic,
                partition,
                offset
            );
        }
        ticket
    }

    /// Blocks until no record of `partitions` is in flight, or `timeout` passes. Returns whether drained.
    /// Called from librdkafka's rebalance callback, on a thread that is not running record tasks.
    pub(crate) fn wait_drained(&self, partitions: &[(String, i32)], timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut tracker = self.lock();
        loop {
            if partitions
                .iter()
                .all(|(t, p)| tracker.in_flight(t, *p) == 0)
            {
                return true;
            }
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return false;
            };
            tracker = match self.settled.wait_timeout(tracker, left) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Steps: (begin or finish, offset, expected position to store after a finish).
    #[test]
    fn stores_only_behind_every_unfinished_record() {
        enum Step {
            Begin(i64),
            Finish(i64, Option<i64>),
        }
        use Step::*;
        let cases: &[(&str, &[Step])] = &[
            (
                "in order",
                &[Begin(0), Begin(1), Finish(0, Some(1)), Finish(1, Some(2))],
            ),
            (
                "out of order holds",
                &[
                    Begin(0),
                    Begin(1),
                    Begin(2),
                    Finish(2, None),
                    Finish(1, None),
                    Finish(0, Some(3)),
                ],
            ),
            (
                "middle first",
                &[
                    Begin(5),
                    Begin(6),
                    Begin(7),
                    Finish(6, None),
                    Finish(5, Some(7)),
                    Finish(7, Some(8)),
                ],
            ),
            (
                "gap in offsets (compaction)",
                &[
                    Begin(10),
                    Begin(14),
                    Finish(10, Some(14)),
                    Finish(14, Some(15)),
                ],
            ),
            (
                "begin after finish",
                &[
                    Begin(0),
                    Finish(0, Some(1)),
                    Begin(1),
                    Begin(2),
                    Finish(2, None),
                    Finish(1, Some(3)),
                ],
            ),
            (
                "finish twice",
                &[Begin(0), Begin(1), Finish(0, Some(1)), Finish(0, None)],
            ),
        ];
        for (name, steps) in cases {
            let mut tracker = OffsetTracker::default();
            let mut tickets = HashMap::new();
            for step in steps.iter() {
                match step {
                    Begin(offset) => {
                        tickets.insert(*offset, tracker.begin("t", 0, *offset));
                    }
                    Finish(offset, expected) => {
                        assert_eq!(
                            tracker.finish(&tickets[offset]),
                            *expected,
                            "{name}: finish {offset}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn partitions_are_independent() {
        let mut tracker = OffsetTracker::default();
        let a = tracker.begin("t", 0, 0);
        let b = tracker.begin("t", 1, 100);
        let c = tracker.begin("u", 0, 7);
        assert_eq!(tracker.finish(&b), Some(101));
        assert_eq!(tracker.in_flight("t", 0), 1);
        assert_eq!(tracker.finish(&c), Some(8));
        assert_eq!(tracker.finish(&a), Some(1));
    }

    #[test]
    fn a_record_polled_before_its_partition_was_revoked_is_not_begun() {
        let mut tracker = OffsetTracker::default();
        tracker.assign("t", 0);
        tracker.assign("t", 1);
        let before = tracker.polled();
        assert!(tracker.begin_polled("t", 0, 5, before).is_some());
        tracker.revoke("t", 0);
        assert!(tracker.begin_polled("t", 0, 6, before).is_none(), "revoked");
        assert!(!tracker.is_assigned("t", 0, before));
        tracker.assign("t", 0);
        assert!(
            tracker.begin_polled("t", 0, 6, before).is_none(),
            "assigned again since it was polled"
        );
        let after = tracker.polled();
        let ticket = tracker.begin_polled("t", 0, 3, after).expect("current");
        assert_eq!(
            tracker.finish(&ticket),
            Some(4),
            "starts where reading starts"
        );
        assert!(
            tracker.begin_polled("t", 1, 9, before).is_some(),
            "a partition kept all along"
        );
        assert!(
            tracker.begin_polled("t", 2, 0, after).is_none(),
            "never assigned"
        );
    }

    #[test]
    fn a_ticket_from_before_a_revoke_is_ignored() {
        let mut tracker = OffsetTracker::default();
        let old = tracker.begin("t", 0, 3);
        tracker.revoke("t", 0);
        let new = tracker.begin("t", 0, 3);
        let later = tracker.begin("t", 0, 4);
        assert_eq!(
            tracker.finish(&old),
            None,
            "stale ticket must not settle offset 3 of the new assignment"
        );
        assert_eq!(tracker.in_flight("t", 0), 2);
        assert_eq!(tracker.finish(&later), None);
        assert_eq!(tracker.finish(&new), Some(5));
    }

    #[test]
    fn wait_drained_returns_when_settled_or_timed_out() {
        let offsets = std::sync::Arc::new(Offsets::default());
        let ticket = offsets.lock().begin("t", 0, 0);
        let parts = vec![("t".to_owned(), 0)];
        assert!(!offsets.wait_drained(&parts, Duration::from_millis(20)));
        let other = offsets.clone();
        let finisher = std::thread::spawn(move || {
            let mut stored = None;
            other.finish(&ticket, |position| stored = Some(position));
            stored
        });
        assert!(offsets.wait_drained(&parts, Duration::from_secs(10)));
        assert_eq!(finisher.join().unwrap(), Some(1));
    }
}
