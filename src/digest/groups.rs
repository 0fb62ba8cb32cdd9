//! The digest consumer's memory: per group (a partition and a record key: subscription and
//! group values), the entries waiting, a digest sealed but not yet sent (read back after a crash), the digest
//! being sent and when the last one went. Pure: it says which digests are due and which
//! records a sent digest settles; the consumer does the IO.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::config::{Digest, MAX_ITEMS};
use super::record::{Entry, Seal, Sent, digest_id};
use crate::consumer::Ticket;

/// How a group's digests are timed: its subscription's `digest` settings now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timing {
    pub wait: Duration,
    pub interval: Duration,
    pub max_items: usize,
}

impl Timing {
    /// For a group whose subscription no longer sends digests: what waits goes at once.
    pub(crate) const FLUSH: Timing = Timing {
        wait: Duration::ZERO,
        interval: Duration::ZERO,
        max_items: MAX_ITEMS,
    };

    pub(crate) fn of(digest: &Digest) -> Timing {
        Timing {
            wait: digest.wait,
            interval: digest.interval,
            max_items: digest.max_items,
        }
    }
}

/// One entry record read, with its place in the partition.
#[derive(Debug)]
pub(crate) struct Held {
    pub ticket: Ticket,
    pub entry: Entry,
}

/// A group: the partition of the digest topic its records are on, and their key. A key's
/// records move to another partition when partitions are added; each partition's are a group
/// of their own, read and settled apart.
pub(crate) type GroupId = (i32, String);

/// A digest due to be sent.
#[derive(Debug)]
pub(crate) struct Batch {
    /// Its group.
    pub group_id: GroupId,
    /// Its `webhook-id`.
    pub id: String,
    pub subscription: String,
    pub group: Map<String, Value>,
    /// In the order they were written.
    pub members: Vec<Held>,
    /// Its seal record was written already (it was read back after a restart).
    pub sealed: bool,
}

impl Batch {
    /// The offset of its last member: the seal and sent records settle up to it.
    pub(crate) fn upto(&self) -> i64 {
        self.members.last().map_or(-1, |m| m.ticket.offset)
    }
}

#[derive(Debug)]
struct Group {
    subscription: String,
    group: Map<String, Value>,
    pending: Vec<Held>,
    /// A seal read back whose sent record was not (yet) read: its id and members.
    sealed: Option<(String, Vec<Held>)>,
    /// The id of the digest being sent.
    sending: Option<String>,
    /// The last digest sent: its id and when.
    last_sent: Option<(String, DateTime<Utc>)>,
}

impl Group {
    /// When its next digest is due, if it has one to send.
    fn due(&self, timing: Timing) -> Option<DateTime<Utc>> {
        if self.sending.is_some() {
            return None;
        }
        if self.sealed.is_some() || self.pending.len() >= timing.max_items {
            return Some(DateTime::<Utc>::MIN_UTC);
        }
        let first = self.pending.first()?;
        let waited = later(first.entry.entered_at, timing.wait);
        let spaced = self
            .last_sent
            .as_ref()
            .map_or(waited, |(_, at)| later(*at, timing.interval));
        Some(waited.max(spaced))
    }

    fn idle(&self, now: DateTime<Utc>, timing: Timing) -> bool {
        self.pending.is_empty()
            && self.sealed.is_none()
            && self.sending.is_none()
            && self
                .last_sent
                .as_ref()
                .is_none_or(|(_, at)| later(*at, timing.interval) <= now)
    }
}

/// Every group of the partitions this consumer owns.
#[derive(Debug, Default)]
pub(crate) struct Groups {
    groups: HashMap<GroupId, Group>,
    /// Partitions assigned but not read to their end yet: none of their digests is sent, so
    /// that what a crash interrupted is rebuilt whole first.
    catching_up: HashSet<i32>,
}

impl Groups {
    /// How many entries are held.
    pub(crate) fn len(&self) -> usize {
        self.groups
            .values()
            .map(|g| g.pending.len() + g.sealed.as_ref().map_or(0, |(_, m)| m.len()))
            .sum()
    }

    pub(crate) fn catching_up(&mut self, partition: i32) {
        self.catching_up.insert(partition);
    }

    pub(crate) fn caught_up(&mut self, partition: i32) -> bool {
        self.catching_up.remove(&partition)
    }

    /// Lets every partition's digests go without waiting to read it to its end: reading on needs
    /// room, and room needs digests sent. A sealed digest whose sent record was not read yet
    /// may then be sent again, with its id (at least once).
    pub(crate) fn stop_catching_up(&mut self) -> Vec<i32> {
        self.catching_up.drain().collect()
    }

    /// An entry record of key `key` read: it waits in its group.
    pub(crate) fn hold(&mut self, key: String, held: Held) {
        let id = (held.ticket.partition, key);
        let group = self.groups.entry(id).or_insert_with(|| Group {
            subscription: held.entry.job.subscription.clone(),
            group: held.entry.group.clone(),
            pending: Vec::new(),
            sealed: None,
            sending: None,
            last_sent: None,
        });
        group.pending.push(held);
    }

    /// A seal record read: unless it is the digest being (or just) sent here, the group's
    /// entries up to its offset are that digest's members, to be sent under its id.
    pub(crate) fn seal(&mut self, group_id: &GroupId, seal: Seal) {
        let Some(group) = self.groups.get_mut(group_id) else {
            return;
        };
        let ours = group.sending.as_deref() == Some(seal.id.as_str())
            || group
                .last_sent
                .as_ref()
                .is_some_and(|(id, _)| *id == seal.id);
        if ours || group.sealed.is_some() {
            return;
        }
        let split = group
            .pending
            .iter()
            .position(|h| h.ticket.offset > seal.upto)
            .unwrap_or(group.pending.len());
        if split > 0 {
            let members: Vec<Held> = group.pending.drain(..split).collect();
            group.sealed = Some((seal.id, members));
        }
    }

    /// A sent record read: the tickets it settles (a sealed digest's members, and any entry up
    /// to its offset), unless it is the digest being sent here, whose task settles them.
    pub(crate) fn sent(&mut self, group_id: &GroupId, sent: &Sent) -> Vec<Ticket> {
        let Some(group) = self.groups.get_mut(group_id) else {
            return Vec::new();
        };
        if group.last_sent.as_ref().is_none_or(|(_, at)| *at < sent.at) {
            group.last_sent = Some((sent.id.clone(), sent.at));
        }
        if group.sending.as_deref() == Some(sent.id.as_str()) {
            return Vec::new();
        }
        let mut settled = Vec::new();
        if group.sealed.as_ref().is_some_and(|(id, _)| *id == sent.id)
            && let Some((_, members)) = group.sealed.take()
        {
            settled.extend(members.into_iter().map(|h| h.ticket));
        }
        let split = group
            .pending
            .iter()
            .position(|h| h.ticket.offset > sent.upto)
            .unwrap_or(group.pending.len());
        settled.extend(group.pending.drain(..split).map(|h| h.ticket));
        settled
    }

    /// When the earliest digest is due.
    pub(crate) fn next_due(&self, timing: impl Fn(&str) -> Timing) -> Option<DateTime<Utc>> {
        self.groups
            .iter()
            .filter(|((partition, _), _)| !self.catching_up.contains(partition))
            .filter_map(|(_, g)| g.due(timing(&g.subscription)))
            .min()
    }

    /// The digests due at `now`, each marked as being sent; forgets idle groups.
    pub(crate) fn take_due(
        &mut self,
        now: DateTime<Utc>,
        timing: impl Fn(&str) -> Timing,
    ) -> Vec<Batch> {
        let mut due = Vec::new();
        self.groups
            .retain(|_, group| !group.idle(now, timing(&group.subscription)));
        for (group_id, group) in &mut self.groups {
            if self.catching_up.contains(&group_id.0) {
                continue;
            }
            let timing = timing(&group.subscription);
            if group.due(timing).is_none_or(|at| at > now) {
                continue;
            }
            let (id, members, sealed) = match group.sealed.take() {
                Some((id, members)) => (id, members, true),
                None => {
                    let take = group.pending.len().min(timing.max_items.max(1));
                    let members: Vec<Held> = group.pending.drain(..take).collect();
                    let id = digest_id(&group_id.1, members.iter().map(|m| &m.entry.job));
                    (id, members, false)
                }
            };
            group.sending = Some(id.clone());
            due.push(Batch {
                group_id: group_id.clone(),
                id,
                subscription: group.subscription.clone(),
                group: group.group.clone(),
                members,
                sealed,
            });
        }
        due
    }

    /// The digest `id` of group `group_id` was sent at `at` (`None`: shutdown came first; it
    /// stays marked as being sent, and is read again after a restart).
    pub(crate) fn finished(&mut self, group_id: &GroupId, id: &str, at: Option<DateTime<Utc>>) {
        let (Some(group), Some(at)) = (self.groups.get_mut(group_id), at) else {
            return;
        };
        if group.sending.as_deref() == Some(id) {
            group.sending = None;
            group.last_sent = Some((id.to_owned(), at));
        }
    }

    /// Forgets the groups of revoked partitions: their next owner reads them again.
    pub(crate) fn revoke(&mut self, partitions: &[i32]) {
        self.groups
            .retain(|(partition, _), _| !partitions.contains(partition));
        for partition in partitions {
            self.catching_up.remove(partition);
        }
    }
}

/// `at` plus `delay`, saturating.
fn later(at: DateTime<Utc>, delay: Duration) -> DateTime<Utc> {
    chrono::TimeDelta::from_std(delay)
        .ok()
        .and_then(|delta| at.checked_add_signed(delta))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[cfg(test)]
mod tests;
