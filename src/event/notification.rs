//! Builds the notification body (an EN-style CloudEvent) and its deterministic `notification_id`.

use serde_json::{Map, Value};
use uuid::Uuid;

use super::catalogue::{Severity, classify_ce_type};
use super::cloudevent::{CloudEvent, SPEC_VERSION};
use super::lifecycle::LifecycleEvent;
use super::reject::{RejectReason, Rejection};
use super::texts::DefaultTexts;
use super::{Notification, SourceKind, activity_tracker, ubiops};

/// Namespace of the UUID v5 `notification_id`s. Never change it: ids must stay stable across
/// releases, so that redeliveries and producer retries keep the id receivers de-duplicate on.
pub const NOTIFICATION_ID_NAMESPACE: Uuid = Uuid::from_u128(0xe6e3ff26_126f_44f6_a223_02ea373adae1);

/// The UUID v5 (in [`NOTIFICATION_ID_NAMESPACE`]) of `parts` joined by line feeds.
pub fn notification_id(parts: &[&str]) -> String {
    let name = parts.join("\n");
    Uuid::new_v5(&NOTIFICATION_ID_NAMESPACE, name.as_bytes()).to_string()
}

/// The notification of a raw resource-controller event; `value` becomes its `data`, unchanged.
pub(super) fn from_lifecycle(source_id: &str, value: Value) -> Result<Notification, Rejection> {
    let event = LifecycleEvent::parse(&value)?;
    let envelope = Envelope {
        id: event.event_id.to_owned(),
        notification_id: notification_id(&[source_id, event.event_id]),
        source: format!("/resource-controller/accounts/{}", event.account_id),
        event_type: event.kind.ce_type.to_owned(),
        time: event.timestamp.to_owned(),
        subject: event.properties.crn.map(str::to_owned),
        texts: DefaultTexts::for_lifecycle(&event),
    };
    Ok(envelope.seal(source_id, value))
}

/// The CloudEvent attributes a native (not CloudEvent) event is given.
pub(super) struct Envelope {
    /// `id`.
    pub id: String,
    /// `notification_id`: stable for the same event, see [`notification_id`].
    pub notification_id: String,
    /// `source`.
    pub source: String,
    /// `type`.
    pub event_type: String,
    /// `time`, RFC 3339.
    pub time: String,
    /// `subject`, when the event names the resource.
    pub subject: Option<String>,
    pub texts: DefaultTexts,
}

impl Envelope {
    /// The notification: these attributes, the EN extensions and `data`, the original event.
    pub(super) fn seal(self, source_id: &str, data: Value) -> Notification {
        let mut body = Map::new();
        put(&mut body, "specversion", SPEC_VERSION);
        put(&mut body, "id", self.id);
        put(&mut body, "source", self.source);
        put(&mut body, "type", self.event_type.as_str());
        put(&mut body, "time", self.time);
        if let Some(subject) = self.subject {
            put(&mut body, "subject", subject);
        }
        put(&mut body, "datacontenttype", "application/json");
        put(&mut body, "ibmensourceid", source_id);
        put(&mut body, "ibmenseverity", self.texts.severity.as_str());
        put(&mut body, "ibmendefaultshort", self.texts.short);
        put(&mut body, "ibmendefaultlong", self.texts.long);
        put(&mut body, "notification_id", self.notification_id.as_str());
        body.insert("data".to_owned(), data);
        Notification {
            id: self.notification_id,
            source_id: source_id.to_owned(),
            event_type: self.event_type,
            body: Value::Object(body),
        }
    }
}

/// The notification of a CloudEvent: its attributes as given, plus the EN extensions it lacks.
pub(super) fn from_cloudevent(
    source_id: &str,
    kind: SourceKind,
    event: CloudEvent,
) -> Result<Notification, Rejection> {
    if let Some(named) = event.text("ibmensourceid")
        && named != source_id
    {
        let detail =
            format!("event names source {named} but arrived on a topic of source {source_id}");
        return Err(Rejection::new(RejectReason::UnknownSource, detail));
    }
    let derived = texts_of_cloudevent(kind, &event)?;
    let given = |name: &str| event.text(name).is_some();
    let texts = match ["ibmenseverity", "ibmendefaultshort", "ibmendefaultlong"].map(given) {
        [true, true, true] => None,
        _ => Some(derived),
    };
    let id = notification_id(&[source_id, &event.source, &event.id]);

    let CloudEvent {
        id: event_id,
        source,
        event_type,
        mut attributes,
    } = event;
    put(&mut attributes, "id", event_id);
    put(&mut attributes, "source", source);
    put(&mut attributes, "type", event_type.as_str());
    put_absent(&mut attributes, "ibmensourceid", source_id);
    if let Some(texts) = texts {
        put_absent(&mut attributes, "ibmenseverity", texts.severity.as_str());
        put_absent(&mut attributes, "ibmendefaultshort", texts.short);
        put_absent(&mut attributes, "ibmendefaultlong", texts.long);
    }
    put(&mut attributes, "notification_id", id.as_str());

    Ok(Notification {
        id,
        source_id: source_id.to_owned(),
        event_type,
        body: Value::Object(in_cloudevents_order(attributes)),
    })
}

/// Checks a CloudEvent's type against what its source kind produces, and derives its texts.
fn texts_of_cloudevent(kind: SourceKind, event: &CloudEvent) -> Result<DefaultTexts, Rejection> {
    match kind {
        SourceKind::ResourceLifecycleEvents => {
            let entry = classify_ce_type(&event.event_type)?;
            Ok(
                match event.attributes.get("data").map(LifecycleEvent::parse) {
                    Some(Ok(data)) => DefaultTexts::for_lifecycle(&data),
                    _ => DefaultTexts::for_cloudevent(entry, event),
                },
            )
        }
        SourceKind::ActivityTracker => activity_tracker::cloudevent_texts(event),
        SourceKind::UbiopsAudit => ubiops::cloudevent_texts(event),
        SourceKind::Cloudevents => Ok(DefaultTexts::for_any_cloudevent(
            Severity::Low,
            &event.event_type,
            None,
            event,
        )),
    }
}

/// The attributes in CloudEvents order: `specversion`, `id`, `source`, `type`, the others as
/// given (extensions last), and the event's `data` (or `data_base64`) at the end.
fn in_cloudevents_order(mut attributes: Map<String, Value>) -> Map<String, Value> {
    let mut ordered = Map::with_capacity(attributes.len());
    for name in ["specversion", "id", "source", "type"] {
        if let Some(value) = attributes.shift_remove(name) {
            ordered.insert(name.to_owned(), value);
        }
    }
    let data: Vec<_> = ["data", "data_base64"]
        .into_iter()
        .filter_map(|name| attributes.shift_remove(name).map(|v| (name.to_owned(), v)))
        .collect();
    ordered.extend(attributes);
    ordered.extend(data);
    ordered
}

fn put(body: &mut Map<String, Value>, name: &str, value: impl Into<String>) {
    body.insert(name.to_owned(), Value::String(value.into()));
}

/// Sets `name` unless the event already gives it (a null counts as not given).
fn put_absent(body: &mut Map<String, Value>, name: &str, value: impl Into<String>) {
    if body.get(name).is_none_or(Value::is_null) {
        put(body, name, value);
    }
}
