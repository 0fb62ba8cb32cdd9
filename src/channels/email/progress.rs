//! Which recipients of one email delivery have it, refused it, or still wait, across attempts.

use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard, PoisonError};

use lettre::Address;

/// The state of each recipient of one delivery, kept across the attempts of
/// `deliver_with_retries` so that nobody is sent the email twice. Shared by reference: the
/// state sits behind a mutex. One attempt at a time uses it.
#[derive(Debug)]
pub struct EmailProgress {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// The recipients, each once, in their original order.
    recipients: Vec<Address>,
    status: Vec<Status>,
    /// Batches (by index) sent one transaction per recipient since a reply failed them.
    split: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Status {
    Pending,
    Delivered,
    Rejected(String),
}

/// The recipients of one batch that still wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PendingBatch {
    /// Position of the batch in the original recipient list, chunked by `batch_size`.
    pub index: usize,
    pub recipients: Vec<Address>,
    /// Where each of `recipients` is in the progress, for marking it.
    pub positions: Vec<usize>,
    /// Whether each recipient gets a transaction of its own.
    pub split: bool,
}

impl EmailProgress {
    /// Everybody pending; a recipient listed twice counts once.
    pub fn new(recipients: &[Address]) -> EmailProgress {
        let unique = unique(recipients);
        EmailProgress {
            state: Mutex::new(State {
                status: vec![Status::Pending; unique.len()],
                recipients: unique,
                split: Vec::new(),
            }),
        }
    }

    /// Recipients whose server accepted the email.
    pub fn delivered(&self) -> Vec<Address> {
        self.select(|s| matches!(s, Status::Delivered))
            .into_iter()
            .map(|(address, _)| address)
            .collect()
    }

    /// Recipients the server refused for good (a 5xx reply), each with that reply.
    pub fn rejected(&self) -> Vec<(Address, String)> {
        self.select(|s| matches!(s, Status::Rejected(_)))
    }

    /// Recipients that may still get the email on a later attempt.
    pub fn pending(&self) -> Vec<Address> {
        self.select(|s| matches!(s, Status::Pending))
            .into_iter()
            .map(|(address, _)| address)
            .collect()
    }

    /// Whether these are the recipients this progress was made for (ignoring repeats).
    pub(super) fn tracks(&self, recipients: &[Address]) -> bool {
        self.lock().recipients == unique(recipients)
    }

    /// Numbers of recipients delivered, rejected and pending.
    pub(super) fn counts(&self) -> (usize, usize, usize) {
        let state = self.lock();
        let delivered = state.count(|s| matches!(s, Status::Delivered));
        let rejected = state.count(|s| matches!(s, Status::Rejected(_)));
        (
            delivered,
            rejected,
            state.status.len() - delivered - rejected,
        )
    }

    /// The batches, in order, with their still-pending recipients; batches with none are left
    /// out.
    pub(super) fn pending_batches(&self, batch_size: usize) -> Vec<PendingBatch> {
        let state = self.lock();
        let size = batch_size.max(1);
        let positions: Vec<usize> = (0..state.recipients.len()).collect();
        positions
            .chunks(size)
            .enumerate()
            .map(|(index, chunk)| {
                let positions: Vec<usize> = chunk
                    .iter()
                    .copied()
                    .filter(|&i| state.status[i] == Status::Pending)
                    .collect();
                PendingBatch {
                    index,
                    recipients: positions
                        .iter()
                        .map(|&i| state.recipients[i].clone())
                        .collect(),
                    positions,
                    split: state.split.contains(&index),
                }
            })
            .filter(|batch| !batch.positions.is_empty())
            .collect()
    }

    /// Marks the recipients at `positions` (from a [`PendingBatch`]) delivered.
    pub(super) fn mark_delivered(&self, positions: &[usize]) {
        let mut state = self.lock();
        for &i in positions {
            state.status[i] = Status::Delivered;
        }
    }

    /// Marks the recipient at `position` rejected with the server's `reply`.
    pub(super) fn mark_rejected(&self, position: usize, reply: String) {
        self.lock().status[position] = Status::Rejected(reply);
    }

    pub(super) fn mark_split(&self, batch: usize) {
        let mut state = self.lock();
        if !state.split.contains(&batch) {
            state.split.push(batch);
        }
    }

    fn select(&self, wanted: impl Fn(&Status) -> bool) -> Vec<(Address, String)> {
        let state = self.lock();
        state
            .recipients
            .iter()
            .zip(&state.status)
            .filter(|(_, status)| wanted(status))
            .map(|(address, status)| match status {
                Status::Rejected(reply) => (address.clone(), reply.clone()),
                _ => (address.clone(), String::new()),
            })
            .collect()
    }

    /// The state; a panic elsewhere while holding the lock leaves it consistent (every update
    /// is a single assignment), so a poisoned lock is used as is.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    fn count(&self, wanted: impl Fn(&Status) -> bool) -> usize {
        self.status.iter().filter(|s| wanted(s)).count()
    }
}

fn unique(recipients: &[Address]) -> Vec<Address> {
    let mut seen = HashSet::with_capacity(recipients.len());
    recipients
        .iter()
        .filter(|address| seen.insert(*address))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addresses(names: &[&str]) -> Vec<Address> {
        names
            .iter()
            .map(|n| format!("{n}@example.com").parse().expect("valid address"))
            .collect()
    }

    #[test]
    fn chunks_pending_recipients_by_batch() {
        let all = addresses(&["a", "b", "c", "d", "e", "a"]);
        let progress = EmailProgress::new(&all);
        assert!(progress.tracks(&all[..5]));
        assert_eq!(progress.counts(), (0, 0, 5));
        progress.mark_delivered(&[0]);
        progress.mark_rejected(1, "550 no".to_owned());
        progress.mark_split(0);
        let batches = progress.pending_batches(2);
        assert_eq!(
            batches,
            vec![
                PendingBatch {
                    index: 1,
                    recipients: all[2..4].to_vec(),
                    positions: vec![2, 3],
                    split: false
                },
                PendingBatch {
                    index: 2,
                    recipients: all[4..5].to_vec(),
                    positions: vec![4],
                    split: false
                },
            ]
        );
        assert_eq!(progress.delivered(), all[..1].to_vec());
        assert_eq!(
            progress.rejected(),
            vec![(all[1].clone(), "550 no".to_owned())]
        );
        assert_eq!(progress.pending(), all[2..5].to_vec());
        assert_eq!(progress.counts(), (1, 1, 3));
    }
}
