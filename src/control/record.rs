//! One record of the control topic: its key (`<kind>/<id>`), its JSON value (a `kind`, what it
//! sets, who set it and when) and its authentication code under `kafka.internal_key`. A record
//! with no value (a tombstone) clears what its key set: a source back to its file's value, a
//! silence long expired forgotten.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::kafka::InternalKey;
use crate::silence::Silence;

/// The version of the record format, in every value.
pub(crate) const VERSION: u32 = 1;

/// What one control record sets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    /// A source turned on or off over what `router.yaml` says.
    Source { id: String, enabled: bool },
    /// A destination disabled (deliveries to it dead-lettered) or enabled again.
    Destination {
        id: String,
        enabled: bool,
        /// Why it was disabled: `it answered 410 Gone`, or what the operator said.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// A subscription paused (its deliveries recorded, not sent) or resumed.
    Subscription { id: String, paused: bool },
    /// A silence made, or changed (expired: `ends_at` moved to when it was); its fields beside
    /// the record's.
    Silence(Silence),
    /// The silences of the old silences topic `id` carried into this topic: it is not read
    /// again.
    Takeover { id: String },
}

impl Change {
    /// The kind, as in the record's `kind` and key.
    pub fn kind(&self) -> &'static str {
        match self {
            Change::Source { .. } => "source",
            Change::Destination { .. } => "destination",
            Change::Subscription { .. } => "subscription",
            Change::Silence(_) => "silence",
            Change::Takeover { .. } => "takeover",
        }
    }

    /// The id of what it changes.
    pub fn id(&self) -> &str {
        match self {
            Change::Source { id, .. }
            | Change::Destination { id, .. }
            | Change::Subscription { id, .. }
            | Change::Takeover { id } => id,
            Change::Silence(silence) => &silence.id,
        }
    }

    /// The record's key: `<kind>/<id>`; compaction keeps the latest record per key.
    pub fn key(&self) -> String {
        key(self.kind(), self.id())
    }
}

/// The key of what `kind` `id` is set by.
pub(crate) fn key(kind: &str, id: &str) -> String {
    format!("{kind}/{id}")
}

/// A control record's value: the change, who made it (the admin token's name, or `router` and
/// the instance for an automatic change) and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlRecord {
    pub v: u32,
    #[serde(flatten)]
    pub change: Change,
    pub by: String,
    pub at: DateTime<Utc>,
}

impl ControlRecord {
    pub fn new(change: Change, by: &str) -> Self {
        Self {
            v: VERSION,
            change,
            by: by.to_owned(),
            at: Utc::now(),
        }
    }

    /// The value written: the record as JSON.
    pub fn value(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// A record read back, as it applies: what its key sets, or that its key is cleared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read {
    Set(ControlRecord),
    /// A tombstone: what the key (`<kind>/<id>`) set is cleared.
    Cleared {
        kind: String,
        id: String,
    },
}

/// Why a control record is skipped, never applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Invalid {
    #[error("{0}")]
    Unauthentic(crate::kafka::Unauthentic),
    #[error("the record has no key")]
    NoKey,
    #[error("the key is not `<kind>/<id>`: {0:?}")]
    BadKey(String),
    #[error("the value is not a control record: {0}")]
    BadValue(String),
    #[error("the record's format version {0} is not known to this router (it knows {VERSION})")]
    Version(u32),
    #[error("the key {key:?} does not name what the value sets ({value:?})")]
    KeyMismatch { key: String, value: String },
    #[error("the silence is not valid: {0}")]
    Silence(crate::silence::SilenceError),
}

/// The authentication code header of a control record written by the router.
pub(crate) fn sign(
    key: &InternalKey,
    topic: &str,
    record_key: &str,
    value: Option<&[u8]>,
) -> String {
    key.sign(topic, Some(record_key.as_bytes()), value, &[])
}

/// Checks and decodes a record read from the control topic: authenticated under `key`, a key of
/// `<kind>/<id>` naming what a value of the known format sets (a silence as the API would take
/// it), or a tombstone.
pub(crate) fn decode(
    key: &InternalKey,
    topic: &str,
    record_key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: &[(&str, Option<&[u8]>)],
) -> Result<Read, Invalid> {
    key.verify(topic, record_key, value, headers)
        .map_err(Invalid::Unauthentic)?;
    let record_key = record_key.ok_or(Invalid::NoKey)?;
    let record_key = String::from_utf8_lossy(record_key).into_owned();
    let Some((kind, id)) = record_key
        .split_once('/')
        .filter(|(kind, id)| !kind.is_empty() && !id.is_empty())
    else {
        return Err(Invalid::BadKey(record_key));
    };
    let Some(value) = value else {
        return Ok(Read::Cleared {
            kind: kind.to_owned(),
            id: id.to_owned(),
        });
    };
    let version = serde_json::from_slice::<serde_json::Value>(value)
        .map_err(|e| Invalid::BadValue(e.to_string()))?
        .get("v")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| Invalid::BadValue("no version `v`".into()))?;
    if version != u64::from(VERSION) {
        return Err(Invalid::Version(u32::try_from(version).unwrap_or(u32::MAX)));
    }
    let record: ControlRecord =
        serde_json::from_slice(value).map_err(|e| Invalid::BadValue(e.to_string()))?;
    if record.change.key() != record_key {
        return Err(Invalid::KeyMismatch {
            key: record_key,
            value: record.change.key(),
        });
    }
    if let Change::Silence(silence) = &record.change {
        silence.compile().map_err(Invalid::Silence)?;
    }
    Ok(Read::Set(record))
}
