//! The ledger's records (authenticated, keyed by `webhook-id`, invalid ones refused) and its
//! store (latest entry per delivery, by notification, filtered pages, pruning, reopened).

use std::sync::Arc;

use chrono::{TimeDelta, Utc};
use serde_json::json;

use super::record::{self, Entry, Invalid, Read, State, Stored};
use super::store::{Query, Store};
use crate::dispatch::{AttemptLog, Job, Origin};
use crate::event::Notification;
use crate::kafka::{AUTH_HEADER, InternalKey, Unauthentic};

const TOPIC: &str = "notification-router.ledger";

fn key() -> InternalKey {
    InternalKey::new(b"0123456789abcdef0123456789abcdef")
}

fn job(webhook_id: &str, notification: &str, subscription: &str) -> Job {
    let notification = Notification {
        id: notification.into(),
        source_id: "lifecycle".into(),
        event_type: "t".into(),
        body: json!({"id": "e-1"}),
    };
    let origin = Origin {
        topic: "lifecycle".into(),
        partition: 0,
        offset: 1,
    };
    let body = Arc::new(notification.body.clone());
    let mut job = Job::new(
        &notification,
        body,
        subscription,
        "hook",
        webhook_id,
        origin,
    );
    job.attempts = 2;
    job.record(vec![
        AttemptLog::new(
            Utc::now(),
            std::time::Duration::from_millis(12),
            Some(503),
            Some("busy"),
        ),
        AttemptLog::new(
            Utc::now(),
            std::time::Duration::from_millis(8),
            Some(200),
            None,
        ),
    ]);
    job
}

fn entry(webhook_id: &str, notification: &str, subscription: &str, state: State) -> Entry {
    Entry::of(
        &job(webhook_id, notification, subscription),
        state,
        None,
        "router test",
    )
}

fn signed(record_key: &str, value: Option<&[u8]>) -> Result<Read, Invalid> {
    let code = key().sign(TOPIC, Some(record_key.as_bytes()), value, &[]);
    record::decode(
        &key(),
        TOPIC,
        Some(record_key.as_bytes()),
        value,
        &[(AUTH_HEADER, Some(code.as_bytes()))],
    )
}

#[test]
fn an_entry_round_trips_with_its_attempts_and_invalid_records_are_refused() {
    let entry = entry("msg_1", "n-1", "to-hook", State::Delivered);
    let value = entry.to_json();
    assert_eq!(
        signed("msg_1", Some(&value)),
        Ok(Read::Set(Stored::of(&entry)))
    );
    let shown = entry.shown();
    assert_eq!(shown["history"][0]["status"], 503);
    assert_eq!(shown["history"][1]["status"], 200);
    assert!(shown.get("notification").is_none(), "{shown}");
    assert_eq!(signed("msg_1", None), Ok(Read::Removed("msg_1".into())));
    assert!(matches!(
        signed("msg_2", Some(&value)),
        Err(Invalid::KeyMismatch { .. })
    ));
    assert!(matches!(
        signed("msg_1", Some(b"{}")),
        Err(Invalid::BadValue(_))
    ));
    // Checked whole, though the notification is not built: a field of the wrong kind is refused.
    let mut wrong: serde_json::Value = serde_json::from_slice(&value).unwrap();
    wrong["state"] = "lost".into();
    assert!(matches!(
        signed("msg_1", Some(&serde_json::to_vec(&wrong).unwrap())),
        Err(Invalid::BadValue(_))
    ));
    let mut cut = value.clone();
    cut.truncate(value.len() - 2);
    assert!(matches!(
        signed("msg_1", Some(&cut)),
        Err(Invalid::BadValue(_))
    ));
    let unsigned = record::decode(&key(), TOPIC, Some(b"msg_1"), Some(&value), &[]);
    assert_eq!(unsigned, Err(Invalid::Unauthentic(Unauthentic::Missing)));
    let resent = entry.resend();
    assert_eq!(
        (resent.webhook_id.as_str(), resent.subscription.as_str()),
        ("msg_1", "to-hook")
    );
}

#[test]
fn the_store_keeps_the_latest_entry_lists_pages_prunes_and_survives_a_reopen() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("data/ledger.redb");
    let store = Store::open(&path).expect("the store opens");
    let set = |e: Entry| Some(Read::Set(Stored::of(&e)));
    store
        .apply(vec![
            (0, 0, set(entry("msg_a", "n-1", "to-hook", State::Retrying))),
            (
                0,
                1,
                set(entry("msg_b", "n-1", "to-mail", State::Delivered)),
            ),
            (
                0,
                2,
                set(entry("msg_c", "n-2", "to-hook", State::DeadLettered)),
            ),
            (0, 3, None),
            (
                0,
                4,
                set(entry("msg_a", "n-1", "to-hook", State::Delivered)),
            ),
        ])
        .expect("applied");
    assert_eq!(store.offsets().expect("offsets"), vec![(0, 5)]);
    let got = store.get("msg_a").expect("read").expect("stored");
    assert_eq!(got.state, State::Delivered, "the latest entry wins");
    let of_n1: Vec<String> = store
        .of_notification("n-1")
        .expect("read")
        .into_iter()
        .map(|e| e.webhook_id)
        .collect();
    assert_eq!(of_n1, ["msg_a", "msg_b"]);
    let page = |query: Query| -> Vec<String> {
        store
            .list(&query)
            .expect("listed")
            .into_iter()
            .map(|e| e.webhook_id)
            .collect()
    };
    let all = Query {
        limit: 2,
        ..Query::default()
    };
    assert_eq!(page(all.clone()), ["msg_a", "msg_b"]);
    let next = Query {
        after: Some("msg_b".into()),
        ..all.clone()
    };
    assert_eq!(page(next), ["msg_c"]);
    let hook = Query {
        subscription: Some("to-hook".into()),
        state: Some("dead_lettered".into()),
        ..all.clone()
    };
    assert_eq!(page(hook), ["msg_c"]);
    store
        .apply(vec![(0, 5, Some(Read::Removed("msg_b".into())))])
        .expect("applied");
    assert_eq!(store.get("msg_b").expect("read"), None);
    assert_eq!(store.of_notification("n-1").expect("read").len(), 1);
    drop(store);

    let store = Store::open(&path).expect("the store opens again");
    assert_eq!(store.offsets().expect("offsets"), vec![(0, 6)]);
    assert_eq!(
        store
            .prune(Utc::now() - TimeDelta::hours(1))
            .expect("pruned"),
        0
    );
    assert_eq!(
        store
            .prune(Utc::now() + TimeDelta::hours(1))
            .expect("pruned"),
        2
    );
    assert_eq!(store.list(&all).expect("listed"), vec![]);
}
