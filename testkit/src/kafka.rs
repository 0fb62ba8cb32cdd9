//! Kafka for tests: librdkafka's mock cluster in this process, and producing, reading and
//! measuring topics on any broker.

use std::collections::HashMap;
use std::sync::mpsc as std_mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, Headers, OwnedHeaders};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{FutureProducer, FutureRecord};
pub use rdkafka::types::RDKafkaRespErr;
use rdkafka::util::Timeout;
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use serde_json::Value;

use crate::receiver::WAIT;

/// The router's control topic, by default.
pub const CONTROL_TOPIC: &str = "notification-router.control";

/// The router's delivery ledger topic, by default.
pub const LEDGER_TOPIC: &str = "notification-router.ledger";

/// What the mock cluster's thread is told to do.
enum Command {
    Up,
    Down,
    TopicError(String, RDKafkaRespErr),
}

/// A one-broker mock cluster on a loopback port with the topics given; stopped when dropped.
pub struct MockKafka {
    bootstrap: String,
    control: Option<std_mpsc::Sender<Command>>,
    thread: Option<JoinHandle<()>>,
}

impl MockKafka {
    /// Starts the cluster with `topics` (name, partitions), and the router's control and ledger
    /// topics ([`CONTROL_TOPIC`], [`LEDGER_TOPIC`]): the mock cluster cannot create topics on
    /// request.
    pub fn start(topics: &[(&str, i32)]) -> MockKafka {
        let mut topics: Vec<(String, i32)> =
            topics.iter().map(|(t, p)| (t.to_string(), *p)).collect();
        for internal in [CONTROL_TOPIC, LEDGER_TOPIC] {
            if !topics.iter().any(|(t, _)| t == internal) {
                topics.push((internal.to_owned(), 1));
            }
        }
        let (ready_tx, ready_rx) = std_mpsc::channel();
        let (control, commands) = std_mpsc::channel::<Command>();
        // The mock cluster is not `Send`: it lives on its own thread until told to stop.
        let thread = std::thread::spawn(move || {
            let cluster = MockCluster::new(1).expect("the mock cluster starts");
            for (name, partitions) in &topics {
                cluster
                    .create_topic(name, *partitions, 1)
                    .expect("topic created");
            }
            let _ = ready_tx.send(cluster.bootstrap_servers());
            while let Ok(command) = commands.recv() {
                let done = match command {
                    Command::Up => cluster.broker_up(1),
                    Command::Down => cluster.broker_down(1),
                    Command::TopicError(topic, error) => cluster.topic_error(&topic, error),
                };
                done.expect("the mock broker takes the command");
            }
        });
        MockKafka {
            bootstrap: ready_rx.recv().expect("the mock cluster's thread runs"),
            control: Some(control),
            thread: Some(thread),
        }
    }

    /// Its `bootstrap.servers`.
    pub fn brokers(&self) -> &str {
        &self.bootstrap
    }

    /// Takes the broker down: clients are disconnected and cannot connect; the data is kept.
    pub fn down(&self) {
        self.send(Command::Down);
    }

    /// Brings the broker back on the same address.
    pub fn up(&self) {
        self.send(Command::Up);
    }

    /// Makes the metadata of `topic` carry `error` (`TOPIC_AUTHORIZATION_FAILED`, ...) from now
    /// on; `RD_KAFKA_RESP_ERR_NO_ERROR` clears it.
    pub fn topic_error(&self, topic: &str, error: RDKafkaRespErr) {
        self.send(Command::TopicError(topic.to_owned(), error));
    }

    fn send(&self, command: Command) {
        if let Some(control) = &self.control {
            let _ = control.send(command);
        }
    }
}

impl Drop for MockKafka {
    fn drop(&mut self) {
        drop(self.control.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A record to produce: key, value, headers.
pub type Record<'a> = (Option<&'a str>, Vec<u8>, Vec<(&'a str, &'a [u8])>);

/// A record read back: headers, value.
pub type ReadRecord = (HashMap<String, String>, Vec<u8>);

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
///
/// Returns where each landed: `event_id` → (partition, offset).
pub async fn produce_all(
    brokers: &str,
    topic: &str,
    events: &[Value],
) -> HashMap<String, (i32, i64)> {
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
    let landed = futures::future::join_all(sends).await;
    payloads
        .iter()
        .zip(landed)
        .map(|((key, _), sent)| {
            let delivery = sent.expect("produced");
            (key.clone(), (delivery.partition, delivery.offset))
        })
        .collect()
}

/// The offsets `group` has committed for each of `partitions` partitions of `topic` (0 where
/// none), asked of the group coordinator without joining the group.
pub async fn committed_offsets(
    brokers: &str,
    group: &str,
    topic: &str,
    partitions: i32,
) -> HashMap<i32, i64> {
    let (brokers, group, topic) = (brokers.to_owned(), group.to_owned(), topic.to_owned());
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &brokers)
            .set("group.id", &group)
            .set("enable.auto.commit", "false")
            .create()
            .expect("consumer");
        let mut asked = TopicPartitionList::new();
        for partition in 0..partitions {
            asked.add_partition(&topic, partition);
        }
        let committed = consumer
            .committed_offsets(asked, WAIT)
            .expect("the group's committed offsets");
        committed
            .elements()
            .iter()
            .map(|e| match e.offset() {
                Offset::Offset(offset) => (e.partition(), offset),
                _ => (e.partition(), 0),
            })
            .collect()
    })
    .await
    .expect("the committed offsets task")
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
    read_records(
        brokers,
        topic,
        partitions,
        move |records: &[KeyedRecord]| {
            let plain: Vec<ReadRecord> = records.iter().map(|(_, r)| r.clone()).collect();
            enough(&plain)
        },
    )
    .await
    .into_iter()
    .map(|(_, record)| record)
    .collect()
}

/// A record read with its key: (key, (headers, value)).
pub type KeyedRecord = (Option<String>, ReadRecord);

/// Reads `n` records of `topic` from its start, each with its key.
pub async fn read_topic_keyed(
    brokers: &str,
    topic: &str,
    partitions: i32,
    n: usize,
) -> Vec<KeyedRecord> {
    read_records(
        brokers,
        topic,
        partitions,
        move |records: &[KeyedRecord]| records.len() >= n,
    )
    .await
}

/// A consumer made with `config`, assigned every partition of `topic` from its start (a group
/// it never joins or commits to).
fn from_start(
    mut config: ClientConfig,
    brokers: &str,
    topic: &str,
    partitions: i32,
) -> BaseConsumer {
    let consumer: BaseConsumer = config
        .set("bootstrap.servers", brokers)
        .set("group.id", "test-reader")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut list = TopicPartitionList::new();
    for partition in 0..partitions {
        list.add_partition_offset(topic, partition, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&list).unwrap();
    consumer
}

async fn read_records(
    brokers: &str,
    topic: &str,
    partitions: i32,
    enough: impl Fn(&[KeyedRecord]) -> bool + Send + 'static,
) -> Vec<KeyedRecord> {
    let (brokers, topic) = (brokers.to_owned(), topic.to_owned());
    tokio::task::spawn_blocking(move || {
        let consumer = from_start(ClientConfig::new(), &brokers, &topic, partitions);
        let deadline = Instant::now() + WAIT;
        let mut out = Vec::new();
        while !enough(&out) {
            assert!(
                Instant::now() < deadline,
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
            let key = message
                .key()
                .map(|k| String::from_utf8_lossy(k).into_owned());
            out.push((
                key,
                (headers, message.payload().unwrap_or_default().to_vec()),
            ));
        }
        out
    })
    .await
    .unwrap()
}

/// The keys of every record `topic` (of `partitions` partitions) holds now: read from its start
/// to the end of each partition, as fetch responses tell it.
pub async fn keys_to_end(brokers: &str, topic: &str, partitions: i32) -> Vec<String> {
    let (brokers, topic) = (brokers.to_owned(), topic.to_owned());
    tokio::task::spawn_blocking(move || {
        let mut config = ClientConfig::new();
        config.set("enable.partition.eof", "true");
        let consumer = from_start(config, &brokers, &topic, partitions);
        let deadline = Instant::now() + WAIT;
        let mut ended = std::collections::HashSet::new();
        let mut keys = Vec::new();
        while ended.len() < usize::try_from(partitions).unwrap() {
            assert!(
                Instant::now() < deadline,
                "timed out after {} records of {topic}",
                keys.len()
            );
            match consumer.poll(Duration::from_millis(200)) {
                None => {}
                Some(Err(KafkaError::PartitionEOF(partition))) => {
                    ended.insert(partition);
                }
                Some(Err(error)) => panic!("reading {topic}: {error}"),
                Some(Ok(message)) => keys.extend(
                    message
                        .key()
                        .map(|k| String::from_utf8_lossy(k).into_owned()),
                ),
            }
        }
        keys
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

/// The lag of `group` on `topic` (of `partitions` partitions): for each partition, the records
/// from the group's committed offset (the start when nothing is committed) to the end.
///
/// Counted by reading them to the end of the partition (which fetch responses tell): tansu 0.6.0
/// answers a ListOffsets request (`fetch_watermarks`) with the first offset of the newest batch
/// plus one, short of the end when that batch holds several records.
pub async fn lag(brokers: &str, group: &str, topic: &str, partitions: i32) -> Vec<i64> {
    let (brokers, group, topic) = (brokers.to_owned(), group.to_owned(), topic.to_owned());
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &brokers)
            .set("group.id", &group)
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "true")
            .create()
            .expect("consumer");
        let mut list = TopicPartitionList::new();
        for partition in 0..partitions {
            list.add_partition(&topic, partition);
        }
        let committed = consumer
            .committed_offsets(list, Duration::from_secs(10))
            .expect("committed offsets");
        let mut from = TopicPartitionList::new();
        for element in committed.elements() {
            let offset = match element.offset() {
                Offset::Offset(offset) => Offset::Offset(offset),
                _ => Offset::Beginning,
            };
            from.add_partition_offset(&topic, element.partition(), offset)
                .unwrap();
        }
        consumer.assign(&from).expect("assign");
        let count = usize::try_from(partitions).expect("a partition count");
        let mut lags = vec![0i64; count];
        let mut at_end = vec![false; count];
        let deadline = Instant::now() + Duration::from_secs(30);
        while !at_end.iter().all(|end| *end) {
            assert!(
                Instant::now() < deadline,
                "the {topic} partitions were not read to their end within 30 s"
            );
            match consumer.poll(Duration::from_millis(100)) {
                Some(Ok(message)) => lags[message.partition() as usize] += 1,
                Some(Err(KafkaError::PartitionEOF(partition))) => {
                    at_end[partition as usize] = true;
                }
                Some(Err(error)) => panic!("reading {topic}: {error}"),
                None => {}
            }
        }
        lags
    })
    .await
    .unwrap()
}

/// Waits until `group` has committed everything of `topic` (of `partitions` partitions).
pub async fn wait_for_zero_lag(brokers: &str, group: &str, topic: &str, partitions: i32) {
    let deadline = Instant::now() + WAIT;
    loop {
        let lags = lag(brokers, group, topic, partitions).await;
        if lags.iter().all(|l| *l == 0) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "consumer lag did not return to 0: {lags:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
