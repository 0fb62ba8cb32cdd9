//! The HTTP receiver on `127.0.0.1:0`: answers as scripted (a list of replies, a status by path
//! and body, a delay, or no answer until released) and hands every answered request to a
//! channel, with the time it was answered; plus a server that never reads, and a refused port.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinHandle;
use url::Url;

/// How long any wait in a test may take before it fails.
pub const WAIT: Duration = Duration::from_secs(60);

/// A request the receiver answered (requests still held are not).
#[derive(Debug, Clone)]
pub struct Received {
    pub method: Method,
    pub uri: Uri,
    /// The URI's path.
    pub path: String,
    pub headers: HeaderMap,
    /// The body as it arrived.
    pub body: Bytes,
    /// The status the receiver answered with.
    pub status: u16,
    /// When the receiver answered (the request's arrival, unless the receiver is delayed).
    pub at: Instant,
}

impl Received {
    /// A header's value, when it is present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as JSON, or `{"unparsed": text}` when it is not JSON.
    pub fn json(&self) -> Value {
        parse(&self.body)
    }

    /// The `event_id` of the event a notification body (`data.event_id`) carries.
    pub fn event_id(&self) -> String {
        self.json()["data"]["event_id"]
            .as_str()
            .expect("body carries an event with an event_id")
            .to_owned()
    }
}

fn parse(body: &[u8]) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| json!({"unparsed": String::from_utf8_lossy(body)}))
}

/// One scripted answer.
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

/// What the receiver does with a request.
#[derive(Debug, Clone)]
pub enum Answer {
    Reply(Reply),
    /// Holds the request open, unanswered, until [`Receiver::release`] lets it through (then it
    /// is answered 200), or forever.
    Hold,
}

/// A request as an [`Answers`] function sees it.
#[derive(Debug)]
pub struct Request<'a> {
    pub path: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// Decides the answer to each request.
pub type Answers = Arc<dyn Fn(&Request<'_>) -> Answer + Send + Sync>;

/// Decides the status of each request from its path and JSON body; `None` holds it open.
pub type Behaviour = Arc<dyn Fn(&str, &Value) -> Option<u16> + Send + Sync>;

#[derive(Clone)]
struct Shared {
    answers: Answers,
    delay: Duration,
    requests: mpsc::UnboundedSender<Received>,
    /// Requests arrived so far, answered or not.
    hits: Arc<watch::Sender<usize>>,
    /// Requests open now, and the most open at once.
    open: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
    release: Arc<Semaphore>,
}

/// A scripted HTTP receiver; stops when dropped.
pub struct Receiver {
    base: Url,
    requests: mpsc::UnboundedReceiver<Received>,
    hits: Arc<watch::Sender<usize>>,
    peak: Arc<AtomicUsize>,
    release: Arc<Semaphore>,
    task: JoinHandle<()>,
}

impl Receiver {
    /// Answers with `script`, one reply per request, then 200.
    pub async fn start(script: Vec<Reply>) -> Receiver {
        let script = Mutex::new(VecDeque::from(script));
        Receiver::with(
            Arc::new(move |_| {
                let next = script.lock().expect("script lock").pop_front();
                Answer::Reply(next.unwrap_or(Reply::status(200)))
            }),
            Duration::ZERO,
        )
        .await
    }

    /// Answers 200 to everything.
    pub async fn ok() -> Receiver {
        Receiver::start(Vec::new()).await
    }

    /// Answers each request with the status `behaviour` gives, or holds it open on `None`.
    pub async fn answering(behaviour: Behaviour) -> Receiver {
        Receiver::answering_delayed(behaviour, Duration::ZERO).await
    }

    /// Like [`answering`](Self::answering), answering each request `delay` after it arrived.
    pub async fn answering_delayed(behaviour: Behaviour, delay: Duration) -> Receiver {
        let answers: Answers =
            Arc::new(
                move |request| match behaviour(request.path, &parse(request.body)) {
                    Some(status) => Answer::Reply(Reply::status(status)),
                    None => Answer::Hold,
                },
            );
        Receiver::with(answers, delay).await
    }

    /// Holds every request open until [`release`](Self::release) lets it through.
    pub async fn holding() -> Receiver {
        Receiver::with(Arc::new(|_| Answer::Hold), Duration::ZERO).await
    }

    /// In an outage on `path` (503) while the returned flag is set; 200 everywhere else and once
    /// the flag is cleared.
    pub async fn with_outage(path: &'static str) -> (Receiver, Arc<AtomicBool>) {
        let down = Arc::new(AtomicBool::new(true));
        let is_down = down.clone();
        let receiver = Receiver::answering(Arc::new(move |p, _| {
            Some(if p == path && is_down.load(Ordering::SeqCst) {
                503
            } else {
                200
            })
        }))
        .await;
        (receiver, down)
    }

    /// Answers as `answers` decides, `delay` after each request arrived.
    pub async fn with(answers: Answers, delay: Duration) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind receiver");
        let address = listener.local_addr().expect("receiver address");
        let (sender, requests) = mpsc::unbounded_channel();
        let shared = Shared {
            answers,
            delay,
            requests: sender,
            hits: Arc::new(watch::Sender::new(0)),
            open: Arc::new(AtomicUsize::new(0)),
            peak: Arc::new(AtomicUsize::new(0)),
            release: Arc::new(Semaphore::new(0)),
        };
        Receiver {
            base: Url::parse(&format!("http://{address}/")).expect("receiver url"),
            requests,
            hits: shared.hits.clone(),
            peak: shared.peak.clone(),
            release: shared.release.clone(),
            task: tokio::spawn(async move {
                let app = Router::new().fallback(answer).with_state(shared);
                axum::serve(listener, app).await.expect("receiver serves");
            }),
        }
    }

    /// The receiver's URL for `path` (may include a query).
    pub fn url(&self, path: &str) -> Url {
        self.base.join(path).expect("test path joins")
    }

    /// The next answered request, failing the test after [`WAIT`].
    pub async fn next(&mut self) -> Received {
        tokio::time::timeout(WAIT, self.requests.recv())
            .await
            .expect("a request arrives in time")
            .expect("receiver still running")
    }

    /// The next answered request, if one comes within `limit`.
    pub async fn next_within(&mut self, limit: Duration) -> Option<Received> {
        tokio::time::timeout(limit, self.requests.recv())
            .await
            .ok()
            .flatten()
    }

    /// The next `n` answered requests.
    pub async fn take(&mut self, n: usize) -> Vec<Received> {
        let mut all = Vec::with_capacity(n);
        while all.len() < n {
            all.push(self.next().await);
        }
        all
    }

    /// Whatever has been answered and not taken yet.
    pub fn drain(&mut self) -> Vec<Received> {
        let mut all = Vec::new();
        while let Ok(received) = self.requests.try_recv() {
            all.push(received);
        }
        all
    }

    /// Requests arrived so far, answered or not.
    pub fn hits(&self) -> usize {
        *self.hits.borrow()
    }

    /// Waits until `n` requests have arrived, failing the test after [`WAIT`].
    pub async fn hits_reach(&self, n: usize) {
        let mut hits = self.hits.subscribe();
        tokio::time::timeout(WAIT, hits.wait_for(|hits| *hits >= n))
            .await
            .expect("requests arrive in time")
            .expect("receiver still running");
    }

    /// The most requests held open at once so far.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }

    /// Lets `n` held requests through.
    pub fn release(&self, n: usize) {
        self.release.add_permits(n);
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Counts a request closed when the handler ends, answered or dropped.
struct Close(Arc<AtomicUsize>);

impl Drop for Close {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn answer(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared.hits.send_modify(|hits| *hits += 1);
    let now_open = shared.open.fetch_add(1, Ordering::SeqCst) + 1;
    shared.peak.fetch_max(now_open, Ordering::SeqCst);
    let _close = Close(shared.open.clone());
    let request = Request {
        path: uri.path(),
        headers: &headers,
        body: &body,
    };
    let reply = match (shared.answers)(&request) {
        Answer::Reply(reply) => reply,
        Answer::Hold => {
            shared
                .release
                .acquire()
                .await
                .expect("never closed")
                .forget();
            Reply::status(200)
        }
    };
    tokio::time::sleep(shared.delay).await;
    let mut response = Response::builder().status(reply.status);
    for (name, value) in &reply.headers {
        response = response.header(*name, value);
    }
    let _ = shared.requests.send(Received {
        method,
        path: uri.path().to_owned(),
        uri,
        headers,
        body,
        status: reply.status,
        at: Instant::now(),
    });
    response
        .body(Body::from(reply.body))
        .expect("scripted reply is valid")
}

/// Accepts connections and never reads them; stops when dropped.
pub struct Silent {
    pub addr: SocketAddr,
    /// `http://` its address `/slow`.
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
            addr: address,
            url: Url::parse(&format!("http://{address}/slow")).expect("silent url"),
            task,
        }
    }
}

/// Answers the first request on its URL 500 with a chunked body that never ends, writing until
/// the client closes the connection; the task returns how many body bytes it wrote.
pub async fn endless_error() -> (Url, JoinHandle<usize>) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind endless server");
    let address = listener.local_addr().expect("endless server address");
    let url = Url::parse(&format!("http://{address}/endless")).expect("endless url");
    let task = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("a connection");
        let mut request = [0u8; 4096];
        let _ = stream.read(&mut request).await;
        let head = "HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n";
        stream
            .write_all(head.as_bytes())
            .await
            .expect("head written");
        let chunk = format!("400\r\n{}\r\n", "z".repeat(0x400));
        let mut written = 0usize;
        while stream.write_all(chunk.as_bytes()).await.is_ok() {
            written += 0x400;
        }
        written
    });
    (url, task)
}

impl Drop for Silent {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A URL on a local port nobody listens on (bound, then released).
pub fn refused_url() -> Url {
    Url::parse(&format!("http://127.0.0.1:{}/x", free_port())).expect("refused url")
}
