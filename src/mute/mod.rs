//! Mute windows: the named `time_intervals` of `router.yaml` and a subscription's
//! `mute_time_intervals` / `active_time_intervals`, evaluated at an instant; pure.
//!
//! A subscription is muted while any of its mute intervals holds, or, when it has active
//! intervals, while none of them does. A muted delivery is dropped or, with `when_muted: delay`,
//! handed to the retry topic due when the window ends.

mod interval;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;

#[cfg(test)]
use interval::Invalid;
pub(crate) use interval::{TimeInterval, TimeIntervalConfig};

/// How far ahead the end of a window is looked for; a delivery muted longer is looked at again
/// then.
const HORIZON_DAYS: i64 = 366;

/// One named interval of `router.yaml`'s `time_intervals`, as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedIntervalConfig {
    pub name: String,
    #[serde(default)]
    pub time_intervals: Vec<TimeIntervalConfig>,
}

/// A named interval, compiled: it holds when any of its intervals contains the instant.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedInterval {
    pub name: String,
    pub intervals: Vec<TimeInterval>,
}

impl NamedInterval {
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.intervals.iter().any(|i| i.contains(at))
    }
}

/// What a muted subscription does with a delivery.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WhenMuted {
    /// Not sent; counted and logged (Alertmanager's behaviour).
    #[default]
    Drop,
    /// Held in the retry topic until the window ends, then sent.
    Delay,
}

impl WhenMuted {
    pub fn as_str(self) -> &'static str {
        match self {
            WhenMuted::Drop => "drop",
            WhenMuted::Delay => "delay",
        }
    }
}

/// A subscription's mute windows.
#[derive(Debug, Clone, PartialEq)]
pub struct Mute {
    pub mute: Vec<Arc<NamedInterval>>,
    pub active: Vec<Arc<NamedInterval>>,
    pub when_muted: WhenMuted,
}

/// Why a subscription is muted at an instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// In this mute interval.
    Muted(String),
    /// Outside every active interval.
    Inactive,
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::Muted(name) => write!(f, "in mute time interval {name:?}"),
            Reason::Inactive => f.write_str("outside its active time intervals"),
        }
    }
}

impl Mute {
    /// Why the subscription is muted at `at`, or `None` when it delivers.
    pub fn muted_at(&self, at: DateTime<Utc>) -> Option<Reason> {
        if let Some(named) = self.mute.iter().find(|n| n.contains(at)) {
            return Some(Reason::Muted(named.name.clone()));
        }
        if !self.active.is_empty() && !self.active.iter().any(|n| n.contains(at)) {
            return Some(Reason::Inactive);
        }
        None
    }

    /// The first instant from `at` on when the subscription is not muted: `at` itself when it
    /// is not muted now; at most a year ahead (a delivery still muted then is looked at again).
    pub fn window_end(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        let limit = at + TimeDelta::days(HORIZON_DAYS);
        let mut t = at;
        while t < limit && self.muted_at(t).is_some() {
            t = self
                .mute
                .iter()
                .chain(&self.active)
                .flat_map(|n| &n.intervals)
                .map(|i| i.next_boundary(t))
                .min()
                .unwrap_or(limit)
                .min(limit);
        }
        t
    }

    /// What happens to a delivery made at `now`, when the subscription is muted then: for
    /// `explain`.
    pub fn explain(&self, now: DateTime<Utc>) -> Option<String> {
        let reason = self.muted_at(now)?;
        Some(match self.when_muted {
            WhenMuted::Drop => format!("muted now ({reason}): dropped, not sent"),
            WhenMuted::Delay => format!(
                "muted now ({reason}): delayed until {}",
                self.window_end(now).to_rfc3339()
            ),
        })
    }
}
