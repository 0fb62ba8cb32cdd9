//! Signing in (the admin token, or the read token for a session that only reads) and out.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use super::session::{self, Access, SESSION_COOKIE, SIGN_IN_COOKIE};
use super::{Page, render_status};
use crate::admin::AdminState;

/// How long the sign-in form's CSRF cookie lasts.
const SIGN_IN_FORM_LIFETIME: Duration = Duration::from_secs(1800);

fn secure(state: &AdminState) -> bool {
    state
        .config()
        .router
        .admin
        .as_ref()
        .is_some_and(|admin| admin.tls.is_some())
}

/// The sign-in form, with a fresh CSRF token in it and in a cookie.
pub(super) async fn form(State(state): State<Arc<AdminState>>, headers: HeaderMap) -> Response {
    let viewer = session::viewer(&state, &headers);
    sign_in_page(&state, &viewer, None, StatusCode::OK)
}

fn sign_in_page(
    state: &AdminState,
    viewer: &session::Viewer,
    problem: Option<&str>,
    status: StatusCode,
) -> Response {
    let token = session::random_token();
    let mut response = render_status(
        state,
        viewer,
        Page {
            nav: "",
            title: "Sign in",
            template: "sign_in",
        },
        json!({"sign_in_csrf": token, "problem": problem}),
        status,
    );
    let cookie = session::set_cookie(SIGN_IN_COOKIE, &token, SIGN_IN_FORM_LIFETIME, secure(state));
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// Checks the token: a session and its cookie, or the form again saying the token was not
/// accepted (and nothing more).
pub(super) async fn sign_in(
    State(state): State<Arc<AdminState>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let viewer = session::viewer(&state, &headers);
    let expected = session::cookie(&headers, SIGN_IN_COOKIE);
    let presented = form.get("csrf");
    let csrf_ok = matches!((&expected, presented), (Some(e), Some(p)) if session::same(e, p));
    if !csrf_ok {
        return sign_in_page(
            &state,
            &viewer,
            Some("The form was out of date: try again."),
            StatusCode::FORBIDDEN,
        );
    }
    let token = form.get("token").map_or("", |t| t.trim());
    let access = session::access(&state, token);
    let can_change = match access {
        Access::Change => true,
        Access::Read => false,
        Access::Refused => {
            return sign_in_page(
                &state,
                &viewer,
                Some("That token is not accepted."),
                StatusCode::UNAUTHORIZED,
            );
        }
    };
    if let Some((old, _, _)) = &viewer.session {
        state.console.sessions.end(old);
    }
    let (id, _csrf) = state.console.sessions.start(can_change);
    let mut response = Redirect::to("/ui/").into_response();
    let secure = secure(&state);
    for cookie in [
        session::set_cookie(SESSION_COOKIE, &id, session::session_lifetime(), secure),
        session::set_cookie(SIGN_IN_COOKIE, "", Duration::ZERO, secure),
    ] {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// Ends the session (the form carries its CSRF token) and removes the cookie.
pub(super) async fn sign_out(
    State(state): State<Arc<AdminState>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let viewer = session::viewer(&state, &headers);
    if !viewer.csrf_matches(form.get("csrf").map(String::as_str)) {
        return super::message(
            &state,
            &viewer,
            StatusCode::FORBIDDEN,
            "Refused",
            "This form did not carry this session's CSRF token: reload the page and try again.",
        );
    }
    if let Some((id, _, _)) = &viewer.session {
        state.console.sessions.end(id);
    }
    let mut response = Redirect::to("/ui/sign-in").into_response();
    let cookie = session::set_cookie(SESSION_COOKIE, "", Duration::ZERO, secure(&state));
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}
