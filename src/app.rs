//! Wires the router together and runs it until shutdown: broker, the live configuration and its
//! reload triggers, the sources' consumer with its record tasks, back-pressure and subscription
//! changes, the retry and digest consumers, drain.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::Context;
use rdkafka::producer::FutureProducer;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::admin::{self, AdminState, Readiness};
use crate::channels::HttpClient;
use crate::config::Config;
use crate::consumer;
use crate::control::{self, Control};
use crate::dead_letter::DeadLetters;
use crate::digest::{self, DigestTopic};
use crate::dispatch::{Deliverer, Writer};
use crate::event::SourceKind;
use crate::kafka::{self, EmbeddedKafka, KafkaHealth};
use crate::ledger::{self, Ledger};
use crate::reload::{self, Live};
use crate::retry;
use crate::retry::RetryTopic;
use crate::telemetry::metrics::{self};

/// The `kafka.brokers` value that starts the in-process broker.
pub const EMBEDDED: &str = "embedded";

/// Partitions of each topic the embedded broker creates.
const EMBEDDED_PARTITIONS: i32 = 3;

/// Runs the router until `shutdown` is cancelled, then drains and commits.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    for warning in &config.warnings {
        warn!(message = "Configuration warning.", file = %warning.file.display(), item = %warning.item, detail = %warning.message);
    }
    metrics::global().config_loaded(true);
    let consuming = Arc::new(AtomicBool::new(false));
    let live = Arc::new(Live::new(Arc::new(config.clone())));
    reload::spawn_triggers(live.clone(), shutdown.clone());
    if config.router.kafka.brokers.trim() != EMBEDDED {
        let brokers = config.router.kafka.brokers.clone();
        return run_on(live, &brokers, consuming, shutdown).await;
    }
    let topics = config.kafka_topics(EMBEDDED_PARTITIONS);
    let broker = EmbeddedKafka::start(&topics)?;
    let address = broker.bootstrap_servers().to_owned();
    let example = example_to_publish(&config);
    info!(message = "Embedded Kafka broker started; its data lives as long as this process.", bootstrap_servers = %address);
    println!(
        "Embedded Kafka broker listening on {address} (topics: {}).",
        topics
            .iter()
            .map(|t| t.0.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    match example {
        Some((topic, file)) => println!(
            "Publish an event:  cargo run --release -- publish --brokers {address} --topic {topic} {file}"
        ),
        None => println!(
            "No source is enabled yet: `cargo run --release -- sources enable resource-lifecycle-events` turns one on ({}).",
            config.path.display()
        ),
    }
    let result = run_on(live, &address, consuming, shutdown).await;
    drop(broker);
    result
}

/// Runs on `brokers`: the control topic and the ledger first, then the admin server, then the
/// consumers until shutdown.
async fn run_on(
    live: Arc<Live>,
    brokers: &str,
    consuming: Arc<AtomicBool>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let health = Arc::new(KafkaHealth::new(brokers, metrics::global()));
    let control = start_control(&live, brokers, &health, &shutdown).await?;
    let (ledger, store) = start_ledger(&live, brokers, &control, &shutdown).await?;
    let fleet = Fleet {
        control: control.clone(),
        store,
    };
    start_admin(&live, brokers, &consuming, &health, &fleet, &shutdown).await?;
    let runtime = Runtime {
        control: control.clone(),
        ledger,
    };
    let result = consume(live, brokers, shutdown, consuming, health, runtime).await;
    match control.fatal() {
        Some(why) => Err(anyhow::anyhow!(why)),
        None => result,
    }
}

/// Creates the control topic when missing and starts reading it from its start; source
/// overrides reach `live` from then on. Once read up to its end, the old silences topic is taken
/// over and ended silences cleared ([`control::upkeep`]).
async fn start_control(
    live: &Arc<Live>,
    brokers: &str,
    health: &Arc<KafkaHealth>,
    shutdown: &CancellationToken,
) -> anyhow::Result<Arc<Control>> {
    let config = live.config();
    let kafka = &config.router.kafka;
    // Its errors are logged as the readers' are: a refused certificate explained, as it is among
    // the first clients to reach the brokers.
    let producer = kafka::producer_config(kafka, brokers)
        .set("allow.auto.create.topics", "false")
        .set("message.timeout.ms", control::PRODUCER_TIMEOUT_MS)
        .create_with_context(kafka::assigned::ReaderContext::new(
            None,
            "control-producer",
        ))
        .context("cannot create the control topic's producer")?;
    let control = Arc::new(Control::new(
        &kafka.control_topic,
        kafka::InternalKey::of(kafka),
        Some(producer),
    ));
    control.attach_live(live.clone()).await;
    control.attach_health(health.clone());
    tokio::spawn({
        let (control, settings, brokers, shutdown) = (
            control.clone(),
            kafka.clone(),
            brokers.to_owned(),
            shutdown.clone(),
        );
        async move {
            let read = control::run(control.clone(), &settings, &brokers, shutdown.clone());
            if let Err(error) = read.await {
                error!(message = "The control topic cannot be used; stopping.", %error);
                control.fail(error.to_string());
                shutdown.cancel();
            }
        }
    });
    tokio::spawn(control::upkeep::run(
        control.clone(),
        kafka.clone(),
        brokers.to_owned(),
        kafka.silences_topic.clone(),
        shutdown.clone(),
    ));
    Ok(control)
}

/// What deliveries consult besides the configuration: runtime changes and silences (the control
/// topic), and the delivery ledger they record into.
struct Runtime {
    control: Arc<Control>,
    ledger: Option<Ledger>,
}

/// The fleet's shared state as the admin API serves it.
struct Fleet {
    control: Arc<Control>,
    store: Option<Arc<ledger::Store>>,
}

/// When `ledger.enabled`: creates the ledger topic when missing (compacted, with
/// `ledger.retention`), opens the store beside `router.yaml` and starts materialising the topic
/// into it and the writer deliveries record into.
async fn start_ledger(
    live: &Arc<Live>,
    brokers: &str,
    control: &Arc<Control>,
    shutdown: &CancellationToken,
) -> anyhow::Result<(Option<Ledger>, Option<Arc<ledger::Store>>)> {
    let config = live.config();
    let settings = &config.router.ledger;
    if !settings.enabled {
        return Ok((None, None));
    }
    let kafka = &config.router.kafka;
    let base = config.path.parent().unwrap_or(std::path::Path::new("."));
    let path = base.join(&settings.store);
    let store = Arc::new(
        tokio::task::spawn_blocking(move || ledger::Store::open(&path))
            .await
            .context("the ledger store task failed")??,
    );
    let key = kafka::InternalKey::of(kafka);
    let writer = Ledger::start(
        kafka,
        brokers,
        &settings.topic,
        key.clone(),
        control.instance(),
    )
    .context("cannot create the ledger's producer")?;
    tokio::spawn(ledger::run(
        store.clone(),
        kafka.clone(),
        brokers.to_owned(),
        settings.topic.clone(),
        key,
        settings.retention,
        shutdown.clone(),
    ));
    Ok((Some(writer), Some(store)))
}

/// Starts the admin server when configured, with a producer to `brokers` (for sent
/// notifications) and an HTTP client like the deliverer's (for destination tests).
async fn start_admin(
    live: &Arc<Live>,
    brokers: &str,
    consuming: &Arc<AtomicBool>,
    health: &Arc<KafkaHealth>,
    fleet: &Fleet,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let config = live.config();
    let Some(admin) = &config.router.admin else {
        return Ok(());
    };
    let tls = match &admin.tls {
        Some(tls) => {
            let base = config.path.parent().unwrap_or(std::path::Path::new("."));
            Some(
                admin::server_config(&base.join(&tls.cert), &base.join(&tls.key))
                    .map_err(anyhow::Error::msg)?,
            )
        }
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(admin.listen)
        .await
        .with_context(|| format!("cannot listen on admin.listen {}", admin.listen))?;
    let address = listener.local_addr().context("admin listener address")?;
    let reads_open = admin.read_token.as_ref().is_none_or(|t| t.is_empty());
    info!(message = "Admin server listening.", address = %address, scheme = if tls.is_some() { "https" } else { "http" }, reads = if reads_open { "open" } else { "read_token" }, endpoints = "/healthz /readyz /metrics /v1/...");
    if !address.ip().is_loopback() && tls.is_none() {
        warn!(message = "The admin server is reachable from other machines over plain HTTP (admin.allow_plaintext): its tokens and recipient lists cross the network in clear unless a proxy in front adds TLS.", address = %address);
    }
    if !address.ip().is_loopback() && reads_open {
        warn!(message = "The admin server's reads need no token: anyone reaching it can list recipients and the topology; set admin.read_token.", address = %address);
    }
    let producer: FutureProducer = kafka::producer_config(&config.router.kafka, brokers)
        .create()
        .context("cannot create the admin API's Kafka producer")?;
    let outlets = admin::Outlets {
        silences: Some(admin::SilenceDesk::of(fleet.control.clone())),
        producer,
        client: HttpClient::new(&config.router.http.options().map_err(anyhow::Error::msg)?)
            .map_err(anyhow::Error::msg)?,
        brokers: brokers.to_owned(),
    };
    let readiness = Readiness {
        consuming: consuming.clone(),
        kafka: Some(health.clone()),
        control: Some(fleet.control.ready_flag()),
        takeover: Some(fleet.control.takeover_flag()),
    };
    let mut state = AdminState::with_live(
        live.clone(),
        metrics::global(),
        Arc::new(readiness),
        Some(outlets),
    );
    if let Some(state) = Arc::get_mut(&mut state) {
        state.control = Some(fleet.control.clone());
        state.ledger = fleet.store.clone();
        state.retry_topic = Some(RetryTopic::new(
            kafka::producer_config(&config.router.kafka, brokers)
                .create()
                .context("cannot create the admin API's retry producer")?,
            config.router.kafka.retry_topic.clone(),
            kafka::InternalKey::of(&config.router.kafka),
        ));
    }
    let stop = shutdown.clone();
    tokio::spawn(async move {
        if let Err(error) = admin::serve(listener, tls, state, stop).await {
            error!(message = "The admin server stopped.", %error);
        }
    });
    Ok(())
}

/// Consumes the enabled sources' topics and the retry topic from `brokers` until shutdown, with
/// the configuration `live` keeps and the runtime state `control` reads; sets `consuming` once subscribed (readiness); the consumers
/// tell `health` whether the brokers can be reached.
async fn consume(
    live: Arc<Live>,
    brokers: &str,
    shutdown: CancellationToken,
    consuming: Arc<AtomicBool>,
    health: Arc<KafkaHealth>,
    runtime: Runtime,
) -> anyhow::Result<()> {
    let Runtime { control, ledger } = runtime;
    let config = live.config();
    let kafka = &config.router.kafka;
    let producer: FutureProducer = kafka::producer_config(kafka, brokers)
        .create()
        .context("cannot create the retry and dead-letter producer")?;
    let key = kafka::InternalKey::of(kafka);
    let writer = Writer::new(
        RetryTopic::new(producer.clone(), kafka.retry_topic.clone(), key.clone()),
        DigestTopic::new(producer.clone(), kafka.digest_topic.clone(), key.clone()),
        DeadLetters::new(producer, kafka.dead_letter_topic.clone(), key),
    );
    let options = config.router.http.options().map_err(anyhow::Error::msg)?;
    let client = HttpClient::new(&options).map_err(anyhow::Error::msg)?;
    let mut deliverer = Deliverer::new(config.clone(), &client, writer, control.silences().clone())
        .map_err(anyhow::Error::msg)?
        .with_control(control.clone());
    if let Some(ledger) = ledger {
        deliverer = deliverer.with_ledger(ledger);
    }
    let deliverer = Arc::new(deliverer);
    live.attach(deliverer.clone()).await?;
    control.attach_deliverer(deliverer.clone());
    // Nothing is delivered before the fleet's state is in effect here: the control topic read up
    // to where it ended at start, and the old silences topic taken over (or given up).
    if !control.ready() {
        info!(message = "Waiting for the control topic to be read up to its end before consuming.", topic = %control.topic());
        if !control.wait_ready(&shutdown).await {
            return Ok(());
        }
    }
    let retries = tokio::spawn({
        let (settings, brokers, deliverer, shutdown, health) = (
            kafka.clone(),
            brokers.to_owned(),
            deliverer.clone(),
            shutdown.clone(),
            health.clone(),
        );
        async move { retry::run(&settings, &brokers, deliverer, shutdown, health).await }
    });
    let digests = tokio::spawn({
        let (settings, brokers, deliverer, shutdown, health) = (
            kafka.clone(),
            brokers.to_owned(),
            deliverer.clone(),
            shutdown.clone(),
            health.clone(),
        );
        async move { digest::run(&settings, &brokers, deliverer, shutdown, health).await }
    });
    let sources = consumer::run(
        &live,
        brokers,
        deliverer,
        shutdown.clone(),
        consuming,
        health,
    )
    .await;
    if sources.is_err() {
        shutdown.cancel();
    }
    let retries = retries.await.context("the retry consumer panicked")?;
    let digests = digests.await.context("the digest consumer panicked")?;
    Ok(sources.and(retries).and(digests)?)
}

/// A Kafka topic of an enabled source and a shipped example event of that source's type, for
/// the first-run hint: the resource lifecycle source when it is on, else the first one that is.
fn example_to_publish(config: &Config) -> Option<(String, &'static str)> {
    let enabled: Vec<_> = config
        .table
        .sources()
        .iter()
        .filter(|s| s.enabled)
        .collect();
    let source = enabled
        .iter()
        .find(|s| s.kind == SourceKind::ResourceLifecycleEvents)
        .or_else(|| enabled.first())?;
    let file = match source.kind {
        SourceKind::ResourceLifecycleEvents => "examples/events/instance-create.json",
        SourceKind::ActivityTracker => "examples/events/activity-tracker/secret-create.json",
        SourceKind::UbiopsAudit => "examples/events/ubiops/deployment-delete.json",
        SourceKind::Cloudevents => "examples/events/cloudevents/build-finished.json",
    };
    Some((source.kafka_topics.first()?.clone(), file))
}
