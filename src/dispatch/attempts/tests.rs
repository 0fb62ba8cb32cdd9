//! Tests of the retry schedule, jitter and `Retry-After` handling, on a paused clock.

use std::time::Duration;

use tokio::time::Instant;

use super::{DEFAULT_HORIZON, NextRetry, RetryPolicy, deliver_with_retries, jittered};
use crate::channels::{Delivered, DeliveryError, FailureKind};

fn policy(retries: u32, initial_ms: u64, max_ms: u64, max_retry_after_s: u64) -> RetryPolicy {
    RetryPolicy {
        retries,
        initial_backoff: Duration::from_millis(initial_ms),
        max_backoff: Duration::from_millis(max_ms),
        max_retry_after: Duration::from_secs(max_retry_after_s),
        ..RetryPolicy::default()
    }
}

fn failure(kind: FailureKind, retry_after: Option<Duration>) -> DeliveryError {
    DeliveryError {
        kind,
        status: Some(503),
        retry_after,
        message: "HTTP 503 Service Unavailable".to_owned(),
        attempts: 1,
    }
}

/// Runs `deliver_with_retries` with attempts that always fail with `error`, returning the
/// result and the (paused) instants at which each attempt started.
async fn run_failing(policy: &RetryPolicy, error: DeliveryError) -> (DeliveryError, Vec<Duration>) {
    let start = Instant::now();
    let mut calls = Vec::new();
    let result = deliver_with_retries(policy, |n| {
        calls.push((n, start.elapsed()));
        let error = error.clone();
        async move { Err(error) }
    })
    .await;
    let numbers: Vec<u32> = calls.iter().map(|c| c.0).collect();
    assert_eq!(numbers, (1..=calls.len() as u32).collect::<Vec<_>>());
    (
        result.expect_err("always fails"),
        calls.into_iter().map(|c| c.1).collect(),
    )
}

#[test]
fn backoff_doubles_up_to_the_maximum() {
    let default = RetryPolicy::default();
    let short = policy(3, 300, 1000, 60);
    let cases: [(&RetryPolicy, u32, u64); 9] = [
        (&default, 1, 1000),
        (&default, 2, 2000),
        (&default, 3, 4000),
        (&default, 4, 8000),
        (&default, 5, 10_000),
        (&default, 200, 10_000),
        (&short, 1, 300),
        (&short, 2, 600),
        (&short, 3, 1000),
    ];
    for (policy, retry, expected_ms) in cases {
        assert_eq!(
            policy.backoff(retry),
            Duration::from_millis(expected_ms),
            "retry {retry}"
        );
    }
}

#[test]
fn jitter_stays_within_twenty_percent() {
    let mut rng = rand::rng();
    let base = Duration::from_secs(10);
    let samples: Vec<Duration> = (0..2000).map(|_| jittered(base, &mut rng)).collect();
    let (low, high) = (base.mul_f64(0.8), base.mul_f64(1.2));
    assert!(samples.iter().all(|s| (low..=high).contains(s)));
    assert!(
        samples.iter().any(|s| *s < base.mul_f64(0.9)),
        "jitter goes down"
    );
    assert!(
        samples.iter().any(|s| *s > base.mul_f64(1.1)),
        "jitter goes up"
    );
}

#[tokio::test(start_paused = true)]
async fn retryable_failures_follow_the_schedule() {
    let cases = [
        (RetryPolicy::default(), 4),
        (policy(5, 100, 400, 60), 6),
        (policy(0, 100, 400, 60), 1),
    ];
    for (policy, expected_attempts) in cases {
        let (error, starts) = run_failing(&policy, failure(FailureKind::Retryable, None)).await;
        assert_eq!(error.attempts, expected_attempts);
        assert_eq!(starts.len() as u32, expected_attempts);
        for (retry, gap) in (1..).zip(starts.windows(2).map(|w| w[1] - w[0])) {
            let expected = policy.backoff(retry);
            let (low, high) = (
                expected.mul_f64(0.8),
                expected.mul_f64(1.2) + Duration::from_millis(1),
            );
            assert!(
                (low..=high).contains(&gap),
                "retry {retry}: {gap:?} not in {low:?}..={high:?}"
            );
        }
    }
}

#[tokio::test(start_paused = true)]
async fn retry_after_replaces_backoff_up_to_the_limit() {
    // (Retry-After, limit, attempts made, wait before the retry when there is one)
    let cases: [(u64, u64, u32, Option<u64>); 4] = [
        (1, 60, 2, Some(1)),
        (30, 60, 2, Some(30)),
        (60, 60, 2, Some(60)),
        (61, 60, 1, None),
    ];
    for (asked, limit, attempts, wait) in cases {
        let policy = policy(1, 10, 10, limit);
        let asked = Duration::from_secs(asked);
        let (error, starts) =
            run_failing(&policy, failure(FailureKind::Retryable, Some(asked))).await;
        assert_eq!(error.attempts, attempts, "Retry-After {asked:?}");
        assert_eq!(error.kind, FailureKind::Retryable);
        assert_eq!(error.retry_after, Some(asked));
        match wait {
            Some(secs) => {
                let gap = starts[1] - starts[0];
                assert!(
                    gap >= Duration::from_secs(secs),
                    "{gap:?} earlier than asked"
                );
                assert!(
                    gap <= Duration::from_secs(secs) + Duration::from_millis(1),
                    "{gap:?}"
                );
                assert!(!error.message.contains("in-process retries stopped"));
            }
            None => assert!(
                error.message.contains("exceeds the 1m limit"),
                "{}",
                error.message
            ),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn permanent_failures_are_returned_at_once() {
    let start = Instant::now();
    let (error, starts) = run_failing(
        &RetryPolicy::default(),
        failure(FailureKind::Permanent, None),
    )
    .await;
    assert_eq!((error.attempts, starts.len()), (1, 1));
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn success_carries_the_attempt_count() {
    let result = deliver_with_retries(&RetryPolicy::default(), |n| async move {
        match n {
            1 | 2 => Err(failure(FailureKind::Retryable, None)),
            _ => Ok(Delivered {
                status: 204,
                attempts: 1,
            }),
        }
    })
    .await;
    assert_eq!(
        result.expect("third attempt succeeds"),
        Delivered {
            status: 204,
            attempts: 3
        }
    );
}

#[test]
fn deserialises_with_humantime_durations_and_defaults() {
    let parsed: RetryPolicy = serde_json::from_str(
        r#"{"retries": 5, "initial_backoff": "500ms", "max_retry_after": "2m"}"#,
    )
    .expect("valid policy");
    let expected = RetryPolicy {
        retries: 5,
        initial_backoff: Duration::from_millis(500),
        max_retry_after: Duration::from_secs(120),
        ..RetryPolicy::default()
    };
    assert_eq!(parsed, expected);
    let unknown =
        serde_json::from_str::<RetryPolicy>(r#"{"retry": 5}"#).expect_err("unknown field");
    assert!(
        unknown.to_string().contains("unknown field `retry`"),
        "{unknown}"
    );
}

#[test]
fn the_long_schedule_is_jittered_within_twenty_percent_and_ends() {
    let policy = RetryPolicy::default();
    let mut rng = rand::rng();
    let minute = Duration::from_secs(60);
    let steps = [5, 30, 120, 300, 600, 600];
    for (done, step) in steps.iter().enumerate() {
        for _ in 0..200 {
            let NextRetry::After(delay) = policy.next_retry(done as u32, minute, None, &mut rng)
            else {
                panic!("step {done} is scheduled");
            };
            let step = minute * *step;
            assert!(
                delay >= step.mul_f64(0.8) && delay <= step.mul_f64(1.2),
                "step {done}: {delay:?} within ±20 % of {step:?}"
            );
        }
    }
    assert_eq!(
        policy.next_retry(6, minute, None, &mut rng),
        NextRetry::ScheduleEnded
    );
}

#[test]
fn the_long_schedule_honours_retry_after_and_stops_at_the_horizon() {
    let policy = RetryPolicy {
        schedule: vec![Duration::from_secs(60), Duration::from_secs(60)],
        horizon: Duration::from_secs(3600),
        ..RetryPolicy::default()
    };
    let mut rng = rand::rng();
    let asked = Duration::from_secs(600);
    assert_eq!(
        policy.next_retry(0, Duration::ZERO, Some(asked), &mut rng),
        NextRetry::After(asked),
        "a Retry-After later than the step wins"
    );
    let NextRetry::After(delay) =
        policy.next_retry(0, Duration::ZERO, Some(Duration::from_secs(1)), &mut rng)
    else {
        panic!("scheduled");
    };
    assert!(
        delay >= Duration::from_secs(48),
        "an earlier one does not: {delay:?}"
    );
    assert_eq!(
        policy.next_retry(1, Duration::from_secs(3590), None, &mut rng),
        NextRetry::HorizonReached
    );
    assert_eq!(
        policy.next_retry(0, Duration::ZERO, Some(Duration::from_secs(7200)), &mut rng),
        NextRetry::HorizonReached,
        "a Retry-After beyond the horizon ends the retries"
    );
    assert!(DEFAULT_HORIZON > Duration::from_secs((5 + 30 + 120 + 300 + 600 + 600) * 72));
}

#[test]
fn the_long_schedule_deserialises_from_humantime_lists() {
    let parsed: RetryPolicy =
        serde_json::from_str(r#"{"schedule": ["1s", "2m", "3h"], "horizon": "4h"}"#)
            .expect("valid policy");
    assert_eq!(
        parsed.schedule,
        vec![
            Duration::from_secs(1),
            Duration::from_secs(120),
            Duration::from_secs(3 * 3600)
        ]
    );
    assert_eq!(parsed.horizon, Duration::from_secs(4 * 3600));
    assert!(serde_json::from_str::<RetryPolicy>(r#"{"schedule": ["soon"]}"#).is_err());
}
