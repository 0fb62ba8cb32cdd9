//! One ledger record: a delivery's latest state with its last attempts, keyed by its
//! `webhook-id`, as JSON, authenticated under `kafka.internal_key` like the retry records.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::dispatch::{AttemptLog, Job};
use crate::kafka::{InternalKey, Unauthentic};

/// The version of the record format.
pub(crate) const VERSION: u32 = 1;

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Handed to the retry topic, due at `due`.
    Retrying,
    Delivered,
    /// Written to the dead-letter topic, for `reason`.
    DeadLettered,
    /// Not sent: its subscription is paused.
    Paused,
    /// Waiting in a digest of its subscription, to be sent with its group.
    InDigest,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Retrying => "retrying",
            State::Delivered => "delivered",
            State::DeadLettered => "dead_lettered",
            State::Paused => "paused",
            State::InDigest => "in_digest",
        }
    }

    /// Whether nothing more will happen to the delivery.
    pub fn is_final(self) -> bool {
        !matches!(self, State::Retrying | State::InDigest)
    }
}

/// A delivery's latest state: the value of a ledger record. `N` is the notification: the
/// notification itself, or [`IgnoredAny`] where a record is only checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry<N = Arc<Value>> {
    pub v: u32,
    pub webhook_id: String,
    pub notification_id: String,
    pub source: String,
    pub subscription: String,
    pub destination: String,
    pub state: State,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<DateTime<Utc>>,
    /// Attempts made in all.
    pub attempts: u32,
    /// The last of them, oldest first.
    pub history: Vec<AttemptLog>,
    pub updated_at: DateTime<Utc>,
    /// The instance that wrote it.
    pub by: String,
    /// The notification, for a resend.
    pub notification: N,
    /// Where the delivery's record came from (for a resend's retry record).
    pub origin: crate::dispatch::Origin,
    /// The `webhook-id` of the digest it was sent in, when it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

impl Entry {
    /// The entry of `job` now at `state`.
    pub fn of(job: &Job, state: State, reason: Option<String>, by: &str) -> Self {
        Self {
            v: VERSION,
            webhook_id: job.webhook_id.clone(),
            notification_id: job.notification_id.clone(),
            source: job.source_id.clone(),
            subscription: job.subscription.clone(),
            destination: job.destination.clone(),
            state,
            reason,
            due: (state == State::Retrying).then_some(job.due),
            attempts: job.attempts,
            history: job.history.clone(),
            updated_at: Utc::now(),
            by: by.to_owned(),
            notification: job.notification.clone(),
            origin: job.origin.clone(),
            digest: None,
        }
    }

    /// The entries of the deliveries a digest `job` carries, each at `state`, with the
    /// digest's id; empty for a job that is no digest.
    pub fn of_digest(job: &Job, state: State, reason: Option<&str>, by: &str) -> Vec<Self> {
        let Some(members) = &job.digest else {
            return Vec::new();
        };
        let notifications = job.notification.get("notifications");
        members
            .iter()
            .enumerate()
            .map(|(i, member)| {
                let notification = notifications
                    .and_then(|n| n.get(i))
                    .cloned()
                    .unwrap_or_default();
                Self {
                    webhook_id: member.webhook_id.clone(),
                    notification_id: member.notification_id.clone(),
                    source: member.source_id.clone(),
                    notification: Arc::new(notification),
                    origin: member.origin.clone(),
                    digest: Some(job.webhook_id.clone()),
                    ..Self::of(job, state, reason.map(str::to_owned), by)
                }
            })
            .collect()
    }

    /// The delivery again, as a retry record due now with the same `webhook-id`.
    pub fn resend(&self) -> Job {
        let now = Utc::now();
        Job {
            webhook_id: self.webhook_id.clone(),
            subscription: self.subscription.clone(),
            destination: self.destination.clone(),
            notification_id: self.notification_id.clone(),
            source_id: self.source.clone(),
            notification: self.notification.clone(),
            attempts: self.attempts,
            long_retries: 0,
            due: now,
            started_at: now,
            first_attempt_at: self.history.first().map(|a| a.at),
            last_attempt_at: self.history.last().map(|a| a.at),
            last_status: self.history.last().and_then(|a| a.status),
            last_error: None,
            origin: self.origin.clone(),
            pending: None,
            refused: Vec::new(),
            history: self.history.clone(),
            digest: None,
            json: crate::channels::SharedJson::default(),
        }
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The entry as the API shows it: without the notification body.
    pub fn shown(&self) -> Value {
        let mut shown = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Some(map) = shown.as_object_mut() {
            map.remove("notification");
            map.remove("v");
        }
        shown
    }
}

/// Why a ledger record is skipped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Invalid {
    #[error("{0}")]
    Unauthentic(Unauthentic),
    #[error("the record has no key")]
    NoKey,
    #[error("the value is not a ledger entry: {0}")]
    BadValue(String),
    #[error("the key {key:?} is not the entry's webhook-id {value:?}")]
    KeyMismatch { key: String, value: String },
}

/// A ledger record read back: an entry, or a tombstone removing `webhook_id`.
#[derive(Debug, Clone, PartialEq)]
pub enum Read {
    Set(Stored),
    Removed(String),
}

/// A checked entry as the store keeps it: its record's value as read, and what the store
/// indexes it by. The notification in it is checked to be JSON and not built: the store keeps
/// the bytes, and an entry is decoded whole only when it is asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub webhook_id: String,
    pub notification_id: String,
    pub value: Vec<u8>,
}

impl Stored {
    pub fn of(entry: &Entry) -> Self {
        Self {
            webhook_id: entry.webhook_id.clone(),
            notification_id: entry.notification_id.clone(),
            value: entry.to_json(),
        }
    }
}

/// Checks and decodes a record of the ledger topic.
pub(crate) fn decode(
    key: &InternalKey,
    topic: &str,
    record_key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: &[(&str, Option<&[u8]>)],
) -> Result<Read, Invalid> {
    key.verify(topic, record_key, value, headers)
        .map_err(Invalid::Unauthentic)?;
    let record_key = String::from_utf8_lossy(record_key.ok_or(Invalid::NoKey)?).into_owned();
    let Some(value) = value else {
        return Ok(Read::Removed(record_key));
    };
    let entry: Entry<IgnoredAny> =
        serde_json::from_slice(value).map_err(|e| Invalid::BadValue(e.to_string()))?;
    if entry.v != VERSION {
        return Err(Invalid::BadValue(format!("unknown version {}", entry.v)));
    }
    if entry.webhook_id != record_key {
        return Err(Invalid::KeyMismatch {
            key: record_key,
            value: entry.webhook_id,
        });
    }
    Ok(Read::Set(Stored {
        webhook_id: entry.webhook_id,
        notification_id: entry.notification_id,
        value: value.to_vec(),
    }))
}
