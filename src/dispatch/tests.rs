//! The settlement decisions as tables: what one turn of attempts came to ([`conclude`]), where
//! the job goes next ([`decide`]), and when an exhausted delivery disables its destination
//! ([`disables`]).

use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use super::*;
use crate::channels::{Delivered, DeliveryError, FailureKind};
use crate::event::Notification;

const MINUTE: Duration = Duration::from_secs(60);

fn job() -> Job {
    let notification = Notification {
        id: "n-1".into(),
        source_id: "lifecycle".into(),
        event_type: "t".into(),
        body: json!({}),
    };
    let origin = Origin {
        topic: "lifecycle".into(),
        partition: 0,
        offset: 7,
    };
    let body = Arc::new(notification.body.clone());
    Job::new(&notification, body, "sub", "hook", "msg_1", origin)
}

/// A failed attempt: `kind`, the status answered, the `Retry-After` asked.
fn failed(kind: FailureKind, status: u16, retry_after: Option<Duration>) -> Outcome {
    Outcome {
        result: Err(DeliveryError {
            kind,
            status: Some(status),
            retry_after,
            message: format!("HTTP {status}"),
            attempts: 1,
        }),
        pending: None,
        refused: Vec::new(),
    }
}

fn delivered(refused: &[&str]) -> Outcome {
    Outcome {
        result: Ok(Delivered {
            status: 200,
            attempts: 1,
        }),
        pending: None,
        refused: refused
            .iter()
            .map(|who| ((*who).to_owned(), "550 no such user".to_owned()))
            .collect(),
    }
}

#[test]
fn an_outcome_means_delivered_retry_deferred_or_a_dead_letter() {
    use FailureKind::{Permanent, Retryable};
    let later = Instant::now() + MINUTE;
    // An outcome, and when the circuit lets the next attempt go (set when it was open).
    let deferred = |outcome: Outcome| (outcome, Some(later));
    let now = |outcome: Outcome| (outcome, None);
    let cases = [
        ("accepted", now(delivered(&[])), Attempt::Delivered),
        (
            "accepted, a recipient refused",
            now(delivered(&["b@example.com"])),
            Attempt::DeadLetter(DeadLetterReason::RecipientsRejected),
        ),
        (
            "5xx",
            now(failed(Retryable, 503, None)),
            Attempt::Retry { retry_after: None },
        ),
        (
            "429 with Retry-After",
            now(failed(Retryable, 429, Some(Duration::from_secs(7)))),
            Attempt::Retry {
                retry_after: Some(Duration::from_secs(7)),
            },
        ),
        (
            "4xx",
            now(failed(Permanent, 400, None)),
            Attempt::DeadLetter(DeadLetterReason::DeliveryRejected),
        ),
        (
            "410 Gone",
            now(failed(Permanent, 410, None)),
            Attempt::DeadLetter(DeadLetterReason::DestinationGone),
        ),
        (
            "circuit open",
            deferred(failed(Retryable, 503, None)),
            Attempt::Deferred { until: later },
        ),
        (
            "circuit open after a permanent failure",
            deferred(failed(Permanent, 400, None)),
            Attempt::Deferred { until: later },
        ),
    ];
    for (case, (outcome, deferred_until), expected) in cases {
        let mut job = job();
        let status = match &outcome.result {
            Ok(delivered) => delivered.status,
            Err(error) => error.status.expect("a status"),
        };
        assert_eq!(
            conclude(&mut job, outcome, deferred_until, Utc::now()),
            expected,
            "{case}"
        );
        assert_eq!(job.attempts, 1, "{case}");
        assert_eq!(job.last_status, Some(status), "{case}");
        assert!(job.first_attempt_at.is_some(), "{case}");
    }
}

/// What a [`Step`] comes to: the next step's kind, and for a retry when it is due (a range of
/// delays from now, for the jitter) and how many long retries it counts.
#[derive(Debug, PartialEq)]
enum Expected {
    Done,
    DeadLetter(DeadLetterReason),
    Retry {
        due_in: RangeInclusive<Duration>,
        long_retries: u32,
    },
    Exhausted,
    Digest,
}

#[test]
fn a_job_goes_to_the_retry_topic_while_its_schedule_and_horizon_allow_else_to_the_dead_letters() {
    // Steps of 5 and 30 minutes, each ±20 %, within an hour of the first attempt.
    let policy = RetryPolicy {
        schedule: vec![5 * MINUTE, 30 * MINUTE],
        horizon: 60 * MINUTE,
        ..RetryPolicy::default()
    };
    let now = Now {
        wall: Utc::now(),
        instant: Instant::now(),
    };
    let exactly = |d: Duration| d..=d;
    let jittered = |d: Duration| d.mul_f64(0.8)..=d.mul_f64(1.2);
    let retry = |due_in, long_retries| Expected::Retry {
        due_in,
        long_retries,
    };
    // (case, time since the first attempt, long retries done, attempt, expected)
    let cases = [
        ("delivered", 0, 0, Attempt::Delivered, Expected::Done),
        (
            "a dead letter stays one",
            0,
            0,
            Attempt::DeadLetter(DeadLetterReason::DeliveryRejected),
            Expected::DeadLetter(DeadLetterReason::DeliveryRejected),
        ),
        (
            "gone",
            0,
            0,
            Attempt::DeadLetter(DeadLetterReason::DestinationGone),
            Expected::DeadLetter(DeadLetterReason::DestinationGone),
        ),
        (
            "retryable: the first step",
            0,
            0,
            Attempt::Retry { retry_after: None },
            retry(jittered(5 * MINUTE), 1),
        ),
        (
            "retryable: the second step",
            10,
            1,
            Attempt::Retry { retry_after: None },
            retry(jittered(30 * MINUTE), 2),
        ),
        (
            "a Retry-After longer than the step",
            0,
            0,
            Attempt::Retry {
                retry_after: Some(20 * MINUTE),
            },
            retry(exactly(20 * MINUTE), 1),
        ),
        (
            "the schedule used up",
            10,
            2,
            Attempt::Retry { retry_after: None },
            Expected::Exhausted,
        ),
        (
            "the next step past the horizon",
            40,
            1,
            Attempt::Retry { retry_after: None },
            Expected::Exhausted,
        ),
        (
            "a Retry-After past the horizon",
            0,
            0,
            Attempt::Retry {
                retry_after: Some(120 * MINUTE),
            },
            Expected::Exhausted,
        ),
        (
            "deferred (circuit open, queue full): due when asked, no long retry counted",
            0,
            0,
            Attempt::Deferred {
                until: now.instant + Duration::from_secs(30),
            },
            retry(exactly(Duration::from_secs(30)), 0),
        ),
        (
            "deferred to a time already past: due now",
            0,
            0,
            Attempt::Deferred { until: now.instant },
            retry(exactly(Duration::ZERO), 0),
        ),
        (
            "deferred to the horizon exactly",
            30,
            0,
            Attempt::Deferred {
                until: now.instant + 30 * MINUTE,
            },
            retry(exactly(30 * MINUTE), 0),
        ),
        (
            "deferred past the horizon",
            50,
            0,
            Attempt::Deferred {
                until: now.instant + 20 * MINUTE,
            },
            Expected::Exhausted,
        ),
        (
            "muted and dropped",
            0,
            0,
            Attempt::Muted { until: None },
            Expected::Done,
        ),
        (
            "muted and delayed beyond the horizon: due when the window ends, no step used",
            50,
            1,
            Attempt::Muted {
                until: Some(now.wall + chrono::TimeDelta::hours(8)),
            },
            retry(exactly(8 * 60 * MINUTE), 1),
        ),
        (
            "of a subscription with digests: to the digest topic",
            50,
            1,
            Attempt::Digest,
            Expected::Digest,
        ),
    ];
    for (case, elapsed_min, long_retries, attempt, expected) in cases {
        let mut job = job();
        job.started_at = now.wall - chrono::TimeDelta::minutes(elapsed_min);
        job.long_retries = long_retries;
        let step = decide(job, attempt, &policy, now, &mut rand::rng());
        let got = match step {
            Step::Next(Next::Done) => Expected::Done,
            Step::Next(Next::Digest(_)) => Expected::Digest,
            Step::Next(Next::DeadLetter(_, reason)) => Expected::DeadLetter(reason),
            Step::Exhausted(_) => Expected::Exhausted,
            Step::Next(Next::Retry(job)) => {
                let due_in = (job.due - now.wall).to_std().expect("due after now");
                // Within the range expected: the range, so that the comparison below passes.
                let due_in = match &expected {
                    Expected::Retry { due_in: range, .. } if range.contains(&due_in) => {
                        range.clone()
                    }
                    _ => due_in..=due_in,
                };
                Expected::Retry {
                    due_in,
                    long_retries: job.long_retries,
                }
            }
        };
        assert_eq!(got, expected, "{case}");
    }
}

#[test]
fn an_exhausted_delivery_disables_a_destination_failing_for_a_whole_horizon() {
    let policy = RetryPolicy {
        horizon: 60 * MINUTE,
        ..RetryPolicy::default()
    };
    let cases = [
        (None, false),
        (Some(59 * MINUTE), false),
        (Some(60 * MINUTE), true),
        (Some(120 * MINUTE), true),
    ];
    for (failing_for, disabled) in cases {
        assert_eq!(disables(failing_for, &policy), disabled, "{failing_for:?}");
    }
}
