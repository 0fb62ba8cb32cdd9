//! Table tests of time intervals (Alertmanager's semantics) and of the end of a mute window.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::*;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("a test instant")
        .with_timezone(&Utc)
}

fn interval(yaml: &str) -> Result<TimeInterval, Invalid> {
    let config: TimeIntervalConfig = serde_yaml_ng::from_str(yaml).expect("test YAML");
    TimeInterval::parse(&config)
}

#[test]
fn intervals_hold_as_alertmanager_reads_them() {
    let cases = [
        // (interval, instant, contained)
        ("{}", "2026-12-02T10:00:00Z", true),
        (
            "times: [{start_time: '09:00', end_time: '17:00'}]",
            "2026-12-02T09:00:00Z",
            true,
        ),
        (
            "times: [{start_time: '09:00', end_time: '17:00'}]",
            "2026-12-02T17:00:00Z",
            false,
        ),
        (
            "times: [{start_time: '22:00', end_time: '24:00'}]",
            "2026-12-02T23:59:59Z",
            true,
        ),
        // 2026-12-02 is a Wednesday.
        ("weekdays: ['monday:friday']", "2026-12-02T10:00:00Z", true),
        (
            "weekdays: [saturday, Sunday]",
            "2026-12-02T10:00:00Z",
            false,
        ),
        ("weekdays: [saturday, Sunday]", "2026-12-06T10:00:00Z", true),
        ("days_of_month: ['1:5']", "2026-12-02T10:00:00Z", true),
        ("days_of_month: [2]", "2026-12-03T10:00:00Z", false),
        // -1 is the last day of the month, whatever its length.
        ("days_of_month: ['-1']", "2026-02-28T10:00:00Z", true),
        ("days_of_month: ['-1']", "2028-02-28T10:00:00Z", false),
        ("days_of_month: ['-3:-1']", "2026-12-29T10:00:00Z", true),
        ("days_of_month: ['-3:-1']", "2026-12-28T10:00:00Z", false),
        ("days_of_month: ['25:-1']", "2026-12-31T10:00:00Z", true),
        // A range starting after the month's last day never matches; an end beyond is clamped.
        ("days_of_month: ['30:31']", "2026-02-28T10:00:00Z", false),
        ("days_of_month: ['28:31']", "2026-02-28T10:00:00Z", true),
        ("months: ['december']", "2026-12-02T10:00:00Z", true),
        ("months: ['1:11']", "2026-12-02T10:00:00Z", false),
        ("years: ['2025:2026']", "2026-12-02T10:00:00Z", true),
        ("years: [2027]", "2026-12-02T10:00:00Z", false),
        // Read in the location: 07:30 UTC is 08:30 in Amsterdam in winter, 09:30 in summer.
        (
            "{times: [{start_time: '08:00', end_time: '09:00'}], location: Europe/Amsterdam}",
            "2026-12-02T07:30:00Z",
            true,
        ),
        (
            "{times: [{start_time: '08:00', end_time: '09:00'}], location: Europe/Amsterdam}",
            "2026-07-02T07:30:00Z",
            false,
        ),
        // Late Sunday in New York is Monday in UTC.
        (
            "{weekdays: [sunday], location: America/New_York}",
            "2026-12-07T03:00:00Z",
            true,
        ),
        (
            "{weekdays: [monday], times: [{start_time: '00:00', end_time: '06:00'}]}",
            "2026-12-07T03:00:00Z",
            true,
        ),
    ];
    for (yaml, instant, expected) in cases {
        let parsed = interval(yaml).unwrap_or_else(|e| panic!("{yaml}: {e:?}"));
        assert_eq!(
            parsed.contains(at(instant)),
            expected,
            "{yaml} at {instant}"
        );
    }
}

#[test]
fn invalid_intervals_name_the_field_and_the_reason() {
    let cases = [
        (
            "times: [{start_time: '17:00', end_time: '09:00'}]",
            "times.end_time",
            "not after",
        ),
        (
            "times: [{start_time: '9:00', end_time: '10:00'}]",
            "times.start_time",
            "HH:MM",
        ),
        (
            "times: [{start_time: '09:00', end_time: '24:01'}]",
            "times.end_time",
            "HH:MM",
        ),
        ("weekdays: [funday]", "weekdays", "not one of"),
        ("weekdays: ['friday:monday']", "weekdays", "ends before"),
        ("days_of_month: [0]", "days_of_month", "not a day"),
        ("days_of_month: [32]", "days_of_month", "not a day"),
        ("days_of_month: ['-1:5']", "days_of_month", "ends before"),
        ("days_of_month: ['10:2']", "days_of_month", "ends before"),
        ("months: [13]", "months", "not one of"),
        ("years: ['2027:2026']", "years", "ends before"),
        ("location: Mars/Olympus", "location", "time-zone database"),
    ];
    for (yaml, field, why) in cases {
        let (got_field, got_why) = interval(yaml).expect_err(yaml);
        assert_eq!(got_field, field, "{yaml}");
        assert!(got_why.contains(why), "{yaml}: {got_why}");
    }
}

fn named(name: &str, yaml: &str) -> Arc<NamedInterval> {
    Arc::new(NamedInterval {
        name: name.into(),
        intervals: vec![interval(yaml).expect("test interval")],
    })
}

#[test]
fn a_mute_window_ends_when_no_mute_interval_holds_and_an_active_one_does() {
    let nights = named(
        "nights",
        "{times: [{start_time: '22:00', end_time: '24:00'}, {start_time: '00:00', end_time: '08:00'}], location: Europe/Amsterdam}",
    );
    let weekends = named("weekends", "weekdays: [saturday, sunday]");
    let business = named(
        "business",
        "{weekdays: ['monday:friday'], times: [{start_time: '09:00', end_time: '17:00'}]}",
    );
    let mute = |m: Vec<Arc<NamedInterval>>, a: Vec<Arc<NamedInterval>>| Mute {
        mute: m,
        active: a,
        when_muted: WhenMuted::Delay,
    };
    let cases = [
        // (mute, instant, muted why, window end)
        (
            mute(vec![nights.clone()], vec![]),
            "2026-12-02T12:00:00Z",
            None,
            "2026-12-02T12:00:00Z",
        ),
        // 23:30 in Amsterdam (UTC+1): muted until 08:00 local, 07:00 UTC.
        (
            mute(vec![nights.clone()], vec![]),
            "2026-12-02T22:30:00Z",
            Some(Reason::Muted("nights".into())),
            "2026-12-03T07:00:00Z",
        ),
        // Friday night into the weekend: muted until Monday 08:00 in Amsterdam.
        (
            mute(vec![nights.clone(), weekends.clone()], vec![]),
            "2026-12-04T22:30:00Z",
            Some(Reason::Muted("nights".into())),
            "2026-12-07T07:00:00Z",
        ),
        // Outside business hours on a Wednesday evening: until Thursday 09:00 UTC.
        (
            mute(vec![], vec![business.clone()]),
            "2026-12-02T18:00:00Z",
            Some(Reason::Inactive),
            "2026-12-03T09:00:00Z",
        ),
        (
            mute(vec![], vec![business]),
            "2026-12-02T10:00:00Z",
            None,
            "2026-12-02T10:00:00Z",
        ),
        // A mute interval that never ends is looked at again a year later.
        (
            mute(vec![named("always", "{}")], vec![]),
            "2026-12-02T10:00:00Z",
            Some(Reason::Muted("always".into())),
            "2027-12-03T10:00:00Z",
        ),
    ];
    for (mute, instant, why, end) in cases {
        assert_eq!(mute.muted_at(at(instant)), why, "{instant}");
        assert_eq!(mute.window_end(at(instant)), at(end), "{instant}");
    }
}

#[test]
fn a_window_ending_on_a_daylight_saving_change_ends_at_the_first_instant_after_it() {
    // Europe/Amsterdam springs forward on 2026-03-29: 02:00 local does not exist.
    let early = named(
        "early",
        "{times: [{start_time: '00:00', end_time: '02:30'}], location: Europe/Amsterdam}",
    );
    let mute = Mute {
        mute: vec![early],
        active: vec![],
        when_muted: WhenMuted::Drop,
    };
    let end = mute.window_end(at("2026-03-28T23:30:00Z"));
    assert!(mute.muted_at(end).is_none());
    assert!(end <= at("2026-03-29T01:30:00Z"), "{end}");
}
