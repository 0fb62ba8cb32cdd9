//! A Microsoft Teams Workflows webhook stand-in on `127.0.0.1:0`: checks each message against
//! the Adaptive Card schema Teams renders and answers as the Workflows trigger does.
//!
//! - A valid message: 202 with an empty body; the card is kept ([`TeamsServer::next`]).
//! - An invalid one: 400 `{"error":{"code":"InvalidRequestContent","message":...}}`, the
//!   message naming what is wrong; over 28 KB: 413 `MessageTooLarge`.
//! - Scripted answers ([`TeamsServer::reply`]) come first: 429 with `Retry-After`, as Teams
//!   throttles.
//!
//! Checked: `type: message`; `attachments[0].contentType` is
//! `application/vnd.microsoft.card.adaptive`; its `content` has `type: AdaptiveCard`, a
//! `version` from 1.0 to 1.5 and a `body` array of elements of Adaptive Card 1.5 types;
//! a `TextBlock` has a string `text`; a `FactSet` has `facts` of string `title` and `value`;
//! containers' items are checked the same way.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The path of the stand-in's webhook; its query is the signature a real one carries.
pub const WORKFLOW_PATH: &str = "/workflows/3f2a/triggers/manual/paths/invoke";
/// The largest message Teams takes, in bytes.
pub const MAX_BYTES: usize = 28 * 1024;
const WAIT: Duration = Duration::from_secs(10);

/// The element types of Adaptive Cards 1.5.
const ELEMENTS: [&str; 16] = [
    "TextBlock",
    "RichTextBlock",
    "Image",
    "Media",
    "ImageSet",
    "Container",
    "ColumnSet",
    "FactSet",
    "ActionSet",
    "Table",
    "Input.Text",
    "Input.Number",
    "Input.Date",
    "Input.Time",
    "Input.Toggle",
    "Input.ChoiceSet",
];

/// A request as received, with the stand-in's answer.
#[derive(Debug, Clone)]
pub struct TeamsRequest {
    pub headers: HeaderMap,
    pub json: Value,
    pub body: Bytes,
    pub status: u16,
    /// Why the message was refused; `None` when accepted or scripted.
    pub error: Option<String>,
}

impl TeamsRequest {
    /// The Adaptive Card of the first attachment.
    pub fn card(&self) -> &Value {
        &self.json["attachments"][0]["content"]
    }
}

/// The Teams stand-in; stops when dropped.
pub struct TeamsServer {
    url: String,
    requests: mpsc::UnboundedReceiver<TeamsRequest>,
    script: Arc<Mutex<VecDeque<u64>>>,
    task: JoinHandle<()>,
}

#[derive(Clone)]
struct Shared {
    requests: mpsc::UnboundedSender<TeamsRequest>,
    /// `Retry-After` seconds of each scripted 429.
    script: Arc<Mutex<VecDeque<u64>>>,
}

impl TeamsServer {
    pub async fn start() -> TeamsServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the Teams stand-in");
        let address = listener.local_addr().expect("Teams stand-in address");
        let (sender, requests) = mpsc::unbounded_channel();
        let script = Arc::new(Mutex::new(VecDeque::new()));
        let shared = Shared {
            requests: sender,
            script: script.clone(),
        };
        let app = Router::new().fallback(answer).with_state(shared);
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("Teams stand-in serves");
        });
        TeamsServer {
            url: format!("http://{address}{WORKFLOW_PATH}?api-version=1&sig=s3cretSignature"),
            requests,
            script,
            task,
        }
    }

    /// The webhook URL, with its secret signature.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Answers the next request 429 with `Retry-After: retry_after_secs`.
    pub fn throttle(&self, retry_after_secs: u64) -> &TeamsServer {
        lock(&self.script).push_back(retry_after_secs);
        self
    }

    /// The next request, failing the test if none arrives within 10 s.
    pub async fn next(&mut self) -> TeamsRequest {
        tokio::time::timeout(WAIT, self.requests.recv())
            .await
            .expect("a request reaches the Teams stand-in in time")
            .expect("Teams stand-in still running")
    }
}

impl Drop for TeamsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock(script: &Mutex<VecDeque<u64>>) -> MutexGuard<'_, VecDeque<u64>> {
    script.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn answer(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let throttled = lock(&shared.script).pop_front();
    let (status, error, response) = if let Some(wait) = throttled {
        let body =
            json!({"error": {"code": "TooManyRequests", "message": "Rate limit is exceeded."}});
        (429, None, build(429, Some(wait), body.to_string()))
    } else if body.len() > MAX_BYTES {
        let why = format!(
            "The message is {} bytes; the limit is {MAX_BYTES}.",
            body.len()
        );
        let body = json!({"error": {"code": "MessageTooLarge", "message": why}});
        (413, Some(why), build(413, None, body.to_string()))
    } else {
        let json_type = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        let why = if json_type {
            check(&json).err()
        } else {
            Some("Content-Type must be application/json".to_owned())
        };
        match why {
            None => (202, None, build(202, None, String::new())),
            Some(why) => {
                let body = json!({"error": {"code": "InvalidRequestContent", "message": why}});
                (400, Some(why), build(400, None, body.to_string()))
            }
        }
    };
    let _ = shared.requests.send(TeamsRequest {
        headers,
        json,
        body,
        status,
        error,
    });
    response
}

/// Why Teams would refuse `message`, or `Ok`.
pub fn check(message: &Value) -> Result<(), String> {
    if message["type"] != "message" {
        return Err("'type' must be 'message'".to_owned());
    }
    let attachment = &message["attachments"][0];
    if attachment["contentType"] != "application/vnd.microsoft.card.adaptive" {
        return Err(
            "attachments[0].contentType must be application/vnd.microsoft.card.adaptive".to_owned(),
        );
    }
    let card = &attachment["content"];
    if card["type"] != "AdaptiveCard" {
        return Err("attachments[0].content.type must be 'AdaptiveCard'".to_owned());
    }
    let version = card["version"].as_str().unwrap_or_default();
    let minor = version
        .strip_prefix("1.")
        .and_then(|m| m.parse::<u32>().ok());
    if minor.is_none_or(|m| m > 5) {
        return Err(format!(
            "card version {version:?} is not one Teams renders (1.0 to 1.5)"
        ));
    }
    match card["body"].as_array() {
        Some(body) => check_elements(body, "body"),
        None => Err("the card has no 'body' array".to_owned()),
    }
}

fn check_elements(elements: &[Value], at: &str) -> Result<(), String> {
    for (i, element) in elements.iter().enumerate() {
        let at = format!("{at}[{i}]");
        let kind = element["type"].as_str().unwrap_or_default();
        if !ELEMENTS.contains(&kind) {
            return Err(format!("{at}: unknown element type {kind:?}"));
        }
        match kind {
            "TextBlock" if !element["text"].is_string() => {
                return Err(format!("{at}: a TextBlock needs a string 'text'"));
            }
            "FactSet" => {
                let facts = element["facts"]
                    .as_array()
                    .ok_or(format!("{at}: a FactSet needs 'facts'"))?;
                if facts
                    .iter()
                    .any(|f| !f["title"].is_string() || !f["value"].is_string())
                {
                    return Err(format!("{at}: each fact needs string 'title' and 'value'"));
                }
            }
            "Container" => {
                let items = element["items"]
                    .as_array()
                    .ok_or(format!("{at}: a Container needs 'items'"))?;
                check_elements(items, &format!("{at}.items"))?;
            }
            _ => {}
        }
    }
    Ok(())
}

fn build(status: u16, retry_after: Option<u64>, body: String) -> Response {
    let mut response = Response::builder().status(status);
    if !body.is_empty() {
        response = response.header("content-type", "application/json");
    }
    if let Some(wait) = retry_after {
        response = response.header("retry-after", wait.to_string());
    }
    response.body(Body::from(body)).expect("a valid response")
}
