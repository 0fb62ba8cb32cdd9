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

fn silence(id: &str, matcher: &str, ends_in: chrono::TimeDelta) -> crate::silence::Silence {
    let now = chrono::Utc::now();
    crate::silence::Silence {
        id: id.into(),
        matcher: matcher.into(),
        scope: crate::silence::Scope {
            destination: Some("hooks".into()),
            ..Default::default()
        },
        starts_at: now - chrono::TimeDelta::hours(1),
        ends_at: now + ends_in,
        created_by: "admin".into(),
        comment: "maintenance".into(),
        updated_at: now,
    }
}

#[test]
fn a_silence_is_a_record_of_its_own_kind_keyed_by_its_id() {
    let made = silence("s-1", "$.type == 'x'", chrono::TimeDelta::hours(1));
    let record = ControlRecord::new(Change::Silence(made.clone()), "admin");
    assert_eq!(record.change.key(), "silence/s-1");
    let value = record.value();
    let json: serde_json::Value = serde_json::from_slice(&value).expect("JSON");
    assert_eq!(json["kind"], "silence");
    assert_eq!(json["id"], "s-1");
    assert_eq!(json["matcher"], "$.type == 'x'");
    assert_eq!(json["scope"]["destination"], "hooks");
    assert_eq!(json["by"], "admin");
    assert_eq!(
        signed("silence/s-1", Some(&value)),
        Ok(Read::Set(record.clone()))
    );
    assert!(matches!(
        signed("silence/s-2", Some(&value)),
        Err(Invalid::KeyMismatch { .. })
    ));
    assert_eq!(
        signed("silence/s-1", None),
        Ok(Read::Cleared {
            kind: "silence".into(),
            id: "s-1".into()
        })
    );
}

#[test]
fn a_silence_record_that_is_not_a_valid_silence_is_refused() {
    let unparsable = silence("s-1", "$.type ==", chrono::TimeDelta::hours(1));
    let value = ControlRecord::new(Change::Silence(unparsable), "admin").value();
    assert!(matches!(
        signed("silence/s-1", Some(&value)),
        Err(Invalid::Silence(crate::silence::SilenceError::Matcher(_)))
    ));
    let mut backwards = silence("s-2", "$.type == 'x'", chrono::TimeDelta::hours(1));
    backwards.ends_at = backwards.starts_at;
    let value = ControlRecord::new(Change::Silence(backwards), "admin").value();
    assert_eq!(
        signed("silence/s-2", Some(&value)),
        Err(Invalid::Silence(crate::silence::SilenceError::Ends))
    );
    let no_matcher =
        br#"{"v":1,"kind":"silence","id":"s-3","by":"admin","at":"2026-12-02T07:00:00Z"}"#;
    assert!(matches!(
        signed("silence/s-3", Some(no_matcher)),
        Err(Invalid::BadValue(_))
    ));
}

#[test]
fn silences_ended_long_ago_are_the_ones_to_clear_and_a_takeover_is_remembered() {
    let mut state = ControlState::default();
    let set = |change| Read::Set(ControlRecord::new(change, "admin"));
    let active = silence("active", "$.a", chrono::TimeDelta::hours(1));
    let just_ended = silence("just-ended", "$.a", chrono::TimeDelta::hours(-1));
    let long_ended = silence("long-ended", "$.a", chrono::TimeDelta::days(-6));
    for s in [active, just_ended, long_ended] {
        assert_eq!(state.apply(set(Change::Silence(s))), Applied::Silence);
    }
    assert!(state.has_silence("just-ended"));
    assert_eq!(
        state.silences_ended(chrono::Utc::now()),
        vec!["long-ended".to_owned()]
    );
    state.apply(Read::Cleared {
        kind: "silence".into(),
        id: "long-ended".into(),
    });
    assert!(!state.has_silence("long-ended"));
    assert!(!state.taken_over("old.silences"));
    state.apply(set(Change::Takeover {
        id: "old.silences".into(),
    }));
    assert!(state.taken_over("old.silences"));
}

#[tokio::test]
async fn a_silence_read_back_mutes_and_its_tombstone_forgets_it() {
    let control = super::Control::new(TOPIC, key(), None);
    let made = silence("s-1", "$.type == 'x'", chrono::TimeDelta::hours(1));
    let read = Read::Set(ControlRecord::new(Change::Silence(made), "admin"));
    control.apply(read, 0, 0).await;
    let delivery = crate::silence::Delivery {
        topic: "all",
        subscription: "to-hooks",
        destination: "hooks",
    };
    let event = serde_json::json!({"type": "x"});
    let muting = control
        .silences()
        .muting(&event, delivery, chrono::Utc::now());
    assert_eq!(muting.map(|s| s.id.clone()), Some("s-1".to_owned()));
    control
        .apply(
            Read::Cleared {
                kind: "silence".into(),
                id: "s-1".into(),
            },
            0,
            1,
        )
        .await;
    assert!(control.silences().list().is_empty());
    assert!(!control.state().has_silence("s-1"));
}
