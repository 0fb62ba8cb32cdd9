//! Back-pressure for the sources' consumer: whether a record may start (too many of its
//! partition's records, or too many records overall, are in flight), the records waiting for
//! room, which partitions to pause when one has waited too long, and which to resume. The
//! consumer is polled all the time; only fetching stops. Pure: the caller pauses and resumes.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use rustc_hash::{FxHashMap, FxHashSet};

/// A topic and a partition number.
pub(crate) type Partition = (String, i32);

/// In-flight counts per partition and the pause state derived from them.
#[derive(Debug)]
pub(crate) struct Backpressure {
    max_total: usize,
    max_partition: usize,
    total: usize,
    counts: FxHashMap<Partition, usize>,
    assigned: FxHashSet<Partition>,
    paused: FxHashSet<Partition>,
}

impl Backpressure {
    pub(crate) fn new(max_total: usize, max_partition: usize) -> Self {
        Self {
            max_total: max_total.max(1),
            max_partition: max_partition.max(1),
            total: 0,
            counts: FxHashMap::default(),
            assigned: FxHashSet::default(),
            paused: FxHashSet::default(),
        }
    }

    #[cfg(test)]
    /// Records in flight.
    pub(crate) fn in_flight(&self) -> usize {
        self.total
    }

    /// Whether a record of `partition` may start now: the records in flight are below both
    /// limits.
    pub(crate) fn admits(&self, partition: &Partition) -> bool {
        self.total < self.max_total
            && self.counts.get(partition).copied().unwrap_or(0) < self.max_partition
    }

    /// A record of `partition` started.
    pub(crate) fn started(&mut self, partition: &Partition) {
        self.total += 1;
        match self.counts.get_mut(partition) {
            Some(count) => *count += 1,
            None => {
                self.counts.insert(partition.clone(), 1);
            }
        }
        if !self.assigned.contains(partition) {
            self.assigned.insert(partition.clone());
        }
    }

    /// Whether the records in flight are at the total limit.
    pub(crate) fn is_full(&self) -> bool {
        self.total >= self.max_total
    }

    /// A record of `partition` has waited too long for room: the partitions to pause now. Every
    /// assigned one when the total is at its limit, else `partition` alone.
    pub(crate) fn pause_for(&mut self, partition: &Partition) -> Vec<Partition> {
        let mut pause = if self.is_full() {
            self.pause_all()
        } else {
            Vec::new()
        };
        if self.paused.insert(partition.clone()) {
            pause.push(partition.clone());
        }
        pause
    }

    /// Every assigned partition not paused yet, now paused.
    fn pause_all(&mut self) -> Vec<Partition> {
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
    pub(crate) fn finished(&mut self, partition: &Partition) -> Vec<Partition> {
        if let Some(count) = self.counts.get_mut(partition) {
            *count = count.saturating_sub(1);
            self.total = self.total.saturating_sub(1);
            if *count == 0 {
                self.counts.remove(partition);
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
    pub(crate) fn assigned(&mut self, partitions: &[Partition]) -> Vec<Partition> {
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
    pub(crate) fn revoked(&mut self, partitions: &[Partition]) {
        for p in partitions {
            self.assigned.remove(p);
            self.paused.remove(p);
        }
    }

    pub(crate) fn is_paused(&self, partition: &Partition) -> bool {
        self.paused.contains(partition)
    }
}

/// Records taken from the consumer that have no room yet, oldest first. The consume loop takes
/// no more while one of them waits on a partition still fetching: at full speed a record
/// finishes within milliseconds and makes room, and librdkafka's prefetch stays. One that waits
/// longer than the grace pauses its partition (or all of them, [`Backpressure::pause_for`]), a
/// pause dropping that prefetch, and the loop polls on. Nothing starts beyond the limits.
#[derive(Debug)]
pub(crate) struct Waiting<M> {
    grace: Duration,
    records: VecDeque<(Partition, Instant, M)>,
}

impl<M> Waiting<M> {
    pub(crate) fn new(grace: Duration) -> Self {
        Self {
            grace,
            records: VecDeque::new(),
        }
    }

    /// A record of `partition`, taken at `now`, waits.
    pub(crate) fn push(&mut self, partition: Partition, now: Instant, record: M) {
        self.records.push_back((partition, now, record));
    }

    /// The oldest waiting record `pressure` admits now, taken out with its partition.
    pub(crate) fn next_admitted(&mut self, pressure: &Backpressure) -> Option<(Partition, M)> {
        if pressure.is_full() {
            return None;
        }
        let at = self.position_by_partition(|partition| pressure.admits(partition))?;
        self.records
            .remove(at)
            .map(|(partition, _, record)| (partition, record))
    }

    /// When the loop must act if no room is made: the grace's end for the oldest record whose
    /// partition still fetches. `None` when there is none: the loop may take more records.
    pub(crate) fn deadline(&self, pressure: &Backpressure) -> Option<Instant> {
        self.oldest_fetching(pressure)
            .map(|(_, since, _)| *since + self.grace)
    }

    /// The partition of the oldest record whose partition still fetches, when it has waited out
    /// the grace at `now`.
    pub(crate) fn overdue(&self, pressure: &Backpressure, now: Instant) -> Option<Partition> {
        self.oldest_fetching(pressure)
            .filter(|(_, since, _)| *since + self.grace <= now)
            .map(|(partition, _, _)| partition.clone())
    }

    fn oldest_fetching(&self, pressure: &Backpressure) -> Option<&(Partition, Instant, M)> {
        if pressure.paused.is_empty() {
            return self.records.front();
        }
        let at = self.position_by_partition(|partition| !pressure.is_paused(partition))?;
        self.records.get(at)
    }

    /// The oldest record whose partition `passes`. The queue holds runs of one partition's
    /// records: a partition that does not pass is not asked again for the rest of its run.
    fn position_by_partition(&self, passes: impl Fn(&Partition) -> bool) -> Option<usize> {
        let mut failed: Option<&Partition> = None;
        self.records.iter().position(|(partition, _, _)| {
            if failed == Some(partition) {
                return false;
            }
            let passed = passes(partition);
            if !passed {
                failed = Some(partition);
            }
            passed
        })
    }

    /// Partitions revoked: their waiting records are dropped, for the new owner to read.
    pub(crate) fn revoked(&mut self, partitions: &[Partition]) {
        self.records.retain(|(p, _, _)| !partitions.contains(p));
    }

    pub(crate) fn len(&self) -> usize {
        self.records.len()
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

/// Three quarters of a limit, rounded down.
fn low(limit: usize) -> usize {
    limit * 3 / 4
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(partition: i32) -> Partition {
        ("t".into(), partition)
    }

    fn names(list: Vec<Partition>) -> Vec<i32> {
        let mut partitions: Vec<i32> = list.into_iter().map(|(_, p)| p).collect();
        partitions.sort_unstable();
        partitions
    }

    #[test]
    fn a_busy_partition_pauses_alone_and_resumes_at_three_quarters() {
        let mut pressure = Backpressure::new(100, 8);
        pressure.assigned(&[("t".into(), 0), ("t".into(), 1)]);
        for _ in 0..8 {
            assert!(pressure.admits(&p(0)));
            pressure.started(&p(0));
        }
        assert!(!pressure.admits(&p(0)), "8 of 8 in flight");
        assert!(pressure.admits(&p(1)), "the other partition goes on");
        assert_eq!(names(pressure.pause_for(&p(0))), vec![0]);
        assert!(pressure.pause_for(&p(0)).is_empty(), "already paused");
        assert!(pressure.is_paused(&p(0)));
        assert!(!pressure.admits(&p(0)), "paused or not, 8 is the limit");
        assert!(pressure.finished(&p(0)).is_empty(), "7 of 8 is above 3/4");
        assert_eq!(names(pressure.finished(&p(0))), vec![0], "6 of 8 resumes");
        assert!(!pressure.is_paused(&p(0)));
    }

    #[test]
    fn a_full_total_pauses_every_assigned_partition() {
        let mut pressure = Backpressure::new(8, 100);
        pressure.assigned(&[("t".into(), 0), ("t".into(), 1), ("t".into(), 2)]);
        for n in [0, 0, 1, 1, 0, 0, 1, 1] {
            assert!(pressure.admits(&p(n)));
            pressure.started(&p(n));
        }
        assert!(pressure.is_full());
        assert!(!pressure.admits(&p(2)), "no room for any partition");
        assert_eq!(names(pressure.pause_for(&p(2))), vec![0, 1, 2]);
        assert!(pressure.pause_for(&p(2)).is_empty(), "already paused");
        assert_eq!(
            names(pressure.assigned(&[("t".into(), 3)])),
            vec![3],
            "a partition assigned while full starts paused"
        );
        assert!(pressure.finished(&p(0)).is_empty(), "7 of 8 in flight");
        assert_eq!(names(pressure.finished(&p(1))), vec![0, 1, 2, 3]);
        assert_eq!(pressure.in_flight(), 6);
    }

    #[test]
    fn revoked_partitions_forget_their_pause() {
        let mut pressure = Backpressure::new(100, 1);
        pressure.started(&p(0));
        assert_eq!(names(pressure.pause_for(&p(0))), vec![0]);
        pressure.revoked(&[("t".into(), 0)]);
        assert!(!pressure.is_paused(&p(0)));
        assert!(pressure.finished(&p(0)).is_empty());
        assert_eq!(pressure.in_flight(), 0);
    }

    #[test]
    fn a_waiting_record_starts_when_room_is_made_and_pauses_its_partition_after_the_grace() {
        let grace = Duration::from_millis(250);
        let t0 = Instant::now();
        let mut pressure = Backpressure::new(100, 2);
        pressure.assigned(&[("t".into(), 0), ("t".into(), 1)]);
        let mut waiting = Waiting::new(grace);
        pressure.started(&p(0));
        pressure.started(&p(0));
        waiting.push(p(0), t0, "a");
        assert_eq!(
            waiting.next_admitted(&pressure),
            None,
            "partition 0 is at 2"
        );
        assert_eq!(
            waiting.deadline(&pressure),
            Some(t0 + grace),
            "take no more"
        );
        assert_eq!(waiting.overdue(&pressure, t0 + grace / 2), None);
        assert!(pressure.finished(&p(0)).is_empty());
        assert_eq!(
            waiting.next_admitted(&pressure),
            Some((p(0), "a")),
            "room made"
        );
        pressure.started(&p(0));
        assert_eq!(waiting.deadline(&pressure), None, "take more");

        waiting.push(p(0), t0, "b");
        assert_eq!(
            waiting.overdue(&pressure, t0 + grace),
            Some(("t".into(), 0))
        );
        assert_eq!(names(pressure.pause_for(&p(0))), vec![0]);
        assert_eq!(waiting.overdue(&pressure, t0 + grace), None);
        assert_eq!(
            waiting.deadline(&pressure),
            None,
            "its partition is paused: take more, from the others"
        );
        waiting.push(p(1), t0 + grace, "c");
        assert_eq!(
            waiting.next_admitted(&pressure),
            Some((p(1), "c")),
            "the other partition passes the one waiting"
        );
        assert!(waiting.next_admitted(&pressure).is_none());
        assert_eq!(waiting.len(), 1);
        waiting.revoked(&[("t".into(), 0)]);
        assert!(waiting.is_empty(), "the new owner reads it");
    }

    #[test]
    fn nothing_starts_beyond_the_total_limit() {
        let t0 = Instant::now();
        let mut pressure = Backpressure::new(2, 100);
        pressure.assigned(&[("t".into(), 0), ("t".into(), 1)]);
        let mut waiting = Waiting::new(Duration::ZERO);
        let partitions = [0, 1, 1, 0];
        for (n, partition) in partitions.into_iter().enumerate() {
            waiting.push(p(partition), t0, n);
        }
        let mut started = Vec::new();
        while let Some((partition, n)) = waiting.next_admitted(&pressure) {
            assert_eq!(partition, p(partitions[n]));
            pressure.started(&partition);
            started.push(n);
        }
        assert_eq!(started, vec![0, 1]);
        assert_eq!(waiting.overdue(&pressure, t0), Some(("t".into(), 1)));
        assert_eq!(names(pressure.pause_for(&p(1))), vec![0, 1], "all of them");
        assert_eq!(waiting.deadline(&pressure), None, "polling goes on");
        assert!(waiting.next_admitted(&pressure).is_none(), "still full");
        assert_eq!(
            names(pressure.finished(&p(0))),
            vec![0, 1],
            "1 is 3/4 of 2, rounded down"
        );
        assert_eq!(
            waiting.next_admitted(&pressure),
            Some((p(1), 2)),
            "in order"
        );
    }

    #[test]
    fn a_refused_or_paused_partition_is_passed_and_the_oldest_other_record_is_found() {
        let t0 = Instant::now();
        let grace = Duration::from_secs(1);
        let mut pressure = Backpressure::new(100, 1);
        pressure.assigned(&[p(0), p(1)]);
        pressure.started(&p(0));
        let mut waiting = Waiting::new(grace);
        for (partition, name) in [(0, "a"), (0, "b"), (1, "c"), (0, "d"), (1, "e")] {
            waiting.push(p(partition), t0, name);
        }
        assert_eq!(waiting.next_admitted(&pressure), Some((p(1), "c")));
        pressure.started(&p(1));
        assert_eq!(
            waiting.next_admitted(&pressure),
            None,
            "both at their limit"
        );
        assert!(pressure.finished(&p(0)).is_empty());
        assert_eq!(
            waiting.next_admitted(&pressure),
            Some((p(0), "a")),
            "oldest first"
        );
        assert_eq!(names(pressure.pause_for(&p(0))), vec![0]);
        assert_eq!(
            waiting.overdue(&pressure, t0 + grace),
            Some(p(1)),
            "past the paused partition's run"
        );
    }
}
