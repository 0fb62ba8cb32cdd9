//! The typed view of an Activity Tracker (CADF) event, borrowed from its decoded JSON value.

use chrono::{DateTime, FixedOffset};
use serde_json::{Map, Number, Value};

use super::catalogue::{ResolvedAction, resolve_action};
use crate::event::fields::Fields;
use crate::event::reject::Rejection;

/// The text that replaces `responseData` when an event would exceed 16 KB (seed `000`).
pub const RESPONSE_OMITTED: &str =
    "Information about the action is not included for performance and size reasons.";

/// An audit event as the seeds describe it. Unknown fields are ignored here and kept, untouched,
/// in the notification's `data`.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent<'a> {
    /// `action`, resolved against the catalogue.
    pub action: ResolvedAction<'a>,
    pub outcome: Outcome,
    /// `eventTime` exactly as written.
    pub event_time: &'a str,
    /// `eventTime`, parsed.
    pub time: DateTime<FixedOffset>,
    /// `message`: the producer's own sentence for people.
    pub message: Option<&'a str>,
    /// `logSourceCRN`: the service instance that produced the event.
    pub log_source_crn: Option<&'a str>,
    /// `correlationId`, or `transactionID` as the 2020 Code Engine document calls it.
    pub correlation_id: Option<&'a str>,
    pub initiator: Party<'a>,
    pub target: Party<'a>,
    pub reason: Reason<'a>,
    pub request_data: Payload<'a>,
    pub response_data: Payload<'a>,
}

/// How the action ended (`outcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Success,
    /// The action is still running; Activity Tracker's event model lists it beside the two others.
    Pending,
    Failure,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Pending => "pending",
            Outcome::Failure => "failure",
        }
    }

    fn parse(text: &str) -> Option<Outcome> {
        [Outcome::Success, Outcome::Pending, Outcome::Failure]
            .into_iter()
            .find(|o| o.as_str() == text)
    }
}

/// `initiator` or `target`: who acted, or what was acted on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Party<'a> {
    pub id: Option<&'a str>,
    pub name: Option<&'a str>,
    /// `typeURI`, e.g. `codeengine/project`.
    pub type_uri: Option<&'a str>,
}

/// `reason`: the HTTP-style code and, for failures, why.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reason<'a> {
    /// `reasonCode`.
    pub code: Option<&'a Number>,
    /// `reasonType`, e.g. `Conflict`.
    pub reason_type: Option<&'a str>,
    /// `reasonForFailure`.
    pub for_failure: Option<&'a str>,
}

/// `requestData` or `responseData`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Payload<'a> {
    Absent,
    Object(&'a Map<String, Value>),
    /// A sentence in place of the object, such as [`RESPONSE_OMITTED`].
    Text(&'a str),
}

impl<'a> Payload<'a> {
    /// The string member `key` of an object payload.
    pub fn text(&self, key: &str) -> Option<&'a str> {
        match self {
            Payload::Object(map) => map.get(key).and_then(Value::as_str),
            _ => None,
        }
    }

    /// Whether the payload was left out because the event would have been too large.
    pub fn is_omitted(&self) -> bool {
        matches!(self, Payload::Text(text) if text.contains("not included for performance and size reasons"))
    }
}

impl<'a> AuditEvent<'a> {
    /// Parses the typed view: `action`, `outcome` and `eventTime` are required; the rest, when
    /// present, must have their documented types.
    pub fn parse(value: &'a Value) -> Result<Self, Rejection> {
        let Value::Object(map) = value else {
            return Err(Rejection::wrong_type("event", value, "an object"));
        };
        let top = Fields::root(map);
        let action = resolve_action(top.required_str("action")?)?;
        let outcome_text = top.required_str("outcome")?;
        let outcome = Outcome::parse(outcome_text).ok_or_else(|| {
            let why = format_args!("is \"{outcome_text}\", expected success, pending or failure");
            Rejection::invalid(top.name("outcome"), why)
        })?;
        let (event_time, time) = top.time("eventTime")?;
        let initiator = Party::parse(top.child("initiator", "initiator")?)?;
        let target = Party::parse(top.child("target", "target")?)?;
        let reason = match top.child("reason", "reason")? {
            Some(r) => Reason {
                code: r.number("reasonCode")?,
                reason_type: r.str("reasonType")?,
                for_failure: r.str("reasonForFailure")?,
            },
            None => Reason::default(),
        };
        Ok(AuditEvent {
            action,
            outcome,
            event_time,
            time,
            message: top.str("message")?,
            log_source_crn: top.str("logSourceCRN")?,
            correlation_id: top.str("correlationId")?.or(top.str("transactionID")?),
            initiator,
            target,
            reason,
            request_data: payload(&top, "requestData")?,
            response_data: payload(&top, "responseData")?,
        })
    }

    /// Who acted: the initiator's name, else its id.
    pub fn who(&self) -> Option<&'a str> {
        self.initiator.name.or(self.initiator.id)
    }

    /// The name of the resource acted on. The target when it is that resource (its `typeURI`
    /// names the resource, or it has none and the request names nothing); otherwise, as for
    /// Code Engine where the target is the project, the `name` the request or response carries.
    pub fn resource_name(&self) -> Option<&'a str> {
        if self.target_is_resource() {
            return self.target.name;
        }
        let named = self
            .request_data
            .text("name")
            .or_else(|| self.response_data.text("name"));
        match self.target.type_uri {
            Some(_) => named,
            None => named.or(self.target.name),
        }
    }

    /// The container the resource lives in, as (kind, name): `("project", "alpha")` when the
    /// target is a Code Engine project and the action is about something in it.
    pub fn scope(&self) -> Option<(&'a str, &'a str)> {
        if self.target_is_resource() {
            return None;
        }
        let kind = self.target.type_uri?.rsplit('/').next()?;
        Some((kind, self.target.name?))
    }

    fn target_is_resource(&self) -> bool {
        let singular = |s: &str| s.strip_suffix('s').unwrap_or(s).to_ascii_lowercase();
        self.target.type_uri.is_some_and(|uri| {
            let kind = uri.rsplit('/').next().unwrap_or(uri);
            singular(kind) == singular(self.action.resource)
        })
    }
}

impl<'a> Party<'a> {
    fn parse(fields: Option<Fields<'a>>) -> Result<Self, Rejection> {
        let Some(f) = fields else {
            return Ok(Party::default());
        };
        Ok(Party {
            id: f.str("id")?,
            name: f.str("name")?,
            type_uri: f.str("typeURI")?,
        })
    }
}

/// `requestData` / `responseData`: an object, a sentence in its place, or absent.
fn payload<'a>(top: &Fields<'a>, key: &str) -> Result<Payload<'a>, Rejection> {
    match top.value(key) {
        None => Ok(Payload::Absent),
        Some(Value::Object(map)) => Ok(Payload::Object(map)),
        Some(Value::String(text)) => Ok(Payload::Text(text)),
        Some(other) => Err(Rejection::wrong_type(
            top.name(key),
            other,
            "an object or a string",
        )),
    }
}
