//! The attempts of one delivery as the channels make them: retried in process as the
//! destination's policy says, each through the destination's lane (a slot, then the breaker).

use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use tokio::sync::SemaphorePermit;

use super::job::AttemptLog;
use super::lanes::{Admission, Lane};
use super::{RetryPolicy, deliver_with_retries};
use crate::channels::{Attempt, Attempts, Delivered, DeliveryError};

/// Retries as `policy` says, asking `lane` before each attempt and telling it how it went.
pub(super) struct Gate<'a> {
    policy: &'a RetryPolicy,
    lane: &'a Lane,
    /// Set when the circuit refused an attempt: the next probe may go at this time.
    deferred: Mutex<Option<Instant>>,
    /// The attempts made, for the ledger.
    log: Mutex<Vec<AttemptLog>>,
    /// A slot taken, and the rate limit waited for, before the first attempt, which then uses
    /// it.
    first: Mutex<Option<SemaphorePermit<'a>>>,
}

impl<'a> Gate<'a> {
    /// A gate whose first attempt goes in `first`, a slot of `lane` already held, when given.
    pub(super) fn new(
        policy: &'a RetryPolicy,
        lane: &'a Lane,
        first: Option<SemaphorePermit<'a>>,
    ) -> Self {
        Gate {
            policy,
            lane,
            deferred: Mutex::new(None),
            log: Mutex::new(Vec::new()),
            first: Mutex::new(first),
        }
    }

    /// The attempts made through this gate.
    pub(super) fn log(&self) -> Vec<AttemptLog> {
        std::mem::take(&mut *self.log.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// When the circuit was open at the last attempt: that attempt was not made, and the next
    /// probe may go at this time.
    pub(super) fn deferred_until(&self) -> Option<Instant> {
        *self.deferred.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// One attempt: the request (`send`) is made, and its future created, only once a slot is
    /// held, so a delivery waiting for one holds no request.
    async fn attempt<'s>(
        &self,
        send: &'s (dyn Fn() -> Attempt<'s> + Sync),
    ) -> Result<Delivered, DeliveryError> {
        let first = self
            .first
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let _slot = match first {
            Some(slot) => slot,
            None => {
                // Over the rate limit an attempt waits here, before taking a slot.
                self.lane.pace().await;
                self.lane.slot().await
            }
        };
        // The breaker is asked once a slot is held, so attempts queued for the slot while the
        // circuit opened are refused too.
        if let Admission::Refused { until } = self.lane.admit() {
            *self.deferred.lock().unwrap_or_else(PoisonError::into_inner) = Some(until);
            // Permanent, so that the in-process retries end here; the caller reads `deferred`.
            return Err(DeliveryError::permanent(format!(
                "the circuit of destination {:?} is open",
                self.lane.destination()
            )));
        }
        let started = Instant::now();
        let at = chrono::Utc::now();
        let result = send().await;
        let took = started.elapsed();
        self.lane.attempted(took);
        crate::telemetry::metrics::global().request(self.lane.destination(), took);
        let entry = match &result {
            Ok(delivered) => AttemptLog::new(at, took, Some(delivered.status), None),
            Err(error) => AttemptLog::new(at, took, error.status, Some(&error.message)),
        };
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(entry);
        match &result {
            Err(error) if error.is_retryable() => self.lane.failed(&error.message),
            _ => self.lane.answered(),
        }
        result
    }
}

impl Attempts for Gate<'_> {
    fn make<'a>(&'a self, attempt: &'a (dyn Fn() -> Attempt<'a> + Sync)) -> Attempt<'a> {
        Box::pin(deliver_with_retries(self.policy, |_| self.attempt(attempt)))
    }
}
