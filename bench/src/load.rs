//! The load run: a broker process, events published to it, the two ceilings (a bare consumer, a
//! bare HTTP client) and the router process over the same events at several table sizes and
//! fan-outs, all on this machine.
//!
//! The broker is `tansu` (a standalone Kafka-protocol broker, data in memory) or librdkafka's
//! mock cluster in a `notification-router broker` process; the bare consumer and every router
//! run read from the same one.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use notification_router::channels;
use rdkafka::producer::FutureProducer;

use super::bare;
use super::kafka::{consume_all, partitions_for, producer_config, publish, publish_steadily};
use super::process::{self, Usage};
use super::receiver::Receiver;
use super::report::{BarePipeline, Ceilings, Report, RowResult};
use super::workload;

/// The broker process of a load run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Broker {
    /// `tansu broker` at this path, its data in memory.
    Tansu(PathBuf),
    /// `notification-router broker`: librdkafka's mock cluster.
    Mock,
}

impl Broker {
    fn name(&self) -> &'static str {
        match self {
            Broker::Tansu(_) => "tansu",
            Broker::Mock => "mock",
        }
    }
}

/// How the load run's destination signs its webhooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Signing {
    /// Unsigned.
    None,
    /// `v1,`: HMAC-SHA256 with one `whsec_` secret.
    V1,
    /// `v1a,`: ed25519 with one `whsk_` key.
    V1a,
}

/// What to measure; see `notification-router-bench --help`.
#[derive(Debug, Clone)]
pub struct LoadSettings {
    /// The `notification-router` executable to start as router (and as the mock broker).
    pub exe: PathBuf,
    pub broker: Broker,
    pub signing: Signing,
    /// The destination's `limits.concurrency`: its requests at once.
    pub concurrency: usize,
    pub events: usize,
    pub topic_counts: Vec<usize>,
    pub fanouts: Vec<usize>,
    pub in_flight: usize,
    pub steady_rate: usize,
    pub steady_seconds: u64,
    /// The longest one router run may take.
    pub timeout: Duration,
    /// `fetch.wait.max.ms` of the router's and the bare consumer's consumers.
    pub fetch_wait_ms: u64,
    /// More librdkafka properties for the router (`kafka.properties`).
    pub kafka_properties: Vec<(String, String)>,
    /// `ledger.enabled` of the router.
    pub ledger: bool,
}

/// One router run: how many generated topics, deliveries per event, and events.
#[derive(Debug, Clone)]
pub struct Row {
    pub topics: usize,
    pub fanout: usize,
    pub events: usize,
    /// Published at `steady_rate` while the router runs, rather than all beforehand.
    pub steady: bool,
}

impl Row {
    fn kafka_topic(&self) -> String {
        match self.steady {
            true => "bench-steady".to_owned(),
            false => format!("bench-{}", self.events),
        }
    }
}

/// The rows: every table size at fan-out 1 with all the events, then each larger fan-out on the
/// smallest table with proportionally fewer events (the same number of deliveries), then the
/// steady rate on the largest table.
pub fn plan(settings: &LoadSettings) -> Vec<Row> {
    let smallest = settings.topic_counts.iter().copied().min().unwrap_or(10);
    let largest = settings.topic_counts.iter().copied().max().unwrap_or(10);
    let mut rows: Vec<Row> = settings
        .topic_counts
        .iter()
        .map(|&topics| Row {
            topics,
            fanout: 1,
            events: settings.events,
            steady: false,
        })
        .collect();
    rows.extend(
        settings
            .fanouts
            .iter()
            .filter(|&&f| f > 1)
            .map(|&fanout| Row {
                topics: smallest,
                fanout,
                events: (settings.events / fanout).max(100),
                steady: false,
            }),
    );
    if settings.steady_rate > 0 && settings.steady_seconds > 0 {
        rows.push(Row {
            topics: largest,
            fanout: 1,
            events: settings.steady_rate * settings.steady_seconds as usize,
            steady: true,
        });
    }
    rows
}

/// Runs everything, printing progress, the table and the JSON summary last.
pub async fn run(settings: &LoadSettings) -> anyhow::Result<()> {
    let rows = plan(settings);
    let dir =
        std::env::temp_dir().join(format!("notification-router-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let receiver = Receiver::start().await?;

    let mut kafka_topics: Vec<(String, i32)> = rows
        .iter()
        .map(|r| (r.kafka_topic(), partitions_for(&settings.broker, r.events)))
        .collect();
    let steady = rows.iter().find(|r| r.steady);
    if let Some(row) = steady {
        let partitions = partitions_for(&settings.broker, row.events);
        kafka_topics.push((BARE_STEADY_TOPIC.to_owned(), partitions));
    }
    kafka_topics.sort();
    kafka_topics.dedup();
    kafka_topics.push(("notification-router.dead-letter".to_owned(), 1));
    kafka_topics.push(("notification-router.retry".to_owned(), 3));
    let (exe, broker, topics) = (
        settings.exe.clone(),
        settings.broker.clone(),
        kafka_topics.clone(),
    );
    let broker_log = dir.join("broker.log");
    let (broker, brokers) = tokio::task::spawn_blocking(move || match broker {
        Broker::Tansu(tansu) => process::start_tansu(&tansu, &topics, &broker_log),
        Broker::Mock => process::start_broker(&exe, &topics),
    })
    .await??;
    eprintln!(
        "Broker process ({}) at {brokers}; working files in {}.",
        settings.broker.name(),
        dir.display()
    );

    let producer: FutureProducer = producer_config(&settings.broker, &brokers).create()?;
    let mut published = Vec::new();
    for row in rows.iter().filter(|r| !r.steady) {
        if published.contains(&row.events) {
            continue;
        }
        let started = Instant::now();
        publish(&producer, &row.kafka_topic(), 0..row.events).await?;
        let rate = row.events as f64 / started.elapsed().as_secs_f64();
        eprintln!(
            "Published {} events to {} ({rate:.0}/s).",
            row.events,
            row.kafka_topic()
        );
        published.push(row.events);
    }

    let cpu = Cpu {
        broker: broker.id(),
    };
    let before = cpu.now();
    let consumer_ceiling = consume_all(
        &brokers,
        settings.fetch_wait_ms,
        &format!("bench-{}", settings.events),
        settings.events,
        settings.timeout,
    )
    .await?;
    let consuming = cpu.since(before);
    eprintln!("Bare consumer: {consumer_ceiling:.0} events/s.");
    let http_requests = settings.events.min(100_000);
    receiver.reset();
    let before = cpu.now();
    let (url, in_flight) = (receiver.url(), settings.in_flight);
    let posting = tokio::task::spawn_blocking(move || {
        bare::run_http_client(&bench_exe()?, &url, http_requests, in_flight)
    })
    .await??;
    let receiving = cpu.since(before);
    let http_ceiling = posting.requests_per_s;
    eprintln!(
        "Bare HTTP client: {http_ceiling:.0} requests/s ({http_requests} requests, {} at once).",
        settings.in_flight
    );
    let bare_pipeline = match steady {
        Some(row) => Some(bare_pipeline_run(settings, &brokers, &producer, &receiver, row).await?),
        None => None,
    };

    let mut results = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let result = router_run(
            settings,
            &dir.join(format!("run-{i}")),
            &brokers,
            &producer,
            &receiver,
            row,
            cpu,
        )
        .await?;
        eprintln!(
            "{}",
            super::report::row_line(&result, consumer_ceiling, http_ceiling)
        );
        results.push(result);
    }
    let report = Report {
        broker: settings.broker.name(),
        signing: settings.signing,
        concurrency: settings.concurrency,
        events: settings.events,
        in_flight: settings.in_flight,
        fetch_wait_ms: settings.fetch_wait_ms,
        ceilings: Ceilings {
            consumer_events_per_s: consumer_ceiling,
            http_requests_per_s: http_ceiling,
            http_requests,
            broker_cpu_us_per_event: consuming.broker * 1e6 / settings.events as f64,
            consumer_cpu_us_per_event: consuming.own * 1e6 / settings.events as f64,
            http_cpu_us_per_request: posting.cpu_seconds * 1e6 / http_requests.max(1) as f64,
            receiver_cpu_us_per_request: receiving.own * 1e6 / http_requests.max(1) as f64,
            cores: std::thread::available_parallelism().map_or(1, usize::from),
            one_delivery_bound_events_per_s: 0.0,
        }
        .with_bound(),
        bare_pipeline,
        rows: results,
        targets: Vec::new(),
    }
    .with_targets();
    report.print();
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// The source topic of the bare pipeline's steady run.
const BARE_STEADY_TOPIC: &str = "bench-steady-bare";

/// This executable, which runs the bare clients as processes of their own.
fn bench_exe() -> anyhow::Result<PathBuf> {
    std::env::current_exe().context("cannot find this executable")
}

/// The bare pipeline over the steady row's rate: one event first, once it arrived the row's
/// events at the steady rate; the latency of each from its timestamp to the receiver.
async fn bare_pipeline_run(
    settings: &LoadSettings,
    brokers: &str,
    producer: &FutureProducer,
    receiver: &Receiver,
    row: &Row,
) -> anyhow::Result<BarePipeline> {
    receiver.reset();
    let args = bare::PipelineArgs {
        brokers: brokers.to_owned(),
        topic: BARE_STEADY_TOPIC.to_owned(),
        fetch_wait_ms: settings.fetch_wait_ms,
        url: receiver.url(),
        events: row.events + 1,
        in_flight: settings.in_flight,
    };
    let mut pipeline = bare::start_pipeline(&bench_exe()?, &args)?;
    let deadline = Instant::now() + settings.timeout;
    publish(producer, BARE_STEADY_TOPIC, usize::MAX - 1..usize::MAX).await?;
    if !wait_for(receiver, &mut pipeline, 1, deadline).await? {
        bail!("the bare pipeline posted nothing in time");
    }
    receiver.reset();
    publish_steadily(
        producer,
        BARE_STEADY_TOPIC,
        settings.steady_rate,
        settings.steady_seconds,
    )
    .await;
    if !wait_for(receiver, &mut pipeline, row.events as u64, deadline).await? {
        bail!(
            "the bare pipeline posted {} of {} events in time",
            receiver.count(),
            row.events
        );
    }
    pipeline.stop(Duration::from_secs(5));
    let received = receiver.received();
    let pipeline = BarePipeline {
        events: row.events,
        p50_ms: received.latency_ms(50),
        p99_ms: received.latency_ms(99),
        max_ms: received.max_latency_ms(),
    };
    eprintln!(
        "Bare pipeline at {}/s: p50 {:.1} ms, p99 {:.1} ms.",
        settings.steady_rate, pipeline.p50_ms, pipeline.p99_ms
    );
    Ok(pipeline)
}

/// Runs the router process over `row`'s events and measures it.
async fn router_run(
    settings: &LoadSettings,
    dir: &Path,
    brokers: &str,
    producer: &FutureProducer,
    receiver: &Receiver,
    row: &Row,
    cpu: Cpu,
) -> anyhow::Result<RowResult> {
    let ledger_topic = write_config(settings, dir, brokers, receiver, row)?;
    let before = cpu.now();
    receiver.reset();
    let mut router = process::start_router(
        &settings.exe,
        &dir.join("router.yaml"),
        &dir.join("router.log"),
    )?;
    let started = Instant::now();
    let expected = (row.events * row.fanout) as u64;
    if row.steady {
        // One event first, so that the rate starts once the consumer has joined its group.
        publish(producer, &row.kafka_topic(), usize::MAX - 1..usize::MAX).await?;
        wait_for(
            receiver,
            &mut router,
            row.fanout as u64,
            started + settings.timeout,
        )
        .await?;
        receiver.reset();
        let producer = producer.clone();
        let (topic, rate, seconds) = (
            row.kafka_topic(),
            settings.steady_rate,
            settings.steady_seconds,
        );
        tokio::spawn(async move { publish_steadily(&producer, &topic, rate, seconds).await });
    }
    let complete = wait_for(receiver, &mut router, expected, started + settings.timeout).await?;
    let usage = router.usage();
    let others = cpu.since(before);
    router.stop(Duration::from_secs(30));
    let received = receiver.received();
    if settings.ledger {
        // The ledger's size is a figure of its own: a run whose ledger topic cannot be read
        // says so and goes on.
        match super::kafka::topic_size(brokers, &ledger_topic).await {
            Ok(topic) => {
                super::report::ledger_size(&dir.join("data/ledger.redb"), topic, expected);
            }
            Err(error) => eprintln!("ledger: its topic {ledger_topic} cannot be read: {error}"),
        }
    }
    if !complete {
        eprintln!(
            "Run timed out with {} of {expected} deliveries; see {}.",
            received.count,
            dir.join("router.log").display()
        );
    }
    Ok(result(row, &received, usage, others, complete))
}

fn result(
    row: &Row,
    received: &super::receiver::Received,
    usage: Usage,
    others: CpuSeconds,
    complete: bool,
) -> RowResult {
    let window = received.window.max(f64::EPSILON);
    let events_received = received.count as f64 / row.fanout as f64;
    RowResult {
        topics: row.topics,
        fanout: row.fanout,
        events: row.events,
        steady: row.steady,
        complete,
        deliveries: received.count,
        signed: received.signed,
        events_per_s: events_received / window,
        deliveries_per_s: received.count as f64 / window,
        p50_ms: received.latency_ms(50),
        p99_ms: received.latency_ms(99),
        max_ms: received.max_latency_ms(),
        peak_rss_mib: usage.peak_rss_mib,
        cpu_seconds: usage.cpu_seconds,
        broker_cpu_seconds: others.broker,
        receiver_cpu_seconds: others.own,
    }
}

/// The broker process's CPU time, and this process's (the bare clients, the receiver).
#[derive(Debug, Clone, Copy)]
struct Cpu {
    broker: u32,
}

/// CPU seconds of the broker and of this process, at a moment or between two.
#[derive(Debug, Clone, Copy)]
struct CpuSeconds {
    broker: f64,
    own: f64,
}

impl Cpu {
    fn now(self) -> CpuSeconds {
        CpuSeconds {
            broker: process::cpu_seconds(self.broker),
            own: process::cpu_seconds(std::process::id()),
        }
    }

    fn since(self, before: CpuSeconds) -> CpuSeconds {
        let now = self.now();
        CpuSeconds {
            broker: now.broker - before.broker,
            own: now.own - before.own,
        }
    }
}

/// Waits until `count` deliveries arrived (true), or the deadline passed (false), while the
/// process sending them runs.
async fn wait_for(
    receiver: &Receiver,
    sender: &mut process::Child,
    count: u64,
    deadline: Instant,
) -> anyhow::Result<bool> {
    while receiver.count() < count {
        if sender.exited() && receiver.count() < count {
            bail!("the process sending to the receiver ended early");
        }
        if Instant::now() > deadline {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(true)
}

/// `router.yaml` and the topic files of a run; returns its ledger topic.
fn write_config(
    settings: &LoadSettings,
    dir: &Path,
    brokers: &str,
    receiver: &Receiver,
    row: &Row,
) -> anyhow::Result<String> {
    let topics_dir = dir.join("topics");
    std::fs::create_dir_all(&topics_dir)?;
    let group = format!(
        "bench-router-{}-{}",
        std::process::id(),
        dir.file_name().and_then(|n| n.to_str()).unwrap_or("run")
    );
    let mut properties = vec![(
        "fetch.wait.max.ms".to_owned(),
        settings.fetch_wait_ms.to_string(),
    )];
    properties.extend(settings.kafka_properties.iter().cloned());
    // Room in the destination's queue for every delivery of the records in flight: a full
    // queue would hand deliveries to the retry topic.
    let mut destination = vec![format!(
        "limits: {{ concurrency: {}, queue: {} }}",
        settings.concurrency,
        (settings.in_flight * row.fanout).max(1000)
    )];
    match settings.signing {
        Signing::None => {}
        Signing::V1 => destination.push(format!(
            "signing: {{ secrets: [\"{}\"] }}",
            channels::generate_secret().expose()
        )),
        Signing::V1a => destination.push(format!(
            "signing: {{ keys: [\"{}\"] }}",
            channels::generate_key_pair().0.expose()
        )),
    }
    let mut router = workload::router_yaml_with(
        brokers,
        &group,
        &row.kafka_topic(),
        &receiver.url(),
        settings.in_flight,
        &properties,
        &destination,
    );
    let ledger_topic = format!("bench-ledger-{group}");
    router.push_str(&format!(
        "ledger:\n  enabled: {}\n  topic: {ledger_topic}\n",
        settings.ledger
    ));
    std::fs::write(dir.join("router.yaml"), router)?;
    for (name, yaml) in workload::load_topic_files(row.topics, row.fanout, "receiver") {
        std::fs::write(topics_dir.join(name), yaml)?;
    }
    Ok(ledger_topic)
}
