//! The values of the digest topic's records: a notification waiting in a group ([`Entry`]), a
//! digest sealed with its members ([`Seal`]) and a digest sent ([`Sent`]); and the `webhook-id`
//! of a digest, derived from its group and its members' own ids.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::dispatch::Job;

/// What a digest record is: its [`KIND`](super::topic::KIND) header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A delivery waiting in its group.
    Entry,
    /// A digest about to be sent: its members are the group's entries up to an offset.
    Seal,
    /// A digest sent (delivered, or handed to the retry or dead-letter topic).
    Sent,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Entry => "entry",
            Kind::Seal => "seal",
            Kind::Sent => "sent",
        }
    }

    pub fn parse(text: &str) -> Option<Kind> {
        [Kind::Entry, Kind::Seal, Kind::Sent]
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }
}

/// A delivery waiting in a digest: the value of an entry record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Entry {
    /// Each `group_by` path with its value.
    pub(crate) group: Map<String, Value>,
    /// When it was written: the group's `wait` runs from its first entry's.
    pub(crate) entered_at: DateTime<Utc>,
    pub(crate) job: Job,
}

impl Entry {
    pub(crate) fn new(job: &Job, group: Map<String, Value>) -> Self {
        Self {
            group,
            entered_at: Utc::now(),
            job: job.clone(),
        }
    }

    /// The record key: the subscription and the group, so a group lands on one partition.
    pub(crate) fn key(&self) -> String {
        group_key(&self.job.subscription, &self.group)
    }

    pub(crate) fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("an entry always serialises: its map keys are strings")
    }
}

/// The key of `subscription`'s group `group`.
pub(super) fn group_key(subscription: &str, group: &Map<String, Value>) -> String {
    format!("{subscription}\n{}", Value::Object(group.clone()))
}

/// A digest sealed: the group's entries of its partition up to offset `upto` are its members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Seal {
    pub id: String,
    pub upto: i64,
}

/// A digest sent: its members are settled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Sent {
    pub id: String,
    pub upto: i64,
    pub at: DateTime<Utc>,
}

/// Namespace of the digest ids (UUID v5).
pub(super) const DIGEST_ID_NAMESPACE: uuid::Uuid =
    uuid::Uuid::from_u128(0x3f6b_1c2d_9e4a_4b8f_a1d0_7c5e_2b9f_6a13);

/// The `webhook-id` of the digest of group `key` with `members`: from the group and every
/// member's own `webhook-id` (unique per notification and subscription), so the same digest
/// read again after a crash has the same id, and no other digest has it, even once the digest
/// topic is recreated and its offsets start over.
pub(super) fn digest_id<'a>(key: &str, members: impl IntoIterator<Item = &'a Job>) -> String {
    let mut name = key.to_owned();
    for member in members {
        name.push('\n');
        name.push_str(&member.webhook_id);
    }
    format!(
        "dig_{}",
        uuid::Uuid::new_v5(&DIGEST_ID_NAMESPACE, name.as_bytes()).simple()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(webhook_id: &str) -> Job {
        let notification = crate::event::Notification {
            id: "n".into(),
            source_id: "lifecycle".into(),
            event_type: "t".into(),
            body: serde_json::json!({}),
        };
        let origin = crate::dispatch::Origin {
            topic: "lifecycle".into(),
            partition: 0,
            offset: 40,
        };
        let body = std::sync::Arc::new(serde_json::json!({}));
        Job::new(&notification, body, "sub", "hook", webhook_id, origin)
    }

    #[test]
    fn a_digest_id_depends_on_the_group_and_its_members_not_on_positions() {
        let (a, b, c) = (job("msg_a"), job("msg_b"), job("msg_c"));
        let id = digest_id("sub\n{\"r\":\"x\"}", [&a, &b]);
        assert_eq!(id, digest_id("sub\n{\"r\":\"x\"}", [&a, &b]), "read again");
        assert!(id.starts_with("dig_"));
        assert_ne!(
            id,
            digest_id("sub\n{\"r\":\"y\"}", [&a, &b]),
            "another group"
        );
        assert_ne!(
            id,
            digest_id("sub\n{\"r\":\"x\"}", [&c, &b]),
            "another first member"
        );
        assert_ne!(id, digest_id("sub\n{\"r\":\"x\"}", [&a]), "fewer members");
        assert_ne!(
            id,
            digest_id("sub\n{\"r\":\"x\"}", [&a, &b, &c]),
            "more members"
        );
    }

    #[test]
    fn kinds_read_back() {
        for kind in [Kind::Entry, Kind::Seal, Kind::Sent] {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(Kind::parse("other"), None);
    }
}
