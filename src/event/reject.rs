//! Why a Kafka record could not become a notification: a small fixed set of reasons plus detail.

use std::fmt;

use serde_json::Value;

/// A record that cannot be normalised; it goes to the dead-letter topic with this reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}: {detail}")]
pub struct Rejection {
    /// The fixed, machine-readable reason (a dead-letter header and a metrics label).
    pub reason: RejectReason,
    /// What exactly was wrong, for a person reading the log or the dead-letter header.
    pub detail: String,
}

/// The closed set of reasons a record is rejected; [`RejectReason::code`] is its stable name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// The value is longer than the configured limit.
    TooLarge,
    /// The value is not valid UTF-8.
    NotUtf8,
    /// The value is not JSON, or there is no value at all (a tombstone).
    NotJson,
    /// A required field, attribute or header is absent.
    MissingField,
    /// A field, attribute or header has the wrong type or an unusable value.
    InvalidField,
    /// The event type is not in the source's catalogue.
    UnknownEventType,
    /// The event names a source other than the one whose topic it arrived on.
    UnknownSource,
}

impl RejectReason {
    /// Every reason, in declaration order (for metrics pre-registration and tests).
    pub const ALL: [RejectReason; 7] = [
        RejectReason::TooLarge,
        RejectReason::NotUtf8,
        RejectReason::NotJson,
        RejectReason::MissingField,
        RejectReason::InvalidField,
        RejectReason::UnknownEventType,
        RejectReason::UnknownSource,
    ];

    /// The stable kebab-case code used in dead-letter headers, logs and metrics.
    pub fn code(self) -> &'static str {
        match self {
            RejectReason::TooLarge => "too-large",
            RejectReason::NotUtf8 => "not-utf8",
            RejectReason::NotJson => "not-json",
            RejectReason::MissingField => "missing-field",
            RejectReason::InvalidField => "invalid-field",
            RejectReason::UnknownEventType => "unknown-event-type",
            RejectReason::UnknownSource => "unknown-source",
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Rejection {
    /// A rejection with the given reason and detail.
    pub fn new(reason: RejectReason, detail: impl Into<String>) -> Self {
        Rejection {
            reason,
            detail: detail.into(),
        }
    }

    /// `what` (e.g. `field "event_id"`) is absent.
    pub(super) fn missing(what: impl fmt::Display) -> Self {
        Rejection::new(RejectReason::MissingField, format!("missing {what}"))
    }

    /// `what` (e.g. `field "timestamp"`) is present but unusable, and `why`.
    pub(super) fn invalid(what: impl fmt::Display, why: impl fmt::Display) -> Self {
        Rejection::new(RejectReason::InvalidField, format!("{what} {why}"))
    }

    /// `what` holds `found` where a value of kind `expected` (e.g. "a string") belongs.
    pub(super) fn wrong_type(what: impl fmt::Display, found: &Value, expected: &str) -> Self {
        Rejection::invalid(
            what,
            format_args!("is {}, expected {expected}", kind_of(found)),
        )
    }

    /// `what` holds `text`, which is not an RFC 3339 time.
    pub(super) fn not_a_time(what: impl fmt::Display, text: &str) -> Self {
        let why =
            format_args!("is \"{text}\", expected an RFC 3339 time such as \"{TIME_EXAMPLE}\"");
        Rejection::invalid(what, why)
    }
}

/// The example shown when a time does not parse.
const TIME_EXAMPLE: &str = "2022-09-30T16:18:55Z";

/// The JSON kind of a value with its article, as used in rejection details ("an array").
pub fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// How a field is named in a detail: `field "context.activity.message"`.
pub(super) struct Field<'a>(pub &'a str, pub &'a str);

impl fmt::Display for Field<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Field("", key) => write!(f, "field \"{key}\""),
            Field(path, key) => write!(f, "field \"{path}.{key}\""),
        }
    }
}
