//! `/v1/silences`: list (`GET`), create (`POST`, token) and expire (`DELETE /{id}`, token)
//! silences. A change is a record of the control topic (`silence/<id>`), which every instance
//! reads; it is answered once this instance has read it back and put it in effect (`201`/`200`),
//! or, when that takes longer than the write's time limit, `202`: written, not yet in effect here.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::control::actor;
use super::{AdminState, error, not_found, unavailable};
use crate::control::{Change, Control, Written};
use crate::silence::{Scope, Silence, Silences};

/// What a `202` says: the change is in the control topic, not yet in effect on this instance.
pub(super) const PENDING: &str = "written to the control topic, not yet applied on this instance: it is applied as soon as it is read back";

/// Where the admin API keeps silences: this instance's copy and the control topic every
/// instance reads them from.
pub struct SilenceDesk {
    pub silences: Arc<Silences>,
    pub control: Arc<Control>,
}

impl SilenceDesk {
    /// The silences `control` reads, changed through it.
    pub fn of(control: Arc<Control>) -> Self {
        Self {
            silences: control.silences().clone(),
            control,
        }
    }
}

/// A new silence, as `POST /v1/silences` takes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewSilence {
    matcher: String,
    #[serde(default)]
    scope: Scope,
    /// Now when absent.
    #[serde(default)]
    starts_at: Option<DateTime<Utc>>,
    ends_at: DateTime<Utc>,
    #[serde(default)]
    comment: String,
}

pub(super) fn reads() -> Router<Arc<AdminState>> {
    Router::new()
        .route("/v1/silences", get(list))
        .route("/v1/silences/{id}", get(one))
}

pub(super) fn changes() -> Router<Arc<AdminState>> {
    Router::new()
        .route("/v1/silences", axum::routing::post(create))
        .route("/v1/silences/{id}", delete(expire))
}

fn desk(state: &AdminState) -> Result<&SilenceDesk, Box<Response>> {
    state
        .silences()
        .ok_or_else(|| Box::new(unavailable("silences need the router's Kafka connection")))
}

fn shown(silence: &Silence, now: DateTime<Utc>) -> Value {
    let mut value = serde_json::to_value(silence).unwrap_or_default();
    value["state"] = json!(silence.state(now).as_str());
    value
}

async fn list(State(state): State<Arc<AdminState>>) -> Response {
    let desk = match desk(&state) {
        Ok(desk) => desk,
        Err(response) => return *response,
    };
    let now = Utc::now();
    let silences: Vec<Value> = desk.silences.list().iter().map(|s| shown(s, now)).collect();
    Json(json!({"silences": silences})).into_response()
}

async fn one(State(state): State<Arc<AdminState>>, Path(id): Path<String>) -> Response {
    let desk = match desk(&state) {
        Ok(desk) => desk,
        Err(response) => return *response,
    };
    match desk.silences.get(&id) {
        Some(silence) => Json(shown(&silence, Utc::now())).into_response(),
        None => not_found("silence", &id),
    }
}

async fn create(
    State(state): State<Arc<AdminState>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let desk = match desk(&state) {
        Ok(desk) => desk,
        Err(response) => return *response,
    };
    let new: NewSilence = match serde_json::from_slice(&body) {
        Ok(new) => new,
        Err(e) => return error(StatusCode::BAD_REQUEST, "bad_request", &e.to_string()),
    };
    let by = actor(&headers);
    let silence = match draft(
        &state,
        &by,
        new.matcher,
        new.scope,
        new.starts_at,
        new.ends_at,
        new.comment,
    ) {
        Ok(silence) => silence,
        Err(why) => return error(StatusCode::BAD_REQUEST, "bad_request", &why),
    };
    save(desk, silence, &by, StatusCode::CREATED).await
}

/// A new silence made `by` someone, checked (its matcher, times, comment and scope); the
/// console's form makes its silences through it too.
pub(super) fn draft(
    state: &AdminState,
    by: &str,
    matcher: String,
    scope: Scope,
    starts_at: Option<DateTime<Utc>>,
    ends_at: DateTime<Utc>,
    comment: String,
) -> Result<Silence, String> {
    let now = Utc::now();
    let silence = Silence {
        id: uuid::Uuid::new_v4().to_string(),
        matcher,
        scope,
        starts_at: starts_at.unwrap_or(now),
        ends_at,
        created_by: by.to_owned(),
        comment,
        updated_at: now,
    };
    silence.compile().map_err(|why| why.to_string())?;
    if new_scope_unknown(state, &silence.scope) {
        return Err(
            "scope: names a topic, subscription or destination not in the configuration".into(),
        );
    }
    Ok(silence)
}

/// Whether a scope names something the configuration does not have.
fn new_scope_unknown(state: &AdminState, scope: &Scope) -> bool {
    let config = state.config();
    let table = &config.table;
    scope
        .topic
        .as_ref()
        .is_some_and(|t| !table.topics().iter().any(|x| &x.name == t))
        || scope
            .subscription
            .as_ref()
            .is_some_and(|s| table.subscription_by_name(s).is_none())
        || scope
            .destination
            .as_ref()
            .is_some_and(|d| !table.destinations().iter().any(|x| &x.id == d))
}

async fn expire(
    State(state): State<Arc<AdminState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let desk = match desk(&state) {
        Ok(desk) => desk,
        Err(response) => return *response,
    };
    let Some(silence) = desk.silences.get(&id) else {
        return not_found("silence", &id);
    };
    save(desk, expired(&silence), &actor(&headers), StatusCode::OK).await
}

/// `silence` ending now (unchanged if it already ended).
pub(super) fn expired(silence: &Silence) -> Silence {
    let now = Utc::now();
    let mut silence = silence.clone();
    if silence.ends_at > now {
        silence.ends_at = now.max(silence.starts_at + chrono::TimeDelta::milliseconds(1));
        silence.updated_at = now;
    }
    silence
}

/// Writes `silence` to the control topic, changed `by` someone; answers with `status` once it is
/// in effect here, `202` (with why) when it is written but not read back in time.
async fn save(desk: &SilenceDesk, silence: Silence, by: &str, status: StatusCode) -> Response {
    let mut shown = shown(&silence, Utc::now());
    match put(desk, silence, by).await {
        Ok(Written::Applied) => (status, Json(shown)).into_response(),
        Ok(Written::Pending) => {
            shown["applied"] = json!(false);
            shown["message"] = json!(PENDING);
            (StatusCode::ACCEPTED, Json(shown)).into_response()
        }
        Err((status, why)) if status == StatusCode::BAD_REQUEST => {
            error(status, "bad_request", &why)
        }
        Err((_, why)) => unavailable(&why),
    }
}

/// Writes `silence` (checked) to the control topic, made or changed `by` someone, and waits
/// until this instance has put it in effect (or the write's time limit passed: pending); the
/// console shares it.
pub(super) async fn put(
    desk: &SilenceDesk,
    silence: Silence,
    by: &str,
) -> Result<Written, (StatusCode, String)> {
    silence
        .compile()
        .map_err(|why| (StatusCode::BAD_REQUEST, why.to_string()))?;
    desk.control
        .write(Change::Silence(silence), by)
        .await
        .map_err(|why| (StatusCode::SERVICE_UNAVAILABLE, why.to_string()))
}
