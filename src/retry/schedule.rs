//! The retry consumer's memory: every retry record read and not settled yet, by delivery, in
//! order of due time. Pure: no IO, no clock of its own.
//!
//! One delivery (one `webhook-id`, the record key) is held once: a later record of the same key
//! replaces an earlier one, and a tombstone settles the records of its key up to an offset.
//! Both hand back the tickets of what they replaced, for the watermark.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};

use chrono::{DateTime, Utc};

use crate::consumer::Ticket;
use crate::dispatch::Job;

/// A retry record read from the topic: the job and where it is.
#[derive(Debug, Clone)]
pub(crate) struct Held {
    pub job: Job,
    pub ticket: Ticket,
}

/// Why a due job waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Park {
    /// Its partition is still being read up to its end after an assignment, so that a later
    /// record of the same delivery can still replace it.
    CatchingUp(i32),
    /// Its destination's queue is full.
    Lane(usize),
}

#[derive(Debug)]
struct Entry {
    seq: u64,
    held: Held,
}

/// Jobs waiting for their due time, a free lane, or the end of their partition.
#[derive(Debug, Default)]
pub(crate) struct Schedule {
    entries: HashMap<String, Entry>,
    /// (due, seq, key); an item whose seq is not its entry's any more is stale.
    heap: BinaryHeap<Reverse<(DateTime<Utc>, u64, String)>>,
    parked: HashMap<Park, VecDeque<(u64, String)>>,
    seq: u64,
}

impl Schedule {
    /// Jobs held (waiting, parked; not those being delivered).
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Holds a job until due. Returns the ticket of what this made obsolete: the job it replaces
    /// (same key, lower offset), or this one when a later record of its key is already held.
    pub(crate) fn hold(&mut self, held: Held) -> Option<Ticket> {
        let key = held.job.webhook_id.clone();
        let mut replaced = None;
        if let Some(existing) = self.entries.get(&key) {
            if existing.held.ticket.offset > held.ticket.offset
                && existing.held.ticket.partition == held.ticket.partition
            {
                return Some(held.ticket);
            }
            replaced = self.entries.remove(&key).map(|e| e.held.ticket);
        }
        self.seq += 1;
        self.heap
            .push(Reverse((held.job.due, self.seq, key.clone())));
        self.entries.insert(
            key,
            Entry {
                seq: self.seq,
                held,
            },
        );
        replaced
    }

    /// A tombstone of `key` read: settles the held job of that key when its offset is at most
    /// `upto`, returning its ticket.
    pub(crate) fn settle(&mut self, key: &str, upto: i64) -> Option<Ticket> {
        let settled = self
            .entries
            .get(key)
            .is_some_and(|e| e.held.ticket.offset <= upto);
        settled.then(|| self.entries.remove(key).map(|e| e.held.ticket))?
    }

    /// When the earliest waiting job is due.
    pub(crate) fn next_due(&mut self) -> Option<DateTime<Utc>> {
        self.drop_stale_top();
        self.heap.peek().map(|Reverse((due, _, _))| *due)
    }

    /// The key of the earliest job due at `now`, taken off the timeline (still held).
    pub(crate) fn pop_due(&mut self, now: DateTime<Utc>) -> Option<String> {
        self.drop_stale_top();
        match self.heap.peek() {
            Some(Reverse((due, _, _))) if *due <= now => {
                self.heap.pop().map(|Reverse((_, _, key))| key)
            }
            _ => None,
        }
    }

    /// The held job of `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&Held> {
        self.entries.get(key).map(|e| &e.held)
    }

    /// Takes a job out to deliver it.
    pub(crate) fn take(&mut self, key: &str) -> Option<Held> {
        self.entries.remove(key).map(|e| e.held)
    }

    /// Makes the held job of `key` due at `due` (sooner than it was): its circuit closed.
    pub(crate) fn hurry(&mut self, key: &str, due: DateTime<Utc>) {
        let Some(entry) = self.entries.get_mut(key) else {
            return;
        };
        if entry.held.job.due <= due {
            return;
        }
        self.seq += 1;
        entry.seq = self.seq;
        entry.held.job.due = due;
        self.heap.push(Reverse((due, self.seq, key.to_owned())));
    }

    /// Parks a popped job until [`unpark`](Self::unpark) is called for `why`.
    pub(crate) fn park(&mut self, key: &str, why: Park) {
        if let Some(entry) = self.entries.get(key) {
            self.parked
                .entry(why)
                .or_default()
                .push_back((entry.seq, key.to_owned()));
        }
    }

    /// Puts back on the timeline up to `n` jobs parked for `why`, oldest first.
    pub(crate) fn unpark(&mut self, why: Park, n: usize) {
        let Some(queue) = self.parked.get_mut(&why) else {
            return;
        };
        let mut moved = 0;
        while moved < n {
            let Some((seq, key)) = queue.pop_front() else {
                break;
            };
            if let Some(entry) = self.entries.get(&key).filter(|e| e.seq == seq) {
                self.heap.push(Reverse((entry.held.job.due, seq, key)));
                moved += 1;
            }
        }
        if queue.is_empty() {
            self.parked.remove(&why);
        }
    }

    /// The lanes some job is parked for.
    pub(crate) fn parked_lanes(&self) -> Vec<usize> {
        self.parked
            .keys()
            .filter_map(|p| match p {
                Park::Lane(lane) => Some(*lane),
                Park::CatchingUp(_) => None,
            })
            .collect()
    }

    /// Forgets every job `keep` rejects (their partition was revoked), parked ones included.
    pub(crate) fn retain(&mut self, keep: impl Fn(&Ticket) -> bool) {
        self.entries.retain(|_, e| keep(&e.held.ticket));
    }

    /// Puts back on the timeline everything parked while catching up on `partitions`.
    pub(crate) fn caught_up(&mut self, partitions: &HashSet<i32>) {
        for partition in partitions {
            self.unpark(Park::CatchingUp(*partition), usize::MAX);
        }
    }

    fn drop_stale_top(&mut self) {
        while let Some(Reverse((_, seq, key))) = self.heap.peek() {
            if self.entries.get(key).is_some_and(|e| e.seq == *seq) {
                return;
            }
            self.heap.pop();
        }
    }
}

#[cfg(test)]
mod tests;
