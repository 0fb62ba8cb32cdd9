//! Event decoding and normalisation (`event::normalise`) with every source kind, on hostile
//! records: any bytes as the value, any CloudEvents binary-mode headers.
//!
//! Input: one flags byte, then the record.
//! - bits 0-1: the source kind, an index into `SourceKind::ALL`;
//! - bit 2: binary mode: the record starts with header lines (`name:value`, or `name` alone for
//!   a header without a value) up to an empty line, and the value follows;
//! - bit 3: a tombstone (no value);
//! - bit 4: a 64-byte size limit instead of the default 256 KiB.
//!
//! Beyond not panicking: a value over the limit is `too-large`; a notification carries the id,
//! type and source it reports, is the same when normalised again, and survives JSON.

#![no_main]

use libfuzzer_sys::fuzz_target;
use notification_router::event::{RawRecord, RejectReason, SourceKind, normalise};

const SOURCE_ID: &str = "fuzz-source";

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let kind = SourceKind::ALL[usize::from(flags & 3)];
    let (head, value) = if flags & 4 != 0 {
        match rest.windows(2).position(|w| w == b"\n\n") {
            Some(end) => (&rest[..end], &rest[end + 2..]),
            None => (rest, &[][..]),
        }
    } else {
        (&[][..], rest)
    };
    let headers: Vec<(&str, Option<&[u8]>)> = head
        .split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .filter_map(|line| match line.iter().position(|&b| b == b':') {
            Some(colon) => Some((
                std::str::from_utf8(&line[..colon]).ok()?,
                Some(&line[colon + 1..]),
            )),
            None => Some((std::str::from_utf8(line).ok()?, None)),
        })
        .collect();
    let value = (flags & 8 == 0).then_some(value);
    let max_bytes = if flags & 16 != 0 { 64 } else { 256 * 1024 };
    let record = RawRecord {
        value,
        headers: &headers,
    };

    let result = normalise(SOURCE_ID, kind, &record, max_bytes);
    if value.is_some_and(|v| v.len() > max_bytes) {
        let rejection = result
            .as_ref()
            .expect_err("a value over the limit is rejected");
        assert_eq!(rejection.reason, RejectReason::TooLarge);
        return;
    }
    let notification = match result {
        Ok(notification) => notification,
        Err(rejection) => {
            assert!(!rejection.detail.is_empty(), "a rejection says why");
            return;
        }
    };
    assert_eq!(notification.source_id, SOURCE_ID);
    let body = notification
        .body
        .as_object()
        .expect("the body is an object");
    assert_eq!(body["notification_id"], notification.id.as_str());
    assert_eq!(body["type"], notification.event_type.as_str());
    assert_eq!(
        body["ibmensourceid"], SOURCE_ID,
        "a notification cannot claim another source"
    );
    assert_eq!(notification.id.len(), 36, "a UUID: {}", notification.id);

    let again = normalise(SOURCE_ID, kind, &record, max_bytes).expect("normalises again");
    assert_eq!(again.id, notification.id, "ids are deterministic");
    assert_eq!(again.body, notification.body);

    let text = serde_json::to_string(&notification.body).expect("serialises");
    let back: serde_json::Value = serde_json::from_str(&text).expect("reads back");
    assert_eq!(back, notification.body);
});
