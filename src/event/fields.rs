//! Reading the fields of a decoded JSON event, each problem a rejection naming the field.

use chrono::{DateTime, FixedOffset};
use serde_json::{Map, Number, Value};

use super::reject::{Field, Rejection};

/// A JSON object being read, with its dotted path for rejection details.
pub(super) struct Fields<'a> {
    map: &'a Map<String, Value>,
    path: &'static str,
}

impl<'a> Fields<'a> {
    /// The top-level object of an event.
    pub(super) fn root(map: &'a Map<String, Value>) -> Self {
        Fields { map, path: "" }
    }

    /// The object in `value` (absent or null: `None`), which is field `key` of the object at `path`.
    fn object(
        value: Option<&'a Value>,
        path: &'static str,
        key: &str,
    ) -> Result<Option<Self>, Rejection> {
        match value {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(map)) => Ok(Some(Fields { map, path })),
            Some(other) => Err(Rejection::wrong_type(Field(path, key), other, "an object")),
        }
    }

    /// The optional object `key`, whose own path is `path`.
    pub(super) fn child(
        &self,
        key: &str,
        path: &'static str,
    ) -> Result<Option<Fields<'a>>, Rejection> {
        Fields::object(self.map.get(key), self.path, key).map(|f| f.map(|f| Fields { path, ..f }))
    }

    /// The value of `key`, when present and not null, whatever its type.
    pub(super) fn value(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// How a field of this object is named in a rejection detail.
    pub(super) fn name<'k>(&self, key: &'k str) -> Field<'k> {
        Field(self.path, key)
    }

    pub(super) fn required_str(&self, key: &str) -> Result<&'a str, Rejection> {
        match self.map.get(key) {
            None => Err(Rejection::missing(Field(self.path, key))),
            Some(Value::String(s)) if s.is_empty() => {
                Err(Rejection::invalid(Field(self.path, key), "is empty"))
            }
            Some(Value::String(s)) => Ok(s),
            Some(other) => Err(Rejection::wrong_type(
                Field(self.path, key),
                other,
                "a string",
            )),
        }
    }

    pub(super) fn str(&self, key: &str) -> Result<Option<&'a str>, Rejection> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(Rejection::wrong_type(
                Field(self.path, key),
                other,
                "a string",
            )),
        }
    }

    pub(super) fn number(&self, key: &str) -> Result<Option<&'a Number>, Rejection> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => Ok(Some(n)),
            Some(other) => Err(Rejection::wrong_type(
                Field(self.path, key),
                other,
                "a number",
            )),
        }
    }

    /// The required time `key`: RFC 3339, or ISO 8601 with a `+hhmm` offset as Activity Tracker
    /// writes it (`2024-10-09T14:03:27.52+0000`).
    pub(super) fn time(&self, key: &str) -> Result<(&'a str, DateTime<FixedOffset>), Rejection> {
        let text = self.required_str(key)?;
        parse_time(text)
            .map(|time| (text, time))
            .ok_or_else(|| Rejection::not_a_time(Field(self.path, key), text))
    }
}

/// An RFC 3339 time, or one whose offset has no colon (`+0000`).
pub(super) fn parse_time(text: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .ok()
}

/// The CloudEvents `time` of `time` as written: kept when already RFC 3339, else rewritten as
/// RFC 3339 (the same instant and offset).
pub(super) fn rfc3339(text: &str, time: DateTime<FixedOffset>) -> String {
    match DateTime::parse_from_rfc3339(text) {
        Ok(_) => text.to_owned(),
        Err(_) => time.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
    }
}
