//! Event decoding and normalisation: one Kafka record in, one EN-style notification out (pure).
//!
//! # Layout
//! - `reject`: why a record cannot be normalised ([`Rejection`], [`RejectReason`]).
//! - `catalogue`: the 24 resource lifecycle event pairs, severities, event-type parsing.
//! - `lifecycle`: the typed view of a raw resource-controller event.
//! - `cloudevent`: CloudEvents input, structured JSON and Kafka binary mode.
//! - `texts`: default short and long texts for people.
//! - `notification`: the notification body and its deterministic id.
//!
//! The value is parsed once into a [`serde_json::Value`]; typed views borrow from it and the
//! original JSON moves, unchanged, into the notification.

mod catalogue;
mod cloudevent;
mod lifecycle;
mod notification;
mod reject;
#[cfg(test)]
mod tests;
mod texts;

pub use catalogue::{
    CE_TYPE_PREFIX, CatalogueEntry, LIFECYCLE_CATALOGUE, RAW_EVENT_TYPE_PREFIX, ResourceType,
    Severity, classify_ce_type, classify_raw_event_type,
};
pub use cloudevent::{CONTENT_TYPE_HEADER, HEADER_PREFIX, SPEC_VERSION};
pub use lifecycle::{Activity, Context, EventProperties, LastOperation, LifecycleEvent};
pub use notification::{NOTIFICATION_ID_NAMESPACE, notification_id};
pub use reject::{RejectReason, Rejection};
pub use texts::DefaultTexts;

use serde_json::Value;

use cloudevent::CloudEvent;

/// What kind of events a source produces (more variants come later: activity-tracker,
/// ubiops-audit, cloudevents).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// IBM Cloud resource lifecycle events (`resource-lifecycle-events`).
    ResourceLifecycleEvents,
}

impl SourceKind {
    /// The source `type` as written in configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::ResourceLifecycleEvents => "resource-lifecycle-events",
        }
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
/// (an object with `specversion`) or a raw resource-controller event (any other object).
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
    match kind {
        SourceKind::ResourceLifecycleEvents => {
            notification::from_lifecycle(source_id, Value::Object(map))
        }
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
