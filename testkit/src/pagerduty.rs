//! A PagerDuty Events API v2 stand-in on `127.0.0.1:0`: checks each event against the published
//! schema, answers as PagerDuty documents, and keeps the incidents the events open and resolve.
//!
//! - A valid event: 202 `{"status":"success","message":"Event processed","dedup_key":...}`.
//!   A `trigger` opens an incident for its `dedup_key` (or adds to the open one); a `resolve`
//!   resolves the open one (and is ignored when there is none, as PagerDuty does).
//! - An invalid one: 400 `{"status":"invalid event","message":"Event object is invalid",
//!   "errors":[...]}`, each error naming the field, and no incident changes.
//! - Scripted answers ([`PagerDutyServer::reply`]) come first: 429 and 5xx as PagerDuty sends
//!   them, for the router's retries.
//!
//! Schema: `routing_key` (32 characters), `event_action` (`trigger`, `acknowledge`, `resolve`),
//! `dedup_key` (at most 255 characters; required but for `trigger`), and for a `trigger` a
//! `payload` with `summary` (at most 1024 characters), `source`, `severity` (`critical`,
//! `error`, `warning`, `info`), optional `timestamp`, `component`, `group`, `class` (strings) and
//! `custom_details`; optional `links` (`href` required) and `images` (`src` required).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The Events API path.
pub const ENQUEUE_PATH: &str = "/v2/enqueue";
/// A routing key of the right length, for tests.
pub const ROUTING_KEY: &str = "R0UT1NGKEY0123456789abcdefABCDEF";
const WAIT: Duration = Duration::from_secs(10);

/// An event as received, with the stand-in's answer.
#[derive(Debug, Clone)]
pub struct PagerDutyRequest {
    pub headers: HeaderMap,
    pub json: Value,
    pub status: u16,
    /// The schema errors found; empty for a valid event.
    pub errors: Vec<String>,
}

/// What PagerDuty keeps for one incident.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    pub dedup_key: String,
    pub resolved: bool,
    /// Triggers de-duplicated into it, the first included.
    pub triggers: usize,
    /// The first trigger's payload.
    pub payload: Value,
}

/// A scripted answer, before any check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PagerDutyReply {
    /// 429 `{"status":"throttle event","message":"Requests for this service are arriving too quickly."}`.
    Throttled,
    /// A 5xx as given, with PagerDuty's plain answer.
    ServerError(u16),
}

#[derive(Default)]
struct Book {
    script: VecDeque<PagerDutyReply>,
    incidents: Vec<Incident>,
}

#[derive(Clone)]
struct Shared {
    requests: mpsc::UnboundedSender<PagerDutyRequest>,
    book: Arc<Mutex<Book>>,
}

/// The PagerDuty stand-in; stops when dropped.
pub struct PagerDutyServer {
    url: String,
    requests: mpsc::UnboundedReceiver<PagerDutyRequest>,
    book: Arc<Mutex<Book>>,
    task: JoinHandle<()>,
}

impl PagerDutyServer {
    pub async fn start() -> PagerDutyServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the PagerDuty stand-in");
        let address = listener.local_addr().expect("PagerDuty stand-in address");
        let (sender, requests) = mpsc::unbounded_channel();
        let book = Arc::new(Mutex::new(Book::default()));
        let shared = Shared {
            requests: sender,
            book: book.clone(),
        };
        let app = Router::new().fallback(answer).with_state(shared);
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("PagerDuty stand-in serves");
        });
        PagerDutyServer {
            url: format!("http://{address}{ENQUEUE_PATH}"),
            requests,
            book,
            task,
        }
    }

    /// The Events API endpoint.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Queues `reply` for the next request.
    pub fn reply(&self, reply: PagerDutyReply) -> &PagerDutyServer {
        lock(&self.book).script.push_back(reply);
        self
    }

    /// The next request, failing the test if none arrives within 10 s.
    pub async fn next(&mut self) -> PagerDutyRequest {
        tokio::time::timeout(WAIT, self.requests.recv())
            .await
            .expect("a request reaches the PagerDuty stand-in in time")
            .expect("PagerDuty stand-in still running")
    }

    /// The incidents, in the order they were opened.
    pub fn incidents(&self) -> Vec<Incident> {
        lock(&self.book).incidents.clone()
    }
}

impl Drop for PagerDutyServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock(book: &Mutex<Book>) -> MutexGuard<'_, Book> {
    book.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn answer(
    State(shared): State<Shared>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let scripted = lock(&shared.book).script.pop_front();
    let (status, errors, reply) = if uri.path() != ENQUEUE_PATH {
        (
            404,
            Vec::new(),
            json!({"status": "not found", "message": "Not Found"}),
        )
    } else if let Some(scripted) = scripted {
        match scripted {
            PagerDutyReply::Throttled => (
                429,
                Vec::new(),
                json!({
                    "status": "throttle event",
                    "message": "Requests for this service are arriving too quickly.  Please retry later."
                }),
            ),
            PagerDutyReply::ServerError(status) => (
                status,
                Vec::new(),
                json!({"status": "error", "message": "Internal Server Error"}),
            ),
        }
    } else {
        let mut errors = Vec::new();
        let is_json = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !is_json {
            errors.push("Content-Type must be application/json".to_owned());
        }
        errors.extend(check(&json));
        if errors.is_empty() {
            let key = record(&mut lock(&shared.book), &json);
            (
                202,
                errors,
                json!({"status": "success", "message": "Event processed", "dedup_key": key}),
            )
        } else {
            let body = json!({"status": "invalid event", "message": "Event object is invalid", "errors": errors});
            (400, errors, body)
        }
    };
    let _ = shared.requests.send(PagerDutyRequest {
        headers,
        json,
        status,
        errors,
    });
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::from(reply.to_string()))
        .expect("a valid response")
}

/// The schema errors of an event, in PagerDuty's words where it has them.
pub fn check(event: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    let Some(fields) = event.as_object() else {
        return vec!["Event object is not a JSON object".to_owned()];
    };
    let text = |name: &str| fields.get(name).and_then(Value::as_str);
    match text("routing_key") {
        None => errors.push("'routing_key' is missing or blank".to_owned()),
        Some(key) if key.chars().count() != 32 => {
            errors.push("Length of 'routing_key' is incorrect (should be 32 characters)".to_owned())
        }
        Some(_) => {}
    }
    let action = text("event_action");
    match action {
        Some("trigger" | "acknowledge" | "resolve") => {}
        _ => errors.push("'event_action' is invalid (must be one of the following: 'trigger', 'acknowledge' or 'resolve')".to_owned()),
    }
    match fields.get("dedup_key") {
        None if action != Some("trigger") => {
            errors.push("'dedup_key' is missing or blank".to_owned())
        }
        None => {}
        Some(Value::String(key)) if !key.is_empty() && key.chars().count() <= 255 => {}
        Some(_) => errors.push("'dedup_key' must be a string of 1 to 255 characters".to_owned()),
    }
    if action == Some("trigger") {
        match fields.get("payload").and_then(Value::as_object) {
            None => errors.push("'payload' is missing or is not an object".to_owned()),
            Some(payload) => check_payload(payload, &mut errors),
        }
    }
    for (list, required) in [("links", "href"), ("images", "src")] {
        match fields.get(list) {
            None => {}
            Some(Value::Array(items))
                if items
                    .iter()
                    .any(|i| i.get(required).and_then(Value::as_str).is_none()) =>
            {
                errors.push(format!("'{list}' items need a '{required}' string"));
            }
            Some(Value::Array(_)) => {}
            Some(_) => errors.push(format!("'{list}' must be an array")),
        }
    }
    errors
}

fn check_payload(payload: &serde_json::Map<String, Value>, errors: &mut Vec<String>) {
    let text = |name: &str| payload.get(name).and_then(Value::as_str);
    match text("summary") {
        Some(s) if !s.trim().is_empty() && s.chars().count() <= 1024 => {}
        Some(s) if s.chars().count() > 1024 => {
            errors.push("'payload.summary' is longer than 1024 characters".to_owned())
        }
        _ => errors.push("'payload.summary' is missing or blank".to_owned()),
    }
    if text("source").is_none_or(|s| s.trim().is_empty()) {
        errors.push("'payload.source' is missing or blank".to_owned());
    }
    match text("severity") {
        Some("critical" | "error" | "warning" | "info") => {}
        _ => errors.push("'payload.severity' is invalid (must be one of the following: 'critical', 'warning', 'error' or 'info')".to_owned()),
    }
    for name in ["timestamp", "component", "group", "class"] {
        if payload.get(name).is_some_and(|v| !v.is_string()) {
            errors.push(format!("'payload.{name}' must be a string"));
        }
    }
}

/// Applies a valid event to the incidents; the event's `dedup_key`, or the one given.
fn record(book: &mut Book, event: &Value) -> String {
    let key = event["dedup_key"].as_str().map_or_else(
        || format!("generated-{}", book.incidents.len()),
        str::to_owned,
    );
    let open = book
        .incidents
        .iter_mut()
        .find(|i| i.dedup_key == key && !i.resolved);
    match (event["event_action"].as_str(), open) {
        (Some("trigger"), Some(incident)) => incident.triggers += 1,
        (Some("trigger"), None) => book.incidents.push(Incident {
            dedup_key: key.clone(),
            resolved: false,
            triggers: 1,
            payload: event["payload"].clone(),
        }),
        (Some("resolve"), Some(incident)) => incident.resolved = true,
        _ => {}
    }
    key
}
