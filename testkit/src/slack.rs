//! A Slack stand-in on `127.0.0.1:0`: an incoming webhook and `chat.postMessage`, scripted.
//!
//! Every request is recorded and handed to [`SlackServer::next`]. Answers come from the script:
//! for a `chat.postMessage` whose channel has its own script, that script's next reply; else the
//! next reply of the per-call script; else success (`ok` for the webhook, `{"ok":true,...}` for
//! the API). The webhook lives at [`WEBHOOK_PATH`]; any other path answers 404 `no_service`,
//! as Slack does for an unknown webhook, and other API methods 404 `unknown_method`.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use url::Url;

/// The incoming webhook's path; everything after `/services/` is the secret.
pub const WEBHOOK_PATH: &str = "/services/T0TEST/B0TEST/webhookSecret123";
/// `chat.postMessage`'s path.
pub const POST_MESSAGE_PATH: &str = "/api/chat.postMessage";
/// How long [`SlackServer::next`] waits for a request before failing the test.
const WAIT: Duration = Duration::from_secs(5);

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct SlackRequest {
    pub method: Method,
    /// The path, without the query.
    pub path: String,
    pub headers: HeaderMap,
    /// The body parsed as JSON, `Value::Null` when it is not JSON.
    pub json: Value,
    /// The body as received.
    pub body: Bytes,
}

impl SlackRequest {
    /// A header's value, when present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `channel` of a `chat.postMessage` body.
    pub fn channel(&self) -> Option<&str> {
        self.json.get("channel").and_then(Value::as_str)
    }
}

/// One scripted answer.
#[derive(Debug, Clone, PartialEq)]
pub enum SlackReply {
    /// Success: 200 `ok` from the webhook, 200 `{"ok":true,...}` from the API.
    Ok,
    /// The Web API's HTTP 200 `{"ok":false,"error":...}`.
    ApiError(String),
    /// An HTTP error with a plain-text error string, as incoming webhooks answer.
    Status { status: u16, error: String },
    /// 429 with `Retry-After` in seconds (and `ratelimited` / `rate_limited` in the body).
    RateLimited { retry_after_secs: u64 },
    /// Anything else: status, headers and body as given.
    Raw {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
}

impl SlackReply {
    /// HTTP 200 `{"ok":false,"error":error}`.
    pub fn api_error(error: &str) -> SlackReply {
        SlackReply::ApiError(error.to_owned())
    }

    /// `status` with `error` as a plain-text body.
    pub fn status(status: u16, error: &str) -> SlackReply {
        SlackReply::Status {
            status,
            error: error.to_owned(),
        }
    }

    /// 429 with `Retry-After: retry_after_secs`.
    pub fn rate_limited(retry_after_secs: u64) -> SlackReply {
        SlackReply::RateLimited { retry_after_secs }
    }

    /// `status` with `body`, no headers.
    pub fn raw(status: u16, body: &str) -> SlackReply {
        SlackReply::Raw {
            status,
            headers: Vec::new(),
            body: body.to_owned(),
        }
    }
}

#[derive(Default)]
struct Script {
    calls: VecDeque<SlackReply>,
    channels: HashMap<String, VecDeque<SlackReply>>,
}

#[derive(Clone)]
struct Shared {
    requests: mpsc::UnboundedSender<SlackRequest>,
    script: Arc<Mutex<Script>>,
    hits: Arc<AtomicUsize>,
}

/// The Slack stand-in; stops when dropped.
pub struct SlackServer {
    base: Url,
    requests: mpsc::UnboundedReceiver<SlackRequest>,
    script: Arc<Mutex<Script>>,
    hits: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl SlackServer {
    /// Starts on a free local port, with an empty script (everything succeeds).
    pub async fn start() -> SlackServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the Slack stand-in");
        let address = listener.local_addr().expect("Slack stand-in address");
        let (sender, requests) = mpsc::unbounded_channel();
        let script = Arc::new(Mutex::new(Script::default()));
        let hits = Arc::new(AtomicUsize::new(0));
        let shared = Shared {
            requests: sender,
            script: script.clone(),
            hits: hits.clone(),
        };
        let app = Router::new().fallback(answer).with_state(shared);
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("Slack stand-in serves");
        });
        SlackServer {
            base: Url::parse(&format!("http://{address}/")).expect("Slack stand-in url"),
            requests,
            script,
            hits,
            task,
        }
    }

    /// The incoming webhook's URL.
    pub fn webhook_url(&self) -> Url {
        self.base.join(WEBHOOK_PATH).expect("webhook path joins")
    }

    /// The Web API base, ending in `/api/`.
    pub fn api_url(&self) -> Url {
        self.base.join("/api/").expect("api path joins")
    }

    /// Queues `reply` for the next request not answered by a channel's own script.
    pub fn reply(&self, reply: SlackReply) -> &SlackServer {
        lock(&self.script).calls.push_back(reply);
        self
    }

    /// Queues `reply` for the next `chat.postMessage` to `channel`.
    pub fn reply_for(&self, channel: &str, reply: SlackReply) -> &SlackServer {
        lock(&self.script)
            .channels
            .entry(channel.to_owned())
            .or_default()
            .push_back(reply);
        self
    }

    /// The next request, failing the test if none arrives within 5 s.
    pub async fn next(&mut self) -> SlackRequest {
        tokio::time::timeout(WAIT, self.requests.recv())
            .await
            .expect("a request reaches the Slack stand-in in time")
            .expect("Slack stand-in still running")
    }

    /// Every request received and not yet taken with [`next`](Self::next), without waiting.
    pub fn drain(&mut self) -> Vec<SlackRequest> {
        let mut taken = Vec::new();
        while let Ok(request) = self.requests.try_recv() {
            taken.push(request);
        }
        taken
    }

    /// Requests received so far.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

impl Drop for SlackServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock(script: &Mutex<Script>) -> MutexGuard<'_, Script> {
    script.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn answer(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared.hits.fetch_add(1, Ordering::SeqCst);
    let request = SlackRequest {
        method,
        path: uri.path().to_owned(),
        headers,
        json: serde_json::from_slice(&body).unwrap_or(Value::Null),
        body,
    };
    let reply = match request.path.as_str() {
        WEBHOOK_PATH => Some(scripted(&shared, None)),
        POST_MESSAGE_PATH => Some(scripted(&shared, request.channel())),
        _ => None,
    };
    let response = match (reply, request.path.as_str()) {
        (Some(reply), WEBHOOK_PATH) => webhook_response(reply),
        (Some(reply), _) => api_response(reply, request.channel()),
        (None, path) if path.starts_with("/api/") => {
            json_response(404, &[], &json!({"ok": false, "error": "unknown_method"}))
        }
        (None, _) => text_response(404, &[], "no_service"),
    };
    let _ = shared.requests.send(request);
    response
}

fn scripted(shared: &Shared, channel: Option<&str>) -> SlackReply {
    let mut script = lock(&shared.script);
    let for_channel = channel
        .and_then(|channel| script.channels.get_mut(channel))
        .and_then(VecDeque::pop_front);
    for_channel
        .or_else(|| script.calls.pop_front())
        .unwrap_or(SlackReply::Ok)
}

fn webhook_response(reply: SlackReply) -> Response {
    match reply {
        SlackReply::Ok => text_response(200, &[], "ok"),
        SlackReply::ApiError(error) => text_response(200, &[], &error),
        SlackReply::Status { status, error } => text_response(status, &[], &error),
        SlackReply::RateLimited { retry_after_secs } => {
            let wait = retry_after_secs.to_string();
            text_response(429, &[("retry-after", &wait)], "rate_limited")
        }
        SlackReply::Raw {
            status,
            headers,
            body,
        } => raw_response(status, &headers, body),
    }
}

fn api_response(reply: SlackReply, channel: Option<&str>) -> Response {
    match reply {
        SlackReply::Ok => json_response(
            200,
            &[],
            &json!({"ok": true, "channel": channel, "ts": "1700000000.000100"}),
        ),
        SlackReply::ApiError(error) => {
            json_response(200, &[], &json!({"ok": false, "error": error}))
        }
        SlackReply::Status { status, error } => text_response(status, &[], &error),
        SlackReply::RateLimited { retry_after_secs } => {
            let wait = retry_after_secs.to_string();
            json_response(
                429,
                &[("retry-after", &wait)],
                &json!({"ok": false, "error": "ratelimited"}),
            )
        }
        SlackReply::Raw {
            status,
            headers,
            body,
        } => raw_response(status, &headers, body),
    }
}

fn json_response(status: u16, headers: &[(&str, &str)], body: &Value) -> Response {
    let mut all = vec![("content-type", "application/json; charset=utf-8")];
    all.extend_from_slice(headers);
    build(status, &all, body.to_string())
}

fn text_response(status: u16, headers: &[(&str, &str)], body: &str) -> Response {
    let mut all = vec![("content-type", "text/html")];
    all.extend_from_slice(headers);
    build(status, &all, body.to_owned())
}

fn raw_response(status: u16, headers: &[(String, String)], body: String) -> Response {
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    build(status, &headers, body)
}

fn build(status: u16, headers: &[(&str, &str)], body: String) -> Response {
    let mut response = Response::builder().status(status);
    for (name, value) in headers {
        response = response.header(*name, *value);
    }
    response
        .body(Body::from(body))
        .expect("scripted reply is a valid response")
}
