//! Rejections of records that are not JSON objects and of raw events, with their exact details.

use serde_json::{Value, json};

use super::{MAX_BYTES, SOURCE, check, json_bytes, raw_event, with, without};
use crate::event::{RawRecord, RejectReason, Rejection, SourceKind, normalise};

use RejectReason::*;

#[test]
fn reasons_have_stable_codes_and_display() {
    let codes = RejectReason::ALL.map(RejectReason::code);
    let expected = [
        "too-large",
        "not-utf8",
        "not-json",
        "missing-field",
        "invalid-field",
    ];
    assert_eq!(codes[..5], expected);
    assert_eq!(codes[5..], ["unknown-event-type", "unknown-source"]);
    let rejection = Rejection::new(MissingField, "missing field \"event_id\"");
    assert_eq!(
        rejection.to_string(),
        "missing-field: missing field \"event_id\""
    );
}

#[test]
fn tombstone_and_bytes_that_are_not_a_json_object() {
    let record = RawRecord {
        value: None,
        headers: &[],
    };
    let tombstone = normalise(
        SOURCE,
        SourceKind::ResourceLifecycleEvents,
        &record,
        MAX_BYTES,
    );
    assert_eq!(
        tombstone.map(|n| n.id),
        Err(Rejection::new(NotJson, "record has no value"))
    );
    let huge = "record value is 65537 bytes, over the limit of 65536 bytes";
    check(vec![
        (
            "too large, checked before UTF-8",
            vec![0xff; MAX_BYTES + 1],
            &[],
            TooLarge,
            huge,
        ),
        (
            "invalid UTF-8",
            b"{\"a\": \"\xff\"}".to_vec(),
            &[],
            NotUtf8,
            "invalid UTF-8 at byte offset 7",
        ),
        (
            "not JSON",
            b"{\"a\": tru}".to_vec(),
            &[],
            NotJson,
            "expected ident at line 1 column 10",
        ),
        (
            "empty",
            Vec::new(),
            &[],
            NotJson,
            "EOF while parsing a value at line 1 column 0",
        ),
        (
            "array",
            b"[1]".to_vec(),
            &[],
            InvalidField,
            "record value is an array, expected an object",
        ),
        (
            "string",
            b"\"x\"".to_vec(),
            &[],
            InvalidField,
            "record value is a string, expected an object",
        ),
    ]);
}

#[test]
fn raw_events_with_missing_or_invalid_fields() {
    let event = || raw_event("resource-controller.instance.create");
    let set = |pointer, value| json_bytes(with(event(), pointer, value));
    let mut cases = Vec::new();
    for field in ["account_id", "event_id", "event_type", "timestamp"] {
        let detail = format!("missing field \"{field}\"");
        cases.push((
            field,
            json_bytes(without(event(), field)),
            MissingField,
            detail,
        ));
    }
    let invalid = [
        (
            "/account_id",
            json!(42),
            "field \"account_id\" is a number, expected a string",
        ),
        ("/event_id", json!(""), "field \"event_id\" is empty"),
        (
            "/event_type",
            Value::Null,
            "field \"event_type\" is null, expected a string",
        ),
        (
            "/timestamp",
            json!("yesterday"),
            "field \"timestamp\" is \"yesterday\", expected an RFC 3339 time such as \"2022-09-30T16:18:55Z\"",
        ),
        (
            "/timestamp",
            json!("2022-09-30T16:18:55"),
            "field \"timestamp\" is \"2022-09-30T16:18:55\", expected an RFC 3339 time such as \"2022-09-30T16:18:55Z\"",
        ),
        (
            "/context",
            json!("me"),
            "field \"context\" is a string, expected an object",
        ),
        (
            "/context/activity/reason_reasonCode",
            json!("201"),
            "field \"context.activity.reason_reasonCode\" is a string, expected a number",
        ),
        (
            "/event_properties/last_operation/type",
            json!(1),
            "field \"event_properties.last_operation.type\" is a number, expected a string",
        ),
        (
            "/event_properties/crn",
            json!(["crn"]),
            "field \"event_properties.crn\" is an array, expected a string",
        ),
    ];
    for (pointer, value, detail) in invalid {
        cases.push((
            pointer,
            set(pointer, value),
            InvalidField,
            detail.to_owned(),
        ));
    }
    let instance_sub_types = "apply_promo_code, create, create_failure, create_inprogress, delete, \
        delete_failure, delete_inprogress, restore, schedule_reclaim, update, update_failure, \
        update_inprogress, update_plan, update_plan_failure, update_plan_inprogress, update_state, \
        update_state_failure";
    let unknown = [
        ("instance.create", "\"instance.create\": expected resource-controller.<type>.<sub_type>".to_owned()),
        ("resource-controller.instance", "\"resource-controller.instance\": expected resource-controller.<type>.<sub_type>".to_owned()),
        ("resource-controller.volume.create", "\"resource-controller.volume.create\": type \"volume\" is not one of instance, key, resource_group".to_owned()),
        ("resource-controller.instance.explode", format!("\"resource-controller.instance.explode\": sub-type \"explode\" is not in the catalogue for \"instance\" (valid: {instance_sub_types})")),
        ("resource-controller.key.update", "\"resource-controller.key.update\": sub-type \"update\" is not in the catalogue for \"key\" (valid: create, create_failure, delete, delete_failure)".to_owned()),
        ("resource-controller.resource_group.Create", "\"resource-controller.resource_group.Create\": sub-type \"Create\" is not in the catalogue for \"resource_group\" (valid: create, delete, update)".to_owned()),
    ];
    for (event_type, detail) in unknown {
        cases.push((
            event_type,
            set("/event_type", json!(event_type)),
            UnknownEventType,
            detail,
        ));
    }
    check(
        cases
            .iter()
            .map(|(n, b, r, d)| (*n, b.clone(), &[][..], *r, d.as_str()))
            .collect(),
    );
}
