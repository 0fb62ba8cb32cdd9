//! Groups: when a digest is due, what it carries, and a crash's records read back.

use chrono::TimeDelta;
use serde_json::json;

use super::*;
use crate::consumer::OffsetTracker;
use crate::dispatch::{Job, Origin};
use crate::event::Notification;

const KEY: &str = "sub\n{}";

fn timing() -> Timing {
    Timing {
        wait: Duration::from_secs(2),
        interval: Duration::from_secs(10),
        max_items: 3,
    }
}

/// The group of [`KEY`] on partition 0.
fn group_id() -> GroupId {
    (0, KEY.into())
}

fn held(tracker: &mut OffsetTracker, offset: i64, entered_at: DateTime<Utc>) -> Held {
    held_on(tracker, 0, offset, entered_at)
}

fn held_on(
    tracker: &mut OffsetTracker,
    partition: i32,
    offset: i64,
    entered_at: DateTime<Utc>,
) -> Held {
    let webhook_id = format!("msg_{partition}_{offset}");
    held_as(tracker, partition, offset, entered_at, &webhook_id)
}

/// An entry at `offset` of `partition` for the delivery `webhook_id`.
fn held_as(
    tracker: &mut OffsetTracker,
    partition: i32,
    offset: i64,
    entered_at: DateTime<Utc>,
    webhook_id: &str,
) -> Held {
    let notification = Notification {
        id: format!("n-{offset}"),
        source_id: "lifecycle".into(),
        event_type: "t".into(),
        body: json!({"n": offset}),
    };
    let origin = Origin {
        topic: "lifecycle".into(),
        partition: 0,
        offset,
    };
    let body = std::sync::Arc::new(notification.body.clone());
    let job = Job::new(&notification, body, "sub", "hook", webhook_id, origin);
    let mut entry = Entry::new(&job, Map::new());
    entry.entered_at = entered_at;
    Held {
        ticket: tracker.begin("digest", partition, offset),
        entry,
    }
}

fn offsets(batch: &Batch) -> Vec<i64> {
    batch.members.iter().map(|m| m.ticket.offset).collect()
}

#[test]
fn the_first_entry_waits_then_the_group_goes_as_one_digest() {
    let (mut tracker, mut groups, t0) = (OffsetTracker::default(), Groups::default(), Utc::now());
    groups.hold(KEY.into(), held(&mut tracker, 0, t0));
    groups.hold(
        KEY.into(),
        held(&mut tracker, 1, t0 + TimeDelta::seconds(1)),
    );
    assert_eq!(
        groups.next_due(|_| timing()),
        Some(t0 + TimeDelta::seconds(2))
    );
    assert!(
        groups
            .take_due(t0 + TimeDelta::seconds(1), |_| timing())
            .is_empty()
    );
    let due = groups.take_due(t0 + TimeDelta::seconds(2), |_| timing());
    assert_eq!(due.len(), 1);
    assert_eq!(offsets(&due[0]), [0, 1]);
    assert!(!due[0].sealed);
    let members = due[0].members.iter().map(|m| &m.entry.job);
    assert_eq!(due[0].id, digest_id(KEY, members));
    assert_eq!(groups.next_due(|_| timing()), None, "one digest at a time");
}

#[test]
fn after_a_digest_the_next_waits_for_the_interval_and_a_full_group_goes_at_once() {
    let (mut tracker, mut groups, t0) = (OffsetTracker::default(), Groups::default(), Utc::now());
    groups.hold(KEY.into(), held(&mut tracker, 0, t0));
    let first = groups.take_due(t0 + TimeDelta::seconds(2), |_| timing());
    groups.finished(&group_id(), &first[0].id, Some(t0 + TimeDelta::seconds(2)));
    groups.hold(
        KEY.into(),
        held(&mut tracker, 1, t0 + TimeDelta::seconds(3)),
    );
    assert_eq!(
        groups.next_due(|_| timing()),
        Some(t0 + TimeDelta::seconds(12))
    );
    for offset in 2..5 {
        groups.hold(
            KEY.into(),
            held(&mut tracker, offset, t0 + TimeDelta::seconds(3)),
        );
    }
    let full = groups.take_due(t0 + TimeDelta::seconds(4), |_| timing());
    assert_eq!(offsets(&full[0]), [1, 2, 3], "max_items at once");
    assert_eq!(groups.len(), 1);
}

#[test]
fn after_a_crash_a_sealed_digest_is_sent_again_with_its_members_and_id_and_a_sent_one_settles() {
    let (mut tracker, mut groups, t0) = (OffsetTracker::default(), Groups::default(), Utc::now());
    groups.catching_up(0);
    for offset in 0..3 {
        groups.hold(KEY.into(), held(&mut tracker, offset, t0));
    }
    let id = "dig_sealed-before-the-crash".to_owned();
    groups.seal(
        &group_id(),
        Seal {
            id: id.clone(),
            upto: 1,
        },
    );
    groups.hold(KEY.into(), held(&mut tracker, 4, t0));
    assert!(
        groups
            .take_due(t0 + TimeDelta::minutes(1), |_| timing())
            .is_empty(),
        "nothing is sent before the partition is read to its end"
    );
    assert!(groups.caught_up(0));
    let due = groups.take_due(t0 + TimeDelta::minutes(1), |_| timing());
    assert_eq!(due.len(), 1);
    assert_eq!(
        (due[0].id.as_str(), offsets(&due[0]), due[0].sealed),
        (id.as_str(), vec![0, 1], true)
    );

    // Read back again, this time with its sent record: its members settle, nothing is due.
    let (mut tracker, mut groups) = (OffsetTracker::default(), Groups::default());
    for offset in 0..3 {
        groups.hold(KEY.into(), held(&mut tracker, offset, t0));
    }
    groups.seal(
        &group_id(),
        Seal {
            id: id.clone(),
            upto: 1,
        },
    );
    let sent = Sent {
        id,
        upto: 1,
        at: t0,
    };
    let settled: Vec<i64> = groups
        .sent(&group_id(), &sent)
        .iter()
        .map(|t| t.offset)
        .collect();
    assert_eq!(settled, [0, 1]);
    assert_eq!(groups.len(), 1);
}

#[test]
fn records_of_the_digest_being_sent_here_change_nothing() {
    let (mut tracker, mut groups, t0) = (OffsetTracker::default(), Groups::default(), Utc::now());
    groups.hold(KEY.into(), held(&mut tracker, 0, t0));
    let due = groups.take_due(t0 + TimeDelta::seconds(2), |_| timing());
    groups.hold(
        KEY.into(),
        held(&mut tracker, 2, t0 + TimeDelta::seconds(3)),
    );
    let (id, upto) = (due[0].id.clone(), due[0].upto());
    groups.seal(
        &group_id(),
        Seal {
            id: id.clone(),
            upto,
        },
    );
    assert!(
        groups
            .sent(
                &group_id(),
                &Sent {
                    id: id.clone(),
                    upto,
                    at: t0
                }
            )
            .is_empty()
    );
    assert_eq!(groups.len(), 1, "the later entry still waits");
    groups.finished(&group_id(), &id, Some(t0 + TimeDelta::seconds(3)));
    groups.revoke(&[0]);
    assert_eq!(groups.len(), 0);
}

#[test]
fn when_reading_must_stop_a_partition_still_catching_up_sends_what_it_holds() {
    let (mut tracker, mut groups, t0) = (OffsetTracker::default(), Groups::default(), Utc::now());
    groups.catching_up(0);
    groups.hold(KEY.into(), held(&mut tracker, 0, t0));
    assert!(
        groups
            .take_due(t0 + TimeDelta::minutes(1), |_| timing())
            .is_empty()
    );
    assert_eq!(groups.stop_catching_up(), [0]);
    assert_eq!(
        groups
            .take_due(t0 + TimeDelta::minutes(1), |_| timing())
            .len(),
        1
    );
}

#[test]
fn a_key_on_two_partitions_is_two_groups_each_sealed_settled_and_revoked_on_its_own() {
    // Partitions were added while the group waited: its key's new entries land elsewhere.
    let (mut tracker, mut groups, t0) = (OffsetTracker::default(), Groups::default(), Utc::now());
    for offset in 0..2 {
        groups.hold(KEY.into(), held_on(&mut tracker, 0, offset, t0));
        groups.hold(KEY.into(), held_on(&mut tracker, 1, offset, t0));
    }
    assert_eq!(groups.len(), 4);
    // A seal and a sent record of partition 1 (offsets 0..=1 there) are not partition 0's.
    let other = (1, KEY.to_owned());
    groups.seal(
        &other,
        Seal {
            id: "dig_p1".into(),
            upto: 1,
        },
    );
    let sent = Sent {
        id: "dig_p1".into(),
        upto: 1,
        at: t0,
    };
    let settled: Vec<(i32, i64)> = groups
        .sent(&other, &sent)
        .iter()
        .map(|t| (t.partition, t.offset))
        .collect();
    assert_eq!(settled, [(1, 0), (1, 1)]);
    let due = groups.take_due(t0 + TimeDelta::minutes(1), |_| timing());
    assert_eq!(due.len(), 1, "partition 0's group is still whole: {due:?}");
    assert_eq!(due[0].group_id, group_id());
    assert_eq!(offsets(&due[0]), [0, 1]);
    groups.hold(KEY.into(), held_on(&mut tracker, 1, 2, t0));
    groups.revoke(&[0]);
    assert_eq!(groups.len(), 1, "partition 1's group stays");
}

#[test]
fn a_digest_id_is_the_same_for_the_same_members_and_new_when_offsets_start_over() {
    let t0 = Utc::now();
    let id_of = |webhook_ids: &[&str]| {
        let (mut tracker, mut groups) = (OffsetTracker::default(), Groups::default());
        for (offset, webhook_id) in (0..).zip(webhook_ids) {
            groups.hold(KEY.into(), held_as(&mut tracker, 0, offset, t0, webhook_id));
        }
        let due = groups.take_due(t0 + TimeDelta::minutes(1), |_| timing());
        assert_eq!(due.len(), 1);
        due[0].id.clone()
    };
    let first = id_of(&["msg_a", "msg_b"]);
    assert_eq!(
        first,
        id_of(&["msg_a", "msg_b"]),
        "read again after a crash"
    );
    // The digest topic recreated: the same key, partition and offsets, other notifications.
    assert_ne!(first, id_of(&["msg_c", "msg_d"]));
    assert_ne!(first, id_of(&["msg_a", "msg_b", "msg_c"]), "other members");
}
