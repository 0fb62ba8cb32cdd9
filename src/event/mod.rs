//! Event decoding and normalisation: one Kafka record in, one EN-style notification out (pure).
//!
//! # Layout
//! - `reject`: why a record cannot be normalised ([`Rejection`], [`RejectReason`]).
//! - `fields`: reading a decoded event's fields, each problem naming the field.
//! - `catalogue`: the 24 resource lifecycle event pairs, severities, event-type parsing.
//! - `lifecycle`: the typed view of a raw resource-controller event.
//! - [`activity_tracker`]: Activity Tracker (CADF) audit events and their action catalogue.
//! - [`ubiops`]: UbiOps audit events and their object types.
//! - `cloudevent`: CloudEvents input, structured JSON and Kafka binary mode.
//! - `texts`: default short and long texts for people.
//! - `notification`: the notification body and its deterministic id.
//! - `known`: the notification types each source kind's catalogue lists.
//!
//! The value is parsed once into a [`serde_json::Value`]; typed views borrow from it and the
//! original JSON moves, unchanged, into the notification.

pub mod activity_tracker;
mod catalogue;
mod cloudevent;
mod fields;
mod known;
mod lifecycle;
mod notification;
mod reject;
#[cfg(test)]
mod tests;
mod texts;
pub mod ubiops;

pub use catalogue::{
    CE_TYPE_PREFIX, CatalogueEntry, LIFECYCLE_CATALOGUE, RAW_EVENT_TYPE_PREFIX, ResourceType,
    Severity, classify_ce_type, classify_raw_event_type,
};
pub use cloudevent::{CONTENT_TYPE_HEADER, HEADER_PREFIX, SPEC_VERSION};
pub use known::suggestion;
pub use lifecycle::{Activity, Context, EventProperties, LastOperation, LifecycleEvent};
pub use notification::{NOTIFICATION_ID_NAMESPACE, notification_id};
pub use reject::{RejectReason, Rejection, kind_of};
pub use texts::DefaultTexts;

use serde_json::Value;

use cloudevent::CloudEvent;

/// What kind of events a source produces: the source `type` in configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// IBM Cloud resource lifecycle events (`resource-lifecycle-events`).
    ResourceLifecycleEvents,
    /// Activity Tracker / Cloud Logs audit events in the CADF shape (`activity-tracker`).
    ActivityTracker,
    /// UbiOps audit events (`ubiops-audit`).
    UbiopsAudit,
    /// Any CloudEvent, passed through with its own type (`cloudevents`), as EN's API sources.
    Cloudevents,
}

impl SourceKind {
    /// Every kind, in the order the README lists them.
    pub const ALL: [SourceKind; 4] = [
        SourceKind::ResourceLifecycleEvents,
        SourceKind::ActivityTracker,
        SourceKind::UbiopsAudit,
        SourceKind::Cloudevents,
    ];

    /// The source `type` as written in configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::ResourceLifecycleEvents => "resource-lifecycle-events",
            SourceKind::ActivityTracker => "activity-tracker",
            SourceKind::UbiopsAudit => "ubiops-audit",
            SourceKind::Cloudevents => "cloudevents",
        }
    }

    /// The notification types this kind's catalogue lists, in catalogue order; `None` for
    /// `cloudevents`, whose types are whatever producers send.
    pub fn known_types(self) -> Option<&'static [String]> {
        known::types(self)
    }
}

/// One Kafka record as the normaliser sees it.
#[derive(Debug, Clone, Copy)]
pub struct RawRecord<'a> {
    /// The value; `None` for a tombstone.
    pub value: Option<&'a [u8]>,
    /// The headers in record order; a header may have no value.
    pub headers: &'a [(&'a str, Option<&'a [u8]>)],
}

/// The normalised EN-style CloudEvent that filters and templates see.
#[derive(Debug, Clone)]
pub struct Notification {
    /// `notification_id` (also in the body).
    pub id: String,
    /// The router's source id (`body.ibmensourceid`).
    pub source_id: String,
    /// `body.type`.
    pub event_type: String,
    /// The whole notification object.
    pub body: serde_json::Value,
}

/// Normalises one record of source `source_id` (of `kind`) into a notification.
///
/// Checks, in order: a value is present, it is at most `max_bytes` long, it is UTF-8, it is JSON;
/// then, by shape, a binary-mode CloudEvent (a `ce_specversion` header), a structured CloudEvent
/// (an object with `specversion`) or the kind's native event (any other object): a raw
/// resource-controller event, an Activity Tracker event or a UbiOps audit event. A `cloudevents`
/// source takes CloudEvents only.
pub fn normalise(
    source_id: &str,
    kind: SourceKind,
    record: &RawRecord<'_>,
    max_bytes: usize,
) -> Result<Notification, Rejection> {
    let value = decode(record.value, max_bytes)?;
    if cloudevent::is_binary(record.headers) {
        let event = CloudEvent::from_binary(record.headers, value)?;
        return notification::from_cloudevent(source_id, kind, event);
    }
    let map = match value {
        Value::Object(map) => map,
        other => {
            let kind = reject::kind_of(&other);
            let detail = format!("record value is {kind}, expected an object");
            return Err(Rejection::new(RejectReason::InvalidField, detail));
        }
    };
    if map.contains_key("specversion") {
        let event = CloudEvent::from_structured(map)?;
        return notification::from_cloudevent(source_id, kind, event);
    }
    let value = Value::Object(map);
    match kind {
        SourceKind::ResourceLifecycleEvents => notification::from_lifecycle(source_id, value),
        SourceKind::ActivityTracker => activity_tracker::notification(source_id, value),
        SourceKind::UbiopsAudit => ubiops::notification(source_id, value),
        SourceKind::Cloudevents => Err(Rejection::new(
            RejectReason::MissingField,
            "missing field \"specversion\": a cloudevents source takes CloudEvents only \
             (structured, or binary with ce_* headers)",
        )),
    }
}

/// The record value as JSON, after the presence, size and UTF-8 checks.
fn decode(value: Option<&[u8]>, max_bytes: usize) -> Result<Value, Rejection> {
    let Some(bytes) = value else {
        return Err(Rejection::new(RejectReason::NotJson, "record has no value"));
    };
    if bytes.len() > max_bytes {
        let detail = format!(
            "record value is {} bytes, over the limit of {max_bytes} bytes",
            bytes.len()
        );
        return Err(Rejection::new(RejectReason::TooLarge, detail));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let detail = format!("invalid UTF-8 at byte offset {}", e.valid_up_to());
        Rejection::new(RejectReason::NotUtf8, detail)
    })?;
    serde_json::from_str(text).map_err(|e| Rejection::new(RejectReason::NotJson, e.to_string()))
}
