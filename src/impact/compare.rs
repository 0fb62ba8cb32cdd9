//! The comparison itself, pure: each record routed through the current and the proposed
//! configuration, and the deliveries counted per subscription and destination on both sides. A
//! delivery the runtime state withholds (its subscription paused, silenced, its destination
//! disabled) is not counted, on either side.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Runtime;
use crate::config::Config;
use crate::event::{Notification, RawRecord, normalise};
use crate::routing::{Route, SourceIndex};

/// Sample events kept per row and direction.
const SAMPLES: usize = 3;

/// One record as read from a source topic.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub topic: String,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

/// What the proposed configuration changes, subscription by subscription.
#[derive(Debug, Default, Serialize)]
pub(crate) struct Report {
    /// Records compared.
    pub records: u64,
    /// Records neither configuration could turn into a notification (they would be
    /// dead-lettered either way).
    pub rejected: u64,
    /// One row per subscription and destination that either side delivers to, changed rows
    /// first.
    pub rows: Vec<Row>,
}

/// The deliveries of one subscription to one destination, before and after.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(crate) struct Row {
    pub subscription: String,
    pub destination: String,
    pub before: u64,
    pub after: u64,
    pub gained: u64,
    pub lost: u64,
    pub gained_samples: Vec<Sample>,
    pub lost_samples: Vec<Sample>,
}

/// An event that made a difference, and why.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(crate) struct Sample {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub short: String,
    /// What delivered it on the side that did, and why the other side did not.
    pub why: String,
}

impl Report {
    /// Whether the proposed configuration delivers anything differently.
    pub(crate) fn changed(&self) -> bool {
        self.rows.iter().any(|r| r.gained > 0 || r.lost > 0)
    }
}

/// Key of a row: (subscription, destination).
type Key = (String, String);

/// Compares `current` and `proposed` record by record.
#[derive(Debug)]
pub(crate) struct Comparison<'c> {
    current: &'c Config,
    proposed: &'c Config,
    runtime: &'c Runtime,
    report: Report,
    rows: BTreeMap<Key, Row>,
}

impl<'c> Comparison<'c> {
    /// Compares `current` and `proposed` (each with `runtime`'s source overrides already laid
    /// over it), withholding what `runtime` withholds on both sides.
    pub(crate) fn new(current: &'c Config, proposed: &'c Config, runtime: &'c Runtime) -> Self {
        Self {
            current,
            proposed,
            runtime,
            report: Report::default(),
            rows: BTreeMap::new(),
        }
    }

    /// Routes one record on both sides and counts its deliveries.
    pub(crate) fn add(&mut self, record: &Record) {
        self.report.records += 1;
        let before = Side::of(self.current, self.runtime, record);
        let after = Side::of(self.proposed, self.runtime, record);
        if before.notification.is_none() && after.notification.is_none() {
            self.report.rejected += 1;
            return;
        }
        let mut keys: Vec<&Key> = before.deliveries.keys().collect();
        keys.extend(
            after
                .deliveries
                .keys()
                .filter(|k| !before.deliveries.contains_key(*k)),
        );
        for key in keys {
            let b = before.deliveries.get(key).map_or(0, |d| d.count);
            let a = after.deliveries.get(key).map_or(0, |d| d.count);
            let row = self.rows.entry(key.clone()).or_insert_with(|| Row {
                subscription: key.0.clone(),
                destination: key.1.clone(),
                before: 0,
                after: 0,
                gained: 0,
                lost: 0,
                gained_samples: Vec::new(),
                lost_samples: Vec::new(),
            });
            row.before += b;
            row.after += a;
            if a > b {
                row.gained += a - b;
                keep(&mut row.gained_samples, || {
                    sample(("now", &after), ("before", &before), key)
                });
            } else if b > a {
                row.lost += b - a;
                keep(&mut row.lost_samples, || {
                    sample(("before", &before), ("now", &after), key)
                });
            }
        }
    }

    /// The report: changed rows first (most lost or gained first), then the others by name.
    pub(crate) fn finish(mut self) -> Report {
        let mut rows: Vec<Row> = self.rows.into_values().collect();
        rows.sort_by(|x, y| {
            let change = |r: &Row| r.gained + r.lost;
            (change(y) > 0)
                .cmp(&(change(x) > 0))
                .then(change(y).cmp(&change(x)))
                .then(x.subscription.cmp(&y.subscription))
                .then(x.destination.cmp(&y.destination))
        });
        self.report.rows = rows;
        self.report
    }
}

/// One record under one configuration.
struct Side<'c> {
    config: &'c Config,
    source: Option<SourceIndex>,
    notification: Option<Notification>,
    /// Why there is no notification, when there is none.
    missing: String,
    deliveries: BTreeMap<Key, Delivered>,
    /// Deliveries routed but not sent, and why (paused, silenced, destination disabled).
    withheld: BTreeMap<Key, String>,
}

/// The deliveries of one key for one record.
struct Delivered {
    count: u64,
    /// The topic and rule that made the first of them.
    reason: String,
}

impl<'c> Side<'c> {
    fn of(config: &'c Config, runtime: &Runtime, record: &Record) -> Self {
        let mut side = Side {
            config,
            source: None,
            notification: None,
            missing: String::new(),
            deliveries: BTreeMap::new(),
            withheld: BTreeMap::new(),
        };
        let table = &config.table;
        let Some(index) = table.source_for_kafka_topic(&record.topic) else {
            side.missing = format!("no source reads Kafka topic {}", record.topic);
            return side;
        };
        side.source = Some(index);
        let source = table.source(index);
        let headers: Vec<(&str, Option<&[u8]>)> = record
            .headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_deref()))
            .collect();
        let raw = RawRecord {
            value: record.value.as_deref(),
            headers: &headers,
        };
        let notification = match normalise(
            &source.id,
            source.kind,
            &raw,
            config.router.kafka.max_message_bytes,
        ) {
            Ok(notification) => notification,
            Err(rejection) => {
                side.missing = format!(
                    "source {} rejects the event ({})",
                    source.id,
                    rejection.reason.code()
                );
                return side;
            }
        };
        if let Route::Matched { deliveries, .. } = table.route(index, &notification) {
            for delivery in deliveries {
                let key = (
                    delivery.subscription.name.clone(),
                    delivery.destination.id.clone(),
                );
                if let Some(why) = runtime.withheld(&notification.body, &delivery) {
                    side.withheld.entry(key).or_insert(why);
                    continue;
                }
                let entry = side.deliveries.entry(key).or_insert_with(|| Delivered {
                    count: 0,
                    reason: matched_rule(index, &notification, delivery.topic),
                });
                entry.count += 1;
            }
        }
        side.notification = Some(notification);
        side
    }

    /// Why this side does not deliver `key` (or delivers it fewer times).
    fn without(&self, key: &Key) -> String {
        let Some(notification) = &self.notification else {
            return self.missing.clone();
        };
        let Some(index) = self.source else {
            return self.missing.clone();
        };
        if let Some(why) = self.withheld.get(key) {
            return why.clone();
        }
        let table = &self.config.table;
        let source = table.source(index);
        if !source.enabled {
            return format!("source {} is disabled", source.id);
        }
        let Some(subscription) = table.subscription_by_name(&key.0) else {
            return format!("there is no subscription {}", key.0);
        };
        let destination = &table.destinations()[subscription.destination].id;
        if *destination != key.1 {
            let moved = format!("subscription {} goes to {destination}", key.0);
            return match self.withheld.get(&(key.0.clone(), destination.clone())) {
                Some(why) => format!("{moved}, where {why}"),
                None => moved,
            };
        }
        let topic = &table.topics()[subscription.topic];
        match topic.sources.iter().find(|s| s.source == index) {
            None => format!("topic {} does not take source {}", topic.name, source.id),
            Some(rules) if rules.rules.iter().all(|r| !r.matches(&notification.body)) => {
                if rules.rules.is_empty() {
                    format!("topic {} matches fewer times", topic.name)
                } else {
                    format!("no rule of topic {} matches", topic.name)
                }
            }
            Some(_) => format!("topic {} matches fewer times", topic.name),
        }
    }
}

/// Keeps a sample while there are fewer than [`SAMPLES`], one per event id.
fn keep(samples: &mut Vec<Sample>, make: impl FnOnce() -> Sample) {
    if samples.len() < SAMPLES {
        let sample = make();
        if samples.iter().all(|s| s.id != sample.id) {
            samples.push(sample);
        }
    }
}

/// The sample of a record that side `with` delivers to `key` more often than side `without`
/// does; each side comes with its label (`before`, `now`).
fn sample(
    (with_label, with): (&str, &Side<'_>),
    (without_label, without): (&str, &Side<'_>),
    key: &Key,
) -> Sample {
    let body = with.notification.as_ref().map(|n| &n.body);
    let text = |field: &str| {
        body.and_then(|b| b.get(field))
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_owned()
    };
    let reason = with
        .deliveries
        .get(key)
        .map_or_else(String::new, |d| d.reason.clone());
    Sample {
        id: text("id"),
        event_type: text("type"),
        short: text("ibmendefaultshort"),
        why: format!(
            "{with_label}: {reason}; {without_label}: {}",
            without.without(key)
        ),
    }
}

/// "topic T, rule N" for the first enabled rule of `topic` that matches, or its taking every
/// event of the source.
fn matched_rule(
    source: SourceIndex,
    notification: &Notification,
    topic: &crate::routing::Topic,
) -> String {
    let rules = topic.sources.iter().find(|s| s.source == source);
    match rules.map(|r| {
        r.rules
            .iter()
            .position(|rule| rule.matches(&notification.body))
    }) {
        Some(Some(n)) => format!("topic {} rule {} matches", topic.name, n + 1),
        _ => format!("topic {} takes every event of its source", topic.name),
    }
}

#[cfg(test)]
mod tests;
