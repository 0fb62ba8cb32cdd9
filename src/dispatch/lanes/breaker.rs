//! The circuit breaker of one destination: after N consecutive failures, one probe per interval.

use std::time::{Duration, Instant};

/// Whether an attempt may go to the destination now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// The circuit is closed.
    Allowed,
    /// The circuit is open and this attempt is its probe for the current interval.
    Probe,
    /// The circuit is open: no attempt before `until`, when the next probe may go.
    Refused { until: Instant },
}

/// Closed until `threshold` attempts in a row fail; then open: at most one probe per
/// `probe_interval` goes through, and the first answer that is not a failure closes it again.
#[derive(Debug, Clone)]
pub(crate) struct CircuitBreaker {
    threshold: u32,
    probe_interval: Duration,
    failures: u32,
    /// When open: the earliest time of the next probe.
    next_probe: Option<Instant>,
}

impl CircuitBreaker {
    pub(crate) fn new(threshold: u32, probe_interval: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            probe_interval,
            failures: 0,
            next_probe: None,
        }
    }

    pub(crate) fn is_open(&self) -> bool {
        self.next_probe.is_some()
    }

    /// Failed attempts in a row.
    pub(crate) fn failures(&self) -> u32 {
        self.failures
    }

    /// When open, the earliest time of the next probe.
    pub(crate) fn next_probe(&self) -> Option<Instant> {
        self.next_probe
    }

    /// Asks to make an attempt at `now`. A probe moves the next one an interval on, so that a
    /// probe which never answers lets another through only after a full interval.
    pub(crate) fn admit(&mut self, now: Instant) -> Admission {
        match self.next_probe {
            None => Admission::Allowed,
            Some(at) if now >= at => {
                self.next_probe = Some(now + self.probe_interval);
                Admission::Probe
            }
            Some(at) => Admission::Refused { until: at },
        }
    }

    /// An attempt the destination answered (success, or a refusal that is not its failure).
    /// Returns whether this closed the circuit.
    pub(crate) fn succeeded(&mut self) -> bool {
        self.failures = 0;
        self.next_probe.take().is_some()
    }

    /// An attempt that failed retryably at `now`. Returns whether this opened the circuit.
    pub(crate) fn failed(&mut self, now: Instant) -> bool {
        self.failures = self.failures.saturating_add(1);
        if self.next_probe.is_none() && self.failures >= self.threshold {
            self.next_probe = Some(now + self.probe_interval);
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_consecutive_failures_and_probes_once_per_interval() {
        let interval = Duration::from_secs(30);
        let t0 = Instant::now();
        let mut breaker = CircuitBreaker::new(3, interval);
        assert!(!breaker.failed(t0));
        assert!(!breaker.failed(t0));
        assert_eq!(breaker.admit(t0), Admission::Allowed);
        assert!(breaker.failed(t0), "the third failure in a row opens it");
        assert!(breaker.is_open());
        assert_eq!(
            breaker.admit(t0 + Duration::from_secs(1)),
            Admission::Refused {
                until: t0 + interval
            }
        );
        let probe_time = t0 + interval;
        assert_eq!(breaker.admit(probe_time), Admission::Probe);
        assert_eq!(
            breaker.admit(probe_time + Duration::from_secs(1)),
            Admission::Refused {
                until: probe_time + interval
            },
            "one probe per interval, even while the first has not answered"
        );
        assert!(!breaker.failed(probe_time), "a failed probe keeps it open");
        assert_eq!(breaker.admit(probe_time + interval), Admission::Probe);
        assert!(breaker.succeeded(), "a successful probe closes it");
        assert_eq!(breaker.admit(probe_time + interval), Admission::Allowed);
    }

    #[test]
    fn a_success_resets_the_count() {
        let t0 = Instant::now();
        let mut breaker = CircuitBreaker::new(2, Duration::from_secs(1));
        assert!(!breaker.failed(t0));
        assert!(!breaker.succeeded());
        assert!(!breaker.failed(t0), "not two in a row");
        assert!(breaker.failed(t0));
    }
}
