//! Activity Tracker / Cloud Logs audit events (CADF): the action catalogue of the seeds, the typed
//! view of an event, its texts and its notification.
//!
//! An event's `action` `service.resource[.sub].verb` becomes the notification type
//! `com.ibm.cloud.<service>.<resource>[.<sub>]:<verb>`. Older spellings of a resource
//! ([`RESOURCE_ALIASES`]) become the current one, so one filter catches both; `data.action`
//! keeps what arrived.

mod catalogue;
mod event;
mod texts;

pub use catalogue::{
    ACTIVITY_TRACKER_CATALOGUE, AT_TYPE_PREFIX, AuditAction, Origin, RESOURCE_ALIASES,
    ResolvedAction, resolve_action, resolve_ce_type,
};
pub use event::{AuditEvent, Outcome, Party, Payload, RESPONSE_OMITTED, Reason};
pub use texts::severity;

use serde_json::Value;

use super::cloudevent::CloudEvent;
use super::fields::rfc3339;
use super::notification::{Envelope, notification_id};
use super::reject::Rejection;
use super::texts::DefaultTexts;
use super::{Notification, SourceKind};

/// The notification of a native audit event; `value` becomes its `data`, unchanged.
///
/// It has no id of its own, so `id` and `notification_id` are a UUID v5 of what identifies it:
/// the action, time, target, correlation id, initiator and outcome.
pub(super) fn notification(source_id: &str, value: Value) -> Result<Notification, Rejection> {
    let event = AuditEvent::parse(&value)?;
    let id = notification_id(&[
        source_id,
        SourceKind::ActivityTracker.as_str(),
        event.action.raw,
        event.event_time,
        event.target.id.unwrap_or_default(),
        event.correlation_id.unwrap_or_default(),
        event.initiator.id.unwrap_or_default(),
        event.outcome.as_str(),
    ]);
    let source = match event.log_source_crn {
        Some(crn) => crn.to_owned(),
        None => format!("/activity-tracker/{}", event.action.service),
    };
    let envelope = Envelope {
        id: id.clone(),
        notification_id: id,
        source,
        event_type: event.action.ce_type(),
        time: rfc3339(event.event_time, event.time),
        subject: event.target.id.map(str::to_owned),
        texts: texts::for_audit(&event),
    };
    Ok(envelope.seal(source_id, value))
}

/// Checks a CloudEvent's type (`com.ibm.cloud.<service>.<resource>:<verb>`) and derives its
/// texts: from its data when that is an audit event of the same type, else from the type.
pub(super) fn cloudevent_texts(event: &CloudEvent) -> Result<DefaultTexts, Rejection> {
    let action = resolve_ce_type(&event.event_type)?;
    let data = event.attributes.get("data").map(AuditEvent::parse);
    if let Some(Ok(audit)) = data
        && audit.action.ce_type() == action.ce_type()
    {
        return Ok(texts::for_audit(&audit));
    }
    let summary = action.entry.map(|entry| entry.description);
    let severity = severity(None, action.verb);
    Ok(DefaultTexts::for_any_cloudevent(
        severity,
        &texts::label(&action),
        summary,
        event,
    ))
}
