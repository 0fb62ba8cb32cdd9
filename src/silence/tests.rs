//! A silence mutes exactly the deliveries its matcher and scope select, while it is in effect.

use chrono::TimeDelta;
use serde_json::json;

use super::*;

fn silence(id: &str, matcher: &str, scope: Scope, from_min: i64, to_min: i64) -> Silence {
    let now = Utc::now();
    Silence {
        id: id.into(),
        matcher: matcher.into(),
        scope,
        starts_at: now + TimeDelta::minutes(from_min),
        ends_at: now + TimeDelta::minutes(to_min),
        created_by: "admin".into(),
        comment: String::new(),
        updated_at: now,
    }
}

#[test]
fn a_silence_mutes_the_deliveries_its_matcher_and_scope_select_while_in_effect() {
    let silences = Silences::new();
    let region = "$.data.region == 'us-south'";
    silences
        .put(silence("a-region", region, Scope::default(), -1, 60))
        .expect("valid");
    let only_slack = Scope {
        destination: Some("slack".into()),
        ..Scope::default()
    };
    silences
        .put(silence("b-slack", "$.type == 'x'", only_slack, -1, 60))
        .expect("valid");
    silences
        .put(silence(
            "c-later",
            "$.type == 'y'",
            Scope::default(),
            10,
            60,
        ))
        .expect("valid");
    silences
        .put(silence(
            "d-over",
            "$.type == 'z'",
            Scope::default(),
            -60,
            -1,
        ))
        .expect("valid");
    let delivery = |destination| Delivery {
        topic: "t",
        subscription: "s",
        destination,
    };
    let cases = [
        (
            json!({"type": "q", "data": {"region": "us-south"}}),
            "hook",
            Some("a-region"),
        ),
        (
            json!({"type": "q", "data": {"region": "eu-de"}}),
            "hook",
            None,
        ),
        (json!({"type": "x", "data": {}}), "slack", Some("b-slack")),
        (json!({"type": "x", "data": {}}), "hook", None),
        (json!({"type": "y", "data": {}}), "hook", None),
        (json!({"type": "z", "data": {}}), "hook", None),
    ];
    let now = Utc::now();
    for (notification, destination, expected) in cases {
        let got = silences.muting(&notification, delivery(destination), now);
        assert_eq!(
            got.map(|s| s.id.clone()).as_deref(),
            expected,
            "{notification} to {destination}"
        );
    }
    silences.remove("a-region");
    let again = silences.muting(
        &json!({"data": {"region": "us-south"}}),
        delivery("hook"),
        now,
    );
    assert!(again.is_none());
}

#[test]
fn a_silence_with_a_bad_matcher_or_time_range_is_refused() {
    let silences = Silences::new();
    let bad = silence("x", "$.type ==", Scope::default(), 0, 10);
    assert!(matches!(silences.put(bad), Err(SilenceError::Matcher(_))));
    let backwards = silence("y", "$.type == 'a'", Scope::default(), 10, 0);
    assert_eq!(silences.put(backwards), Err(SilenceError::Ends));
    assert!(silences.list().is_empty());
}
