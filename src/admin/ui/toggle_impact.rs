//! The impact of turning a source on or off, for its confirmation page: the source's retained
//! traffic (its newest records, bounded so the page answers quickly) routed through the
//! configuration in effect and through the same one with the source toggled, as `POST
//! /v1/impact` compares (this instance's runtime state on both sides); or why it could not be
//! read.

use std::time::Duration;

use serde_json::{Value, json};

use crate::admin::AdminState;
use crate::admin::impact::{running, runtime};
use crate::control::{Change, ControlRecord, ControlState, Read};
use crate::impact::{self, DEFAULT_SINCE, Impact, Request, Window};

/// Records read per Kafka topic at most: the newest.
const LAST: u64 = 10_000;
/// How long the page waits for the reading.
const WAIT: Duration = Duration::from_secs(20);

/// The template's `impact` (what changes) or `impact_problem` (why it is not known).
pub(super) async fn of_toggle(state: &AdminState, id: &str, enable: bool) -> Value {
    match measure(state, id, enable).await {
        Ok(impact) => json!({"impact": shown(&impact)}),
        Err(problem) => json!({"impact_problem": problem}),
    }
}

async fn measure(state: &AdminState, id: &str, enable: bool) -> Result<Impact, String> {
    let Some(brokers) = state.outlets.as_ref().map(|o| o.brokers.clone()) else {
        return Err("This router runs without Kafka: there is no retained traffic to read.".into());
    };
    let Some(permit) = running() else {
        return Err(
            "Another impact preview is running: reload this page in a moment to see this one."
                .into(),
        );
    };
    let current = state.config();
    // The toggle is the source's value on the proposed side; the rest of the runtime state
    // applies to both.
    let runtime = runtime(state).without_source_override(id);
    let mut toggled = ControlState::default();
    toggled.apply(Read::Set(ControlRecord::new(
        Change::Source {
            id: id.to_owned(),
            enabled: enable,
        },
        "console",
    )));
    let mut proposed = (*current).clone();
    toggled.overlay(&mut proposed);
    let source = id.to_owned();
    let reading = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let request = Request {
            current: &current,
            proposed: &proposed,
            runtime: &runtime,
            label: format!(
                "source {source} turned {}",
                if enable { "on" } else { "off" }
            ),
            brokers: &brokers,
            window: Window {
                since: Some(DEFAULT_SINCE),
                last: Some(LAST),
            },
            source: Some(&source),
        };
        impact::measure(&request, |_, _| {})
    });
    match tokio::time::timeout(WAIT, reading).await {
        Ok(Ok(Ok(impact))) => Ok(impact),
        Ok(Ok(Err(error))) => Err(format!(
            "The source's Kafka topics could not be read, so its impact is not known: {error}."
        )),
        Ok(Err(error)) => Err(format!("The impact could not be measured: {error}.")),
        Err(_) => Err(format!(
            "Reading the source's Kafka topics took more than {}s, so its impact is not known.",
            WAIT.as_secs()
        )),
    }
}

/// What the page shows: what was read, and the rows that change with their samples.
fn shown(impact: &Impact) -> Value {
    let report = &impact.report;
    let rows: Vec<Value> = report
        .rows
        .iter()
        .filter(|r| r.gained > 0 || r.lost > 0)
        .map(|r| {
            let samples: Vec<Value> = [("gained", &r.gained_samples), ("lost", &r.lost_samples)]
                .into_iter()
                .flat_map(|(direction, samples)| {
                    samples.iter().map(move |s| {
                        json!({"direction": direction, "id": s.id, "type": s.event_type, "short": s.short, "why": s.why})
                    })
                })
                .collect();
            json!({
                "subscription": r.subscription,
                "destination": r.destination,
                "before": r.before,
                "after": r.after,
                "gained": r.gained,
                "lost": r.lost,
                "samples": samples,
            })
        })
        .collect();
    let left_out: u64 = impact.coverage.topics.iter().map(|t| t.left_out).sum();
    json!({
        "records": report.records,
        "rejected": report.rejected,
        "left_out": left_out,
        "last": LAST,
        "since_hours": DEFAULT_SINCE.as_secs() / 3600,
        "changed": impact.changed,
        "rows": rows,
    })
}
