//! The schedule: due order, replacement by key, tombstones, parking.

use std::collections::HashSet;

use chrono::{Duration, Utc};
use serde_json::json;

use super::*;
use crate::consumer::OffsetTracker;
use crate::dispatch::{Job, Origin};
use crate::event::Notification;

fn job(key: &str, due_in_s: i64) -> Job {
    let notification = Notification {
        id: format!("n-{key}"),
        source_id: "lifecycle".into(),
        event_type: "t".into(),
        body: json!({}),
    };
    let origin = Origin {
        topic: "lifecycle".into(),
        partition: 0,
        offset: 0,
    };
    let body = std::sync::Arc::new(notification.body.clone());
    let mut job = Job::new(&notification, body, "sub", "hook", key, origin);
    job.due = Utc::now() + Duration::seconds(due_in_s);
    job
}

fn held(tracker: &mut OffsetTracker, key: &str, due_in_s: i64, offset: i64) -> Held {
    Held {
        job: job(key, due_in_s),
        ticket: tracker.begin("retry", 0, offset),
    }
}

#[test]
fn jobs_come_out_in_due_order_when_due() {
    let mut tracker = OffsetTracker::default();
    let mut schedule = Schedule::default();
    for (key, due, offset) in [("late", 300, 0), ("soon", -5, 1), ("sooner", -10, 2)] {
        assert!(
            schedule
                .hold(held(&mut tracker, key, due, offset))
                .is_none()
        );
    }
    let now = Utc::now();
    assert!(schedule.next_due().expect("some") <= now - Duration::seconds(9));
    assert_eq!(schedule.pop_due(now).as_deref(), Some("sooner"));
    assert_eq!(schedule.pop_due(now).as_deref(), Some("soon"));
    assert_eq!(schedule.pop_due(now), None, "late is not due");
    assert_eq!(schedule.len(), 3, "popped jobs are held until taken");
    assert!(schedule.take("sooner").is_some());
    assert_eq!(schedule.len(), 2);
}

#[test]
fn a_later_record_of_a_delivery_replaces_the_earlier_and_not_the_reverse() {
    let mut tracker = OffsetTracker::default();
    let mut schedule = Schedule::default();
    assert!(schedule.hold(held(&mut tracker, "k", -1, 3)).is_none());
    let replaced = schedule
        .hold(held(&mut tracker, "k", 600, 9))
        .expect("the offset-3 record is replaced");
    assert_eq!(replaced.offset, 3);
    assert_eq!(schedule.len(), 1);
    assert_eq!(
        schedule.pop_due(Utc::now()),
        None,
        "the replaced, due record is gone from the timeline"
    );
    let stale = schedule
        .hold(held(&mut tracker, "k", -1, 5))
        .expect("an older record than the one held is obsolete at once");
    assert_eq!(stale.offset, 5);
    assert_eq!(schedule.get("k").expect("held").ticket.offset, 9);
}

#[test]
fn a_tombstone_settles_only_up_to_its_offset() {
    let mut tracker = OffsetTracker::default();
    let mut schedule = Schedule::default();
    schedule.hold(held(&mut tracker, "k", 60, 7));
    assert!(
        schedule.settle("k", 6).is_none(),
        "a replay after the settled record stays"
    );
    assert_eq!(schedule.settle("k", 7).expect("settled").offset, 7);
    assert!(schedule.is_empty());
    assert!(schedule.settle("other", 100).is_none());
}

#[test]
fn parked_jobs_wait_for_their_reason_and_in_order() {
    let mut tracker = OffsetTracker::default();
    let mut schedule = Schedule::default();
    for (i, key) in ["a", "b", "c"].iter().enumerate() {
        schedule.hold(held(&mut tracker, key, -10 + i as i64, i as i64));
    }
    let now = Utc::now();
    while let Some(key) = schedule.pop_due(now) {
        schedule.park(&key, Park::Lane(4));
    }
    assert_eq!(schedule.parked_lanes(), vec![4]);
    schedule.unpark(Park::Lane(4), 2);
    assert_eq!(schedule.pop_due(now).as_deref(), Some("a"));
    assert_eq!(schedule.pop_due(now).as_deref(), Some("b"));
    assert_eq!(schedule.pop_due(now), None, "c is still parked");
    schedule.take("a");
    schedule.take("b");
    schedule.hold(held(&mut tracker, "p", -1, 10));
    let key = schedule.pop_due(now).expect("due");
    schedule.park(&key, Park::CatchingUp(0));
    schedule.caught_up(&HashSet::from([0]));
    assert_eq!(schedule.pop_due(now).as_deref(), Some("p"));
    schedule.unpark(Park::Lane(4), 1);
    assert_eq!(schedule.pop_due(now).as_deref(), Some("c"));
    assert!(schedule.parked_lanes().is_empty());
}

#[test]
fn retain_forgets_revoked_jobs() {
    let mut tracker = OffsetTracker::default();
    let mut schedule = Schedule::default();
    schedule.hold(held(&mut tracker, "a", 60, 1));
    tracker.revoke("retry", 0);
    schedule.hold(held(&mut tracker, "b", 60, 2));
    schedule.retain(|ticket| tracker.is_current(ticket));
    assert!(schedule.get("a").is_none());
    assert!(schedule.get("b").is_some());
}

#[test]
fn of_two_records_of_a_delivery_the_one_held_is_the_later_of_its_partition() {
    // (held: partition, offset; read: partition, offset; the offset made obsolete, the one held)
    let cases = [
        ((0, 3), (0, 9), 3, 9),
        ((0, 9), (0, 3), 3, 9),
        ((0, 5), (0, 5), 5, 5),
        // From another partition (the key moved after a repartition): the one read wins.
        ((1, 9), (0, 3), 9, 3),
        ((0, 3), (1, 9), 3, 9),
    ];
    for ((held_partition, held_offset), (read_partition, read_offset), obsolete, kept) in cases {
        let mut tracker = OffsetTracker::default();
        let mut schedule = Schedule::default();
        let first = Held {
            job: job("k", 60),
            ticket: tracker.begin("retry", held_partition, held_offset),
        };
        let second = Held {
            job: job("k", 60),
            ticket: tracker.begin("retry", read_partition, read_offset),
        };
        assert!(schedule.hold(first).is_none());
        let case =
            format!("held {held_partition}/{held_offset}, read {read_partition}/{read_offset}");
        let replaced = schedule.hold(second).expect("one is obsolete");
        assert_eq!(replaced.offset, obsolete, "{case}");
        assert_eq!(
            schedule.get("k").expect("held").ticket.offset,
            kept,
            "{case}"
        );
        assert_eq!(schedule.len(), 1, "{case}");
    }
}

#[test]
fn a_job_held_for_an_open_circuit_is_due_at_once_when_it_closes() {
    let mut tracker = OffsetTracker::default();
    let mut schedule = Schedule::default();
    for (key, due, offset) in [("held", 30, 0), ("scheduled", 300, 1)] {
        assert!(
            schedule
                .hold(held(&mut tracker, key, due, offset))
                .is_none()
        );
    }
    let now = Utc::now();
    assert_eq!(schedule.pop_due(now), None, "the next probe is 30 s away");
    schedule.hurry("held", now);
    schedule.hurry("scheduled", now + Duration::seconds(600));
    schedule.hurry("gone", now);
    assert_eq!(schedule.pop_due(now).as_deref(), Some("held"), "no wait");
    assert_eq!(
        schedule.pop_due(now),
        None,
        "the stale timeline entry is skipped; a later time never delays a job"
    );
    assert!(schedule.next_due().expect("scheduled") > now + Duration::seconds(200));
}
