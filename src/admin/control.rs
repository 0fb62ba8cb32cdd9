//! The calls that change the fleet's runtime state through the control topic, each applied by
//! every instance: a source override cleared (`DELETE /v1/sources/{id}/override`), a destination
//! disabled or enabled again (`POST /v1/destinations/{id}/disable|enable`), a subscription paused
//! or resumed (`PATCH /v1/subscriptions/{name}`), and what is in effect (`GET /v1/control`).
//! Each record says who made it: the admin token (`admin`), with the `X-Router-Actor` header's
//! name when the caller sends one.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{AdminState, error, listings, not_found, unavailable};
use crate::control::{Change, Control};

/// The header a caller may name itself in; recorded beside the token's name.
pub(super) const ACTOR_HEADER: &str = "x-router-actor";

/// The longest actor name kept.
const MAX_ACTOR: usize = 100;

/// The routes that change state (behind the admin token).
pub(super) fn routes() -> Router<Arc<AdminState>> {
    Router::new()
        .route("/v1/sources/{id}/override", delete(clear_source))
        .route("/v1/destinations/{id}/enable", post(enable_destination))
        .route("/v1/destinations/{id}/disable", post(disable_destination))
        .route("/v1/subscriptions/{name}", patch(pause))
}

/// The routes that read (behind the read token).
pub(super) fn reads() -> Router<Arc<AdminState>> {
    Router::new().route("/v1/control", get(list))
}

/// Who a change is made by: `admin` (the admin token), and the caller's own name if it sent one.
pub(super) fn actor(headers: &HeaderMap) -> String {
    let named = headers
        .get(ACTOR_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty());
    match named {
        Some(name) => {
            let name: String = name
                .chars()
                .filter(|c| !c.is_control())
                .take(MAX_ACTOR)
                .collect();
            format!("admin ({name})")
        }
        None => "admin".into(),
    }
}

fn control(state: &AdminState) -> Option<&Arc<Control>> {
    state.control.as_ref()
}

fn no_control() -> Response {
    unavailable("this router has no control topic")
}

/// Every change in effect, latest per key.
async fn list(State(state): State<Arc<AdminState>>) -> Response {
    let Some(control) = control(&state) else {
        return no_control();
    };
    let records: Vec<Value> = control
        .state()
        .records()
        .map(|r| serde_json::to_value(r).unwrap_or(Value::Null))
        .collect();
    Json(json!({"topic": control.topic(), "caught_up": control.caught_up(), "total_count": records.len(), "changes": records})).into_response()
}

/// Back to what `router.yaml` says for source `id`.
async fn clear_source(State(state): State<Arc<AdminState>>, Path(id): Path<String>) -> Response {
    let Some(control) = control(&state) else {
        return no_control();
    };
    if listings::source(&state, &id).is_none() {
        return not_found("source", &id);
    }
    match control.clear("source", &id).await {
        Ok(_) => match listings::source(&state, &id) {
            Some(source) => Json(source).into_response(),
            None => not_found("source", &id),
        },
        Err(why) => unavailable(&why.to_string()),
    }
}

async fn enable_destination(
    State(state): State<Arc<AdminState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    set_destination(&state, id, true, None, &headers).await
}

/// The optional body of `POST /v1/destinations/{id}/disable`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Disable {
    reason: Option<String>,
}

async fn disable_destination(
    State(state): State<Arc<AdminState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let disable: Disable = if body.is_empty() {
        Disable::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(disable) => disable,
            Err(why) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    &format!("the body must be {{\"reason\": \"...\"}} or empty: {why}"),
                );
            }
        }
    };
    let reason = disable
        .reason
        .or_else(|| Some("disabled by an operator".into()));
    set_destination(&state, id, false, reason, &headers).await
}

async fn set_destination(
    state: &AdminState,
    id: String,
    enabled: bool,
    reason: Option<String>,
    headers: &HeaderMap,
) -> Response {
    let Some(control) = control(state) else {
        return no_control();
    };
    if !state.config().destinations.iter().any(|d| d.id() == id) {
        return not_found("destination", &id);
    }
    let change = Change::Destination {
        id: id.clone(),
        enabled,
        reason,
    };
    match control.write(change, &actor(headers)).await {
        Ok(_) => {
            let disabled = control.state().destination_disabled(&id);
            let disabled =
                disabled.map(|(reason, set)| json!({"reason": reason, "by": set.by, "at": set.at}));
            Json(json!({"id": id, "disabled": disabled})).into_response()
        }
        Err(why) => unavailable(&why.to_string()),
    }
}

/// The body of `PATCH /v1/subscriptions/{name}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Pause {
    paused: bool,
}

async fn pause(
    State(state): State<Arc<AdminState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(control) = control(&state) else {
        return no_control();
    };
    if state.config().table.subscription_by_name(&name).is_none() {
        return not_found("subscription", &name);
    }
    let pause: Pause = match serde_json::from_slice(&body) {
        Ok(pause) => pause,
        Err(why) => {
            return error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                &format!("the body must be {{\"paused\": true|false}}: {why}"),
            );
        }
    };
    let change = Change::Subscription {
        id: name.clone(),
        paused: pause.paused,
    };
    match control.write(change, &actor(&headers)).await {
        Ok(_) => {
            let paused = control.state().paused(&name);
            let paused = paused.map(|set| json!({"by": set.by, "at": set.at}));
            Json(json!({"id": name, "name": name, "paused": paused})).into_response()
        }
        Err(why) => unavailable(&why.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn a_change_is_made_by_the_token_and_the_name_the_caller_gives() {
        let mut headers = HeaderMap::new();
        assert_eq!(actor(&headers), "admin");
        headers.insert(ACTOR_HEADER, HeaderValue::from_static("  alice "));
        assert_eq!(actor(&headers), "admin (alice)");
        headers.insert(ACTOR_HEADER, HeaderValue::from_static(""));
        assert_eq!(actor(&headers), "admin");
        let long = "x".repeat(300);
        headers.insert(
            ACTOR_HEADER,
            HeaderValue::from_str(&long).expect("a header"),
        );
        assert_eq!(
            actor(&headers),
            format!("admin ({})", "x".repeat(MAX_ACTOR))
        );
    }
}
