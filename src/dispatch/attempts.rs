//! A destination's retry policy: the short in-process schedule (exponential backoff with jitter,
//! honouring `Retry-After`) and the long schedule that goes through the retry topic.

use std::future::Future;
use std::time::Duration;

use humantime_serde::re::humantime::format_duration;
use rand::Rng;
use serde::Deserialize;
use tracing::debug;

use crate::channels::{Delivered, DeliveryError, FailureKind};

/// How often and how patiently one delivery is retried. First in process (defaults as Event
/// Notifications: 3 retries, 1 s doubling to 10 s), then through the retry topic on the long
/// `schedule` (defaults as Svix: 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, each ±20 %), never later
/// than `horizon` after the first attempt.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryPolicy {
    /// In-process retries after the first attempt.
    pub retries: u32,
    #[serde(with = "humantime_serde")]
    pub initial_backoff: Duration,
    #[serde(with = "humantime_serde")]
    pub max_backoff: Duration,
    /// The longest `Retry-After` waited for in process; a longer one ends the retries at once.
    #[serde(with = "humantime_serde")]
    pub max_retry_after: Duration,
    /// The delays of the long retries, one attempt each, through the retry topic; empty turns
    /// them off (what fails in process goes to the dead-letter topic).
    #[serde(deserialize_with = "durations")]
    pub schedule: Vec<Duration>,
    /// No attempt is made later than this after the first one; what is still failing then goes
    /// to the dead-letter topic.
    #[serde(with = "humantime_serde")]
    pub horizon: Duration,
}

/// The default long schedule (Svix's, after its first two quick tries).
pub(super) const DEFAULT_SCHEDULE: [Duration; 6] = [
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];

/// The default horizon: room for the default schedule with its jitter (27 h 35 min, at most
/// 33 h 6 min with +20 %).
pub(super) const DEFAULT_HORIZON: Duration = Duration::from_secs(36 * 3600);

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            retries: 3,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
            schedule: DEFAULT_SCHEDULE.to_vec(),
            horizon: DEFAULT_HORIZON,
        }
    }
}

/// What comes after a failed long-schedule step (or the in-process retries, step 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextRetry {
    /// Try again this long from now.
    After(Duration),
    /// The schedule is used up.
    ScheduleEnded,
    /// The next try would fall after the horizon.
    HorizonReached,
}

impl RetryPolicy {
    /// The backoff before retry `retry` (1-based), before jitter:
    /// `min(max_backoff, initial_backoff * 2^(retry-1))`.
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.saturating_sub(1));
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }

    /// When to try again after `done` long retries (0 after the in-process ones), `elapsed`
    /// since the first attempt: the jittered step of the schedule, or the `Retry-After` the
    /// destination asked for when that is later, as long as it falls within the horizon.
    pub fn next_retry(
        &self,
        done: u32,
        elapsed: Duration,
        retry_after: Option<Duration>,
        rng: &mut impl Rng,
    ) -> NextRetry {
        let Some(step) = self.schedule.get(done as usize) else {
            return NextRetry::ScheduleEnded;
        };
        let delay = jittered(*step, rng).max(retry_after.unwrap_or_default());
        if elapsed.saturating_add(delay) > self.horizon {
            return NextRetry::HorizonReached;
        }
        NextRetry::After(delay)
    }
}

/// Deserialises a list of humantime durations (`[5m, 30m, 2h]`).
fn durations<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<Duration>, D::Error> {
    let texts: Vec<humantime_serde::Serde<Duration>> = Vec::deserialize(deserializer)?;
    Ok(texts.into_iter().map(|d| d.into_inner()).collect())
}

/// `backoff` scaled by a uniform factor in [0.8, 1.2], so failing deliveries do not retry in step.
pub(super) fn jittered(backoff: Duration, rng: &mut impl Rng) -> Duration {
    backoff.mul_f64(rng.random_range(0.8..=1.2))
}

/// Calls `attempt(1)`, `attempt(2)`, ... until one succeeds, fails permanently, or the policy's
/// retries are spent; the result carries the number of attempts made.
///
/// Before retry n it sleeps the jittered [`RetryPolicy::backoff`], or exactly the `Retry-After`
/// the destination asked for (we never call earlier than asked). A `Retry-After` above
/// `max_retry_after` ends the retries at once with a retryable error that says so.
pub(crate) async fn deliver_with_retries<F, Fut>(
    policy: &RetryPolicy,
    mut attempt: F,
) -> Result<Delivered, DeliveryError>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<Delivered, DeliveryError>>,
{
    let mut number = 1;
    loop {
        let mut error = match attempt(number).await {
            Ok(delivered) => {
                return Ok(Delivered {
                    attempts: number,
                    ..delivered
                });
            }
            Err(error) => error,
        };
        error.attempts = number;
        if error.kind == FailureKind::Permanent || number > policy.retries {
            debug!(
                message = "Delivery failed, not retrying.",
                attempt = number,
                status = error.status,
                permanent = error.kind == FailureKind::Permanent,
                error = %error.message,
            );
            return Err(error);
        }
        let delay = match error.retry_after {
            Some(asked) if asked > policy.max_retry_after => {
                error.message = format!(
                    "{}; Retry-After of {} exceeds the {} limit, in-process retries stopped",
                    error.message,
                    format_duration(asked),
                    format_duration(policy.max_retry_after),
                );
                debug!(
                    message = "Delivery attempt failed, retry deferred beyond the limit.",
                    attempt = number,
                    status = error.status,
                    retry_after_ms = asked.as_millis() as u64,
                    error = %error.message,
                );
                return Err(error);
            }
            Some(asked) => asked,
            None => jittered(policy.backoff(number), &mut rand::rng()),
        };
        debug!(
            message = "Delivery attempt failed.",
            attempt = number,
            status = error.status,
            retry_in_ms = delay.as_millis() as u64,
            error = %error.message,
        );
        tokio::time::sleep(delay).await;
        number += 1;
    }
}

#[cfg(test)]
mod tests;
