//! In-process retries of one delivery: exponential backoff with jitter, honouring `Retry-After`.

use std::future::Future;
use std::time::Duration;

use humantime_serde::re::humantime::format_duration;
use rand::Rng;
use serde::Deserialize;
use tracing::debug;

use super::{Delivered, DeliveryError, FailureKind};

/// How often and how patiently one delivery is retried before it is handed on (retry or
/// dead-letter topic). The defaults are Event Notifications': 3 retries, 1 s doubling to 10 s.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub retries: u32,
    #[serde(with = "humantime_serde")]
    pub initial_backoff: Duration,
    #[serde(with = "humantime_serde")]
    pub max_backoff: Duration,
    /// The longest `Retry-After` waited for in process; a longer one ends the retries at once.
    #[serde(with = "humantime_serde")]
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            retries: 3,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
        }
    }
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
}

/// `backoff` scaled by a uniform factor in [0.8, 1.2], so failing deliveries do not retry in step.
pub fn jittered(backoff: Duration, rng: &mut impl Rng) -> Duration {
    backoff.mul_f64(rng.random_range(0.8..=1.2))
}

/// Calls `attempt(1)`, `attempt(2)`, ... until one succeeds, fails permanently, or the policy's
/// retries are spent; the result carries the number of attempts made.
///
/// Before retry n it sleeps the jittered [`RetryPolicy::backoff`], or exactly the `Retry-After`
/// the destination asked for (we never call earlier than asked). A `Retry-After` above
/// `max_retry_after` ends the retries at once with a retryable error that says so.
pub async fn deliver_with_retries<F, Fut>(
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
