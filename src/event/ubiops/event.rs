//! The typed view of a UbiOps audit event, as the audit API lists it (`id`, `date`, `action`,
//! `user`, `event`, `object_type`, `object_name`), borrowed from its decoded JSON value.

use chrono::{DateTime, FixedOffset};
use serde_json::Value;

use super::catalogue::{self, ObjectType, UbiopsAction, object_type_name};
use crate::event::fields::Fields;
use crate::event::reject::Rejection;

/// A UbiOps audit event. Unknown fields are ignored here and kept, untouched, in `data`.
#[derive(Debug, Clone, PartialEq)]
pub struct UbiopsEvent<'a> {
    /// `id`, when the event has one.
    pub id: Option<&'a str>,
    /// `date` exactly as written.
    pub date: &'a str,
    /// `date`, parsed.
    pub time: DateTime<FixedOffset>,
    pub action: UbiopsAction,
    /// `object_type`, snake_case (`pipeline_object`).
    pub object_type: String,
    /// The catalogue's entry for the object type, when it is one of the seed's.
    pub known: Option<&'static ObjectType>,
    /// `object_name`; `None` when empty, as it is once the object has been deleted.
    pub object_name: Option<&'a str>,
    /// `user`: who did it.
    pub user: Option<&'a str>,
    /// `event` (the description UbiOps writes), or `description`. Kept exactly as given: UbiOps
    /// itself leaves out values it must not show (environment variable values, tokens).
    pub description: Option<&'a str>,
    /// `project_name`: the project the event belongs to, when whoever collected the events
    /// (the audit API is per project) added it.
    pub project: Option<&'a str>,
}

impl<'a> UbiopsEvent<'a> {
    /// Parses the typed view: `object_type`, `action` and `date` are required; the rest, when
    /// present, must be strings.
    pub fn parse(value: &'a Value) -> Result<Self, Rejection> {
        let Value::Object(map) = value else {
            return Err(Rejection::wrong_type("event", value, "an object"));
        };
        let top = Fields::root(map);
        let object_type = object_type_name(top.required_str("object_type")?)?;
        let action = UbiopsAction::parse(top.required_str("action")?)?;
        let (date, time) = top.time("date")?;
        Ok(UbiopsEvent {
            id: top.str("id")?,
            date,
            time,
            action,
            known: catalogue::object_type(&object_type),
            object_type,
            object_name: top.str("object_name")?.filter(|name| !name.is_empty()),
            user: top.str("user")?,
            description: top.str("event")?.or(top.str("description")?),
            project: top.str("project_name")?,
        })
    }
}
