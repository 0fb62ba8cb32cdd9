//! One evaluation's work is bounded: a filter quadratic in the event stops at its budget.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::filter::{Filter, MAX_STEPS};

/// An event of `n` different strings, the last of them `x`.
fn large_event(n: usize) -> Value {
    let mut items: Vec<Value> = (0..n).map(|i| json!(format!("v{i}"))).collect();
    items[n - 1] = json!("x");
    json!({ "type": "t", "data": { "items": items } })
}

#[test]
fn a_filter_quadratic_in_the_event_stops_at_its_budget_and_does_not_match() {
    // For each node, look for it again among all nodes: with 3,000 nodes some 4,500,000 steps
    // before it finds `x` and matches, well over the budget.
    let event = large_event(3_000);
    let quadratic = Filter::parse("$..[?($..* == @ && @ == 'x')]").unwrap();
    let metric = &crate::telemetry::metrics::global().filter_budget_exceeded;
    let before = metric.get();
    let started = Instant::now();
    assert!(!quadratic.matches(&event), "stopped: no match");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(metric.get() > before, "counted");
    // The same filter on a small event is evaluated in full, and matches.
    assert!(quadratic.matches(&large_event(50)));
}

#[test]
fn filters_linear_in_the_event_are_far_below_the_budget() {
    // As large as a 256 KiB record can be, in nodes.
    let event = large_event(65_000);
    for filter in [
        "$..* == 'x'",
        "$.data.items[-1] == 'x'",
        "$..items[?(@ == 'x')]",
        "$.data.items[*] =~ '^x$'",
    ] {
        assert!(Filter::parse(filter).unwrap().matches(&event), "{filter}");
    }
    const { assert!(65_000 * 4 < MAX_STEPS) };
}
