//! Inputs the fuzz targets in `fuzz/` found to break a property, kept as regression tests (the
//! record exactly as the fuzzer wrote it, then the property in general).

use serde_json::Value;

use super::{Headers, MAX_BYTES, SOURCE};
use crate::event::{RawRecord, SourceKind, normalise};

/// The notification body written as JSON and read back is the body itself: what a filter saw
/// is what a receiver gets.
fn assert_round_trips(kind: SourceKind, value: &[u8], headers: &Headers<'_>) {
    let record = RawRecord {
        value: Some(value),
        headers,
    };
    let notification = normalise(SOURCE, kind, &record, MAX_BYTES).expect("accepted");
    let written = serde_json::to_string(&notification.body).expect("serialises");
    let read: Value = serde_json::from_str(&written).expect("reads back");
    assert_eq!(
        read,
        notification.body,
        "{}",
        String::from_utf8_lossy(value)
    );
}

/// fuzz/normalise, `crash-60376a5404a1384f05eeee4593fc6b1c68430a2d`: `33333166666666666666666`,
/// an integer too large for 64 bits and so a float, was read (serde_json's fast float parsing)
/// as 3.3333166666666662e22, one step from the nearest double, and written back as a text that
/// reads as 3.3333166666666666e22. Fixed by serde_json's `float_roundtrip`: floats are read
/// exactly, so writing and reading back is the identity.
#[test]
fn a_large_number_reads_back_as_the_same_number() {
    let headers: &Headers<'_> = &[
        ("ce_specversion", Some(b"1.0")),
        ("ce_id", Some(b"42")),
        ("ce_source", Some(b"/s")),
        ("ce_type", Some(b"comXamt\x03\x08\0\0\x01\0\x01\0\0n")),
    ];
    let value = br#"{"a":[2,33333166666666666666666]}"#;
    assert_round_trips(SourceKind::Cloudevents, value, headers);

    for number in [
        "33333166666666666666666",
        "18446744073709551616",
        "-9223372036854775809",
        "0.1",
        "2.2250738585072011e-308",
        "4.9406564584124654e-324",
        "1.7976931348623157e308",
        "123456789012345678901234567890e-10",
    ] {
        let event = format!(
            r#"{{"account_id":"acc-1","event_id":"evt-1","event_type":"resource-controller.instance.create","timestamp":"2024-01-02T03:04:05Z","event_properties":{{"n":{number}}}}}"#
        );
        assert_round_trips(SourceKind::ResourceLifecycleEvents, event.as_bytes(), &[]);
    }
}
