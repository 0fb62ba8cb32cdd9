//! The typed view of a raw resource-controller event, parsed from an already decoded JSON value.
//!
//! Every string borrows from the JSON value, so parsing allocates nothing on success. Unknown
//! fields are ignored here and preserved untouched in the notification's `data`.

use chrono::{DateTime, FixedOffset};
use serde_json::{Number, Value};

use super::catalogue::{CatalogueEntry, classify_raw_event_type};
use super::fields::Fields;
use super::reject::{Field, Rejection};

/// A raw resource lifecycle event as documented in the catalogue's schema.
#[derive(Debug, Clone, PartialEq)]
pub struct LifecycleEvent<'a> {
    /// The account the event happened in.
    pub account_id: &'a str,
    /// The producer's unique id of the event.
    pub event_id: &'a str,
    /// The event type exactly as written (`resource-controller.Resource_group.create`).
    pub event_type: &'a str,
    /// The catalogue pair the event type names.
    pub kind: &'static CatalogueEntry,
    /// The timestamp exactly as written.
    pub timestamp: &'a str,
    /// The timestamp, parsed.
    pub time: DateTime<FixedOffset>,
    /// Who did what; all parts empty when the event has no `context`.
    pub context: Context<'a>,
    /// `event_properties`; all parts empty when the event has none.
    pub properties: EventProperties<'a>,
}

/// `context`: the initiator and the activity.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Context<'a> {
    pub subject_id: Option<&'a str>,
    pub subject_name: Option<&'a str>,
    pub activity: Activity<'a>,
}

/// `context.activity`: what was done and how it ended.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Activity<'a> {
    pub action: Option<&'a str>,
    pub message: Option<&'a str>,
    pub outcome: Option<&'a str>,
    /// `reason_reasonCode`.
    pub reason_code: Option<&'a Number>,
    pub target_name: Option<&'a str>,
}

/// `event_properties`: the resource after the event.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventProperties<'a> {
    pub created_at: Option<&'a str>,
    pub created_by: Option<&'a str>,
    pub crn: Option<&'a str>,
    pub guid: Option<&'a str>,
    pub name: Option<&'a str>,
    pub resource_group_id: Option<&'a str>,
    pub resource_id: Option<&'a str>,
    pub last_operation: LastOperation<'a>,
    pub region_id: Option<&'a str>,
    pub state: Option<&'a str>,
    /// `type`: `service_instance` or `resource_instance`.
    pub resource_kind: Option<&'a str>,
    pub restored_at: Option<&'a str>,
    pub restored_by: Option<&'a str>,
    pub scheduled_reclaim_at: Option<&'a str>,
    pub scheduled_reclaim_by: Option<&'a str>,
    pub updated_at: Option<&'a str>,
}

/// `event_properties.last_operation`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LastOperation<'a> {
    pub description: Option<&'a str>,
    pub state: Option<&'a str>,
    /// `type`.
    pub operation_type: Option<&'a str>,
}

impl<'a> LifecycleEvent<'a> {
    /// Parses the typed view of `value`: required fields must be present and well-typed, the
    /// event type must be in the catalogue, optional fields must have their documented type.
    pub fn parse(value: &'a Value) -> Result<Self, Rejection> {
        let Value::Object(map) = value else {
            return Err(Rejection::wrong_type("event", value, "an object"));
        };
        let top = Fields::root(map);
        let account_id = top.required_str("account_id")?;
        let event_id = top.required_str("event_id")?;
        let event_type = top.required_str("event_type")?;
        let timestamp = top.required_str("timestamp")?;
        let kind = classify_raw_event_type(event_type)?;
        let time = DateTime::parse_from_rfc3339(timestamp)
            .map_err(|_| Rejection::not_a_time(Field("", "timestamp"), timestamp))?;
        let context = match top.child("context", "context")? {
            Some(fields) => Context::parse(&fields)?,
            None => Context::default(),
        };
        let properties = match top.child("event_properties", "event_properties")? {
            Some(fields) => EventProperties::parse(&fields)?,
            None => EventProperties::default(),
        };
        Ok(LifecycleEvent {
            account_id,
            event_id,
            event_type,
            kind,
            timestamp,
            time,
            context,
            properties,
        })
    }

    /// Who triggered the event: the subject name, else the subject id.
    pub fn initiator(&self) -> Option<&'a str> {
        self.context.subject_name.or(self.context.subject_id)
    }
}

impl<'a> Context<'a> {
    fn parse(fields: &Fields<'a>) -> Result<Self, Rejection> {
        let activity = match fields.child("activity", "context.activity")? {
            Some(a) => Activity {
                action: a.str("action")?,
                message: a.str("message")?,
                outcome: a.str("outcome")?,
                reason_code: a.number("reason_reasonCode")?,
                target_name: a.str("target_name")?,
            },
            None => Activity::default(),
        };
        Ok(Context {
            subject_id: fields.str("subject_id")?,
            subject_name: fields.str("subject_name")?,
            activity,
        })
    }
}

impl<'a> EventProperties<'a> {
    fn parse(f: &Fields<'a>) -> Result<Self, Rejection> {
        let last_operation = match f.child("last_operation", "event_properties.last_operation")? {
            Some(op) => LastOperation {
                description: op.str("description")?,
                state: op.str("state")?,
                operation_type: op.str("type")?,
            },
            None => LastOperation::default(),
        };
        Ok(EventProperties {
            created_at: f.str("created_at")?,
            created_by: f.str("created_by")?,
            crn: f.str("crn")?,
            guid: f.str("guid")?,
            name: f.str("name")?,
            resource_group_id: f.str("resource_group_id")?,
            resource_id: f.str("resource_id")?,
            last_operation,
            region_id: f.str("region_id")?,
            state: f.str("state")?,
            resource_kind: f.str("type")?,
            restored_at: f.str("restored_at")?,
            restored_by: f.str("restored_by")?,
            scheduled_reclaim_at: f.str("scheduled_reclaim_at")?,
            scheduled_reclaim_by: f.str("scheduled_reclaim_by")?,
            updated_at: f.str("updated_at")?,
        })
    }
}
