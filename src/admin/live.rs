//! The calls that change the live configuration: `POST /-/reload` (the files, loaded again) and
//! `PATCH /v1/sources/{id}` (a source turned on or off: an override in the control topic, for
//! every instance; persisted to `router.yaml` only when the router runs without one). Both need
//! the admin token.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{patch, post};
use serde::Deserialize;
use serde_json::json;

use super::{AdminState, listings, not_found};
use crate::control::Change;
use crate::reload::ReloadError;

pub(super) fn routes() -> Router<Arc<AdminState>> {
    Router::new()
        .route("/-/reload", post(reload))
        .route("/v1/sources/{id}", patch(set_enabled))
}

/// Loads the files again: `200` with what is in effect, or `422` with every problem.
async fn reload(State(state): State<Arc<AdminState>>) -> Response {
    match state.live().reload("admin API").await {
        Ok(summary) => Json(json!({"reloaded": true, "summary": summary})).into_response(),
        Err(error) => rejected(&error),
    }
}

/// The body of `PATCH /v1/sources/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Toggle {
    enabled: bool,
}

/// Turns a source on or off, through the control topic (or, without one, in `router.yaml`) and
/// live; answers the source as `GET` does once this instance applies it.
async fn set_enabled(
    State(state): State<Arc<AdminState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if listings::source(&state, &id).is_none() {
        return not_found("source", &id);
    }
    let toggle: Toggle = match serde_json::from_slice(&body) {
        Ok(toggle) => toggle,
        Err(error) => {
            return super::error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                &format!("the body must be {{\"enabled\": true|false}}: {error}"),
            );
        }
    };
    if let Some(control) = &state.control {
        let change = Change::Source {
            id: id.clone(),
            enabled: toggle.enabled,
        };
        return match control
            .write(change, &super::control::actor(&headers))
            .await
        {
            Ok(_) => match listings::source(&state, &id) {
                Some(source) => Json(source).into_response(),
                None => not_found("source", &id),
            },
            Err(error) => super::unavailable(&error.to_string()),
        };
    }
    match state.live().set_source_enabled(&id, toggle.enabled).await {
        Ok(_) => match listings::source(&state, &id) {
            Some(source) => Json(source).into_response(),
            None => not_found("source", &id),
        },
        Err(error) => rejected(&error),
    }
}

/// EN's error shape with one entry per problem: `422` for a configuration that is not valid,
/// `500` for a file that cannot be edited, read or written.
fn rejected(error: &ReloadError) -> Response {
    let (status, code, messages) = match error {
        ReloadError::Invalid(errors) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_configuration",
            errors.0.iter().map(ToString::to_string).collect(),
        ),
        ReloadError::Unusable(why) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_configuration",
            vec![why.to_string()],
        ),
        ReloadError::File(why) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "configuration_file",
            vec![why.clone()],
        ),
    };
    let errors: Vec<_> = messages
        .iter()
        .map(|message| json!({"code": code, "message": message}))
        .collect();
    (
        status,
        Json(json!({"errors": errors, "status_code": status.as_u16()})),
    )
        .into_response()
}
