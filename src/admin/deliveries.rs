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

use super::{AdminState, error, not_found};
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

/// Why a ledger call failed: the API's error answer, or the console's message.
pub(super) struct Failure {
    pub status: StatusCode,
    code: &'static str,
    pub message: String,
}

impl Failure {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    pub(super) fn response(&self) -> Response {
        error(self.status, self.code, &self.message)
    }
}

fn no_ledger() -> Failure {
    Failure::unavailable("the delivery ledger is off (ledger.enabled: false)")
}

fn failed(why: &ledger::StoreError) -> Failure {
    Failure::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "ledger_store",
        why.to_string(),
    )
}

fn gone() -> Failure {
    Failure::unavailable("the ledger lookup failed")
}

/// A destination test's status, or else a notification's from the ledger: Event Notifications'
/// `inprogress` while a delivery waits for a retry, `failure` once one is dead-lettered and none
/// waits, `success` when all are delivered (or paused).
async fn notification(State(state): State<Arc<AdminState>>, Path(id): Path<String>) -> Response {
    if let Some(status) = state.tests.get(&id) {
        return Json(status).into_response();
    }
    if state.ledger.is_none() {
        return not_found("notification", &id);
    }
    let entries = match of_notification(&state, &id).await {
        Ok(entries) => entries,
        Err(failure) => return failure.response(),
    };
    if entries.is_empty() {
        return not_found("notification", &id);
    }
    let status = if entries.iter().any(|e| !e.state.is_final()) {
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
    let limit = filters.limit.unwrap_or(20).clamp(1, MAX_PAGE);
    let query = ledger::Query {
        subscription: filters.subscription,
        destination: filters.destination,
        state: filters.status,
        since: filters.since,
        after: filters.cursor,
        limit,
    };
    let (page, next) = match page(&state, query).await {
        Ok(found) => found,
        Err(failure) => return failure.response(),
    };
    let deliveries: Vec<Value> = page.iter().map(Entry::shown).collect();
    Json(json!({"limit": limit, "next_cursor": next, "deliveries": deliveries})).into_response()
}

/// One page of deliveries matching `query`, with the cursor of the next page when it is full;
/// the console's deliveries page shares it.
pub(super) async fn page(
    state: &AdminState,
    query: ledger::Query,
) -> Result<(Vec<Entry>, Option<String>), Failure> {
    let Some(store) = state.ledger.clone() else {
        return Err(no_ledger());
    };
    let limit = query.limit;
    let page = match tokio::task::spawn_blocking(move || store.list(&query)).await {
        Ok(Ok(page)) => page,
        Ok(Err(why)) => return Err(failed(&why)),
        Err(_) => return Err(gone()),
    };
    let next = (page.len() == limit)
        .then(|| page.last().map(|e| e.webhook_id.clone()))
        .flatten();
    Ok((page, next))
}

/// Every delivery of notification `id`, oldest first as the store keeps them.
pub(super) async fn of_notification(state: &AdminState, id: &str) -> Result<Vec<Entry>, Failure> {
    let Some(store) = state.ledger.clone() else {
        return Err(no_ledger());
    };
    let lookup = id.to_owned();
    match tokio::task::spawn_blocking(move || store.of_notification(&lookup)).await {
        Ok(Ok(entries)) => Ok(entries),
        Ok(Err(why)) => Err(failed(&why)),
        Err(_) => Err(gone()),
    }
}

pub(super) async fn lookup(state: &AdminState, webhook_id: &str) -> Result<Entry, Failure> {
    let Some(store) = state.ledger.clone() else {
        return Err(no_ledger());
    };
    let id = webhook_id.to_owned();
    match tokio::task::spawn_blocking(move || store.get(&id)).await {
        Ok(Ok(Some(entry))) => Ok(entry),
        Ok(Ok(None)) => Err(Failure::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("delivery {webhook_id:?} not found"),
        )),
        Ok(Err(why)) => Err(failed(&why)),
        Err(_) => Err(gone()),
    }
}

async fn one(State(state): State<Arc<AdminState>>, Path(webhook_id): Path<String>) -> Response {
    match lookup(&state, &webhook_id).await {
        Ok(entry) => Json(entry.shown()).into_response(),
        Err(failure) => failure.response(),
    }
}

/// Writes the delivery to the retry topic, due now, with the same `webhook-id`: whichever
/// instance holds its partition attempts it.
async fn resend(State(state): State<Arc<AdminState>>, Path(webhook_id): Path<String>) -> Response {
    match resend_delivery(&state, &webhook_id).await {
        Ok(topic) => (
            StatusCode::ACCEPTED,
            Json(json!({"webhook_id": webhook_id, "resent": true, "retry_topic": topic})),
        )
            .into_response(),
        Err(failure) => failure.response(),
    }
}

/// Resends delivery `webhook_id` (see [`resend`]); the retry topic's name, or the error response.
/// The console's Resend button goes through it too.
pub(super) async fn resend_delivery(
    state: &AdminState,
    webhook_id: &str,
) -> Result<String, Failure> {
    let entry = lookup(state, webhook_id).await?;
    let Some(retry) = &state.retry_topic else {
        return Err(Failure::unavailable("no retry topic to resend through"));
    };
    let job = entry.resend();
    let value = job.to_json();
    match retry
        .send(&job.webhook_id, &value, &job.due.to_rfc3339())
        .await
    {
        Ok(_) => Ok(retry.topic().to_string()),
        Err(why) => Err(Failure::unavailable(format!(
            "the retry topic refused the resend: {why}"
        ))),
    }
}
