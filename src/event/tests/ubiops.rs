//! UbiOps audit events: type, severity, texts and data; object type spellings, descriptions kept
//! as given, CloudEvents carrying audit events, and the rejections.

use serde_json::{Value, json};

use super::{SOURCE, accept_as, check_as, text, with, without};
use crate::event::RejectReason::*;
use crate::event::ubiops::{UBIOPS_OBJECT_TYPES, UbiopsAction, documented_types};
use crate::event::{SourceKind, notification_id};

const UBIOPS: SourceKind = SourceKind::UbiopsAudit;

/// A deployment deleted in project alpha: its name is gone, as UbiOps leaves it.
fn deployment_delete() -> Value {
    json!({
        "id": "5b8f3c1e-audit",
        "date": "2024-06-03T08:15:42.118Z",
        "action": "delete",
        "user": "jane@example.com",
        "event": "Deleted deployment 'churn-model'",
        "object_type": "deployment",
        "object_name": "",
        "project_name": "alpha",
    })
}

#[test]
fn a_deleted_deployment_becomes_a_notification_with_every_field() {
    let event = deployment_delete();
    let n = accept_as(UBIOPS, &event);
    let id = notification_id(&[SOURCE, "ubiops-audit", "alpha", "5b8f3c1e-audit"]);
    let expected = json!({
        "specversion": "1.0",
        "id": "5b8f3c1e-audit",
        "source": "/ubiops/projects/alpha",
        "type": "com.ubiops.deployment:delete",
        "time": "2024-06-03T08:15:42.118Z",
        "datacontenttype": "application/json",
        "ibmensourceid": SOURCE,
        "ibmenseverity": "MEDIUM",
        "ibmendefaultshort": "Deployment deleted in project alpha by jane@example.com",
        "ibmendefaultlong": "Deleted deployment 'churn-model'. \
            Object: a deployment that has since been deleted (UbiOps no longer records its name). \
            Project: alpha. By jane@example.com at 2024-06-03T08:15:42.118Z. \
            Audit event 5b8f3c1e-audit.",
        "notification_id": id,
        "data": event,
    });
    assert_eq!(n.body, expected);
    assert_eq!(n.id, id);
}

#[test]
fn every_object_type_and_action_gets_its_type_and_severity() {
    assert_eq!(UBIOPS_OBJECT_TYPES.len(), 12);
    assert_eq!(documented_types().len(), 33);
    for object in &UBIOPS_OBJECT_TYPES {
        for action in UbiopsAction::ALL {
            let event = with(deployment_delete(), "/object_type", json!(object.name));
            let event = with(event, "/action", json!(action.as_str()));
            let event = with(event, "/object_name", json!("thing-1"));
            let n = accept_as(UBIOPS, &event);
            let ce_type = format!("com.ubiops.{}:{}", object.name, action.as_str());
            assert_eq!(n.event_type, ce_type);
            let severity = if action == UbiopsAction::Delete {
                "MEDIUM"
            } else {
                "LOW"
            };
            assert_eq!(text(&n, "/ibmenseverity"), severity, "{ce_type}");
            assert_eq!(text(&n, "/subject"), "thing-1");
        }
    }
}

#[test]
fn object_types_are_read_in_any_spelling_and_unknown_ones_accepted() {
    let table = [
        ("pipeline_object", "pipeline_object"),
        ("Pipeline object", "pipeline_object"),
        ("pipeline-object", "pipeline_object"),
        (" Service user ", "service_user"),
        ("bucket", "bucket"),
    ];
    for (given, name) in table {
        let event = with(deployment_delete(), "/object_type", json!(given));
        let n = accept_as(UBIOPS, &event);
        assert_eq!(n.event_type, format!("com.ubiops.{name}:delete"), "{given}");
        assert_eq!(
            n.body["data"]["object_type"], given,
            "data keeps what arrived"
        );
    }
}

#[test]
fn descriptions_are_kept_exactly_and_texts_say_what_the_event_says() {
    let description = "Updated environment variable 'DB_PASSWORD' for deployment 'churn-model'";
    let update = with(deployment_delete(), "/action", json!("update"));
    let update = with(
        update,
        "/object_type",
        json!("deployment_environment_variable"),
    );
    let update = with(update, "/object_name", json!("DB_PASSWORD"));
    let update = with(update, "/event", json!(description));
    let n = accept_as(UBIOPS, &update);
    assert_eq!(
        text(&n, "/ibmendefaultshort"),
        "Deployment environment variable DB_PASSWORD updated in project alpha by jane@example.com"
    );
    let long = text(&n, "/ibmendefaultlong");
    assert!(
        long.starts_with(&format!(
            "{description}. Object: deployment environment variable DB_PASSWORD."
        )),
        "{long}"
    );
    assert_eq!(n.body["data"]["event"], description);

    let download = json!({
        "date": "2024-06-03T09:00:00+02:00", "action": "info", "object_type": "version_file",
        "object_name": "v3", "event": "Downloaded deployment file of version 'v3'.",
        "description": "ignored when event is given",
    });
    let n = accept_as(UBIOPS, &download);
    assert_eq!(
        text(&n, "/ibmendefaultshort"),
        "Downloaded deployment file of version 'v3'"
    );
    assert_eq!(
        text(&n, "/ibmendefaultlong"),
        "Downloaded deployment file of version 'v3'. Object: version file v3. \
         At 2024-06-03T09:00:00+02:00."
    );
    assert_eq!(text(&n, "/source"), "/ubiops");
    assert_eq!(text(&n, "/ibmenseverity"), "LOW");

    let bare = without(without(download, "event"), "description");
    let n = accept_as(UBIOPS, &bare);
    assert_eq!(text(&n, "/ibmendefaultshort"), "Version file v3: info");
    let id = text(&n, "/id").to_owned();
    assert_eq!(id, n.id, "without an id of its own, the notification id");
    assert_eq!(accept_as(UBIOPS, &bare).id, id, "and it is stable");
}

#[test]
fn cloudevents_carrying_audit_events() {
    let structured = json!({
        "specversion": "1.0", "id": "ce-7", "source": "/ubiops-exporter",
        "type": "com.ubiops.deployment:delete", "data": deployment_delete(),
    });
    let n = accept_as(UBIOPS, &structured);
    assert_eq!(
        text(&n, "/ibmendefaultshort"),
        "Deployment deleted in project alpha by jane@example.com"
    );
    let other = with(
        structured,
        "/type",
        json!("com.ubiops.request_schedule:create"),
    );
    let n = accept_as(UBIOPS, &other);
    assert_eq!(
        text(&n, "/ibmendefaultshort"),
        "Request schedule created: ce-7"
    );
    assert_eq!(text(&n, "/ibmenseverity"), "LOW");
}

#[test]
fn ubiops_events_with_missing_or_invalid_fields() {
    let set = |pointer, value| with(deployment_delete(), pointer, value);
    let ce =
        |ce_type: &str| json!({"specversion": "1.0", "id": "1", "source": "/x", "type": ce_type});
    #[rustfmt::skip]
    check_as(UBIOPS, vec![
        ("not an object", json!("Deleted deployment"), InvalidField, "record value is a string, expected an object"),
        ("no object type", without(deployment_delete(), "object_type"), MissingField, "missing field \"object_type\""),
        ("empty object type", set("/object_type", json!("")), InvalidField, "field \"object_type\" is empty"),
        ("object type not a string", set("/object_type", json!({"name": "deployment"})), InvalidField, "field \"object_type\" is an object, expected a string"),
        ("object type not a name", set("/object_type", json!("deploy/ment")), UnknownEventType, "object type \"deploy/ment\" is not a name of letters, digits, spaces, '-' or '_'"),
        ("object type from a digit", set("/object_type", json!("2fa")), UnknownEventType, "object type \"2fa\" is not a name of letters, digits, spaces, '-' or '_'"),
        ("no action", without(deployment_delete(), "action"), MissingField, "missing field \"action\""),
        ("unknown action", set("/action", json!("rename")), UnknownEventType, "action \"rename\" is not one of create, update, delete, info"),
        ("action in capitals", set("/action", json!("DELETE")), UnknownEventType, "action \"DELETE\" is not one of create, update, delete, info"),
        ("no date", without(deployment_delete(), "date"), MissingField, "missing field \"date\""),
        ("bad date", set("/date", json!("03/06/2024")), InvalidField, "field \"date\" is \"03/06/2024\", expected an RFC 3339 time such as \"2022-09-30T16:18:55Z\""),
        ("user not a string", set("/user", json!(42)), InvalidField, "field \"user\" is a number, expected a string"),
        ("object name not a string", set("/object_name", json!(3)), InvalidField, "field \"object_name\" is a number, expected a string"),
        ("type with another prefix", ce("com.ibm.cloud.codeengine.secret:create"), UnknownEventType, "\"com.ibm.cloud.codeengine.secret:create\": expected com.ubiops.<object_type>:<action>"),
        ("type with an unknown action", ce("com.ubiops.deployment:rename"), UnknownEventType, "action \"rename\" is not one of create, update, delete, info"),
        ("type not in snake case", ce("com.ubiops.Pipeline object:create"), UnknownEventType, "\"com.ubiops.Pipeline object:create\": the object type is written \"pipeline_object\" in types"),
    ]);
}
