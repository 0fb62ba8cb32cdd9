//! Input de-duplication: a notification id seen within the window is dropped, so that a
//! producer's retry does not notify anybody twice. In memory, bounded, per process.
//!
//! The guarantee is narrow on purpose: a copy is dropped when this process read the first one
//! less than `window` ago and has remembered no more than `max_entries` ids since. A copy read
//! after a restart, by another instance, or after a rebalance moved its partition elsewhere is
//! delivered again, with the same `webhook-id`, for the receiver to drop.
//!
//! An id is remembered as a 128-bit digest (two SipHash values under keys drawn at start), not as
//! text: 16 bytes in a set and 24 in the order list (with the millisecond it was seen); 100,000
//! ids take 5.1 MiB at the capacities the two grow to (131,072 each), against 8.1 MiB when both
//! kept a 32-byte entry. Two different ids share a digest with a probability of about 2^-128.

use std::collections::VecDeque;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use rustc_hash::FxHashSet;

use crate::config::files::DedupSettings;

/// The ids seen recently, oldest first.
#[derive(Debug)]
pub(crate) struct Dedup {
    window: Duration,
    max_entries: usize,
    keys: [RandomState; 2],
    /// Times are kept as milliseconds since this.
    start: Instant,
    seen: Mutex<Seen>,
}

/// An id's digest: two 64-bit halves (a `u128` would align entries to 16 bytes).
type Digest = [u64; 2];

/// The ids within the window, each once: the set to look them up, the list in the order they
/// were seen (milliseconds since `Dedup::start`) to forget them.
#[derive(Debug, Default)]
struct Seen {
    ids: FxHashSet<Digest>,
    order: VecDeque<(u64, Digest)>,
}

impl Dedup {
    pub(crate) fn new(settings: &DedupSettings) -> Self {
        Self {
            window: settings.window,
            max_entries: settings.max_entries,
            keys: [RandomState::new(), RandomState::new()],
            start: Instant::now(),
            seen: Mutex::default(),
        }
    }

    /// Whether `id` was seen within the window; remembers it when not.
    pub(crate) fn is_duplicate(&self, id: &str) -> bool {
        self.check(id, Instant::now())
    }

    fn check(&self, id: &str, now: Instant) -> bool {
        if self.window.is_zero() || self.max_entries == 0 {
            return false;
        }
        let digest = self.digest(id);
        let now = millis(now.saturating_duration_since(self.start));
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        seen.expire(now, millis(self.window), self.max_entries);
        if !seen.ids.insert(digest) {
            return true;
        }
        seen.order.push_back((now, digest));
        false
    }

    fn digest(&self, id: &str) -> Digest {
        self.keys.each_ref().map(|key| key.hash_one(id))
    }

    #[cfg(test)]
    /// Ids remembered now.
    pub(crate) fn len(&self) -> usize {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .ids
            .len()
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Seen {
    /// Forgets ids seen `window` ago or earlier, and the oldest ones beyond `max - 1`.
    fn expire(&mut self, now: u64, window: u64, max: usize) {
        while let Some(&(at, id)) = self.order.front() {
            if now.saturating_sub(at) < window && self.order.len() < max {
                break;
            }
            self.ids.remove(&id);
            self.order.pop_front();
        }
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dedup(window_s: u64, max: usize) -> Dedup {
        Dedup::new(&DedupSettings {
            window: Duration::from_secs(window_s),
            max_entries: max,
        })
    }

    #[test]
    fn drops_a_copy_within_the_window_only() {
        let dedup = dedup(60, 100);
        let t0 = Instant::now();
        assert!(!dedup.check("a", t0));
        assert!(dedup.check("a", t0 + Duration::from_secs(59)));
        assert!(!dedup.check("b", t0 + Duration::from_secs(59)));
        assert!(
            !dedup.check("a", t0 + Duration::from_secs(60)),
            "the window has passed"
        );
        assert!(
            dedup.check("a", t0 + Duration::from_secs(61)),
            "remembered again"
        );
    }

    #[test]
    fn memory_stays_within_max_entries_forgetting_the_oldest() {
        let dedup = dedup(3600, 3);
        let t0 = Instant::now();
        for (i, id) in ["a", "b", "c", "d"].iter().enumerate() {
            assert!(!dedup.check(id, t0 + Duration::from_secs(i as u64)));
        }
        assert_eq!(dedup.len(), 3);
        assert!(
            !dedup.check("a", t0 + Duration::from_secs(5)),
            "a was forgotten"
        );
        assert!(dedup.check("d", t0 + Duration::from_secs(5)));
        for i in 0..10_000u64 {
            dedup.check(&format!("x{i}"), t0 + Duration::from_secs(6));
        }
        assert!(dedup.len() <= 3);
        let seen = dedup.seen.lock().unwrap();
        assert_eq!(seen.order.len(), seen.ids.len(), "each id listed once");
    }

    #[test]
    fn a_zero_window_turns_it_off() {
        let dedup = dedup(0, 100);
        let t0 = Instant::now();
        assert!(!dedup.check("a", t0));
        assert!(!dedup.check("a", t0));
        assert!(dedup.is_empty());
    }
}
