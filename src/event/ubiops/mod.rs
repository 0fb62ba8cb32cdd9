//! UbiOps audit events (seed `003`): the object types and actions, the typed view of an event,
//! its texts and its notification, of type `com.ubiops.<object_type>:<action>`.

mod catalogue;
mod event;
mod texts;

pub use catalogue::{
    ObjectType, UBIOPS_OBJECT_TYPES, UBIOPS_TYPE_PREFIX, UbiopsAction, ce_type, documented_types,
    object_type_name, resolve_ce_type,
};
pub use event::UbiopsEvent;
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
/// `id` is the event's own id when it has one. `notification_id` is a UUID v5 of the project and
/// that id, or, without one, of everything the event says.
pub(super) fn notification(source_id: &str, value: Value) -> Result<Notification, Rejection> {
    let event = UbiopsEvent::parse(&value)?;
    let kind = SourceKind::UbiopsAudit.as_str();
    let project = event.project.unwrap_or_default();
    let id = match event.id {
        Some(id) => notification_id(&[source_id, kind, project, id]),
        None => notification_id(&[
            source_id,
            kind,
            project,
            event.date,
            &event.object_type,
            event.object_name.unwrap_or_default(),
            event.action.as_str(),
            event.user.unwrap_or_default(),
            event.description.unwrap_or_default(),
        ]),
    };
    let source = match event.project {
        Some(project) => format!("/ubiops/projects/{project}"),
        None => "/ubiops".to_owned(),
    };
    let envelope = Envelope {
        id: event.id.map_or_else(|| id.clone(), str::to_owned),
        notification_id: id,
        source,
        event_type: ce_type(&event.object_type, event.action),
        time: rfc3339(event.date, event.time),
        subject: event.object_name.map(str::to_owned),
        texts: texts::for_event(&event),
    };
    Ok(envelope.seal(source_id, value))
}

/// Checks a CloudEvent's type (`com.ubiops.<object_type>:<action>`) and derives its texts: from
/// its data when that is an audit event of the same type, else from the type.
pub(super) fn cloudevent_texts(event: &CloudEvent) -> Result<DefaultTexts, Rejection> {
    let (object_type, action) = resolve_ce_type(&event.event_type)?;
    let data = event.attributes.get("data").map(UbiopsEvent::parse);
    if let Some(Ok(audit)) = data
        && audit.object_type == object_type
        && audit.action == action
    {
        return Ok(texts::for_event(&audit));
    }
    let label = texts::what_happened(&object_type, None, action);
    let summary = catalogue::object_type(&object_type).map(|o| o.description);
    Ok(DefaultTexts::for_any_cloudevent(
        severity(action),
        &label,
        summary,
        event,
    ))
}
