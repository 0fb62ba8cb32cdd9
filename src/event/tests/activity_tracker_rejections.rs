//! Activity Tracker events that are rejected, each with its reason and exact detail.

use serde_json::json;

use super::{check_as, with, without};
use crate::event::RejectReason::*;
use crate::event::SourceKind;

fn minimal() -> serde_json::Value {
    json!({"action": "codeengine.secret.create", "outcome": "success",
           "eventTime": "2024-10-09T14:03:27.52+0000"})
}

#[test]
fn audit_events_with_missing_or_invalid_fields() {
    let set = |pointer, value| with(minimal(), pointer, value);
    let not_action = |action: &str| {
        format!(
            "action \"{action}\" is not <service>.<resource>[.<sub>].<verb>, \
             each part letters, digits, '-' or '_'"
        )
    };
    let shapes = [
        "codeengine",
        "codeengine.create",
        "codeengine..create",
        "a.b.c.d.e",
        "codeengine.secret.créer",
        "codeengine.secret/x.create",
    ];
    let shape_details: Vec<String> = shapes.iter().map(|a| not_action(a)).collect();
    let mut cases = vec![
        (
            "not an object",
            json!(["codeengine.secret.create"]),
            InvalidField,
            "record value is an array, expected an object",
        ),
        (
            "no action",
            without(minimal(), "action"),
            MissingField,
            "missing field \"action\"",
        ),
        (
            "empty action",
            set("/action", json!("")),
            InvalidField,
            "field \"action\" is empty",
        ),
        (
            "action not a string",
            set("/action", json!(7)),
            InvalidField,
            "field \"action\" is a number, expected a string",
        ),
        (
            "no outcome",
            without(minimal(), "outcome"),
            MissingField,
            "missing field \"outcome\"",
        ),
        (
            "bad outcome",
            set("/outcome", json!("ok")),
            InvalidField,
            "field \"outcome\" is \"ok\", expected success, pending or failure",
        ),
        (
            "outcome in capitals",
            set("/outcome", json!("SUCCESS")),
            InvalidField,
            "field \"outcome\" is \"SUCCESS\", expected success, pending or failure",
        ),
        (
            "outcome not a string",
            set("/outcome", json!(true)),
            InvalidField,
            "field \"outcome\" is a boolean, expected a string",
        ),
        (
            "no eventTime",
            without(minimal(), "eventTime"),
            MissingField,
            "missing field \"eventTime\"",
        ),
        (
            "bad eventTime",
            set("/eventTime", json!("yesterday")),
            InvalidField,
            "field \"eventTime\" is \"yesterday\", expected an RFC 3339 time such as \"2022-09-30T16:18:55Z\"",
        ),
        (
            "target not an object",
            set("/target", json!("alpha")),
            InvalidField,
            "field \"target\" is a string, expected an object",
        ),
        (
            "target name not a string",
            set("/target", json!({"name": 1})),
            InvalidField,
            "field \"target.name\" is a number, expected a string",
        ),
        (
            "initiator id not a string",
            set("/initiator", json!({"id": []})),
            InvalidField,
            "field \"initiator.id\" is an array, expected a string",
        ),
        (
            "reason code not a number",
            set("/reason", json!({"reasonCode": "409"})),
            InvalidField,
            "field \"reason.reasonCode\" is a string, expected a number",
        ),
        (
            "reasonForFailure not a string",
            set("/reason", json!({"reasonForFailure": {}})),
            InvalidField,
            "field \"reason.reasonForFailure\" is an object, expected a string",
        ),
        (
            "responseData a number",
            set("/responseData", json!(16384)),
            InvalidField,
            "field \"responseData\" is a number, expected an object or a string",
        ),
        (
            "requestData an array",
            set("/requestData", json!([])),
            InvalidField,
            "field \"requestData\" is an array, expected an object or a string",
        ),
        (
            "message not a string",
            set("/message", json!(false)),
            InvalidField,
            "field \"message\" is a boolean, expected a string",
        ),
    ];
    for (action, detail) in shapes.iter().zip(&shape_details) {
        cases.push((
            "action of another shape",
            set("/action", json!(action)),
            UnknownEventType,
            detail,
        ));
    }
    check_as(SourceKind::ActivityTracker, cases);
}

#[test]
fn cloudevents_whose_type_is_not_an_activity_tracker_type() {
    let ce =
        |ce_type: &str| json!({"specversion": "1.0", "id": "1", "source": "/x", "type": ce_type});
    check_as(
        SourceKind::ActivityTracker,
        vec![
            (
                "another prefix",
                ce("com.ubiops.deployment:delete"),
                UnknownEventType,
                "\"com.ubiops.deployment:delete\": expected com.ibm.cloud.<service>.<resource>[.<sub>]:<verb>",
            ),
            (
                "dots for the verb",
                ce("com.ibm.cloud.codeengine.secret.create"),
                UnknownEventType,
                "\"com.ibm.cloud.codeengine.secret.create\": expected com.ibm.cloud.<service>.<resource>[.<sub>]:<verb>",
            ),
            (
                "no resource",
                ce("com.ibm.cloud.codeengine:create"),
                UnknownEventType,
                "\"com.ibm.cloud.codeengine:create\": expected com.ibm.cloud.<service>.<resource>[.<sub>]:<verb>, each part letters, digits, '-' or '_'",
            ),
        ],
    );
}
