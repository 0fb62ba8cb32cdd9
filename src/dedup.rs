//! Input de-duplication: a notification id seen within the window is dropped, so that a
//! producer's retry does not notify anybody twice. In memory, bounded, per process.
//!
//! The guarantee is narrow on purpose: a copy is dropped when this process read the first one
//! less than `window` ago and has remembered no more than `max_entries` ids since. A copy read
//! after a restart, by another instance, or after a rebalance moved its partition elsewhere is
//! delivered again, with the same `webhook-id`, for the receiver to drop.
//!
//! An id is remembered as a 128-bit digest (two SipHash values under keys drawn at start), not as
//! text: a map entry and a place in the order list of 32 bytes each, instead of two heap copies
//! of the id besides. Two different ids share a digest with a probability of about 2^-128.

use std::collections::VecDeque;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use rustc_hash::FxHashMap;

use crate::config::files::DedupSettings;

/// The ids seen recently, oldest first.
#[derive(Debug)]
pub struct Dedup {
    window: Duration,
    max_entries: usize,
    keys: [RandomState; 2],
    seen: Mutex<Seen>,
}

/// An id's digest.
type Digest = u128;

#[derive(Debug, Default)]
struct Seen {
    /// Digest → when it was (last) first seen; the order list may hold older copies of a digest.
    at: FxHashMap<Digest, Instant>,
    order: VecDeque<(Instant, Digest)>,
}

impl Dedup {
    pub fn new(settings: &DedupSettings) -> Self {
        Self {
            window: settings.window,
            max_entries: settings.max_entries,
            keys: [RandomState::new(), RandomState::new()],
            seen: Mutex::default(),
        }
    }

    /// Whether `id` was seen within the window; remembers it when not.
    pub fn is_duplicate(&self, id: &str) -> bool {
        self.check(id, Instant::now())
    }

    fn check(&self, id: &str, now: Instant) -> bool {
        if self.window.is_zero() || self.max_entries == 0 {
            return false;
        }
        let digest = self.digest(id);
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        seen.expire(now, self.window, self.max_entries);
        if seen
            .at
            .get(&digest)
            .is_some_and(|at| now.duration_since(*at) < self.window)
        {
            return true;
        }
        seen.at.insert(digest, now);
        seen.order.push_back((now, digest));
        false
    }

    fn digest(&self, id: &str) -> Digest {
        let [high, low] = &self.keys;
        (Digest::from(high.hash_one(id)) << 64) | Digest::from(low.hash_one(id))
    }

    /// Ids remembered now.
    pub fn len(&self) -> usize {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .at
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Seen {
    /// Forgets ids older than the window, and the oldest ones beyond `max - 1`.
    fn expire(&mut self, now: Instant, window: Duration, max: usize) {
        while let Some((at, id)) = self.order.front() {
            let old = now.duration_since(*at) >= window;
            if !old && self.at.len() < max {
                break;
            }
            if self.at.get(id) == Some(at) {
                self.at.remove(id);
            }
            self.order.pop_front();
        }
    }
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
        assert!(seen.order.len() <= 4, "the order list is bounded too");
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
