//! One delivery as the retry topic holds it: the notification, the subscription, the `webhook-id`
//! and where the delivery stands in its schedule.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::channels::SharedJson;
use crate::event::Notification;

/// Where the record that caused a delivery came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

/// A recipient or channel refused for good, with the server's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refused {
    pub who: String,
    pub why: String,
}

/// One (notification, subscription) delivery; the value of a retry record, as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// Stable across attempts, restarts and replays; also the retry record's key.
    pub webhook_id: String,
    /// Looked up in the current configuration on every attempt.
    pub subscription: String,
    /// The subscription's destination when the job was written (for people and filters).
    pub destination: String,
    pub notification_id: String,
    pub source_id: String,
    /// The notification JSON, rendered again on each attempt; the deliveries of one event share
    /// it.
    #[serde(serialize_with = "shared_out", deserialize_with = "shared_in")]
    pub notification: Arc<Value>,
    /// Attempts made so far, in process and from the retry topic.
    pub attempts: u32,
    /// Steps of the long schedule used so far.
    pub long_retries: u32,
    /// When the next attempt is due.
    pub due: DateTime<Utc>,
    /// The start of the horizon: the first attempt, or the replay.
    pub started_at: DateTime<Utc>,
    pub first_attempt_at: Option<DateTime<Utc>>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub origin: Origin,
    /// The email recipients or Slack channels still waiting for it; `None` means all of the
    /// subscription's. Whoever already has it is never sent it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<Vec<String>>,
    /// Recipients or channels refused for good so far.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<Refused>,
    /// The last attempts ([`MAX_HISTORY`]), for the delivery ledger.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<AttemptLog>,
    /// A digest's deliveries, when this job is a digest: its `notification` is then the
    /// digest's context (`notifications`, `group`, `count`) and its `webhook-id` the digest's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<Vec<Member>>,
    /// The notification serialised, shared with the event's other deliveries in this process.
    #[serde(skip)]
    pub json: SharedJson,
}

/// One delivery carried by a digest, as the ledger records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub webhook_id: String,
    pub notification_id: String,
    pub source_id: String,
    pub origin: Origin,
}

/// How many attempts a job (and its ledger record) keeps.
pub(super) const MAX_HISTORY: usize = 10;

/// The longest answer kept of an attempt, in characters.
pub(super) const MAX_ANSWER: usize = 200;

/// One attempt as the ledger shows it: when, how long, what the receiver said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptLog {
    pub at: DateTime<Utc>,
    pub duration_ms: u64,
    /// The HTTP status, when the destination answered one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The error: the first bytes of the answer, the SMTP reply, the Slack error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl AttemptLog {
    /// `error` cut to [`MAX_ANSWER`] characters.
    pub fn new(
        at: DateTime<Utc>,
        duration: std::time::Duration,
        status: Option<u16>,
        error: Option<&str>,
    ) -> Self {
        Self {
            at,
            duration_ms: u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
            status,
            error: error.map(|e| e.chars().take(MAX_ANSWER).collect()),
        }
    }
}

impl Job {
    /// A delivery about to get its first attempt; `body` is the notification's body, shared
    /// with the event's other deliveries.
    pub fn new(
        notification: &Notification,
        body: Arc<Value>,
        subscription: &str,
        destination: &str,
        webhook_id: &str,
        origin: Origin,
    ) -> Job {
        let now = Utc::now();
        Job {
            webhook_id: webhook_id.to_owned(),
            subscription: subscription.to_owned(),
            destination: destination.to_owned(),
            notification_id: notification.id.clone(),
            source_id: notification.source_id.clone(),
            notification: body,
            attempts: 0,
            long_retries: 0,
            due: now,
            started_at: now,
            first_attempt_at: None,
            last_attempt_at: None,
            last_status: None,
            last_error: None,
            origin,
            pending: None,
            refused: Vec::new(),
            history: Vec::new(),
            digest: None,
            json: SharedJson::default(),
        }
    }

    /// Records attempts made, keeping the last [`MAX_HISTORY`].
    pub fn record(&mut self, attempts: Vec<AttemptLog>) {
        self.history.extend(attempts);
        let excess = self.history.len().saturating_sub(MAX_HISTORY);
        self.history.drain(..excess);
    }

    /// The JSON of a retry record.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a job always serialises: its map keys are strings")
    }

    pub fn from_json(bytes: &[u8]) -> Result<Job, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    /// How long since the horizon started.
    pub fn elapsed(&self, now: DateTime<Utc>) -> std::time::Duration {
        (now - self.started_at).to_std().unwrap_or_default()
    }
}

fn shared_out<S: Serializer>(value: &Arc<Value>, serializer: S) -> Result<S::Ok, S::Error> {
    value.as_ref().serialize(serializer)
}

fn shared_in<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Arc<Value>, D::Error> {
    Value::deserialize(deserializer).map(Arc::new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_through_json_and_reads_older_records_without_progress() {
        let notification = Notification {
            id: "n-1".into(),
            source_id: "lifecycle".into(),
            event_type: "t".into(),
            body: json!({"id": "e-1", "data": {"x": 1}}),
        };
        let origin = Origin {
            topic: "lifecycle".into(),
            partition: 2,
            offset: 41,
        };
        let body = Arc::new(notification.body.clone());
        let mut job = Job::new(&notification, body, "sub", "hook", "msg_1", origin);
        let bytes = job.to_json();
        assert!(!String::from_utf8_lossy(&bytes).contains("pending"));
        assert_eq!(Job::from_json(&bytes).expect("parses"), job);
        job.pending = Some(vec!["b@example.com".into()]);
        job.refused.push(Refused {
            who: "c@example.com".into(),
            why: "550 no such user".into(),
        });
        assert_eq!(Job::from_json(&job.to_json()).expect("parses"), job);
    }
}
