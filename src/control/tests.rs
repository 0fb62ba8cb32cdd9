//! The control record format: authenticated, keyed by what it sets, applied latest-wins, and
//! every kind of invalid record refused with its reason.

use super::record::{self, Change, ControlRecord, Invalid, Read, decode};
use super::state::{Applied, ControlState};
use crate::kafka::{AUTH_HEADER, InternalKey, Unauthentic};

const TOPIC: &str = "notification-router.control";

fn key() -> InternalKey {
    InternalKey::new(b"0123456789abcdef0123456789abcdef")
}

/// Decodes a record signed with the test key.
fn signed(record_key: &str, value: Option<&[u8]>) -> Result<Read, Invalid> {
    let code = record::sign(&key(), TOPIC, record_key, value);
    decode(
        &key(),
        TOPIC,
        Some(record_key.as_bytes()),
        value,
        &[(AUTH_HEADER, Some(code.as_bytes()))],
    )
}

#[test]
fn a_record_round_trips_with_its_kind_who_and_when() {
    let record = ControlRecord::new(
        Change::Destination {
            id: "hooks".into(),
            enabled: false,
            reason: Some("it answered 410 Gone".into()),
        },
        "admin",
    );
    let value = record.value();
    let json: serde_json::Value = serde_json::from_slice(&value).expect("JSON");
    assert_eq!(json["kind"], "destination");
    assert_eq!(json["v"], 1);
    assert_eq!(json["by"], "admin");
    assert!(json["at"].is_string(), "{json}");
    assert_eq!(
        signed("destination/hooks", Some(&value)),
        Ok(Read::Set(record))
    );
    assert_eq!(
        signed("source/lifecycle", None),
        Ok(Read::Cleared {
            kind: "source".into(),
            id: "lifecycle".into()
        })
    );
}

#[test]
fn invalid_records_are_refused_with_their_reason() {
    let value = ControlRecord::new(
        Change::Source {
            id: "lifecycle".into(),
            enabled: true,
        },
        "admin",
    )
    .value();
    let unsigned = decode(&key(), TOPIC, Some(b"source/lifecycle"), Some(&value), &[]);
    assert_eq!(unsigned, Err(Invalid::Unauthentic(Unauthentic::Missing)));
    let other = InternalKey::new(b"another key of thirty-two bytes!");
    let code = record::sign(&other, TOPIC, "source/lifecycle", Some(&value));
    let forged = decode(
        &key(),
        TOPIC,
        Some(b"source/lifecycle"),
        Some(&value),
        &[(AUTH_HEADER, Some(code.as_bytes()))],
    );
    assert_eq!(forged, Err(Invalid::Unauthentic(Unauthentic::Invalid)));
    assert!(matches!(
        signed("source/other", Some(&value)),
        Err(Invalid::KeyMismatch { .. })
    ));
    assert!(matches!(
        signed("lifecycle", Some(&value)),
        Err(Invalid::BadKey(_))
    ));
    assert!(matches!(
        signed("source/lifecycle", Some(b"not json")),
        Err(Invalid::BadValue(_))
    ));
    let unknown = br#"{"v":1,"kind":"weather","id":"x","by":"admin","at":"2026-12-02T07:00:00Z"}"#;
    assert!(matches!(
        signed("weather/x", Some(unknown)),
        Err(Invalid::BadValue(_))
    ));
    let later = br#"{"v":2,"kind":"source","id":"lifecycle","enabled":true,"by":"a","at":"2026-12-02T07:00:00Z"}"#;
    assert_eq!(
        signed("source/lifecycle", Some(later)),
        Err(Invalid::Version(2))
    );
}

#[test]
fn the_latest_record_per_key_is_in_effect_and_a_tombstone_clears_it() {
    let mut state = ControlState::default();
    let set = |change| Read::Set(ControlRecord::new(change, "admin"));
    let off = Change::Source {
        id: "lifecycle".into(),
        enabled: false,
    };
    assert_eq!(state.apply(set(off)), Applied::Sources);
    assert_eq!(state.source("lifecycle").map(|(on, _)| on), Some(false));
    let on = Change::Source {
        id: "lifecycle".into(),
        enabled: true,
    };
    state.apply(set(on));
    assert_eq!(
        state.source("lifecycle").map(|(on, set)| (on, set.by)),
        Some((true, "admin".into()))
    );
    state.apply(Read::Cleared {
        kind: "source".into(),
        id: "lifecycle".into(),
    });
    assert_eq!(state.source("lifecycle"), None);

    let disabled = Change::Destination {
        id: "hooks".into(),
        enabled: false,
        reason: Some("it answered 410 Gone".into()),
    };
    assert_eq!(state.apply(set(disabled)), Applied::Destination);
    assert_eq!(
        state.destination_disabled("hooks").map(|(why, _)| why),
        Some("it answered 410 Gone".into())
    );
    let enabled = Change::Destination {
        id: "hooks".into(),
        enabled: true,
        reason: None,
    };
    state.apply(set(enabled));
    assert_eq!(state.destination_disabled("hooks"), None);

    let paused = Change::Subscription {
        id: "to-hooks".into(),
        paused: true,
    };
    assert_eq!(state.apply(set(paused)), Applied::Subscriptions);
    assert!(state.paused("to-hooks").is_some());
    assert!(state.paused("other").is_none());
    assert_eq!(state.records().count(), 2);
}

#[test]
fn overrides_apply_over_the_files_configuration() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("router.yaml");
    let mut config = crate::config::load_with(&path, &|_| None).expect("the shipped config loads");
    let id = config.table.sources()[0].id.clone();
    let was = config.table.sources()[0].enabled;
    let mut state = ControlState::default();
    state.apply(Read::Set(ControlRecord::new(
        Change::Source {
            id: id.clone(),
            enabled: !was,
        },
        "admin",
    )));
    state.apply(Read::Set(ControlRecord::new(
        Change::Source {
            id: "not-in-the-files".into(),
            enabled: true,
        },
        "admin",
    )));
    state.overlay(&mut config);
    assert_eq!(config.table.sources()[0].enabled, !was);
    assert_eq!(config.router.sources[0].enabled, !was);
}
