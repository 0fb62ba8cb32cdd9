//! CloudEvents in structured and Kafka binary mode: attributes kept, EN extensions added.

use serde_json::{Value, json};

use super::{Headers, SOURCE, accept, raw_event, run, text, with};
use crate::event::notification_id;

const KEY_CREATE: &str = "com.ibm.cloud.resource-lifecycle-events.key:create";

fn structured() -> Value {
    json!({
        "specversion": "1.0",
        "id": "ce-1",
        "source": "/producers/billing",
        "type": KEY_CREATE,
        "time": "2024-05-06T07:08:09Z",
        "subject": "crn:v1:key",
        "datacontenttype": "application/json",
        "comexampleext": "kept",
        "data": {"hello": "world"},
    })
}

#[test]
fn structured_event_keeps_its_attributes_and_gains_en_extensions() {
    let event = structured();
    let n = accept(&event);
    let id = notification_id(&[SOURCE, "/producers/billing", "ce-1"]);
    let mut expected = event;
    expected["ibmensourceid"] = json!(SOURCE);
    expected["ibmenseverity"] = json!("LOW");
    expected["ibmendefaultshort"] = json!("key create: crn:v1:key");
    expected["ibmendefaultlong"] = json!(
        "Service credentials were created. \
         Event ce-1 from /producers/billing about crn:v1:key at 2024-05-06T07:08:09Z."
    );
    expected["notification_id"] = json!(id);
    assert_eq!(n.body, expected);
    assert_eq!(
        (n.id.as_str(), n.event_type.as_str()),
        (id.as_str(), KEY_CREATE)
    );
}

#[test]
fn given_en_extensions_are_kept_and_missing_ones_derived() {
    let given = json!({"ibmensourceid": SOURCE, "ibmenseverity": "HIGH",
        "ibmendefaultshort": "short", "ibmendefaultlong": "long"});
    let mut all = structured();
    for (key, value) in given.as_object().expect("an object") {
        all[key] = value.clone();
    }
    let n = accept(&all);
    assert_eq!(text(&n, "/ibmenseverity"), "HIGH");
    assert_eq!(text(&n, "/ibmendefaultshort"), "short");
    assert_eq!(text(&n, "/ibmendefaultlong"), "long");

    let only_severity = with(structured(), "/ibmenseverity", json!("MEDIUM"));
    let n = accept(&only_severity);
    assert_eq!(text(&n, "/ibmenseverity"), "MEDIUM");
    assert_eq!(text(&n, "/ibmendefaultshort"), "key create: crn:v1:key");
}

#[test]
fn structured_event_with_base64_data_and_no_subject() {
    let event = with(structured(), "/data_base64", json!("aGVsbG8="));
    let event = super::without(super::without(event, "data"), "subject");
    let n = accept(&event);
    assert_eq!(text(&n, "/data_base64"), "aGVsbG8=");
    assert_eq!(text(&n, "/ibmendefaultshort"), "key create: ce-1");
}

#[test]
fn binary_event_takes_attributes_from_headers_and_data_from_the_value() {
    let data = raw_event("resource-controller.instance.update_failure");
    let data = with(data, "/context/activity/target_name", json!("orders-db"));
    let data = with(data, "/context/activity/outcome", json!("failure"));
    let headers: &Headers<'_> = &[
        ("ce_specversion", Some(b"1.0")),
        ("ce_id", Some(b"b-1")),
        ("ce_source", Some(b"/rc")),
        (
            "ce_type",
            Some(b"com.ibm.cloud.resource-lifecycle-events.instance:update_failure"),
        ),
        ("ce_time", Some(b"2024-01-02T03:04:05+01:00")),
        ("ce_subject", Some(b"crn:v1:db")),
        (
            "ce_traceparent",
            Some(b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        ),
        ("content-type", Some(b"application/json; charset=utf-8")),
        ("x-binary-trace", Some(&[0xff, 0xfe])),
        ("ce_ignored_null", None),
    ];
    let n = run(SOURCE, data.to_string().as_bytes(), headers).expect("accepted");
    let expected = json!({
        "specversion": "1.0",
        "id": "b-1",
        "source": "/rc",
        "type": "com.ibm.cloud.resource-lifecycle-events.instance:update_failure",
        "time": "2024-01-02T03:04:05+01:00",
        "subject": "crn:v1:db",
        "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "datacontenttype": "application/json; charset=utf-8",
        "data": data,
        "ibmensourceid": SOURCE,
        "ibmenseverity": "HIGH",
        "ibmendefaultshort": "instance update_failure: orders-db (failure)",
        "ibmendefaultlong": "Updating a service instance failed. \
            Resource: orders-db. Occurred at 2024-01-02T03:04:05Z. Outcome: failure.",
        "notification_id": notification_id(&[SOURCE, "/rc", "b-1"]),
    });
    assert_eq!(n.body, expected);
}

#[test]
fn binary_event_with_any_json_data_and_own_source_id() {
    let headers: &Headers<'_> = &[
        ("ce_specversion", Some(b"1.0")),
        ("ce_id", Some(b"b-2")),
        ("ce_source", Some(b"/rc")),
        (
            "ce_type",
            Some(b"com.ibm.cloud.resource-lifecycle-events.resource_group:delete"),
        ),
        ("ce_ibmensourceid", Some(SOURCE.as_bytes())),
    ];
    let n = run(SOURCE, b"[1, 2]", headers).expect("accepted");
    assert_eq!(n.body["data"], json!([1, 2]));
    assert_eq!(n.body.get("datacontenttype"), None);
    assert_eq!(text(&n, "/ibmenseverity"), "MEDIUM");
    assert_eq!(
        text(&n, "/ibmendefaultlong"),
        "A resource group was deleted. Event b-2 from /rc."
    );
}
