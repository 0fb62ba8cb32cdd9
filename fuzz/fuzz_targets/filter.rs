//! The filter language: `Filter::parse` on any text, and every filter that parses evaluated on a
//! fixed, real notification.
//!
//! Input: the filter text (UTF-8; other bytes are skipped, as a YAML file holds text).
//!
//! Beyond not panicking (nor overflowing the stack on deep nesting): an error's column lies
//! within the text or one past it; `explain` agrees with `matches`; and a filter written back as
//! text (what `explain` prints) parses again to the same text and the same result.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use notification_router::event::{RawRecord, SourceKind, normalise};
use notification_router::filter::Filter;
use serde_json::{Value, json};

/// A real notification (a normalised lifecycle event) with values of every JSON type added.
fn notification() -> &'static Value {
    static NOTIFICATION: OnceLock<Value> = OnceLock::new();
    NOTIFICATION.get_or_init(|| {
        let event = include_bytes!("../../examples/events/instance-create.json");
        let record = RawRecord {
            value: Some(event),
            headers: &[],
        };
        let mut body = normalise(
            "fuzz",
            SourceKind::ResourceLifecycleEvents,
            &record,
            1 << 20,
        )
        .expect("the example event normalises")
        .body;
        body["extra"] = json!({
            "list": [1, 2.5, -3, "a", null, true, {"k": [[], {}]}],
            "n": 1e3,
            "big": 18446744073709551615u64,
            "empty": {},
            "text": "é😀\u{0}\n'\"\\",
        });
        body
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let notification = notification();
    let filter = match Filter::parse(text) {
        Ok(filter) => filter,
        Err(error) => {
            let end = text.chars().count() + 1;
            assert!(
                (1..=end).contains(&error.column),
                "column {} outside 1..={end}: {error}",
                error.column
            );
            return;
        }
    };
    assert_eq!(filter.source(), text);
    let matched = filter.matches(notification);
    assert_eq!(
        filter.explain(notification).holds,
        matched,
        "explain agrees"
    );

    let written = filter.expr().to_string();
    let reparsed = Filter::parse(&written)
        .unwrap_or_else(|e| panic!("{text:?} written back as {written:?} does not parse: {e}"));
    assert_eq!(reparsed.expr().to_string(), written, "{text:?}");
    assert_eq!(
        reparsed.matches(notification),
        matched,
        "{text:?} vs {written:?}"
    );
});
