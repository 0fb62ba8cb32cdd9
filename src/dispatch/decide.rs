//! What an attempt comes to and where its job goes next: pure decisions over the job, the
//! outcome, the retry policy and the time — a mute window ([`muted`]), a turn's conclusion
//! ([`conclude`]), the next step ([`decide`]) and whether an exhausted delivery disables its
//! destination ([`disables`]).

use super::*;

/// What a delivery comes to when its subscription is muted at `now`: dropped (counted, logged)
/// or held until its window ends; `None` when it is not muted.
pub(super) fn muted(
    job: &mut Job,
    mute: &crate::mute::Mute,
    now: DateTime<Utc>,
) -> Option<Attempt> {
    let reason = mute.muted_at(now)?;
    let metrics = crate::telemetry::metrics::global();
    match mute.when_muted {
        crate::mute::WhenMuted::Drop => {
            metrics.muted(&job.subscription, "dropped");
            info!(message = "Delivery dropped: its subscription is muted.", notification_id = %job.notification_id, source = %job.source_id, subscription = %job.subscription, destination = %job.destination, muted = %reason);
            Some(Attempt::Muted { until: None })
        }
        crate::mute::WhenMuted::Delay => {
            let until = mute.window_end(now);
            metrics.muted(&job.subscription, "delayed");
            job.last_error = Some(format!(
                "the subscription is muted ({reason}) until {}",
                until.to_rfc3339()
            ));
            Some(Attempt::Muted { until: Some(until) })
        }
    }
}

/// The moment a decision is made: the wall clock (due times, horizons) and the monotonic clock
/// (how long a deferral waits).
#[derive(Debug, Clone, Copy)]
pub(super) struct Now {
    pub(super) wall: chrono::DateTime<Utc>,
    pub(super) instant: Instant,
}

/// A job's next step, as [`decide`] sees it.
#[derive(Debug)]
pub(super) enum Step {
    Next(Next),
    /// Out of time or steps: dead-lettered as retries exhausted (and the destination disabled
    /// when [`disables`] says so).
    Exhausted(Job),
}

/// Where a job goes after `attempt` under its destination's retry `policy`, decided at `now`.
/// Pure but for the jitter drawn from `rng`: delivered is done, a dead letter stays one, a
/// deferral waits for its time and a failure for its schedule's next step, within the horizon.
pub(super) fn decide(
    mut job: Job,
    attempt: Attempt,
    policy: &RetryPolicy,
    now: Now,
    rng: &mut impl Rng,
) -> Step {
    match attempt {
        Attempt::Delivered | Attempt::Paused => Step::Next(Next::Done),
        Attempt::DeadLetter(reason) => Step::Next(Next::DeadLetter(job, reason)),
        Attempt::Muted { until: None } => Step::Next(Next::Done),
        Attempt::Digest => Step::Next(Next::Digest(job)),
        Attempt::Muted { until: Some(until) } => {
            // A delivery not attempted yet starts its retry horizon when its window ends.
            if job.attempts == 0 {
                job.started_at = until;
            }
            job.due = until;
            Step::Next(Next::Retry(job))
        }
        Attempt::Deferred { until } => {
            let wait = until.saturating_duration_since(now.instant);
            if job.elapsed(now.wall) + wait > policy.horizon {
                return Step::Exhausted(job);
            }
            job.due = later(now.wall, wait);
            Step::Next(Next::Retry(job))
        }
        Attempt::Retry { retry_after } => {
            let elapsed = job.elapsed(now.wall);
            match policy.next_retry(job.long_retries, elapsed, retry_after, rng) {
                NextRetry::After(delay) => {
                    job.long_retries += 1;
                    job.due = later(now.wall, delay);
                    Step::Next(Next::Retry(job))
                }
                NextRetry::ScheduleEnded | NextRetry::HorizonReached => Step::Exhausted(job),
            }
        }
    }
}

/// Whether an exhausted delivery disables its destination: when every attempt to it has failed
/// for a whole retry horizon.
pub(super) fn disables(failing_for: Option<Duration>, policy: &RetryPolicy) -> bool {
    failing_for.is_some_and(|f| f >= policy.horizon)
}

/// `now` plus `delay`, saturating.
fn later(now: chrono::DateTime<Utc>, delay: Duration) -> chrono::DateTime<Utc> {
    chrono::TimeDelta::from_std(delay)
        .ok()
        .and_then(|delta| now.checked_add_signed(delta))
        .unwrap_or(chrono::DateTime::<Utc>::MAX_UTC)
}

/// Records an outcome in the job and says what it means; `deferred_until` is set when the
/// destination's circuit was open.
pub(super) fn conclude(
    job: &mut Job,
    outcome: Outcome,
    deferred_until: Option<Instant>,
    started: chrono::DateTime<Utc>,
) -> Attempt {
    let made = match &outcome.result {
        Ok(delivered) => delivered.attempts,
        Err(error) => error.attempts,
    };
    job.attempts += made;
    if made > 0 {
        job.first_attempt_at.get_or_insert(started);
        job.last_attempt_at = Some(Utc::now());
    }
    if let Some(pending) = outcome.pending {
        job.pending = Some(pending);
    }
    job.refused.extend(
        outcome
            .refused
            .into_iter()
            .map(|(who, why)| Refused { who, why }),
    );
    let metrics = crate::telemetry::metrics::global();
    match outcome.result {
        Ok(delivered) => {
            job.last_status = Some(delivered.status);
            if job.refused.is_empty() {
                let time = job.notification.get("time").and_then(|t| t.as_str());
                metrics.delivery(&job.destination, "delivered", time);
                info!(message = "Delivered.", notification_id = %job.notification_id, source = %job.source_id, subscription = %job.subscription, destination = %job.destination, status = delivered.status, attempts = job.attempts);
                return Attempt::Delivered;
            }
            let refused: Vec<String> = job
                .refused
                .iter()
                .map(|r| format!("{}: {}", r.who, r.why))
                .collect();
            metrics.delivery(&job.destination, "refused_recipients", None);
            warn!(message = "Delivered, but some recipients were refused.", notification_id = %job.notification_id, source = %job.source_id, subscription = %job.subscription, destination = %job.destination, refused = refused.len());
            job.last_error = Some(refused.join("; "));
            Attempt::DeadLetter(DeadLetterReason::RecipientsRejected)
        }
        Err(error) => {
            job.last_status = error.status.or(job.last_status);
            job.last_error = Some(error.message.clone());
            if let Some(until) = deferred_until {
                return Attempt::Deferred { until };
            }
            let outcome = if error.is_retryable() {
                "retryable"
            } else {
                "permanent"
            };
            metrics.delivery(&job.destination, outcome, None);
            warn!(message = "Delivery attempt failed.", notification_id = %job.notification_id, source = %job.source_id, subscription = %job.subscription, destination = %job.destination, status = error.status, attempts = job.attempts, retryable = error.is_retryable(), error = %error.message);
            if error.is_gone() {
                Attempt::DeadLetter(DeadLetterReason::DestinationGone)
            } else if error.is_retryable() {
                Attempt::Retry {
                    retry_after: error.retry_after,
                }
            } else {
                Attempt::DeadLetter(DeadLetterReason::DeliveryRejected)
            }
        }
    }
}
