//! Test support: a recording webhook receiver, a router started on its own config, Kafka helpers.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use notification_router::kafka::EmbeddedKafka;
use notification_router::{app, config};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Headers, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// How long any wait in a test may take before it fails.
pub const WAIT: Duration = Duration::from_secs(60);

/// The lifecycle source most tests read: enabled, on the Kafka topic `lifecycle`.
pub const LIFECYCLE_SOURCE: &str = "  - { id: lifecycle, type: resource-lifecycle-events, enabled: true, kafka_topics: [lifecycle] }";

/// One request a receiver answered (held requests are not recorded).
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    /// The status the receiver answered with.
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub body: Value,
    /// The body as it arrived, for signature checks.
    pub raw: Vec<u8>,
    /// When the receiver answered (the request's arrival, unless the receiver is delayed).
    #[allow(dead_code, reason = "read by the end-to-end tests (tests/e2e)")]
    pub at: Instant,
}

impl Received {
    /// The `event_id` of the lifecycle event a default (notification JSON) body carries.
    pub fn event_id(&self) -> String {
        self.body["data"]["event_id"]
            .as_str()
            .expect("body carries a lifecycle event")
            .to_owned()
    }
}

/// Decides the answer to a request: a status, or `None` to hold the request open forever.
pub type Behaviour = Arc<dyn Fn(&str, &Value) -> Option<u16> + Send + Sync>;

/// A webhook receiver on `127.0.0.1:0` that hands every answered request to a channel.
pub struct Receiver {
    pub addr: SocketAddr,
    rx: mpsc::UnboundedReceiver<Received>,
    /// The most requests it held open at once.
    peak: Arc<AtomicUsize>,
}

impl Receiver {
    /// A receiver in an outage on `/flaky` (503) while the returned flag is set, and answering
    /// 200 everywhere else and once the flag is cleared.
    pub async fn with_outage() -> (Self, Arc<AtomicBool>) {
        let down = Arc::new(AtomicBool::new(true));
        let is_down = down.clone();
        let receiver = Receiver::start(Arc::new(move |path, _| {
            Some(if path == "/flaky" && is_down.load(Ordering::SeqCst) {
                503
            } else {
                200
            })
        }))
        .await;
        (receiver, down)
    }

    pub async fn start(behaviour: Behaviour) -> Self {
        Self::start_delayed(behaviour, Duration::ZERO).await
    }

    /// Like [`start`](Self::start), answering each request `delay` after it arrived.
    pub async fn start_delayed(behaviour: Behaviour, delay: Duration) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let (open, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let peak_seen = peak.clone();
        let app = Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
            let (tx, behaviour) = (tx.clone(), behaviour.clone());
            let (open, peak) = (open.clone(), peak.clone());
            async move {
                let raw = body.to_vec();
                let now_open = open.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now_open, Ordering::SeqCst);
                let _close = Close(open);
                let body: Value = serde_json::from_slice(&body)
                    .unwrap_or_else(|_| json!({"unparsed": String::from_utf8_lossy(&body)}));
                let Some(status) = behaviour(uri.path(), &body) else {
                    std::future::pending::<()>().await;
                    unreachable!()
                };
                tokio::time::sleep(delay).await;
                let headers = headers
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.as_str().to_owned(),
                            v.to_str().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect();
                let at = Instant::now();
                let _ = tx.send(Received {
                    path: uri.path().to_owned(),
                    status,
                    headers,
                    body,
                    raw,
                    at,
                });
                StatusCode::from_u16(status).unwrap()
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            addr,
            rx,
            peak: peak_seen,
        }
    }

    /// The most requests held open at once so far.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }

    /// Answers 200 to everything.
    pub async fn ok() -> Self {
        Self::start(Arc::new(|_, _| Some(200))).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The next answered request, failing the test after [`WAIT`].
    pub async fn next(&mut self) -> Received {
        tokio::time::timeout(WAIT, self.rx.recv())
            .await
            .expect("timed out waiting for a delivery")
            .expect("receiver closed")
    }

    /// The next answered request, if one comes within `limit`.
    #[allow(dead_code, reason = "used by the end-to-end tests (tests/e2e)")]
    pub async fn next_within(&mut self, limit: Duration) -> Option<Received> {
        tokio::time::timeout(limit, self.rx.recv())
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

    /// The event ids of the next `n` deliveries, then of anything else delivered until `router`
    /// has stopped, sorted.
    pub async fn event_ids_through_stop(&mut self, n: usize, router: RunningRouter) -> Vec<String> {
        let mut ids: Vec<String> = self.take(n).await.iter().map(Received::event_id).collect();
        router.stop().await;
        ids.extend(self.drain().iter().map(Received::event_id));
        ids.sort();
        ids
    }

    /// Whatever has arrived and not been taken yet.
    pub fn drain(&mut self) -> Vec<Received> {
        let mut all = Vec::new();
        while let Ok(received) = self.rx.try_recv() {
            all.push(received);
        }
        all
    }
}

/// Counts a request closed when the handler ends, answered or dropped.
struct Close(Arc<AtomicUsize>);

impl Drop for Close {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A record to produce: key, value, headers.
pub type Record<'a> = (Option<&'a str>, Vec<u8>, Vec<(&'a str, &'a [u8])>);

/// An embedded broker with the topics a test needs.
pub struct Kafka {
    pub broker: EmbeddedKafka,
}

impl Kafka {
    pub fn start(topics: &[&str]) -> Self {
        let mut all: Vec<(String, i32)> = topics.iter().map(|t| (t.to_string(), 3)).collect();
        all.push((DEAD_LETTER_TOPIC.to_owned(), 1));
        all.push((RETRY_TOPIC.to_owned(), 3));
        Self {
            broker: EmbeddedKafka::start(&all).expect("embedded broker starts"),
        }
    }

    pub fn brokers(&self) -> &str {
        self.broker.bootstrap_servers()
    }

    /// Produces records (key, value, headers) in order and waits for each acknowledgement.
    pub async fn produce(&self, topic: &str, records: &[Record<'_>]) {
        produce_to(self.brokers(), topic, records).await;
    }

    /// Produces JSON events, each keyed by its `event_id`.
    pub async fn produce_events(&self, topic: &str, events: &[Value]) {
        produce_events_to(self.brokers(), topic, events).await;
    }

    /// Reads `n` records of the dead-letter topic from its start: (headers, value).
    pub async fn dead_letters(&self, n: usize) -> Vec<(HashMap<String, String>, Vec<u8>)> {
        read_topic(self.brokers(), DEAD_LETTER_TOPIC, 1, n).await
    }
}

/// Produces records (key, value, headers) to `brokers` in order, each acknowledged.
pub async fn produce_to(brokers: &str, topic: &str, records: &[Record<'_>]) {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .expect("producer");
    for (key, value, headers) in records {
        let mut owned = OwnedHeaders::new();
        for (k, v) in headers {
            owned = owned.insert(Header {
                key: k,
                value: Some(*v),
            });
        }
        let mut record = FutureRecord::<str, [u8]>::to(topic)
            .payload(value)
            .headers(owned);
        if let Some(key) = key {
            record = record.key(key);
        }
        producer
            .send(record, Timeout::After(Duration::from_secs(10)))
            .await
            .expect("produce");
    }
}

/// Produces JSON events to `brokers`, each keyed by its `event_id`.
pub async fn produce_events_to(brokers: &str, topic: &str, events: &[Value]) {
    let records: Vec<_> = events
        .iter()
        .map(|e| (e["event_id"].as_str(), e.to_string().into_bytes(), vec![]))
        .collect();
    produce_to(brokers, topic, &records).await;
}

/// Produces JSON events to `brokers` all at once (each acknowledged, in no particular order),
/// keyed by `event_id`: a stream of thousands in seconds.
///
/// One record per batch: tansu 0.6.0 serves a fetch from the first batch that starts at or after
/// the offset asked for, so a consumer resuming inside a batch (after a pause, or from an offset
/// committed there) would skip the rest of it.
pub async fn produce_all(brokers: &str, topic: &str, events: &[Value]) {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("batch.num.messages", "1")
        .create()
        .expect("producer");
    let payloads: Vec<(String, String)> = events
        .iter()
        .map(|e| (e["event_id"].as_str().unwrap().to_owned(), e.to_string()))
        .collect();
    let sends = payloads.iter().map(|(key, payload)| {
        producer.send(
            FutureRecord::to(topic).key(key).payload(payload),
            Timeout::After(Duration::from_secs(30)),
        )
    });
    for sent in futures::future::join_all(sends).await {
        sent.expect("produced");
    }
}

/// A record read back: headers, value.
pub type ReadRecord = (HashMap<String, String>, Vec<u8>);

/// Checks the dead letters of the `hung` destination, which never answers: one per delivery
/// (`deliveries` of them, told apart by `webhook-id`), each with its notification and its attempt
/// times, each for its exhausted horizon or for the destination that horizon disabled (and at
/// least one of the former).
pub fn assert_hung_dead_letters(letters: &[ReadRecord], deliveries: usize) {
    let mut webhook_ids = std::collections::BTreeSet::new();
    for (headers, body) in letters {
        assert_eq!(headers["dlq-destination"], "hung");
        // Once it has failed for a whole horizon the destination is disabled: later ones say so.
        assert!(
            ["retries-exhausted", "destination-disabled"].contains(&headers["dlq-reason"].as_str()),
            "{headers:?}"
        );
        assert!(headers["dlq-first-attempt"] <= headers["dlq-last-attempt"]);
        let notification: Value = serde_json::from_slice(body).unwrap();
        assert!(notification["data"]["event_id"].is_string());
        webhook_ids.insert(headers["dlq-webhook-id"].clone());
    }
    assert_eq!(
        webhook_ids.len(),
        deliveries,
        "one dead letter per delivery"
    );
    assert!(
        letters
            .iter()
            .any(|(h, _)| h["dlq-reason"] == "retries-exhausted"),
        "the first ones used up their horizon"
    );
}

/// Reads `n` records of `topic` (of `partitions` partitions) from its start: (headers, value).
pub async fn read_topic(brokers: &str, topic: &str, partitions: i32, n: usize) -> Vec<ReadRecord> {
    read_topic_until(brokers, topic, partitions, move |records| {
        records.len() >= n
    })
    .await
}

/// Reads `topic` from its start until `enough` says so of what was read.
pub async fn read_topic_until(
    brokers: &str,
    topic: &str,
    partitions: i32,
    enough: impl Fn(&[ReadRecord]) -> bool + Send + 'static,
) -> Vec<ReadRecord> {
    let (brokers, topic) = (brokers.to_owned(), topic.to_owned());
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &brokers)
            .set("group.id", "test-dead-letter-reader")
            .set("enable.auto.commit", "false")
            .create()
            .expect("consumer");
        let mut list = TopicPartitionList::new();
        for partition in 0..partitions {
            list.add_partition_offset(&topic, partition, Offset::Beginning)
                .unwrap();
        }
        consumer.assign(&list).unwrap();
        let deadline = std::time::Instant::now() + WAIT;
        let mut out = Vec::new();
        while !enough(&out) {
            assert!(
                std::time::Instant::now() < deadline,
                "timed out after {} records of {topic}",
                out.len()
            );
            let Some(message) = consumer.poll(Duration::from_millis(200)) else {
                continue;
            };
            let message = message.expect("record read");
            let headers = message
                .headers()
                .map(|h| {
                    h.iter()
                        .map(|h| {
                            (
                                h.key.to_owned(),
                                String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            out.push((headers, message.payload().unwrap_or_default().to_vec()));
        }
        out
    })
    .await
    .unwrap()
}

/// How many records `topic` (of `partitions` partitions) holds: the sum of its high watermarks.
pub async fn record_count(brokers: &str, topic: &str, partitions: i32) -> i64 {
    let (brokers, topic) = (brokers.to_owned(), topic.to_owned());
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &brokers)
            .create()
            .expect("consumer");
        (0..partitions)
            .map(|partition| {
                consumer
                    .fetch_watermarks(&topic, partition, WAIT)
                    .expect("watermarks")
                    .1
            })
            .sum()
    })
    .await
    .unwrap()
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

pub const DEAD_LETTER_TOPIC: &str = "router.dead-letter";
/// `kafka.internal_key` of every test's router: the key of its retry and dead-letter records.
pub const INTERNAL_KEY: &str = "test-internal-key-0123456789abcdef";
pub const RETRY_TOPIC: &str = "router.retry";

/// A router running in this process on a config written to a temp folder.
pub struct RunningRouter {
    pub shutdown: CancellationToken,
    /// Its `router.yaml`, beside `topics/` and `templates/`.
    pub config: PathBuf,
    handle: tokio::task::JoinHandle<anyhow::Result<()>>,
    _dir: tempfile::TempDir,
}

/// The parts of a test's configuration.
pub struct Setup<'a> {
    pub brokers: &'a str,
    pub group: &'a str,
    /// YAML list items under `sources:`.
    pub sources: &'a str,
    /// YAML list items under `destinations:`.
    pub destinations: &'a str,
    /// (file name, YAML) topic files.
    pub topics: Vec<(String, String)>,
    /// (path under templates/, text).
    pub templates: Vec<(&'a str, &'a str)>,
    /// Extra lines under `kafka:`.
    pub kafka_extra: &'a str,
    /// Lines under `http:`; [`LOOPBACK_ALLOWED`] unless a test needs the default policy.
    pub http: &'a str,
    /// Extra top-level lines of `router.yaml` (`dedup:`, ...).
    pub router_extra: &'a str,
}

/// The `http:` lines that let deliveries reach the test receivers on 127.0.0.1, which the
/// router refuses by default (they are not public addresses).
pub const LOOPBACK_ALLOWED: &str = "  allow_private_networks: [127.0.0.0/8]\n";

impl<'a> Setup<'a> {
    /// A setup reading [`LIFECYCLE_SOURCE`], with no templates and default Kafka settings.
    pub fn lifecycle(
        brokers: &'a str,
        group: &'a str,
        destinations: &'a str,
        topics: Vec<(String, String)>,
    ) -> Self {
        Setup {
            brokers,
            group,
            sources: LIFECYCLE_SOURCE,
            destinations,
            topics,
            templates: vec![],
            kafka_extra: "",
            http: LOOPBACK_ALLOWED,
            router_extra: "",
        }
    }

    pub fn write(&self) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let router = format!(
            "kafka:\n  brokers: {}\n  group_id: {}\n  dead_letter_topic: {DEAD_LETTER_TOPIC}\n  retry_topic: {RETRY_TOPIC}\n  commit_interval: 100ms\n  drain_timeout: 5s\n  internal_key: {INTERNAL_KEY}\n{}\nhttp:\n{}\n{}\nsources:\n{}\ndestinations:\n{}\n",
            self.brokers,
            self.group,
            self.kafka_extra,
            self.http,
            self.router_extra,
            self.sources,
            self.destinations
        );
        std::fs::write(dir.path().join("router.yaml"), router).unwrap();
        std::fs::create_dir_all(dir.path().join("topics")).unwrap();
        for (name, text) in &self.topics {
            std::fs::write(dir.path().join("topics").join(name), text).unwrap();
        }
        for (path, text) in &self.templates {
            let path = dir.path().join("templates").join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let router = dir.path().join("router.yaml");
        (dir, router)
    }

    /// Loads the config (it must be valid) and starts a router on it.
    /// Set `TEST_LOG=debug` (any filter) to see the router's logs.
    pub fn start(&self) -> RunningRouter {
        if let Ok(filter) = std::env::var("TEST_LOG") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_test_writer()
                .try_init();
        }
        let (dir, path) = self.write();
        let config = config::load(&path).unwrap_or_else(|e| panic!("test config invalid:\n{e}"));
        let shutdown = CancellationToken::new();
        let handle = tokio::spawn(app::run(config, shutdown.clone()));
        RunningRouter {
            shutdown,
            config: path,
            handle,
            _dir: dir,
        }
    }
}

impl RunningRouter {
    /// Signals shutdown and waits for the drain and final commit.
    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(WAIT, self.handle)
            .await
            .expect("router stops in time")
            .unwrap()
            .expect("router ran cleanly");
    }
}

/// A raw resource-controller event of the catalogue, as `004_*.txt` describes it.
pub fn lifecycle_event(event_type: &str, event_id: &str, region: &str, name: &str) -> Value {
    json!({
        "account_id": "a1b2c3d4e5f60718293a4b5c6d7e8f90",
        "event_id": event_id,
        "event_type": event_type,
        "timestamp": "2026-11-21T09:30:00Z",
        "context": {
            "subject_id": "IBMid-550000ABCD",
            "subject_name": "jane.doe@example.com",
            "activity": {
                "action": "databases-for-postgresql.instance.create",
                "message": format!("Databases for PostgreSQL: {event_type} {name}"),
                "outcome": "success",
                "reason_reasonCode": 201,
                "target_name": name
            }
        },
        "event_properties": {
            "crn": format!("crn:v1:bluemix:public:databases-for-postgresql:{region}:a/a1b2c3d4e5f60718293a4b5c6d7e8f90:{event_id}::"),
            "name": name,
            "region_id": region,
            "resource_group_id": "4f1c2d3e4a5b6c7d8e9f0a1b2c3d4e5f",
            "state": "active",
            "type": "service_instance"
        }
    })
}

/// Instance updates `evt-{i}` for each `i` in `ids`: a stream of distinct, matching events.
pub fn updates(ids: std::ops::Range<usize>) -> Vec<Value> {
    ids.map(|i| {
        lifecycle_event(
            "resource-controller.instance.update",
            &format!("evt-{i}"),
            "us-south",
            "db",
        )
    })
    .collect()
}

/// The topic file most tests use: every lifecycle event to the destination `hook`.
pub fn all_to_hook() -> Vec<(String, String)> {
    vec![topic(
        "all",
        "  - id: lifecycle",
        "  - { name: all, destination: hook }",
    )]
}

/// A webhook destination list item; the test receivers speak http, so it allows http.
pub fn webhook(id: &str, url: &str, extra: &str) -> String {
    format!("  - id: {id}\n    type: webhook\n    url: {url}\n    allow_http: true\n{extra}")
}

/// A topic file with one source and one subscription.
pub fn topic(name: &str, sources: &str, subscriptions: &str) -> (String, String) {
    (
        format!("{name}.yaml"),
        format!("name: {name}\nsources:\n{sources}\nsubscriptions:\n{subscriptions}\n"),
    )
}
