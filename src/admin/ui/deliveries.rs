//! The deliveries page, from the delivery ledger: a search (notification id, subscription,
//! destination, status, since) with cursor paging, a delivery's page with its attempts, and its
//! Resend button, which goes through the same code as `POST /v1/deliveries/{id}/resend`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Value, json};

use super::session::{self, Viewer};
use super::{Page, message, refusal, render, sign_in_first, url_escape};
use crate::admin::{AdminState, deliveries as api};
use crate::dead_letter::parse_since;
use crate::ledger::{self, Entry};

/// Deliveries on one page.
const PAGE: usize = 25;

/// The search's fields, in the form's order.
const FIELDS: [&str; 5] = [
    "notification_id",
    "subscription",
    "destination",
    "status",
    "since",
];

/// The statuses a delivery can have, for the form's list.
const STATUSES: [&str; 4] = ["delivered", "retrying", "dead_lettered", "paused"];

fn page_of(title: &'static str, template: &'static str) -> Page {
    Page {
        nav: "deliveries",
        title,
        template,
    }
}

/// `GET /ui/deliveries`: the search and, with the ledger on, what it finds.
pub(super) async fn list(
    State(state): State<Arc<AdminState>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let viewer = session::viewer(&state, &headers);
    if !viewer.may_read() {
        return sign_in_first();
    }
    let get = |key: &str| {
        query
            .get(key)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let filters: serde_json::Map<String, Value> = FIELDS
        .iter()
        .filter_map(|f| get(f).map(|v| ((*f).to_owned(), json!(v))))
        .collect();
    let statuses: Vec<Value> = STATUSES
        .iter()
        .map(|s| json!({"value": s, "selected": get("status").as_deref() == Some(*s)}))
        .collect();
    let mut data = json!({
        "available": state.ledger.is_some(),
        "filters": filters,
        "statuses": statuses,
    });
    if state.ledger.is_none() {
        return render(&state, &viewer, page_of("Deliveries", "deliveries"), data);
    }
    let found = match get("notification_id") {
        Some(id) => api::of_notification(&state, &id).await.map(|entries| {
            let entries = entries
                .into_iter()
                .filter(|e| {
                    get("subscription").is_none_or(|s| e.subscription == s)
                        && get("destination").is_none_or(|d| e.destination == d)
                        && get("status").is_none_or(|s| e.state.as_str() == s)
                })
                .collect();
            (entries, None)
        }),
        None => {
            let since = match get("since").map(|s| parse_since(&s)).transpose() {
                Ok(since) => since,
                Err(why) => {
                    data["problem"] = json!(format!("since: {why}"));
                    return render(&state, &viewer, page_of("Deliveries", "deliveries"), data);
                }
            };
            let query = ledger::Query {
                subscription: get("subscription"),
                destination: get("destination"),
                state: get("status"),
                since,
                after: get("cursor"),
                limit: PAGE,
            };
            api::page(&state, query).await
        }
    };
    match found {
        Ok((entries, next)) => {
            data["searched"] = json!(true);
            data["deliveries"] = json!(entries.iter().map(row).collect::<Vec<_>>());
            data["next"] = json!(next.map(|cursor| next_link(&filters, &cursor)));
        }
        Err(failure) => data["problem"] = json!(failure.message),
    }
    render(&state, &viewer, page_of("Deliveries", "deliveries"), data)
}

/// The link to the page after `cursor`, with the same filters.
fn next_link(filters: &serde_json::Map<String, Value>, cursor: &str) -> String {
    let mut query: Vec<String> = filters
        .iter()
        .map(|(k, v)| format!("{k}={}", url_escape(v.as_str().unwrap_or_default())))
        .collect();
    query.push(format!("cursor={}", url_escape(cursor)));
    format!("/ui/deliveries?{}", query.join("&"))
}

/// A delivery as a row of the list.
fn row(entry: &Entry) -> Value {
    let (sign, class) = mark(entry.state);
    json!({
        "sign": sign,
        "class": class,
        "webhook_id": entry.webhook_id,
        "href": format!("/ui/deliveries/{}", url_escape(&entry.webhook_id)),
        "notification_id": entry.notification_id,
        "subscription": entry.subscription,
        "destination": entry.destination,
        "status": entry.state.as_str(),
        "attempts": entry.attempts,
        "updated_at": entry.updated_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "reason": entry.reason,
    })
}

/// A status's sign, so that it is not told by colour alone.
fn mark(state: ledger::State) -> (&'static str, &'static str) {
    match state {
        ledger::State::Delivered => ("✓", "good"),
        ledger::State::Retrying => ("↻", "warn"),
        ledger::State::DeadLettered => ("✗", "bad"),
        ledger::State::Paused => ("‖", "off"),
        ledger::State::InDigest => ("…", "off"),
    }
}

/// `GET /ui/deliveries/{webhook_id}`: the delivery, its attempts and the Resend button.
pub(super) async fn one(
    State(state): State<Arc<AdminState>>,
    headers: HeaderMap,
    Path(webhook_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let viewer = session::viewer(&state, &headers);
    if !viewer.may_read() {
        return sign_in_first();
    }
    let entry = match api::lookup(&state, &webhook_id).await {
        Ok(entry) => entry,
        Err(failure) => return failed(&state, &viewer, &failure),
    };
    let attempts: Vec<Value> = entry
        .history
        .iter()
        .enumerate()
        .map(|(n, a)| {
            json!({
                "number": (entry.attempts as usize).saturating_sub(entry.history.len()) + n + 1,
                "at": a.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "status": a.status,
                "duration_ms": a.duration_ms,
                "error": a.error,
            })
        })
        .collect();
    let (sign, class) = mark(entry.state);
    render(
        &state,
        &viewer,
        page_of("Delivery", "delivery"),
        json!({
            "entry": entry.shown(),
            "status": entry.state.as_str(),
            "sign": sign,
            "class": class,
            "attempts": attempts,
            "resent": query.contains_key("resent"),
            "resend_href": format!("/ui/deliveries/{}/resend", url_escape(&webhook_id)),
            "notification_href": format!("/ui/deliveries?notification_id={}", url_escape(&entry.notification_id)),
        }),
    )
}

/// `POST /ui/deliveries/{webhook_id}/resend` with the session's CSRF token.
pub(super) async fn resend(
    State(state): State<Arc<AdminState>>,
    headers: HeaderMap,
    Path(webhook_id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let viewer = session::viewer(&state, &headers);
    if let Some(refused) = refusal(&state, &viewer, form.get("csrf").map(String::as_str)) {
        return refused;
    }
    match api::resend_delivery(&state, &webhook_id).await {
        Ok(_) => Redirect::to(&format!(
            "/ui/deliveries/{}?resent=1",
            url_escape(&webhook_id)
        ))
        .into_response(),
        Err(failure) => failed(&state, &viewer, &failure),
    }
}

fn failed(state: &AdminState, viewer: &Viewer, failure: &api::Failure) -> Response {
    let title = if failure.status == StatusCode::NOT_FOUND {
        "No such delivery"
    } else {
        "Delivery history unavailable"
    };
    message(state, viewer, failure.status, title, &failure.message)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn the_next_link_keeps_the_filters() {
        let filters = json!({"subscription": "a b", "status": "delivered"});
        let link = super::next_link(filters.as_object().unwrap(), "w-1");
        assert!(link.starts_with("/ui/deliveries?"), "{link}");
        assert!(link.contains("subscription=a%20b"), "{link}");
        assert!(link.contains("status=delivered"), "{link}");
        assert!(link.ends_with("&cursor=w-1"), "{link}");
    }
}
