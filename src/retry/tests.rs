//! The retry consumer's decisions as tables: what becomes of a record once its delivery is
//! settled, and when the retry topic is paused or resumed.

use super::*;

#[test]
fn a_settled_delivery_commits_its_record_after_a_tombstone_unless_a_new_record_replaces_it() {
    let cases = [
        (Settled::Delivered, Record::Tombstoned),
        (Settled::DeadLettered, Record::Tombstoned),
        (Settled::Retried, Record::Committed),
        (Settled::RetriedInParts, Record::Tombstoned),
        (Settled::Unsettled, Record::Kept),
    ];
    for (settled, record) in cases {
        assert_eq!(record_after(settled), record, "{settled:?}");
    }
}

#[test]
fn the_retry_topic_pauses_when_the_schedule_is_full_and_resumes_below_90_percent() {
    // (paused, held, max pending, change)
    let cases = [
        (false, 0, 100, None),
        (false, 99, 100, None),
        (false, 100, 100, Some(true)),
        (false, 150, 100, Some(true)),
        (true, 100, 100, None),
        (true, 90, 100, None),
        (true, 89, 100, Some(false)),
        (true, 0, 100, Some(false)),
        (false, 1, 1, Some(true)),
        (true, 0, 1, Some(false)),
    ];
    for (paused, held, max_pending, change) in cases {
        assert_eq!(
            pause_change(paused, held, max_pending),
            change,
            "paused {paused}, {held} of {max_pending} held"
        );
    }
}
