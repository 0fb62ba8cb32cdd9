//! Table-driven tests of normalisation; shared helpers live here, one file per area.

mod activity_tracker;
mod activity_tracker_rejections;
mod cloudevent_rejections;
mod cloudevents;
mod fixtures;
mod fuzz_regressions;
mod lifecycle;
mod passthrough;
mod rejections;
mod ubiops;

use serde_json::{Value, json};

use super::{Notification, RawRecord, RejectReason, Rejection, SourceKind, normalise};

/// The router source id most tests normalise for.
const SOURCE: &str = "rc-lifecycle";

/// A size limit no test event reaches.
const MAX_BYTES: usize = 64 * 1024;

/// Where the example event files live.
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/events");

type Headers<'a> = [(&'a str, Option<&'a [u8]>)];

/// Normalises `bytes` with `headers` for `source_id`.
fn run(source_id: &str, bytes: &[u8], headers: &Headers<'_>) -> Result<Notification, Rejection> {
    let record = RawRecord {
        value: Some(bytes),
        headers,
    };
    normalise(
        source_id,
        SourceKind::ResourceLifecycleEvents,
        &record,
        MAX_BYTES,
    )
}

/// Normalises the JSON `value` (no headers) for [`SOURCE`].
fn run_json(value: &Value) -> Result<Notification, Rejection> {
    run(SOURCE, value.to_string().as_bytes(), &[])
}

/// Normalises `value`, failing the test with the rejection if there is one.
fn accept(value: &Value) -> Notification {
    run_json(value).unwrap_or_else(|rejection| panic!("rejected {value}: {rejection}"))
}

/// A minimal raw lifecycle event of `event_type`: only the required fields.
fn raw_event(event_type: &str) -> Value {
    json!({
        "account_id": "acc-1",
        "event_id": "evt-1",
        "event_type": event_type,
        "timestamp": "2024-01-02T03:04:05Z",
    })
}

/// `value` with the field at `pointer` (e.g. `/context/activity`) set, creating objects on the way.
fn with(mut value: Value, pointer: &str, field: Value) -> Value {
    let (parent, key) = pointer.rsplit_once('/').expect("pointer has a slash");
    let mut target = &mut value;
    for part in parent.split('/').skip(1) {
        target = &mut target[part];
    }
    target[key] = field;
    value
}

/// `value` without the top-level field `key`.
fn without(mut value: Value, key: &str) -> Value {
    value.as_object_mut().expect("an object").remove(key);
    value
}

/// The fixture `name`, as bytes.
fn fixture_bytes(name: &str) -> Vec<u8> {
    let path = format!("{FIXTURES}/{name}");
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// The fixture `name`, parsed.
fn fixture(name: &str) -> Value {
    serde_json::from_slice(&fixture_bytes(name)).expect("fixtures are JSON")
}

/// The string at `pointer` in the notification body.
fn text<'a>(notification: &'a Notification, pointer: &str) -> &'a str {
    notification
        .body
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| {
            panic!("no string at {pointer} in {}", notification.body);
        })
}

/// The rejection of `bytes` with `headers`, failing the test if they are accepted.
fn rejected(bytes: &[u8], headers: &Headers<'_>) -> Rejection {
    match run(SOURCE, bytes, headers) {
        Ok(n) => panic!("accepted {}", n.body),
        Err(rejection) => rejection,
    }
}

/// Checks a table of (case name, value, headers, expected reason, expected detail).
fn check(cases: Vec<(&str, Vec<u8>, &Headers<'_>, RejectReason, &str)>) {
    for (name, bytes, headers, reason, detail) in cases {
        let rejection = rejected(&bytes, headers);
        let found = (rejection.reason, rejection.detail.as_str());
        assert_eq!(found, (reason, detail), "{name}");
    }
}

/// `value` serialised, as a record value.
fn json_bytes(value: Value) -> Vec<u8> {
    value.to_string().into_bytes()
}

/// Normalises `value` with `headers` for a source [`SOURCE`] of `kind`.
fn run_as(
    kind: SourceKind,
    value: &Value,
    headers: &Headers<'_>,
) -> Result<Notification, Rejection> {
    let bytes = value.to_string();
    let record = RawRecord {
        value: Some(bytes.as_bytes()),
        headers,
    };
    normalise(SOURCE, kind, &record, MAX_BYTES)
}

/// Normalises `value` (no headers) for a source of `kind`, failing the test on a rejection.
fn accept_as(kind: SourceKind, value: &Value) -> Notification {
    run_as(kind, value, &[]).unwrap_or_else(|rejection| panic!("rejected {value}: {rejection}"))
}

/// Checks a table of (case name, value, expected reason, expected detail) for a source of `kind`.
fn check_as(kind: SourceKind, cases: Vec<(&str, Value, RejectReason, &str)>) {
    for (name, value, reason, detail) in cases {
        let rejection = match run_as(kind, &value, &[]) {
            Ok(n) => panic!("{name}: accepted {}", n.body),
            Err(rejection) => rejection,
        };
        let found = (rejection.reason, rejection.detail.as_str());
        assert_eq!(found, (reason, detail), "{name}");
    }
}
