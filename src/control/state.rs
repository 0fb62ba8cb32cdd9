//! The runtime state the control topic holds, as read so far: the latest record per key. Pure:
//! records in, answers out.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::record::{Change, ControlRecord, Read, key};
use crate::config::Config;

/// Who set something, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Set {
    pub by: String,
    pub at: DateTime<Utc>,
}

/// What a record applied changed, for whoever follows: sources change the configuration in
/// effect, destinations the lanes, silences what deliveries are muted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Sources,
    Destination,
    Subscriptions,
    Silence,
    /// A kind this router does not act on (yet); kept.
    Other,
}

/// The latest record of every key.
#[derive(Debug, Clone, Default)]
pub struct ControlState {
    records: BTreeMap<String, ControlRecord>,
}

impl ControlState {
    /// Applies one record read back; says what it changed.
    pub fn apply(&mut self, read: Read) -> Applied {
        let kind = match read {
            Read::Set(record) => {
                let kind = record.change.kind();
                self.records.insert(record.change.key(), record);
                kind.to_owned()
            }
            Read::Cleared { kind, id } => {
                self.records.remove(&key(&kind, &id));
                kind
            }
        };
        match kind.as_str() {
            "source" => Applied::Sources,
            "destination" => Applied::Destination,
            "subscription" => Applied::Subscriptions,
            "silence" => Applied::Silence,
            _ => Applied::Other,
        }
    }

    /// Every record in effect, by key.
    pub fn records(&self) -> impl Iterator<Item = &ControlRecord> {
        self.records.values()
    }

    /// The override of source `id`: on or off, who and when.
    pub fn source(&self, id: &str) -> Option<(bool, Set)> {
        match self.records.get(&key("source", id)) {
            Some(ControlRecord {
                change: Change::Source { enabled, .. },
                by,
                at,
                ..
            }) => Some((*enabled, set(by, at))),
            _ => None,
        }
    }

    /// Why destination `id` is disabled, who disabled it and when; none while it is enabled.
    pub fn destination_disabled(&self, id: &str) -> Option<(String, Set)> {
        match self.records.get(&key("destination", id)) {
            Some(ControlRecord {
                change:
                    Change::Destination {
                        enabled: false,
                        reason,
                        ..
                    },
                by,
                at,
                ..
            }) => Some((
                reason.clone().unwrap_or_else(|| "disabled".into()),
                set(by, at),
            )),
            _ => None,
        }
    }

    /// Who paused subscription `name` and when; none while it is not paused.
    pub fn paused(&self, name: &str) -> Option<Set> {
        match self.records.get(&key("subscription", name)) {
            Some(ControlRecord {
                change: Change::Subscription { paused: true, .. },
                by,
                at,
                ..
            }) => Some(set(by, at)),
            _ => None,
        }
    }

    /// Whether the control topic holds silence `id` (in effect, pending or expired).
    pub fn has_silence(&self, id: &str) -> bool {
        self.records.contains_key(&key("silence", id))
    }

    /// Whether the silences of the old silences topic `topic` have been carried in.
    pub fn taken_over(&self, topic: &str) -> bool {
        self.records.contains_key(&key("takeover", topic))
    }

    /// The silences that ended at least [`super::upkeep::ENDED_KEPT`] before `now`: their records
    /// can go.
    pub fn silences_ended(&self, now: DateTime<Utc>) -> Vec<String> {
        self.records
            .values()
            .filter_map(|record| match &record.change {
                Change::Silence(silence) if super::upkeep::ended_long_ago(silence, now) => {
                    Some(silence.id.clone())
                }
                _ => None,
            })
            .collect()
    }

    /// `config` (as the files declare it) with the sources' overrides applied. Overrides of
    /// sources the files do not have are ignored.
    pub fn overlay(&self, config: &mut Config) {
        for (index, source) in config.table.sources.iter_mut().enumerate() {
            if let Some((enabled, _)) = self.source(&source.id) {
                source.enabled = enabled;
                if let Some(file) = config.router.sources.get_mut(index) {
                    file.enabled = enabled;
                }
            }
        }
    }
}

fn set(by: &str, at: &DateTime<Utc>) -> Set {
    Set {
        by: by.to_owned(),
        at: *at,
    }
}
