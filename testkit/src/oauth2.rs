//! An OAuth2 authorisation server and a receiver that requires its tokens, on `127.0.0.1:0`.
//!
//! - `POST /token`: the client credentials grant (RFC 6749 §4.4) with HTTP Basic client
//!   authentication; answers `{"access_token":"tok-N","token_type":"Bearer","expires_in":...}`,
//!   or 401 `{"error":"invalid_client"}` for other credentials and 400
//!   `{"error":"unsupported_grant_type"}` for another grant.
//! - Any other path is the receiver: 200 for `Authorization: Bearer` and a token this server
//!   issued and has not expired, else 401 with `WWW-Authenticate: Bearer error="invalid_token"`
//!   (RFC 6750 §3). [`OAuth2Server::expire_tokens`] expires every token issued so far, as if
//!   their lifetime had passed early.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use base64::Engine;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub const CLIENT_ID: &str = "router-client";
pub const CLIENT_SECRET: &str = "s3cret-client-secret";
const WAIT: Duration = Duration::from_secs(10);

/// A request to the receiver, with the answer it got.
#[derive(Debug, Clone)]
pub struct Call {
    pub authorization: Option<String>,
    pub status: u16,
}

#[derive(Default)]
struct Tokens {
    issued: usize,
    valid: HashSet<String>,
    /// The `scope` of each token request.
    scopes: Vec<Option<String>>,
}

#[derive(Clone)]
struct Shared {
    calls: mpsc::UnboundedSender<Call>,
    tokens: Arc<Mutex<Tokens>>,
    expires_in: u64,
}

/// The server; stops when dropped.
pub struct OAuth2Server {
    base: String,
    calls: mpsc::UnboundedReceiver<Call>,
    tokens: Arc<Mutex<Tokens>>,
    task: JoinHandle<()>,
}

impl OAuth2Server {
    /// Issues tokens valid for `expires_in` seconds.
    pub async fn start(expires_in: u64) -> OAuth2Server {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the OAuth2 stand-in");
        let address = listener.local_addr().expect("OAuth2 stand-in address");
        let (sender, calls) = mpsc::unbounded_channel();
        let tokens = Arc::new(Mutex::new(Tokens::default()));
        let shared = Shared {
            calls: sender,
            tokens: tokens.clone(),
            expires_in,
        };
        let app = Router::new().fallback(answer).with_state(shared);
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("OAuth2 stand-in serves");
        });
        OAuth2Server {
            base: format!("http://{address}"),
            calls,
            tokens,
            task,
        }
    }

    pub fn token_url(&self) -> String {
        format!("{}/token", self.base)
    }

    pub fn receiver_url(&self) -> String {
        format!("{}/hook", self.base)
    }

    /// Every token issued so far stops being accepted.
    pub fn expire_tokens(&self) {
        lock(&self.tokens).valid.clear();
    }

    /// How many tokens were issued.
    pub fn issued(&self) -> usize {
        lock(&self.tokens).issued
    }

    /// The `scope` asked for by each token request.
    pub fn scopes(&self) -> Vec<Option<String>> {
        lock(&self.tokens).scopes.clone()
    }

    /// The next request to the receiver, failing the test if none arrives within 10 s.
    pub async fn next(&mut self) -> Call {
        tokio::time::timeout(WAIT, self.calls.recv())
            .await
            .expect("a request reaches the receiver in time")
            .expect("OAuth2 stand-in still running")
    }
}

impl Drop for OAuth2Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock(tokens: &Mutex<Tokens>) -> MutexGuard<'_, Tokens> {
    tokens.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn answer(
    State(shared): State<Shared>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if uri.path() == "/token" {
        return token(&shared, authorization.as_deref(), &body);
    }
    let token = authorization
        .as_deref()
        .and_then(|a| a.strip_prefix("Bearer "));
    let valid = token.is_some_and(|t| lock(&shared.tokens).valid.contains(t));
    let status = if valid { 200 } else { 401 };
    let _ = shared.calls.send(Call {
        authorization,
        status,
    });
    let mut response = Response::builder().status(status);
    if !valid {
        response = response.header("www-authenticate", "Bearer error=\"invalid_token\"");
    }
    response.body(Body::empty()).expect("a valid response")
}

fn token(shared: &Shared, authorization: Option<&str>, body: &[u8]) -> Response {
    let expected =
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
    if authorization != Some(&format!("Basic {expected}")) {
        return json_response(401, json!({"error": "invalid_client"}));
    }
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    if field("grant_type").as_deref() != Some("client_credentials") {
        return json_response(400, json!({"error": "unsupported_grant_type"}));
    }
    let mut tokens = lock(&shared.tokens);
    tokens.issued += 1;
    let token = format!("tok-{}", tokens.issued);
    tokens.valid.insert(token.clone());
    tokens.scopes.push(field("scope"));
    json_response(
        200,
        json!({"access_token": token, "token_type": "Bearer", "expires_in": shared.expires_in}),
    )
}

fn json_response(status: u16, body: serde_json::Value) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("cache-control", "no-store")
        .body(Body::from(body.to_string()))
        .expect("a valid response")
}
