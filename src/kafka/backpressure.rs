//! Back-pressure for the sources' consumer: which partitions to pause because too many of their
//! records (or too many records overall) are in flight, and which to resume. The consumer is
//! polled all the time; only fetching stops. Pure: the caller pauses and resumes.

use std::collections::{HashMap, HashSet};

type Partition = (String, i32);

/// In-flight counts per partition and the pause state derived from them.
#[derive(Debug)]
pub struct Backpressure {
    max_total: usize,
    max_partition: usize,
    total: usize,
    counts: HashMap<Partition, usize>,
    assigned: HashSet<Partition>,
    paused: HashSet<Partition>,
}

impl Backpressure {
    pub fn new(max_total: usize, max_partition: usize) -> Self {
        Self {
            max_total: max_total.max(1),
            max_partition: max_partition.max(1),
            total: 0,
            counts: HashMap::new(),
            assigned: HashSet::new(),
            paused: HashSet::new(),
        }
    }

    /// Records in flight.
    pub fn in_flight(&self) -> usize {
        self.total
    }

    /// A record of `partition` started; returns the partitions to pause now: that one when its
    /// own limit is reached. The total limit pauses nothing by itself (see [`Self::is_full`]).
    pub fn started(&mut self, topic: &str, partition: i32) -> Vec<Partition> {
        let key = (topic.to_owned(), partition);
        self.assigned.insert(key.clone());
        self.total += 1;
        let count = self.counts.entry(key.clone()).or_default();
        *count += 1;
        if *count >= self.max_partition && self.paused.insert(key.clone()) {
            vec![key]
        } else {
            Vec::new()
        }
    }

    /// Whether the records in flight are at the total limit: the caller takes no more for now,
    /// and pauses everything ([`Self::pause_all`]) if that lasts.
    pub fn is_full(&self) -> bool {
        self.total >= self.max_total
    }

    /// Every assigned partition not paused yet, now paused.
    pub fn pause_all(&mut self) -> Vec<Partition> {
        let pause: Vec<Partition> = self
            .assigned
            .iter()
            .filter(|p| !self.paused.contains(*p))
            .cloned()
            .collect();
        self.paused.extend(pause.iter().cloned());
        pause
    }

    /// A record of `partition` finished; returns the partitions to resume now. A paused
    /// partition resumes once the total is at most 3/4 of its limit and its own count too, so
    /// that fetching does not flap on every record.
    pub fn finished(&mut self, topic: &str, partition: i32) -> Vec<Partition> {
        let key = (topic.to_owned(), partition);
        if let Some(count) = self.counts.get_mut(&key) {
            *count = count.saturating_sub(1);
            self.total = self.total.saturating_sub(1);
            if *count == 0 {
                self.counts.remove(&key);
            }
        }
        if self.paused.is_empty() || self.total > low(self.max_total) {
            return Vec::new();
        }
        let resume: Vec<Partition> = self
            .paused
            .iter()
            .filter(|p| self.counts.get(*p).copied().unwrap_or(0) <= low(self.max_partition))
            .cloned()
            .collect();
        for p in &resume {
            self.paused.remove(p);
        }
        resume
    }

    /// Partitions newly assigned; returns those to pause at once (the total is at its limit).
    pub fn assigned(&mut self, partitions: &[Partition]) -> Vec<Partition> {
        self.assigned.extend(partitions.iter().cloned());
        if self.total < self.max_total {
            return Vec::new();
        }
        partitions
            .iter()
            .filter(|p| self.paused.insert((*p).clone()))
            .cloned()
            .collect()
    }

    /// Partitions revoked: their pause state goes with them. Records still in flight keep
    /// counting until they finish.
    pub fn revoked(&mut self, partitions: &[Partition]) {
        for p in partitions {
            self.assigned.remove(p);
            self.paused.remove(p);
        }
    }

    pub fn is_paused(&self, topic: &str, partition: i32) -> bool {
        self.paused.contains(&(topic.to_owned(), partition))
    }
}

/// Three quarters of a limit, rounded down.
fn low(limit: usize) -> usize {
    limit * 3 / 4
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: Vec<Partition>) -> Vec<i32> {
        let mut partitions: Vec<i32> = list.into_iter().map(|(_, p)| p).collect();
        partitions.sort_unstable();
        partitions
    }

    #[test]
    fn a_busy_partition_pauses_alone_and_resumes_at_three_quarters() {
        let mut pressure = Backpressure::new(100, 8);
        pressure.assigned(&[("t".into(), 0), ("t".into(), 1)]);
        for _ in 0..7 {
            assert!(pressure.started("t", 0).is_empty());
        }
        assert_eq!(names(pressure.started("t", 0)), vec![0]);
        assert!(
            pressure.started("t", 1).is_empty(),
            "the other partition goes on"
        );
        assert!(pressure.is_paused("t", 0));
        assert!(pressure.finished("t", 0).is_empty(), "7 of 8 is above 3/4");
        assert_eq!(names(pressure.finished("t", 0)), vec![0], "6 of 8 resumes");
        assert!(!pressure.is_paused("t", 0));
    }

    #[test]
    fn a_full_total_pauses_every_assigned_partition_when_asked() {
        let mut pressure = Backpressure::new(8, 100);
        pressure.assigned(&[("t".into(), 0), ("t".into(), 1), ("t".into(), 2)]);
        for p in [0, 0, 1, 1, 0, 0, 1] {
            assert!(pressure.started("t", p).is_empty());
            assert!(!pressure.is_full());
        }
        assert!(
            pressure.started("t", 1).is_empty(),
            "full pauses nothing by itself"
        );
        assert!(pressure.is_full());
        assert_eq!(names(pressure.pause_all()), vec![0, 1, 2]);
        assert!(pressure.pause_all().is_empty(), "already paused");
        assert_eq!(
            names(pressure.assigned(&[("t".into(), 3)])),
            vec![3],
            "a partition assigned while full starts paused"
        );
        assert!(pressure.finished("t", 0).is_empty(), "7 of 8 in flight");
        assert_eq!(names(pressure.finished("t", 1)), vec![0, 1, 2, 3]);
        assert_eq!(pressure.in_flight(), 6);
    }

    #[test]
    fn revoked_partitions_forget_their_pause() {
        let mut pressure = Backpressure::new(100, 1);
        assert_eq!(names(pressure.started("t", 0)), vec![0]);
        pressure.revoked(&[("t".into(), 0)]);
        assert!(!pressure.is_paused("t", 0));
        assert!(pressure.finished("t", 0).is_empty());
        assert_eq!(pressure.in_flight(), 0);
    }
}
