//! The silences page: every silence this instance knows (pending, active, expired), the form that
//! makes one (pre-filled from a link, as the explain page's "Silence events like this" does) and
//! the button that expires one; both change through the same code as `/v1/silences`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::session::{self, Viewer};
use super::{Page, message, refusal, render_status, sign_in_first, url_escape};
use crate::admin::{AdminState, silences as api};
use crate::control::Written;

/// Who the console's silences are made and expired by.
const CONSOLE: &str = "admin (console)";
use crate::silence::{Scope, State as Stage};

/// The form's fields, as a link may pre-fill them.
const FIELDS: [&str; 8] = [
    "matcher",
    "topic",
    "subscription",
    "destination",
    "starts_at",
    "ends_at",
    "duration",
    "comment",
];

fn page() -> Page {
    Page {
        nav: "silences",
        title: "Silences",
        template: "silences",
    }
}

/// `GET /ui/silences`: the list and the form.
pub(super) async fn list(
    State(state): State<Arc<AdminState>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let viewer = session::viewer(&state, &headers);
    if !viewer.may_read() {
        return sign_in_first();
    }
    show(&state, &viewer, &query, None, StatusCode::OK)
}

fn show(
    state: &AdminState,
    viewer: &Viewer,
    form: &HashMap<String, String>,
    problem: Option<String>,
    status: StatusCode,
) -> Response {
    let Some(desk) = state.silences() else {
        return render_status(state, viewer, page(), json!({"available": false}), status);
    };
    let now = Utc::now();
    let mut silences: Vec<Value> = desk
        .silences
        .list()
        .iter()
        .map(|s| {
            let stage = s.state(now);
            let (sign, class) = match stage {
                Stage::Pending => ("◷", "warn"),
                Stage::Active => ("●", "good"),
                Stage::Expired => ("○", "off"),
            };
            json!({
                "id": s.id,
                "state": stage.as_str(),
                "sign": sign,
                "class": class,
                "expirable": stage != Stage::Expired,
                "matcher": s.matcher,
                "scope": scope_text(&s.scope),
                "starts_at": s.starts_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "ends_at": s.ends_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "created_by": s.created_by,
                "comment": s.comment,
                "expire_href": format!("/ui/silences/{}/expire", url_escape(&s.id)),
                "order": (stage == Stage::Expired, s.ends_at),
            })
        })
        .collect();
    // In effect or to come first, then the expired; each by when it ends.
    silences.sort_by(|a, b| {
        let key = |v: &Value| {
            (
                v["order"][0].as_bool(),
                v["order"][1].as_str().map(str::to_owned),
            )
        };
        key(a).cmp(&key(b))
    });
    let filled: serde_json::Map<String, Value> = FIELDS
        .iter()
        .filter_map(|f| form.get(*f).map(|v| ((*f).to_owned(), json!(v))))
        .collect();
    let made = form.get("made").cloned();
    render_status(
        state,
        viewer,
        page(),
        json!({
            "available": true,
            "silences": silences,
            "form": filled,
            "problem": problem,
            "made": made,
            "expired": form.get("expired"),
            "pending": form.get("pending"),
        }),
        status,
    )
}

fn scope_text(scope: &Scope) -> String {
    let parts: Vec<String> = [
        ("topic", &scope.topic),
        ("subscription", &scope.subscription),
        ("destination", &scope.destination),
    ]
    .iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k} {v}")))
    .collect();
    if parts.is_empty() {
        "every delivery".to_owned()
    } else {
        parts.join(", ")
    }
}

/// `POST /ui/silences`: a new silence from the form, with the session's CSRF token.
pub(super) async fn create(
    State(state): State<Arc<AdminState>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let viewer = session::viewer(&state, &headers);
    if let Some(refused) = refusal(&state, &viewer, form.get("csrf").map(String::as_str)) {
        return refused;
    }
    let Some(desk) = state.silences() else {
        return show(
            &state,
            &viewer,
            &form,
            None,
            StatusCode::SERVICE_UNAVAILABLE,
        );
    };
    let silence = times(&form).and_then(|(starts_at, ends_at)| {
        let get = |key: &str| {
            form.get(key)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let scope = Scope {
            topic: get("topic"),
            subscription: get("subscription"),
            destination: get("destination"),
        };
        api::draft(
            &state,
            CONSOLE,
            get("matcher").unwrap_or_default(),
            scope,
            starts_at,
            ends_at,
            form.get("comment").cloned().unwrap_or_default(),
        )
    });
    let silence = match silence {
        Ok(silence) => silence,
        Err(why) => {
            return show(&state, &viewer, &form, Some(why), StatusCode::BAD_REQUEST);
        }
    };
    let id = silence.id.clone();
    match api::put(desk, silence, CONSOLE).await {
        Ok(Written::Applied) => {
            Redirect::to(&format!("/ui/silences?made={}", url_escape(&id))).into_response()
        }
        Ok(Written::Pending) => {
            Redirect::to(&format!("/ui/silences?pending={}", url_escape(&id))).into_response()
        }
        Err((status, why)) => show(&state, &viewer, &form, Some(why), status),
    }
}

/// When the form's silence starts (none: now) and ends (`ends_at`, else `duration` after the
/// start).
fn times(form: &HashMap<String, String>) -> Result<(Option<DateTime<Utc>>, DateTime<Utc>), String> {
    let get = |key: &str| form.get(key).map(|v| v.trim()).filter(|v| !v.is_empty());
    let time = |key: &str, text: &str| {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| format!("{key}: {text:?} is not an RFC 3339 time"))
    };
    let starts_at = get("starts_at").map(|t| time("starts_at", t)).transpose()?;
    let ends_at = match (get("ends_at"), get("duration")) {
        (Some(ends), _) => time("ends_at", ends)?,
        (None, Some(duration)) => {
            let length = humantime_serde::re::humantime::parse_duration(duration)
                .ok()
                .and_then(|d| chrono::TimeDelta::from_std(d).ok())
                .ok_or_else(|| format!("duration: {duration:?} is not a duration (2h, 30m, 1d)"))?;
            starts_at.unwrap_or_else(Utc::now) + length
        }
        (None, None) => return Err("give an end time or a duration".into()),
    };
    Ok((starts_at, ends_at))
}

/// `POST /ui/silences/{id}/expire` with the session's CSRF token: the silence ends now.
pub(super) async fn expire(
    State(state): State<Arc<AdminState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let viewer = session::viewer(&state, &headers);
    if let Some(refused) = refusal(&state, &viewer, form.get("csrf").map(String::as_str)) {
        return refused;
    }
    let Some(desk) = state.silences() else {
        return show(
            &state,
            &viewer,
            &form,
            None,
            StatusCode::SERVICE_UNAVAILABLE,
        );
    };
    let Some(silence) = desk.silences.get(&id) else {
        return message(
            &state,
            &viewer,
            StatusCode::NOT_FOUND,
            "No such silence",
            &format!("There is no silence {id:?}."),
        );
    };
    match api::put(desk, api::expired(&silence), CONSOLE).await {
        Ok(Written::Applied) => {
            Redirect::to(&format!("/ui/silences?expired={}", url_escape(&id))).into_response()
        }
        Ok(Written::Pending) => {
            Redirect::to(&format!("/ui/silences?pending={}", url_escape(&id))).into_response()
        }
        Err((status, why)) => message(&state, &viewer, status, "Not expired", &why),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    fn form(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_duration_ends_after_the_start() {
        let (starts, ends) = super::times(&form(&[
            ("starts_at", "2026-01-01T00:00:00Z"),
            ("duration", "2h"),
        ]))
        .unwrap();
        assert_eq!(ends - starts.unwrap(), chrono::TimeDelta::hours(2));
        assert!(super::times(&form(&[("duration", "soon")])).is_err());
        assert!(super::times(&form(&[])).is_err());
    }

    #[test]
    fn an_empty_scope_is_every_delivery() {
        assert_eq!(super::scope_text(&Default::default()), "every delivery");
    }
}
