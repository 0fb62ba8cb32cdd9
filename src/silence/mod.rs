//! Silences: ad-hoc, fleet-wide mutes made through the admin API. A silence is a matcher (an EN
//! filter expression over the notification), an optional scope (topic, subscription,
//! destination) and a time range; a delivery it matches while in effect is not sent, counted
//! (`deliveries_silenced_total`) and logged, never dead-lettered.
//!
//! Silences live in the control topic, one record per silence (`silence/<id>`): every instance
//! reads it whole and keeps all silences in memory ([`Silences`]), see [`crate::control`].

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::filter::Filter;

/// The longest comment kept.
pub(crate) const MAX_COMMENT: usize = 2000;

/// Which deliveries a silence may mute; every field given must be the delivery's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
}

/// One silence, as the API takes and returns it and the control topic holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Silence {
    pub id: String,
    /// An EN filter expression over the notification (`$.data.event_properties.region_id ==
    /// 'us-south'`).
    pub matcher: String,
    #[serde(default)]
    pub scope: Scope,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub created_by: String,
    #[serde(default)]
    pub comment: String,
    pub updated_at: DateTime<Utc>,
}

/// Why a silence is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SilenceError {
    #[error("matcher: {0}")]
    Matcher(#[from] crate::filter::FilterError),
    #[error("ends_at: is not after starts_at")]
    Ends,
    #[error("comment: is longer than {MAX_COMMENT} bytes")]
    Comment,
}

/// A delivery, as a silence's scope sees it.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    pub topic: &'a str,
    pub subscription: &'a str,
    pub destination: &'a str,
}

/// Whether a silence is in effect at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Pending,
    Active,
    Expired,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Active => "active",
            State::Expired => "expired",
        }
    }
}

impl Silence {
    /// Checks a silence and compiles its matcher.
    pub fn compile(&self) -> Result<Filter, SilenceError> {
        let filter = Filter::parse(&self.matcher)?;
        if self.ends_at <= self.starts_at {
            return Err(SilenceError::Ends);
        }
        if self.comment.len() > MAX_COMMENT {
            return Err(SilenceError::Comment);
        }
        Ok(filter)
    }

    pub fn state(&self, now: DateTime<Utc>) -> State {
        if now < self.starts_at {
            State::Pending
        } else if now < self.ends_at {
            State::Active
        } else {
            State::Expired
        }
    }

    fn scoped(&self, delivery: Delivery<'_>) -> bool {
        let fits = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        fits(&self.scope.topic, delivery.topic)
            && fits(&self.scope.subscription, delivery.subscription)
            && fits(&self.scope.destination, delivery.destination)
    }
}

/// Every silence this instance knows of, by id, with its compiled matcher; shared by delivery,
/// `explain` and the admin API.
#[derive(Default)]
pub struct Silences {
    all: RwLock<BTreeMap<String, (Arc<Silence>, Filter)>>,
}

impl Silences {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Puts a silence in (or replaces the one with its id); one that does not compile is left
    /// out and its error returned.
    pub fn put(&self, silence: Silence) -> Result<(), SilenceError> {
        let filter = silence.compile()?;
        let mut all = self.all.write().unwrap_or_else(PoisonError::into_inner);
        all.insert(silence.id.clone(), (Arc::new(silence), filter));
        Ok(())
    }

    /// Forgets a silence (its record was cleared from the control topic).
    pub fn remove(&self, id: &str) {
        let mut all = self.all.write().unwrap_or_else(PoisonError::into_inner);
        all.remove(id);
    }

    pub fn get(&self, id: &str) -> Option<Arc<Silence>> {
        let all = self.all.read().unwrap_or_else(PoisonError::into_inner);
        all.get(id).map(|(s, _)| s.clone())
    }

    /// Every silence, by id.
    pub fn list(&self) -> Vec<Arc<Silence>> {
        let all = self.all.read().unwrap_or_else(PoisonError::into_inner);
        all.values().map(|(s, _)| s.clone()).collect()
    }

    /// The first silence (by id) in effect at `now` that mutes `delivery` of `notification`.
    pub fn muting(
        &self,
        notification: &serde_json::Value,
        delivery: Delivery<'_>,
        now: DateTime<Utc>,
    ) -> Option<Arc<Silence>> {
        let all = self.all.read().unwrap_or_else(PoisonError::into_inner);
        all.values()
            .find(|(silence, filter)| {
                silence.state(now) == State::Active
                    && silence.scoped(delivery)
                    && filter.matches(notification)
            })
            .map(|(silence, _)| silence.clone())
    }
}
