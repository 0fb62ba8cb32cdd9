//! Test receivers on `127.0.0.1:0`: scripted HTTP answers with requests on a channel, or silence.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use url::Url;

/// How long a test waits for a request before failing.
const WAIT: Duration = Duration::from_secs(5);

/// A request as the receiver saw it.
#[derive(Debug)]
pub struct Received {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// One scripted answer; once the script is used up the receiver answers 200.
#[derive(Debug, Clone)]
pub struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
}

impl Reply {
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: String::new(),
        }
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }

    pub fn body(mut self, body: impl Into<String>) -> Reply {
        self.body = body.into();
        self
    }
}

#[derive(Clone)]
struct Shared {
    requests: mpsc::UnboundedSender<Received>,
    script: Arc<Mutex<VecDeque<Reply>>>,
    hits: Arc<AtomicUsize>,
}

/// A scripted HTTP receiver; stops when dropped.
pub struct Receiver {
    base: Url,
    requests: mpsc::UnboundedReceiver<Received>,
    hits: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Receiver {
    pub async fn start(script: Vec<Reply>) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind receiver");
        let address = listener.local_addr().expect("receiver address");
        let (sender, requests) = mpsc::unbounded_channel();
        let hits = Arc::new(AtomicUsize::new(0));
        let shared = Shared {
            requests: sender,
            script: Arc::new(Mutex::new(script.into())),
            hits: hits.clone(),
        };
        let app = Router::new().fallback(answer).with_state(shared);
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("receiver serves");
        });
        Receiver {
            base: Url::parse(&format!("http://{address}/")).expect("receiver url"),
            requests,
            hits,
            task,
        }
    }

    /// The receiver's URL for `path` (may include a query).
    pub fn url(&self, path: &str) -> Url {
        self.base.join(path).expect("test path joins")
    }

    /// The next request, failing the test if none arrives within 5 s.
    pub async fn next(&mut self) -> Received {
        tokio::time::timeout(WAIT, self.requests.recv())
            .await
            .expect("a request arrives in time")
            .expect("receiver still running")
    }

    /// Requests received so far.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared.hits.fetch_add(1, Ordering::SeqCst);
    let _ = shared.requests.send(Received {
        method,
        uri,
        headers,
        body,
    });
    let reply = shared
        .script
        .lock()
        .expect("script lock is never poisoned")
        .pop_front()
        .unwrap_or(Reply::status(200));
    let mut response = Response::builder().status(reply.status);
    for (name, value) in reply.headers {
        response = response.header(name, value);
    }
    response
        .body(Body::from(reply.body))
        .expect("scripted reply is valid")
}

/// Accepts connections and never answers; stops when dropped.
pub struct Silent {
    pub url: Url,
    task: JoinHandle<()>,
}

impl Silent {
    pub async fn start() -> Silent {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind silent server");
        let address = listener.local_addr().expect("silent server address");
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        Silent {
            url: Url::parse(&format!("http://{address}/slow")).expect("silent url"),
            task,
        }
    }
}

impl Drop for Silent {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A URL on a local port nobody listens on (bound, then released).
pub fn refused_url() -> Url {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a port");
    let port = listener.local_addr().expect("port").port();
    drop(listener);
    Url::parse(&format!("http://127.0.0.1:{port}/x")).expect("refused url")
}
