//! The dead-letters page: what is on the dead-letter topic (filtered by destination,
//! subscription, reason, time), each record's headers and value, and replay, a dry run first,
//! through the code behind `dead-letters list` and `dead-letters replay`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::session::{self, Viewer};
use super::{Page, message, refusal, render, sign_in_first};
use crate::admin::AdminState;
use crate::dead_letter::{self, Entry, Filter, header, parse_since, read_matching};

/// The most records listed (the newest).
const SHOWN: usize = 200;

/// The filter fields, as the forms name them.
const FIELDS: [&str; 5] = [
    "destination",
    "subscription",
    "reason",
    "since",
    "webhook_id",
];

pub(super) async fn page(
    State(state): State<Arc<AdminState>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let viewer = session::viewer(&state, &headers);
    if !viewer.may_read() {
        return sign_in_first();
    }
    show(&state, &viewer, &query, Value::Null).await
}

/// `POST /ui/dead-letters/replay` with the filter, `dry_run` and the CSRF token.
pub(super) async fn replay(
    State(state): State<Arc<AdminState>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let viewer = session::viewer(&state, &headers);
    if let Some(refused) = refusal(&state, &viewer, form.get("csrf").map(String::as_str)) {
        return refused;
    }
    let Some(brokers) = state.outlets.as_ref().map(|o| o.brokers.clone()) else {
        return message(
            &state,
            &viewer,
            StatusCode::SERVICE_UNAVAILABLE,
            "Not available",
            "This admin server has no Kafka connection.",
        );
    };
    let filter = match filter(&form) {
        Ok(filter) => filter,
        Err(why) => {
            return message(
                &state,
                &viewer,
                StatusCode::BAD_REQUEST,
                "Not replayed",
                &why,
            );
        }
    };
    let dry_run = form.get("dry_run").is_none_or(|v| v != "false");
    let config = state.config();
    let outcome = match dead_letter::replay(&config, &brokers, &filter, dry_run).await {
        Ok(report) => json!({
            "dry_run": dry_run,
            "lines": report.lines,
            "skipped": report.skipped,
            "summary": report.summary,
            "replayed": report.replayed,
            "can_replay": dry_run && report.replayed > 0,
        }),
        Err(error) => json!({"dry_run": dry_run, "error": format!("{error:#}")}),
    };
    show(&state, &viewer, &form, outcome).await
}

/// The list for `query`'s filter, with the outcome of a replay when there was one.
async fn show(
    state: &AdminState,
    viewer: &Viewer,
    query: &HashMap<String, String>,
    replay: Value,
) -> Response {
    let filters: Value = FIELDS
        .iter()
        .map(|f| (f.to_string(), json!(query.get(*f).map_or("", |v| v.trim()))))
        .collect::<serde_json::Map<_, _>>()
        .into();
    let mut data = json!({
        "filters": filters,
        "replay": replay,
        "has_replay": !replay.is_null(),
    });
    let brokers = state.outlets.as_ref().map(|o| o.brokers.clone());
    let listed = match (brokers, filter(query)) {
        (None, _) => Err("This admin server has no Kafka connection.".to_owned()),
        (_, Err(why)) => Err(why),
        (Some(brokers), Ok(filter)) => read_matching(&state.config(), &brokers, &filter)
            .await
            .map_err(|e| format!("{e:#}")),
    };
    match listed {
        Ok(entries) => {
            let total = entries.len();
            let shown: Vec<Value> = entries.iter().rev().take(SHOWN).map(entry).collect();
            data["entries"] = json!(shown);
            data["total"] = json!(total);
            data["truncated"] = json!(total > SHOWN);
        }
        Err(why) => data["problem"] = json!(why),
    }
    render(
        state,
        viewer,
        Page {
            nav: "dead-letters",
            title: "Dead letters",
            template: "dead_letters",
        },
        data,
    )
}

/// The filter the form or query describes; `since` as `dead-letters --since` takes it.
fn filter(fields: &HashMap<String, String>) -> Result<Filter, String> {
    let get = |name: &str| {
        fields
            .get(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let since = match get("since") {
        Some(text) => Some(parse_since(&text).map_err(|e| e.to_string())?),
        None => None,
    };
    Ok(Filter {
        destination: get("destination"),
        subscription: get("subscription"),
        reason: get("reason"),
        since,
        webhook_id: get("webhook_id"),
    })
}

/// One record as the template lists it.
fn entry(entry: &Entry) -> Value {
    let value = match serde_json::from_slice::<Value>(&entry.value) {
        Ok(json) => serde_json::to_string_pretty(&json).unwrap_or_default(),
        Err(_) => String::from_utf8_lossy(&entry.value).into_owned(),
    };
    let headers: Vec<Value> = entry
        .headers
        .iter()
        .map(|(name, value)| json!({"name": name, "value": value}))
        .collect();
    json!({
        "place": format!("{}@{}", entry.partition, entry.offset),
        "time": entry.time.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        "kind": entry.header(header::KIND),
        "delivery": entry.is_delivery(),
        "reason": entry.header(header::REASON),
        "detail": entry.header(header::DETAIL),
        "destination": entry.header(header::DESTINATION),
        "subscription": entry.header(header::SUBSCRIPTION),
        "source": entry.header(header::SOURCE),
        "attempts": entry.header(header::ATTEMPTS),
        "status": entry.header(header::LAST_STATUS),
        "webhook_id": entry.header(header::WEBHOOK_ID),
        "headers": headers,
        "value": value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_makes_the_cli_filter() {
        let fields: HashMap<String, String> = [
            ("destination", "hook"),
            ("reason", " "),
            ("since", "2h"),
            ("webhook_id", "msg_1"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let made = filter(&fields).expect("a filter");
        assert_eq!(made.destination.as_deref(), Some("hook"));
        assert_eq!(made.reason, None);
        assert!(made.since.is_some());
        assert_eq!(made.webhook_id.as_deref(), Some("msg_1"));
        let bad: HashMap<String, String> = [("since".to_owned(), "yesterday".to_owned())].into();
        let why = filter(&bad).expect_err("not a time");
        assert!(why.contains("RFC 3339"), "{why}");
    }
}
