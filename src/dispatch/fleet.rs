//! What delivery shares with the other instances: the control topic (destinations disabled
//! everywhere, subscriptions paused) and the delivery ledger each attempt is recorded in.

use std::sync::{Arc, PoisonError};

use super::lanes::Lane;
use super::{Deliverer, Job, Snapshot};
use crate::control::{Change, Control};
use crate::ledger::{self, Ledger};

impl Deliverer {
    /// Makes every attempt consult `control`: a destination disabled there is not delivered
    /// to, a paused subscription's deliveries are not sent, and automatic disables are written
    /// there for every instance.
    pub fn with_control(mut self, control: Arc<Control>) -> Self {
        self.control = Some(control);
        self.refresh();
        self
    }

    /// Makes every delivery record its story in `ledger`.
    pub fn with_ledger(mut self, ledger: Ledger) -> Self {
        self.ledger = Some(ledger);
        self.refresh();
        self
    }

    /// The current snapshot with this deliverer's control and ledger.
    fn refresh(&mut self) {
        let current = self
            .current
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        let snapshot = Snapshot {
            config: current.config.clone(),
            silences: current.silences.clone(),
            targets: current.targets.clone(),
            lanes: current.lanes.clone(),
            control: self.control.clone(),
            ledger: self.ledger.clone(),
        };
        *current = Arc::new(snapshot);
    }

    /// Clears the disabled flag of destination `id`'s lane (enabled through the control topic).
    pub fn enable_destination(&self, id: &str) {
        let snapshot = self.snapshot();
        if let Some(index) = snapshot.config.policies.iter().position(|p| p.id == id) {
            snapshot.lanes.get(index).enable();
        }
    }
}

impl Snapshot {
    /// Disables the destination of `lane` here and, through the control topic, everywhere.
    pub(super) fn disable(&self, lane: &Lane, why: &str) {
        if lane.disabled().is_none()
            && let Some(control) = &self.control
        {
            control.publish(Change::Destination {
                id: lane.destination().to_owned(),
                enabled: false,
                reason: Some(why.to_owned()),
            });
        }
        lane.disable(why);
    }

    /// Records `job` at `state` in the ledger, when there is one.
    pub(super) fn record(&self, job: &Job, state: ledger::State, reason: Option<String>) {
        if let Some(ledger) = &self.ledger {
            ledger.record(job, state, reason);
        }
    }
}
