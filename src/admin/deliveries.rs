//! The delivery history, answered from this instance's ledger store: a notification's status
//! with each of its deliveries (`GET /v1/notifications/{id}`), deliveries listed with filters and
//! cursor pagination (`GET /v1/deliveries`), one delivery with its attempts
//! (`GET /v1/deliveries/{webhook_id}`), and a resend through the retry topic with the same
//! `webhook-id` (`POST /v1/deliveries/{webhook_id}/resend`, token).

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{AdminState, error, not_found, unavailable};
use crate::ledger::{self, Entry, State as Stage};

/// The most deliveries on one page.
const MAX_PAGE: usize = 100;

/// The routes that read (behind the read token).
pub(super) fn reads() -> Router<Arc<AdminState>> {
    Router::new()
        .route("/v1/notifications/{id}", get(notification))
        .route("/v1/deliveries", get(list))
        .route("/v1/deliveries/{webhook_id}", get(one))
}

/// The routes that change state (behind the admin token).
pub(super) fn routes() -> Router<Arc<AdminState>> {
    Router::new().route("/v1/deliveries/{webhook_id}/resend", post(resend))
}

fn no_ledger() -> Response {
    unavailable("the delivery ledger is off (ledger.enabled: false)")
}

fn failed(why: &ledger::StoreError) -> Response {
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "ledger_store",
        &why.to_string(),
    )
}

/// A destination test's status, or else a notification's from the ledger: Event Notifications'
/// `inprogress` while a delivery waits for a retry, `failure` once one is dead-lettered and none
/// waits, `success` when all are delivered (or paused).
async fn notification(State(state): State<Arc<AdminState>>, Path(id): Path<String>) -> Response {
    if let Some(status) = state.tests.get(&id) {
        return Json(status).into_response();
    }
    let Some(store) = state.ledger.clone() else {
        return not_found("notification", &id);
    };
    let lookup = id.clone();
    let entries = match tokio::task::spawn_blocking(move || store.of_notification(&lookup)).await {
        Ok(Ok(entries)) => entries,
        Ok(Err(why)) => return failed(&why),
        Err(_) => return unavailable("the ledger lookup failed"),
    };
    if entries.is_empty() {
        return not_found("notification", &id);
    }
    let status = if entries.iter().any(|e| e.state == Stage::Retrying) {
        "inprogress"
    } else if entries.iter().any(|e| e.state == Stage::DeadLettered) {
        "failure"
    } else {
        "success"
    };
    let deliveries: Vec<Value> = entries.iter().map(Entry::shown).collect();
    Json(json!({"id": id, "status": status, "delivery_count": deliveries.len(), "deliveries": deliveries}))
        .into_response()
}

/// The filters of `GET /v1/deliveries`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Filters {
    subscription: Option<String>,
    destination: Option<String>,
    status: Option<String>,
    since: Option<DateTime<Utc>>,
    cursor: Option<String>,
    limit: Option<usize>,
}

async fn list(State(state): State<Arc<AdminState>>, Query(filters): Query<Filters>) -> Response {
    let Some(store) = state.ledger.clone() else {
        return no_ledger();
    };
    let limit = filters.limit.unwrap_or(20).clamp(1, MAX_PAGE);
    let query = ledger::Query {
        subscription: filters.subscription,
        destination: filters.destination,
        state: filters.status,
        since: filters.since,
        after: filters.cursor,
        limit,
    };
    let page = match tokio::task::spawn_blocking(move || store.list(&query)).await {
        Ok(Ok(page)) => page,
        Ok(Err(why)) => return failed(&why),
        Err(_) => return unavailable("the ledger lookup failed"),
    };
    let next = (page.len() == limit)
        .then(|| page.last().map(|e| e.webhook_id.clone()))
        .flatten();
    let deliveries: Vec<Value> = page.iter().map(Entry::shown).collect();
    Json(json!({"limit": limit, "next_cursor": next, "deliveries": deliveries})).into_response()
}

async fn lookup(state: &AdminState, webhook_id: &str) -> Result<Entry, Response> {
    let Some(store) = state.ledger.clone() else {
        return Err(no_ledger());
    };
    let id = webhook_id.to_owned();
    match tokio::task::spawn_blocking(move || store.get(&id)).await {
        Ok(Ok(Some(entry))) => Ok(entry),
        Ok(Ok(None)) => Err(not_found("delivery", webhook_id)),
        Ok(Err(why)) => Err(failed(&why)),
        Err(_) => Err(unavailable("the ledger lookup failed")),
    }
}

async fn one(State(state): State<Arc<AdminState>>, Path(webhook_id): Path<String>) -> Response {
    match lookup(&state, &webhook_id).await {
        Ok(entry) => Json(entry.shown()).into_response(),
        Err(response) => response,
    }
}

/// Writes the delivery to the retry topic, due now, with the same `webhook-id`: whichever
/// instance holds its partition attempts it.
async fn resend(State(state): State<Arc<AdminState>>, Path(webhook_id): Path<String>) -> Response {
    let entry = match lookup(&state, &webhook_id).await {
        Ok(entry) => entry,
        Err(response) => return response,
    };
    let Some(retry) = &state.retry_topic else {
        return unavailable("no retry topic to resend through");
    };
    let job = entry.resend();
    let value = job.to_json();
    match retry
        .send(&job.webhook_id, &value, &job.due.to_rfc3339())
        .await
    {
        Ok(_) => (
            StatusCode::ACCEPTED,
            Json(json!({"webhook_id": webhook_id, "resent": true, "retry_topic": retry.topic()})),
        )
            .into_response(),
        Err(why) => unavailable(&format!("the retry topic refused the resend: {why}")),
    }
}
