//! A [`RateLimit`] kept as a generic cell rate (a token bucket without a timer): each caller
//! reserves the next free moment and waits for it, so callers leave in the order they asked,
//! `burst` at once after a quiet spell. A destination's lane paces its attempts with one; a
//! Slack bot paces its posts to each channel with one per channel.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::RateLimit;

/// When the next attempts (of a destination, or posts to a channel) may go.
#[derive(Debug)]
pub struct Pace {
    /// Between two attempts, on average.
    interval: Duration,
    /// How far ahead of the average an attempt may go: `(burst - 1) × interval`.
    tolerance: Duration,
    /// The theoretical time of the next attempt at the average rate.
    next: Mutex<Instant>,
}

impl Pace {
    pub fn new(rate: &RateLimit) -> Pace {
        let interval = Duration::from_secs_f64(1.0 / rate.per_second.max(f64::MIN_POSITIVE))
            .min(Duration::from_secs(24 * 3600));
        Pace {
            interval,
            tolerance: interval * rate.burst.saturating_sub(1),
            next: Mutex::new(Instant::now()),
        }
    }

    /// Between two attempts, on average.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Reserves the next moment an attempt may go, and how long from now that is.
    pub fn reserve(&self) -> Duration {
        let now = Instant::now();
        let mut next = self
            .next
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let due = (*next).max(now);
        let go_at = due.checked_sub(self.tolerance).unwrap_or(now).max(now);
        *next = due + self.interval;
        go_at - now
    }

    /// Waits for the next moment an attempt may go; returns how long it waited.
    pub async fn wait(&self) -> Duration {
        let wait = self.reserve();
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_burst_goes_at_once_and_the_rest_at_the_rate() {
        let pace = Pace::new(&RateLimit {
            per_second: 10.0,
            burst: 3,
        });
        let waits: Vec<u128> = (0..6).map(|_| pace.reserve().as_millis()).collect();
        assert_eq!(waits, [0, 0, 0, 100, 200, 300]);
        tokio::time::advance(Duration::from_secs(10)).await;
        let after_quiet: Vec<u128> = (0..4).map(|_| pace.reserve().as_millis()).collect();
        assert_eq!(
            after_quiet,
            [0, 0, 0, 100],
            "the burst is back after a quiet spell"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_attempts_leave_one_interval_apart() {
        let pace = Pace::new(&RateLimit {
            per_second: 2.0,
            burst: 1,
        });
        let start = Instant::now();
        let mut left = Vec::new();
        for _ in 0..3 {
            pace.wait().await;
            left.push((Instant::now() - start).as_millis());
        }
        assert_eq!(left, [0, 500, 1000]);
    }
}
