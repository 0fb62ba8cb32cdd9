//! The last hour in memory, minute by minute: events consumed per source, delivery outcomes and
//! rule matches, counted as they happen. The console's overview and topics pages read it; the
//! Prometheus counters stay the record to alert on (these counts start again with the process).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

/// Minutes kept.
pub const MINUTES: usize = 60;

/// What is counted, each with its label (a source id, an outcome, `topic#rule`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Consumed,
    Outcome,
    RuleMatched,
}

/// Per-minute counts of the last [`MINUTES`] minutes.
#[derive(Debug, Default)]
pub struct Recent {
    minutes: Mutex<Ring>,
}

/// Counts by what, then label.
type Counts = HashMap<Kind, HashMap<String, u64>>;

#[derive(Debug, Default)]
struct Ring {
    /// (minute since the Unix epoch, counts) per slot `minute % MINUTES`.
    slots: Vec<(u64, Counts)>,
}

impl Recent {
    /// Counts one of `kind` with `label` now.
    pub fn count(&self, kind: Kind, label: &str) {
        self.count_at(now_minute(), kind, label);
    }

    fn count_at(&self, minute: u64, kind: Kind, label: &str) {
        let mut ring = self.minutes.lock().unwrap_or_else(PoisonError::into_inner);
        if ring.slots.is_empty() {
            ring.slots = (0..MINUTES).map(|_| (u64::MAX, HashMap::new())).collect();
        }
        let slot = &mut ring.slots[(minute % MINUTES as u64) as usize];
        if slot.0 != minute {
            *slot = (minute, HashMap::new());
        }
        let labels = slot.1.entry(kind).or_default();
        // No allocation once the label has been counted this minute: the hot path.
        match labels.get_mut(label) {
            Some(n) => *n += 1,
            None => {
                labels.insert(label.to_owned(), 1);
            }
        }
    }

    /// The counts of the last `minutes` minutes (at most [`MINUTES`]), oldest first, the current
    /// minute last, for each label of `kind` seen in them.
    pub fn series(&self, kind: Kind, minutes: usize) -> HashMap<String, Vec<u64>> {
        self.series_at(now_minute(), kind, minutes)
    }

    fn series_at(&self, now: u64, kind: Kind, minutes: usize) -> HashMap<String, Vec<u64>> {
        let minutes = minutes.clamp(1, MINUTES);
        let ring = self.minutes.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out: HashMap<String, Vec<u64>> = HashMap::new();
        for (age, minute) in (0..minutes as u64).map(|age| (age, now.saturating_sub(age))) {
            let Some((at, counts)) = ring.slots.get((minute % MINUTES as u64) as usize) else {
                continue;
            };
            if *at != minute {
                continue;
            }
            for (label, n) in counts.get(&kind).into_iter().flatten() {
                let series = out.entry(label.clone()).or_insert_with(|| vec![0; minutes]);
                series[minutes - 1 - age as usize] += n;
            }
        }
        out
    }

    /// The total of `kind` with `label` over the last `minutes` minutes.
    pub fn total(&self, kind: Kind, label: &str, minutes: usize) -> u64 {
        self.series(kind, minutes)
            .get(label)
            .map_or(0, |series| series.iter().sum())
    }
}

fn now_minute() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_land_in_their_minute_and_age_out_after_an_hour() {
        let recent = Recent::default();
        recent.count_at(1000, Kind::Outcome, "delivered");
        recent.count_at(1000, Kind::Outcome, "delivered");
        recent.count_at(1002, Kind::Outcome, "delivered");
        recent.count_at(1002, Kind::Outcome, "retryable");
        recent.count_at(1002, Kind::Consumed, "lifecycle");
        let series = recent.series_at(1002, Kind::Outcome, 3);
        assert_eq!(series["delivered"], vec![2, 0, 1]);
        assert_eq!(series["retryable"], vec![0, 0, 1]);
        assert!(!series.contains_key("lifecycle"));
        // An hour later minute 1000's slot is reused and the old counts are gone.
        recent.count_at(1060, Kind::Outcome, "permanent");
        let series = recent.series_at(1060, Kind::Outcome, MINUTES);
        assert_eq!(series["permanent"].iter().sum::<u64>(), 1);
        assert_eq!(series["delivered"].iter().sum::<u64>(), 1, "{series:?}");
    }
}
