//! The runtime state a comparison applies to both sides, as the router applies it over its files:
//! source overrides, subscriptions paused and destinations disabled (the control topic), and the
//! silences in effect. The `impact` command compares the files only; `POST /v1/impact` and the
//! console's source toggle take this instance's state.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::control::{ControlState, Read};
use crate::routing::Delivery;
use crate::silence::{self, Silences};

/// What is laid over both configurations and consulted for every delivery; the default is
/// none (the files only).
#[derive(Clone, Default)]
pub(crate) struct Runtime {
    control: ControlState,
    silences: Option<Arc<Silences>>,
    /// The instant silences are looked up at: the silences in effect then mute on both sides.
    at: Option<DateTime<Utc>>,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("control", &self.control)
            .field("silences", &self.silences.as_ref().map(|s| s.list().len()))
            .field("at", &self.at)
            .finish()
    }
}

impl Runtime {
    /// The control topic's state as read, and the silences in effect `at`.
    pub(crate) fn new(
        control: ControlState,
        silences: Option<Arc<Silences>>,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            control,
            silences,
            at: Some(at),
        }
    }

    /// This state without source `id`'s override: for a proposal that sets the source itself.
    pub(crate) fn without_source_override(mut self, id: &str) -> Self {
        self.control.apply(Read::Cleared {
            kind: "source".to_owned(),
            id: id.to_owned(),
        });
        self
    }

    /// `config` with the source overrides laid over its files (a configuration already in
    /// effect comes out as it was).
    pub(crate) fn applied(&self, config: &Config) -> Config {
        let mut config = config.clone();
        self.control.overlay(&mut config);
        config
    }

    /// Why `delivery` of `notification` would not be sent, as the deliverer decides: its
    /// subscription paused, a silence muting it, or its destination disabled.
    pub(crate) fn withheld(
        &self,
        notification: &serde_json::Value,
        delivery: &Delivery<'_>,
    ) -> Option<String> {
        let subscription = &delivery.subscription.name;
        let destination = &delivery.destination.id;
        if let Some(set) = self.control.paused(subscription) {
            return Some(format!(
                "subscription {subscription} is paused (by {})",
                set.by
            ));
        }
        let scoped = silence::Delivery {
            topic: &delivery.topic.name,
            subscription,
            destination,
        };
        if let (Some(silences), Some(at)) = (&self.silences, self.at)
            && let Some(silence) = silences.muting(notification, scoped, at)
        {
            return Some(format!("silence {} mutes it", silence.id));
        }
        self.control
            .destination_disabled(destination)
            .map(|(why, _)| format!("destination {destination} is disabled ({why})"))
    }
}
