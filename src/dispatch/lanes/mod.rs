//! Isolation per destination: a lane with its own concurrency slots, a bounded queue, a circuit
//! breaker and a disabled flag, so that one slow or dead receiver only ever uses its own lane.
//!
//! A delivery first takes a place in its destination's queue ([`Lane::enter`]), then, for each
//! attempt, asks the circuit breaker ([`Lane::admit`]) and waits for one of the lane's
//! concurrency slots ([`Lane::slot`]). Backoff sleeps between in-process retries hold a place
//! but no slot.
//!
//! A fresh delivery that finds the queue full ([`Lane::enter_or_wait`]) waits for a place only
//! when the lane's pace says one will free for it within [`QUEUE_WAIT`] (the deliveries already
//! waiting counted): a destination that keeps up absorbs a burst in place, while one that is
//! slow, whose circuit is open, or for which the retry consumer already holds deliveries has the
//! delivery handed to the retry topic at once. Each waiting delivery holds its record in flight:
//! at most half a queue of them wait for one lane.
//!
//! A destination with a `rate_limit` also paces its attempts ([`Lane::pace`]): over the limit an
//! attempt waits in the lane, holding its place but no slot, and is never handed to the retry
//! topic for it; the waits are the metric `notification_router_rate_limit_wait_seconds`.

mod breaker;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, SemaphorePermit};
use tracing::{debug, error, info, warn};

pub(crate) use crate::channels::http::Pace;
pub(crate) use breaker::{Admission, CircuitBreaker};

use super::DeliveryPolicy;

/// A destination's `limits`: how much of the router it may use at once.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LaneLimits {
    /// Attempts in progress at once.
    pub concurrency: usize,
    /// Deliveries waiting or in progress at once; more go to the retry topic. Below
    /// `kafka.max_in_flight`, or it is never full: each delivery holds its record in flight.
    pub queue: usize,
}

/// The default `limits.queue`: a fifth of the default `kafka.max_in_flight` (1,000), so that a
/// slow receiver fills its queue and has the rest of its deliveries handed to the retry topic
/// while the records in flight keep room for every other destination.
pub(crate) const DEFAULT_QUEUE: usize = 200;

/// The longest a fresh delivery waits for a place in a full queue; it waits at all only when the
/// lane's pace would give it one within this time.
pub(crate) const QUEUE_WAIT: Duration = Duration::from_millis(500);

impl Default for LaneLimits {
    fn default() -> Self {
        Self {
            concurrency: 16,
            queue: DEFAULT_QUEUE,
        }
    }
}

/// A destination's `circuit_breaker`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BreakerSettings {
    /// Consecutive failed attempts that open the circuit.
    pub failures: u32,
    /// While open, one probe per interval.
    #[serde(with = "humantime_serde")]
    pub probe_interval: Duration,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        Self {
            failures: 5,
            probe_interval: Duration::from_secs(30),
        }
    }
}

/// The lane of one destination.
#[derive(Debug)]
pub struct Lane {
    destination: String,
    /// What the lane was built with; a reload keeps the lane only while these stay the same.
    settings: (
        LaneLimits,
        BreakerSettings,
        Option<crate::channels::RateLimit>,
    ),
    /// The destination's `rate_limit`, if it has one.
    pace: Option<Pace>,
    queue_bound: usize,
    probe_interval: Duration,
    slots: Semaphore,
    /// The queue's places: `queue_bound` permits.
    places: Arc<Semaphore>,
    /// Deliveries waiting for a place ([`Lane::enter_or_wait`]).
    waiting: AtomicUsize,
    /// Set while the retry consumer holds deliveries until this lane has room: fresh ones then
    /// go behind them, through the retry topic, instead of taking every freed place.
    retries_held: AtomicBool,
    /// How long an attempt takes, of late (microseconds; an exponentially weighted mean, 0
    /// before the first): with the queue full, a place frees every `attempt / concurrency`
    /// (or at the `rate_limit`'s pace, when that is slower).
    attempt_micros: AtomicU64,
    concurrency: usize,
    breaker: Mutex<CircuitBreaker>,
    health: Mutex<Health>,
    /// Shared by all lanes: notified whenever a queue place frees.
    space: Arc<Notify>,
}

#[derive(Debug, Default)]
struct Health {
    /// Why the destination was disabled; deliveries to it go to the dead-letter topic.
    disabled: Option<String>,
    /// Since when every attempt failed (none answered since).
    failing_since: Option<Instant>,
}

/// A place in a lane's queue; given back when dropped.
#[derive(Debug)]
pub struct Place {
    lane: Arc<Lane>,
    permit: Option<OwnedSemaphorePermit>,
}

impl Drop for Place {
    fn drop(&mut self) {
        // Given back before anyone is told (to a delivery waiting for it, if one is).
        drop(self.permit.take());
        // A stored permit if nobody waits right now: the retry consumer looks when it next can.
        self.lane.space.notify_one();
    }
}

/// One delivery counted in [`Lane::waiting`] while it lives.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Lane {
    fn new(destination: &DeliveryPolicy, space: Arc<Notify>) -> Self {
        let limits = &destination.limits;
        let concurrency = limits.concurrency.clamp(1, Semaphore::MAX_PERMITS);
        let queue_bound = limits.queue.clamp(1, Semaphore::MAX_PERMITS);
        Self {
            destination: destination.id.clone(),
            settings: (
                limits.clone(),
                destination.breaker.clone(),
                destination.rate,
            ),
            pace: destination.rate.as_ref().map(Pace::new),
            queue_bound,
            probe_interval: destination.breaker.probe_interval,
            slots: Semaphore::new(concurrency),
            places: Arc::new(Semaphore::new(queue_bound)),
            waiting: AtomicUsize::new(0),
            retries_held: AtomicBool::new(false),
            attempt_micros: AtomicU64::new(0),
            concurrency,
            breaker: Mutex::new(CircuitBreaker::new(
                destination.breaker.failures,
                destination.breaker.probe_interval,
            )),
            health: Mutex::new(Health::default()),
            space,
        }
    }

    pub fn destination(&self) -> &str {
        &self.destination
    }

    /// Takes a place in the queue, or `None` when it is full.
    pub fn enter(self: &Arc<Self>) -> Option<Place> {
        let permit = self.places.clone().try_acquire_owned().ok()?;
        Some(self.place(permit))
    }

    /// Takes a place in the queue, waiting for one when the queue is full and the lane's pace
    /// would free one for this delivery within [`QUEUE_WAIT`] (the deliveries already waiting
    /// ahead of it counted, at most half a queue of them). `None` at once when it would not,
    /// when the lane has no pace yet (no attempt made), when the circuit is open, or while the
    /// retry consumer holds deliveries for the lane; `None` when no place came within
    /// [`QUEUE_WAIT`], which sets the lane's pace to no place within twice that (until attempts
    /// say otherwise), so that a receiver that stops answering has nobody waiting.
    pub async fn enter_or_wait(self: &Arc<Self>) -> Option<Place> {
        if let Some(place) = self.enter() {
            return Some(place);
        }
        if self.circuit_open() || self.retries_held.load(Ordering::Acquire) {
            return None;
        }
        let ahead = self.waiting.fetch_add(1, Ordering::AcqRel);
        let _waiting = Waiting(&self.waiting);
        if ahead >= self.queue_bound.div_ceil(2) {
            return None;
        }
        let every = self.place_frees_every()?;
        let turn = u32::try_from(ahead + 1).unwrap_or(u32::MAX);
        if every.saturating_mul(turn) > QUEUE_WAIT {
            return None;
        }
        match tokio::time::timeout(QUEUE_WAIT, self.places.clone().acquire_owned()).await {
            Ok(permit) => Some(self.place(permit.expect("a lane's queue is never closed"))),
            Err(_) => {
                let slots = u32::try_from(self.concurrency).unwrap_or(u32::MAX);
                let slow = u64::try_from((2 * QUEUE_WAIT).saturating_mul(slots).as_micros());
                self.attempt_micros
                    .fetch_max(slow.unwrap_or(u64::MAX), Ordering::AcqRel);
                None
            }
        }
    }

    fn place(self: &Arc<Self>, permit: OwnedSemaphorePermit) -> Place {
        Place {
            lane: self.clone(),
            permit: Some(permit),
        }
    }

    /// Counts an attempt that took `took` into the lane's pace (a weight of one eighth).
    pub fn attempted(&self, took: Duration) {
        let sample = u64::try_from(took.as_micros()).unwrap_or(u64::MAX).max(1);
        let _ = self
            .attempt_micros
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |mean| {
                Some(match mean {
                    0 => sample,
                    mean => mean - mean / 8 + sample / 8,
                })
            });
    }

    /// How often a place frees while the queue is full, as the lane's pace says: an attempt's
    /// time over the concurrency, or the `rate_limit`'s interval when that is longer. `None`
    /// before any attempt was made.
    fn place_frees_every(&self) -> Option<Duration> {
        let attempt = self.attempt_micros.load(Ordering::Acquire);
        let every =
            (attempt > 0).then(|| Duration::from_micros(attempt / self.concurrency as u64))?;
        Some(match &self.pace {
            Some(pace) => every.max(pace.interval()),
            None => every,
        })
    }

    /// Tells the lane whether the retry consumer holds deliveries until it has room.
    pub fn retries_held(&self, held: bool) {
        self.retries_held.store(held, Ordering::Release);
    }

    /// Deliveries waiting for a place.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Acquire)
    }

    /// Whether a place is free right now.
    pub fn has_room(&self) -> bool {
        self.room() > 0
    }

    /// Places free right now.
    pub fn room(&self) -> usize {
        self.places.available_permits()
    }

    /// Deliveries waiting or in progress.
    pub fn queued(&self) -> usize {
        self.queue_bound.saturating_sub(self.room())
    }

    /// Waits until the destination's `rate_limit` lets the next attempt go (at once without
    /// one); the wait is recorded.
    pub async fn pace(&self) {
        if let Some(pace) = &self.pace {
            let waited = pace.wait().await;
            crate::telemetry::metrics::global().rate_limited(&self.destination, waited);
        }
    }

    /// Waits for a concurrency slot, held for one attempt.
    pub async fn slot(&self) -> SemaphorePermit<'_> {
        self.slots
            .acquire()
            .await
            .expect("a lane's semaphore is never closed")
    }

    /// Whether an attempt may go now (see [`CircuitBreaker::admit`]).
    pub fn admit(&self) -> Admission {
        lock(&self.breaker).admit(Instant::now())
    }

    /// When a delivery refused now should be tried again: the next probe while the circuit is
    /// open; at once when it is closed (the queue was full). The retry consumer holds a due
    /// delivery whose queue is still full until a place frees, so a destination that keeps up
    /// gets back what a burst handed over within a round trip through Kafka, not a probe
    /// interval later.
    pub fn retry_at(&self) -> Instant {
        let now = Instant::now();
        match lock(&self.breaker).next_probe() {
            Some(at) => at.max(now),
            None => now,
        }
    }

    /// The destination answered an attempt (a success, or a refusal that is not a failure of it).
    /// When this closes the circuit, deliveries held for it are told ([`Lanes::space`]).
    pub fn answered(&self) {
        lock(&self.health).failing_since = None;
        if lock(&self.breaker).succeeded() {
            info!(message = "Circuit closed: the destination answers again.", destination = %self.destination);
            self.space.notify_one();
        }
    }

    /// An attempt failed in a way that may pass (no connection, timeout, 5xx, 429...), for the
    /// reason `why`. The first failure after an answer and the circuit's opening say why at
    /// `warn`; the failures between them only at `debug`.
    pub fn failed(&self, why: &str) {
        let now = Instant::now();
        lock(&self.health).failing_since.get_or_insert(now);
        let (opened, failures) = {
            let mut breaker = lock(&self.breaker);
            (breaker.failed(now), breaker.failures())
        };
        if opened {
            warn!(message = "Circuit opened: the destination keeps failing; deliveries go to the retry topic, one probe per interval.", destination = %self.destination, failures, error = why, probe_interval = ?self.probe_interval);
        } else if failures == 1 {
            warn!(message = "Destination failing: an attempt failed after the last answer.", destination = %self.destination, error = why);
        } else {
            debug!(message = "Destination still failing.", destination = %self.destination, failures, error = why);
        }
    }

    /// Whether the circuit is open now.
    pub fn circuit_open(&self) -> bool {
        lock(&self.breaker).is_open()
    }

    /// How long every attempt has been failing, if the last one failed.
    pub fn failing_for(&self) -> Option<Duration> {
        lock(&self.health)
            .failing_since
            .map(|since| since.elapsed())
    }

    /// Disables the destination until it is enabled again; says so loudly the first time.
    pub fn disable(&self, why: &str) {
        let mut health = lock(&self.health);
        if health.disabled.is_none() {
            crate::telemetry::metrics::global().disabled(&self.destination);
            error!(message = "DESTINATION DISABLED: its deliveries go to the dead-letter topic until it is enabled again (POST /v1/destinations/{id}/enable); replay them with `dead-letters replay` once it is fixed.", destination = %self.destination, reason = why);
            health.disabled = Some(why.to_owned());
        }
    }

    /// Enables the destination again (through the control topic); says so when it was disabled.
    pub fn enable(&self) {
        let mut health = lock(&self.health);
        if let Some(was) = health.disabled.take() {
            crate::telemetry::metrics::global().enabled(&self.destination);
            info!(message = "Destination enabled again.", destination = %self.destination, was_disabled_because = %was);
        }
        health.failing_since = None;
    }

    /// Why the destination is disabled, if it is.
    pub fn disabled(&self) -> Option<String> {
        lock(&self.health).disabled.clone()
    }
}

/// The lanes of all destinations, by the destination's index in the routing table.
#[derive(Debug, Clone)]
pub struct Lanes {
    lanes: Vec<Arc<Lane>>,
    space: Arc<Notify>,
}

impl Lanes {
    pub fn new(destinations: &[DeliveryPolicy]) -> Self {
        let space = Arc::new(Notify::new());
        Self {
            lanes: destinations
                .iter()
                .map(|d| Arc::new(Lane::new(d, space.clone())))
                .collect(),
            space,
        }
    }

    /// The lanes of a reloaded configuration's `destinations`: a destination with the same id,
    /// `limits` and `circuit_breaker` as before keeps its lane and all its state (circuit,
    /// disabled flag, deliveries queued and in progress); any other gets a new one. The queue
    /// places and slots held by deliveries in progress stay with the lane they were taken from.
    pub fn carried(&self, destinations: &[DeliveryPolicy]) -> Self {
        let lanes = destinations
            .iter()
            .map(|d| {
                let settings = (d.limits.clone(), d.breaker.clone(), d.rate);
                self.lanes
                    .iter()
                    .find(|lane| lane.destination == d.id && lane.settings == settings)
                    .cloned()
                    .unwrap_or_else(|| Arc::new(Lane::new(d, self.space.clone())))
            })
            .collect();
        Self {
            lanes,
            space: self.space.clone(),
        }
    }

    pub fn get(&self, destination: usize) -> &Arc<Lane> {
        &self.lanes[destination]
    }

    /// The lane of the destination at `index`, if this configuration has one there.
    pub fn try_get(&self, destination: usize) -> Option<&Arc<Lane>> {
        self.lanes.get(destination)
    }

    /// [`space`](Self::space), to keep across reloads: every generation of lanes shares it.
    pub fn space_handle(&self) -> Arc<Notify> {
        self.space.clone()
    }

    /// Notified whenever a place frees or a circuit closes in any lane.
    pub fn space(&self) -> &Notify {
        &self.space
    }
}

/// Every update of a lane's state is one assignment, so a poisoned lock is used as is.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests;
