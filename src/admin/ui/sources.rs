//! The sources page, and turning a source on or off: a confirmation page saying what happens to
//! its events meanwhile and what the change would have done to its retained traffic
//! ([`toggle_impact`](super::toggle_impact)), then the change `PATCH /v1/sources/{id}` makes (its
//! `enabled:` line in `router.yaml`, put in effect at once).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Value, json};

use super::session;
use super::toggle_impact;
use super::{Page, message, refusal, render, sign_in_first, url_escape};
use crate::admin::{AdminState, listings};
use crate::control::Change;
use crate::telemetry::recent::Kind;

pub(super) async fn page(
    State(state): State<Arc<AdminState>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let viewer = session::viewer(&state, &headers);
    if !viewer.may_read() {
        return sign_in_first();
    }
    let config = state.config();
    let sources: Vec<Value> = listings::sources(&config)
        .into_iter()
        .filter_map(|source| listings::source(&state, source["id"].as_str()?))
        .map(|mut source| {
            let id = source["id"].as_str().unwrap_or_default().to_owned();
            source["last_hour"] = json!(state.metrics.recent.total(Kind::Consumed, &id, 60));
            source
        })
        .collect();
    let changed = query.get("changed").and_then(|id| {
        listings::source(&state, id).map(|s| json!({"id": id, "enabled": s["enabled"]}))
    });
    render(
        &state,
        &viewer,
        Page {
            nav: "sources",
            title: "Sources",
            template: "sources",
        },
        json!({"sources": sources, "changed": changed, "fleet": state.control.is_some(), "config_path": config.path.display().to_string()}),
    )
}

/// `GET /ui/sources/{id}?enabled=true|false`: what turning the source on or off does, and the
/// form that does it.
pub(super) async fn confirm(
    State(state): State<Arc<AdminState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let viewer = session::viewer(&state, &headers);
    if !viewer.may_read() {
        return sign_in_first();
    }
    let config = state.config();
    let Some(source) = listings::source(&state, &id) else {
        return message(
            &state,
            &viewer,
            StatusCode::NOT_FOUND,
            "No such source",
            &format!("There is no source {id:?}."),
        );
    };
    let enable = query.get("enabled").is_some_and(|v| v == "true");
    let topics = source["kafka_topics"]
        .as_array()
        .map(|t| {
            t.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    let meanwhile = if enable {
        format!(
            "From the next event read on, events of {id} are routed to its topics and delivered to their subscriptions. Events that arrived on {topics} while it was off were read and dropped: they are not delivered now."
        )
    } else {
        format!(
            "While {id} is off the router keeps reading its Kafka topics ({topics}): each event is dropped, counted in events_dropped_source_disabled_total, and its offset committed, so turning the source on again does not deliver what arrived meanwhile. Deliveries already under way (retries included) go on."
        )
    };
    let already = source["enabled"] == enable;
    let mut data = json!({
        "id": id,
        "name": source["name"],
        "enable": enable,
        "already": already,
        "meanwhile": meanwhile,
        "fleet": state.control.is_some(),
        "config_path": config.path.display().to_string(),
    });
    if !already
        && let (Value::Object(data), Value::Object(impact)) = (
            &mut data,
            toggle_impact::of_toggle(&state, &id, enable).await,
        )
    {
        data.extend(impact);
    }
    render(
        &state,
        &viewer,
        Page {
            nav: "sources",
            title: "Confirm",
            template: "confirm",
        },
        data,
    )
}

/// `POST /ui/sources/{id}` with `enabled` and the session's CSRF token.
pub(super) async fn toggle(
    State(state): State<Arc<AdminState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let viewer = session::viewer(&state, &headers);
    if let Some(refused) = refusal(&state, &viewer, form.get("csrf").map(String::as_str)) {
        return refused;
    }
    if listings::source(&state, &id).is_none() {
        return message(
            &state,
            &viewer,
            StatusCode::NOT_FOUND,
            "No such source",
            &format!("There is no source {id:?}."),
        );
    }
    let enabled = match form.get("enabled").map(String::as_str) {
        Some("true") => true,
        Some("false") => false,
        _ => {
            return message(
                &state,
                &viewer,
                StatusCode::BAD_REQUEST,
                "Not changed",
                "The form must say enabled=true or enabled=false.",
            );
        }
    };
    let changed = match &state.control {
        // Every instance applies it: the control topic.
        Some(control) => {
            let change = Change::Source {
                id: id.clone(),
                enabled,
            };
            control
                .write(change, "admin (console)")
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
        None => state
            .live()
            .set_source_enabled(&id, enabled)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
    };
    match changed {
        Ok(()) => Redirect::to(&format!("/ui/sources?changed={}", url_escape(&id))).into_response(),
        Err(error) => message(
            &state,
            &viewer,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Not changed",
            &format!("The source was not changed: {error}"),
        ),
    }
}
