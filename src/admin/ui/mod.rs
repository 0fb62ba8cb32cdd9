//! The operator console under `/ui/`: server-rendered HTML pages (Handlebars templates compiled
//! into the binary, as the deliveries' templates are), one stylesheet and one small script, all
//! embedded; every page is sent with a Content-Security-Policy that allows nothing inline and
//! nothing from elsewhere. Pages: overview, sources, topics, explain, deliveries, silences, dead letters.
//! Reading follows the admin server's reads (open, or signed in); changing anything needs a
//! session signed in with the admin token and the session's CSRF token in the form.

mod chart;
mod dead_letters;
mod deliveries;
mod explain;
mod overview;
mod session;
mod sign_in;
mod silences;
mod sources;
mod toggle_impact;
mod topics;

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use handlebars::Handlebars;
use serde_json::{Value, json};

use super::AdminState;
pub use session::{Sessions, Viewer};

/// What every console page is sent with.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'";

const STYLESHEET: &str = include_str!("assets/console.css");
const SCRIPT: &str = include_str!("assets/console.js");

/// The templates, one per page, and the console's sessions.
pub struct Console {
    templates: Handlebars<'static>,
    pub sessions: Sessions,
}

impl Default for Console {
    fn default() -> Self {
        Self::new()
    }
}

impl Console {
    pub fn new() -> Self {
        let mut templates = Handlebars::new();
        templates.set_strict_mode(false);
        for (name, text) in TEMPLATES {
            // The templates are part of the binary; a test renders every one of them.
            if let Err(error) = templates.register_template_string(name, text) {
                panic!("console template {name} does not compile: {error}");
            }
        }
        Self {
            templates,
            sessions: Sessions::default(),
        }
    }
}

const TEMPLATES: [(&str, &str); 13] = [
    ("layout", include_str!("templates/layout.hbs")),
    ("explanation", include_str!("templates/explanation.hbs")),
    ("overview", include_str!("templates/overview.hbs")),
    ("sources", include_str!("templates/sources.hbs")),
    ("confirm", include_str!("templates/confirm.hbs")),
    ("topics", include_str!("templates/topics.hbs")),
    ("explain", include_str!("templates/explain.hbs")),
    ("deliveries", include_str!("templates/deliveries.hbs")),
    ("delivery", include_str!("templates/delivery.hbs")),
    ("silences", include_str!("templates/silences.hbs")),
    ("dead_letters", include_str!("templates/dead_letters.hbs")),
    ("sign_in", include_str!("templates/sign_in.hbs")),
    ("message", include_str!("templates/message.hbs")),
];

/// The console's routes, all under `/ui`.
pub fn routes() -> Router<Arc<AdminState>> {
    Router::new()
        .route("/ui", get(|| async { Redirect::permanent("/ui/") }))
        .route("/ui/", get(overview::page))
        .route("/ui/sources", get(sources::page))
        .route(
            "/ui/sources/{id}",
            get(sources::confirm).post(sources::toggle),
        )
        .route("/ui/topics", get(topics::page))
        .route("/ui/explain", get(explain::form).post(explain::explain))
        .route("/ui/deliveries", get(deliveries::list))
        .route("/ui/deliveries/{webhook_id}", get(deliveries::one))
        .route(
            "/ui/deliveries/{webhook_id}/resend",
            axum::routing::post(deliveries::resend),
        )
        .route("/ui/silences", get(silences::list).post(silences::create))
        .route(
            "/ui/silences/{id}/expire",
            axum::routing::post(silences::expire),
        )
        .route("/ui/dead-letters", get(dead_letters::page))
        .route(
            "/ui/dead-letters/replay",
            axum::routing::post(dead_letters::replay),
        )
        .route("/ui/sign-in", get(sign_in::form).post(sign_in::sign_in))
        .route("/ui/sign-out", axum::routing::post(sign_in::sign_out))
        .route("/ui/assets/console.css", get(stylesheet))
        .route("/ui/assets/console.js", get(script))
        .layer(middleware::from_fn(secure_headers))
}

/// The policy and the other headers every console response carries.
async fn secure_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", STYLESHEET)
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        body,
    )
        .into_response()
}

/// Which page a response is.
pub(super) struct Page {
    /// The navigation entry marked current.
    pub nav: &'static str,
    pub title: &'static str,
    pub template: &'static str,
}

/// A page: its template rendered with `data` (plus the viewer's session), inside the layout.
pub(super) fn render(state: &AdminState, viewer: &Viewer, page: Page, data: Value) -> Response {
    render_status(state, viewer, page, data, StatusCode::OK)
}

pub(super) fn render_status(
    state: &AdminState,
    viewer: &Viewer,
    page: Page,
    mut data: Value,
    status: StatusCode,
) -> Response {
    let common = json!({
        "csrf": viewer.csrf(),
        "signed_in": viewer.session.is_some(),
        "can_change": viewer.can_change(),
        "can_sign_in": viewer.can_sign_in,
        "reads_open": viewer.reads_open,
    });
    if let (Value::Object(data), Value::Object(common)) = (&mut data, common.clone()) {
        data.extend(common);
    }
    let templates = &state.console.templates;
    let body = match templates.render(page.template, &data) {
        Ok(body) => body,
        Err(error) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the {} page cannot be rendered: {error}", page.template),
            )
                .into_response();
        }
    };
    let mut layout = common;
    layout["title"] = json!(page.title);
    layout["body"] = json!(body);
    layout["nav"] = json!(NAV
        .iter()
        .map(|(id, label, href)| json!({"label": label, "href": href, "current": *id == page.nav}))
        .collect::<Vec<_>>());
    match templates.render("layout", &layout) {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the layout cannot be rendered: {error}"),
        )
            .into_response(),
    }
}

const NAV: [(&str, &str, &str); 7] = [
    ("overview", "Overview", "/ui/"),
    ("sources", "Sources", "/ui/sources"),
    ("topics", "Topics", "/ui/topics"),
    ("explain", "Explain", "/ui/explain"),
    ("deliveries", "Deliveries", "/ui/deliveries"),
    ("silences", "Silences", "/ui/silences"),
    ("dead-letters", "Dead letters", "/ui/dead-letters"),
];

/// A page saying one thing, with `status`.
pub(super) fn message(
    state: &AdminState,
    viewer: &Viewer,
    status: StatusCode,
    title: &'static str,
    text: &str,
) -> Response {
    render_status(
        state,
        viewer,
        Page {
            nav: "",
            title,
            template: "message",
        },
        json!({"heading": title, "text": text}),
        status,
    )
}

/// `text` for a URL's query or path, every byte outside `[A-Za-z0-9._-]` percent-encoded.
pub(super) fn url_escape(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Where a reader who must sign in first is sent.
pub(super) fn sign_in_first() -> Response {
    Redirect::to("/ui/sign-in").into_response()
}

/// Why a form may not change state: `None` with a session signed in with the admin token and
/// its CSRF token in the form, else the `403` page saying which is missing.
pub(super) fn refusal(state: &AdminState, viewer: &Viewer, csrf: Option<&str>) -> Option<Response> {
    if viewer.session.is_none() {
        return Some(message(
            state,
            viewer,
            StatusCode::FORBIDDEN,
            "Sign in first",
            "Changes need a session: sign in with the admin token.",
        ));
    }
    if !viewer.csrf_matches(csrf) {
        return Some(message(
            state,
            viewer,
            StatusCode::FORBIDDEN,
            "Refused",
            "This form did not carry this session's CSRF token: reload the page and try again.",
        ));
    }
    if !viewer.can_change() {
        return Some(message(
            state,
            viewer,
            StatusCode::FORBIDDEN,
            "Read only",
            "This session was opened with the read token: sign in with the admin token to change anything.",
        ));
    }
    None
}

#[cfg(test)]
mod tests;
