//! An Events API v2 event built from a notification: trigger or resolve, its `dedup_key`, and
//! the payload (default fields, a template's over them), checked against the published schema
//! before anything is sent.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::Attributes;
use crate::event::{LIFECYCLE_CATALOGUE, classify_ce_type};
use crate::filter::Filter;
use crate::render::RenderError;

/// The longest `payload.summary` PagerDuty accepts, in characters.
pub const SUMMARY_MAX: usize = 1024;
/// The longest `dedup_key` PagerDuty accepts, in characters.
pub const DEDUP_KEY_MAX: usize = 255;
/// Ends a summary cut to [`SUMMARY_MAX`].
pub const TRUNCATION_MARKER: &str = " […]";
/// The fields a PagerDuty template may render: the payload's, and `links` and `images`.
pub const TEMPLATE_FIELDS: [&str; 10] = [
    "summary",
    "source",
    "severity",
    "timestamp",
    "component",
    "group",
    "class",
    "custom_details",
    "links",
    "images",
];

/// PagerDuty's `payload.severity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Critical,
    Error,
    Warning,
    Info,
}

impl Severity {
    /// The Events API spelling (exactly, lower case), or `None`.
    pub fn parse(text: &str) -> Option<Severity> {
        match text {
            "critical" => Some(Severity::Critical),
            "error" => Some(Severity::Error),
            "warning" => Some(Severity::Warning),
            "info" => Some(Severity::Info),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// What an event does to the incident of its `dedup_key`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Trigger,
    Resolve,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Trigger => "trigger",
            Action::Resolve => "resolve",
        }
    }
}

/// The default `resolve_on`: a lifecycle notification of the success of an operation that has a
/// `_failure` event (`instance:create` resolves what `instance:create_failure` triggered).
pub fn default_resolve_on() -> Filter {
    let mut alternatives = Vec::new();
    for entry in &LIFECYCLE_CATALOGUE {
        let failure = format!("{}_failure", entry.sub_type);
        let fallible = LIFECYCLE_CATALOGUE
            .iter()
            .any(|e| e.resource_type == entry.resource_type && e.sub_type == failure);
        if fallible {
            alternatives.push(entry.ce_type.replace('.', "\\."));
        }
    }
    let text = format!("$.type =~ '^({})$'", alternatives.join("|"));
    Filter::parse(&text).expect("the default resolve_on filter is built from valid parts")
}

/// The default `dedup_key`: for a lifecycle notification its resource (`subject`, the CRN) and
/// its operation (the sub-type without `_failure` or `_inprogress`), so a failure, the progress
/// and the success of one operation on one resource share a key; for another notification with
/// a `subject`, that and its `type`; else its `notification_id` (every event an incident).
pub fn default_dedup_key(notification: &Value) -> String {
    let text = |field: &str| notification.get(field).and_then(Value::as_str);
    let event_type = text("type").unwrap_or_default();
    let Some(subject) = text("subject").filter(|s| !s.is_empty()) else {
        let id = text("notification_id").or_else(|| text("id"));
        return id.unwrap_or(event_type).to_owned();
    };
    match classify_ce_type(event_type) {
        Ok(entry) => {
            let operation = entry.sub_type;
            let operation = operation
                .strip_suffix("_failure")
                .or_else(|| operation.strip_suffix("_inprogress"))
                .unwrap_or(operation);
            format!("{subject}/{}:{operation}", entry.resource_type)
        }
        Err(_) => format!("{subject}/{event_type}"),
    }
}

/// `key` as PagerDuty takes it: at most [`DEDUP_KEY_MAX`] characters, a longer one replaced by
/// `sha256:` and its hex digest (the same key for the same text).
pub fn fit_dedup_key(key: String) -> String {
    if key.chars().count() <= DEDUP_KEY_MAX {
        return key;
    }
    format!("sha256:{:x}", Sha256::digest(key.as_bytes()))
}

/// `summary` cut to [`SUMMARY_MAX`] characters, ending in [`TRUNCATION_MARKER`] when cut.
pub fn fit_summary(summary: &str) -> String {
    if summary.chars().count() <= SUMMARY_MAX {
        return summary.to_owned();
    }
    let keep = SUMMARY_MAX - TRUNCATION_MARKER.chars().count();
    let mut cut: String = summary.chars().take(keep).collect();
    cut.push_str(TRUNCATION_MARKER);
    cut
}

/// The event for `notification` as the subscription's attributes say, without `routing_key`
/// (the notifier adds it). `rendered` is the template's object of fields, if any. A resolve
/// carries only `event_action` and `dedup_key`, as the Events API asks.
pub fn build(
    attributes: &Attributes,
    notification: &Value,
    rendered: Option<Map<String, Value>>,
    template: &str,
) -> Result<Value, RenderError> {
    let invalid = |message: String| RenderError::InvalidMessage {
        name: template.to_owned(),
        message,
    };
    let key = match &attributes.dedup_key {
        Some(key) => key.render(notification)?.trim().to_owned(),
        None => default_dedup_key(notification),
    };
    if key.is_empty() {
        return Err(invalid("the dedup_key rendered empty".to_owned()));
    }
    let key = fit_dedup_key(key);
    let action = if attributes.resolve_on.matches(notification) {
        Action::Resolve
    } else {
        Action::Trigger
    };
    let mut event = Map::new();
    event.insert("event_action".into(), action.as_str().into());
    event.insert("dedup_key".into(), key.into());
    if action == Action::Resolve {
        return Ok(Value::Object(event));
    }
    let mut payload = default_payload(attributes, notification);
    for (field, value) in rendered.into_iter().flatten() {
        match field.as_str() {
            "links" | "images" => {
                if !value.is_array() {
                    return Err(invalid(format!("{field} must be an array")));
                }
                event.insert(field, value);
            }
            f if TEMPLATE_FIELDS.contains(&f) => {
                payload.insert(field, value);
            }
            _ => {
                return Err(invalid(format!(
                    "unknown field {field:?}; valid: {}",
                    TEMPLATE_FIELDS.join(", ")
                )));
            }
        }
    }
    check_payload(&mut payload).map_err(invalid)?;
    event.insert("payload".into(), Value::Object(payload));
    event.insert("client".into(), "notification-router".into());
    Ok(Value::Object(event))
}

/// What an event for `notification` would do, as one line for a person: the action (and why)
/// and the `dedup_key`.
pub fn explain(attributes: &Attributes, notification: &Value) -> String {
    let resolve = attributes.resolve_on.matches(notification);
    let action = if resolve {
        format!("resolve (resolve_on matches: {})", attributes.resolve_on)
    } else {
        "trigger (resolve_on does not match)".to_owned()
    };
    let key = match &attributes.dedup_key {
        Some(key) => key
            .render(notification)
            .map(|k| fit_dedup_key(k.trim().to_owned()))
            .unwrap_or_else(|e| format!("<{e}>")),
        None => fit_dedup_key(default_dedup_key(notification)),
    };
    format!("{action}, dedup_key {key:?}")
}

/// The payload without a template: the default short text, the resource, the mapped severity,
/// the time, the source and type, the whole notification as details.
fn default_payload(attributes: &Attributes, notification: &Value) -> Map<String, Value> {
    let text = |field: &str| notification.get(field).and_then(Value::as_str);
    let summary = text("ibmendefaultshort")
        .or_else(|| text("type"))
        .unwrap_or("notification");
    let source = text("subject")
        .or_else(|| text("source"))
        .unwrap_or("notification-router");
    let severity = attributes.severity.of(text("ibmenseverity"));
    let mut payload = Map::new();
    payload.insert("summary".into(), summary.into());
    payload.insert("source".into(), source.into());
    payload.insert("severity".into(), severity.as_str().into());
    let fields = [
        ("timestamp", text("time")),
        ("group", text("ibmensourceid")),
        ("class", text("type")),
    ];
    for (field, value) in fields {
        if let Some(value) = value {
            payload.insert(field.into(), value.into());
        }
    }
    payload.insert("custom_details".into(), notification.clone());
    payload
}

/// Checks the payload against the Events API v2 schema, cutting the summary to its limit.
fn check_payload(payload: &mut Map<String, Value>) -> Result<(), String> {
    let Some(Value::String(summary)) = payload.get("summary") else {
        return Err("summary must be a string".to_owned());
    };
    if summary.trim().is_empty() {
        return Err("summary is empty".to_owned());
    }
    let summary = fit_summary(summary);
    payload.insert("summary".into(), summary.into());
    match payload.get("source") {
        Some(Value::String(source)) if !source.trim().is_empty() => {}
        _ => return Err("source must be a non-empty string".to_owned()),
    }
    match payload.get("severity").and_then(Value::as_str) {
        Some(s) if Severity::parse(s).is_some() => {}
        other => {
            return Err(format!(
                "severity {other:?} is not one of critical, error, warning, info"
            ));
        }
    }
    for field in ["timestamp", "component", "group", "class"] {
        if payload.get(field).is_some_and(|v| !v.is_string()) {
            return Err(format!("{field} must be a string"));
        }
    }
    Ok(())
}
