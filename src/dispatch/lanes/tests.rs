//! Lanes: the queue bound, concurrency slots, the breaker as a lane sees it, disabling.

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::dispatch::{DeliveryPolicy, RetryPolicy};

fn destination(concurrency: usize, queue: usize, failures: u32) -> DeliveryPolicy {
    DeliveryPolicy {
        id: "hook".into(),
        retry: RetryPolicy::default(),
        limits: LaneLimits { concurrency, queue },
        breaker: BreakerSettings {
            failures,
            probe_interval: Duration::from_secs(30),
        },
        rate: None,
    }
}

#[test]
fn the_queue_is_bounded_and_places_come_back_when_dropped() {
    let lanes = Lanes::new(&[destination(1, 2, 5)]);
    let lane = lanes.get(0);
    let first = lane.enter().expect("room");
    let second = lane.enter().expect("room");
    assert!(
        lane.enter().is_none(),
        "a third waits nowhere: the queue holds 2"
    );
    assert!(!lane.has_room());
    assert_eq!(lane.room(), 0);
    drop(first);
    assert_eq!(lane.room(), 1);
    assert!(lane.enter().is_some());
    drop(second);
    assert_eq!(
        lane.queued(),
        0,
        "the place taken above was dropped at once"
    );
}

#[test]
fn a_delivery_refused_by_a_full_queue_is_due_at_once_and_by_an_open_circuit_at_the_probe() {
    let lanes = Lanes::new(&[destination(1, 1, 1)]);
    let lane = lanes.get(0);
    let _place = lane.enter().expect("room");
    assert!(lane.enter().is_none(), "full");
    let before = std::time::Instant::now();
    assert!(
        lane.retry_at() <= std::time::Instant::now(),
        "a full queue with a closed circuit: due at once (the retry consumer holds it until a place frees), not a probe interval away"
    );
    lane.failed("HTTP 503");
    assert!(lane.circuit_open());
    assert!(
        lane.retry_at() >= before + Duration::from_secs(29),
        "an open circuit: at the next probe"
    );
}

/// The lane of `destination`, its attempts taking `attempt` (none made when zero), with every
/// place of its queue taken.
fn full_lane(destination: DeliveryPolicy, attempt: Duration) -> (Arc<Lane>, Vec<Place>) {
    let lanes = Lanes::new(&[destination]);
    let lane = lanes.get(0).clone();
    if !attempt.is_zero() {
        lane.attempted(attempt);
    }
    let places = std::iter::from_fn(|| lane.enter()).collect();
    (lane, places)
}

/// `n` fresh deliveries waiting for a place of `lane`, each telling whether it got one.
async fn waiters(lane: &Arc<Lane>, n: usize) -> Vec<tokio::task::JoinHandle<bool>> {
    let waiters = (0..n)
        .map(|_| {
            let lane = lane.clone();
            tokio::spawn(async move { lane.enter_or_wait().await.is_some() })
        })
        .collect();
    tokio::task::yield_now().await;
    waiters
}

/// Asserts that `lane` hands a fresh delivery over without waiting.
async fn refused_at_once(lane: &Arc<Lane>, why: &str) {
    let before = tokio::time::Instant::now();
    assert!(lane.enter_or_wait().await.is_none(), "{why}");
    assert_eq!(before.elapsed(), Duration::ZERO, "without waiting: {why}");
}

#[tokio::test(start_paused = true)]
async fn a_full_queue_that_keeps_up_lets_a_fresh_delivery_wait_for_a_place() {
    // Attempts take 100 ms, two at once: a place frees every 50 ms.
    let (lane, mut places) = full_lane(destination(2, 2, 5), Duration::from_millis(100));
    let waiter = waiters(&lane, 1).await.remove(0);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!waiter.is_finished(), "it waits while the queue is full");
    assert_eq!(lane.waiting(), 1);
    places.pop();
    assert!(
        waiter.await.expect("no panic"),
        "the freed place went to the waiting delivery"
    );
    assert_eq!(
        lane.queued(),
        1,
        "the waiter's place was given back; one still held"
    );
    assert_eq!(lane.waiting(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_full_queue_that_is_slow_hands_the_delivery_over_at_once() {
    // Attempts take 2 s, two at once: a place frees every second, beyond QUEUE_WAIT.
    let (lane, _places) = full_lane(destination(2, 2, 5), Duration::from_secs(2));
    refused_at_once(&lane, "a place is a second away").await;
}

#[tokio::test(start_paused = true)]
async fn waiting_deliveries_count_against_the_wait_and_none_waits_past_it() {
    // One attempt at a time, 200 ms each: the first two waiters would have a place within
    // 500 ms, a third not.
    let (lane, _places) = full_lane(destination(1, 10, 5), Duration::from_millis(200));
    let waiters = waiters(&lane, 2).await;
    let before = tokio::time::Instant::now();
    refused_at_once(&lane, "a third is 600 ms away at this pace").await;
    // No place is given back: the waiters give up after QUEUE_WAIT.
    for waiter in waiters {
        assert!(!waiter.await.expect("no panic"), "no place came");
    }
    assert_eq!(before.elapsed(), QUEUE_WAIT);
    refused_at_once(
        &lane,
        "the waits that came to nothing slowed the lane's pace",
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn at_most_half_a_queue_waits_however_fast_the_lane() {
    let (lane, _places) = full_lane(destination(16, 4, 5), Duration::from_micros(10));
    let waiters = waiters(&lane, 2).await;
    assert_eq!(lane.waiting(), 2);
    refused_at_once(&lane, "a third of a queue of 4").await;
    waiters.iter().for_each(tokio::task::JoinHandle::abort);
}

#[tokio::test(start_paused = true)]
async fn a_fresh_delivery_does_not_wait_ahead_of_deliveries_the_retry_consumer_holds() {
    let (lane, _places) = full_lane(destination(1, 1, 5), Duration::from_millis(10));
    lane.retries_held(true);
    refused_at_once(
        &lane,
        "the freed place is for what the retry consumer holds",
    )
    .await;
    lane.retries_held(false);
    let waiters = waiters(&lane, 1).await;
    assert_eq!(lane.waiting(), 1, "with nothing held, it waits");
    waiters.iter().for_each(tokio::task::JoinHandle::abort);
}

#[tokio::test(start_paused = true)]
async fn a_rate_limit_slower_than_the_attempts_sets_the_pace() {
    let mut limited = destination(16, 1, 5);
    limited.rate = Some(crate::channels::RateLimit {
        per_second: 1.0,
        burst: 1,
    });
    let (lane, _places) = full_lane(limited, Duration::from_millis(1));
    refused_at_once(&lane, "one a second: a place is a second away").await;
}

#[tokio::test(start_paused = true)]
async fn a_full_queue_with_its_circuit_open_hands_the_delivery_over_at_once() {
    let (lane, _places) = full_lane(destination(1, 1, 1), Duration::from_millis(1));
    lane.failed("HTTP 503");
    refused_at_once(&lane, "the circuit is open").await;
}

#[tokio::test(start_paused = true)]
async fn a_lane_with_no_pace_yet_hands_a_delivery_over_at_once() {
    let (lane, _places) = full_lane(destination(1, 1, 5), Duration::ZERO);
    refused_at_once(&lane, "no attempt made: nothing says a place will free").await;
}

#[tokio::test]
async fn a_lane_lets_concurrency_attempts_run_at_once() {
    let lanes = Lanes::new(&[destination(2, 10, 5)]);
    let lane = lanes.get(0).clone();
    let a = lane.slot().await;
    let _b = lane.slot().await;
    let waiting = {
        let lane = lane.clone();
        tokio::spawn(async move {
            let _c = lane.slot().await;
        })
    };
    tokio::task::yield_now().await;
    assert!(!waiting.is_finished(), "a third attempt waits for a slot");
    drop(a);
    tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("the slot frees")
        .expect("no panic");
}

#[tokio::test]
async fn a_freed_place_wakes_whoever_waits_for_space() {
    let lanes = Arc::new(Lanes::new(&[destination(1, 1, 5)]));
    let place = lanes.get(0).enter().expect("room");
    drop(place);
    // The permit is stored: a waiter arriving later is woken at once.
    tokio::time::timeout(Duration::from_secs(10), lanes.space().notified())
        .await
        .expect("notified");
}

/// Log lines at `warn` and above, as text.
#[derive(Clone, Default)]
struct Logged(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Logged {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logged {
    fn lines(&self) -> Vec<String> {
        let text = String::from_utf8(self.0.lock().expect("log").clone()).expect("UTF-8");
        text.lines().map(str::to_owned).collect()
    }
}

#[test]
fn failures_open_the_circuit_say_why_at_warn_and_an_answer_closes_it() {
    let logged = Logged::default();
    let writer = logged.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let lanes = Lanes::new(&[destination(1, 1, 3)]);
    let lane = lanes.get(0);
    tracing::subscriber::with_default(subscriber, || {
        assert_eq!(lane.admit(), Admission::Allowed);
        assert!(lane.failing_for().is_none());
        lane.failed("HTTP 503 Service Unavailable");
        assert!(lane.failing_for().is_some());
        lane.failed("connection refused");
        lane.failed("timed out after 10s");
    });
    let lines = logged.lines();
    assert_eq!(
        lines.len(),
        2,
        "the first failure and the opening: {lines:#?}"
    );
    assert!(
        lines[0].contains("Destination failing")
            && lines[0].contains("HTTP 503 Service Unavailable"),
        "{lines:#?}"
    );
    assert!(
        lines[1].contains("Circuit opened") && lines[1].contains("timed out after 10s"),
        "{lines:#?}"
    );
    assert!(matches!(lane.admit(), Admission::Refused { .. }));
    assert!(lane.circuit_open());
    let retry_at = lane.retry_at();
    assert!(retry_at > std::time::Instant::now() + Duration::from_secs(20));
    lane.answered();
    assert_eq!(lane.admit(), Admission::Allowed);
    assert!(!lane.circuit_open());
    assert!(lane.failing_for().is_none());
}

#[tokio::test]
async fn a_circuit_closing_tells_whoever_holds_deliveries_for_it() {
    let lanes = Lanes::new(&[destination(1, 1, 1)]);
    let lane = lanes.get(0);
    let space = lanes.space_handle();
    lane.failed("HTTP 503");
    assert!(lane.circuit_open());
    lane.answered();
    tokio::time::timeout(Duration::from_secs(1), space.notified())
        .await
        .expect("notified when the circuit closed");
}

#[test]
fn disabling_keeps_the_first_reason() {
    let lanes = Lanes::new(&[destination(1, 1, 2)]);
    let lane = lanes.get(0);
    assert_eq!(lane.disabled(), None);
    lane.disable("it answered 410 Gone");
    lane.disable("something else");
    assert_eq!(lane.disabled().as_deref(), Some("it answered 410 Gone"));
}

#[test]
fn a_reload_keeps_the_lane_of_a_destination_whose_limits_stay_the_same() {
    let kept = destination(2, 10, 5);
    let lanes = Lanes::new(std::slice::from_ref(&kept));
    lanes.get(0).disable("it answered 410 Gone");
    let _place = lanes.get(0).enter().expect("room");

    let renamed = DeliveryPolicy {
        id: "other".into(),
        ..destination(2, 10, 5)
    };
    let reloaded = lanes.carried(&[renamed, kept.clone(), destination(4, 10, 5)]);
    assert!(
        Arc::ptr_eq(reloaded.get(1), lanes.get(0)),
        "the same lane, moved"
    );
    assert!(reloaded.get(1).disabled().is_some());
    assert_eq!(reloaded.get(1).queued(), 1, "its deliveries in progress");
    for changed in [0, 2] {
        assert!(reloaded.get(changed).disabled().is_none());
        assert_eq!(reloaded.get(changed).queued(), 0);
    }
    assert!(Arc::ptr_eq(&lanes.space_handle(), &reloaded.space_handle()));
}
