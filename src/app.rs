//! Wires the router together and runs it until shutdown: broker, the live configuration and its
//! reload triggers, the sources' consumer with its record tasks, back-pressure and subscription
//! changes, the retry consumer, drain.

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
use crate::dead_letter::DeadLetters;
use crate::dispatch::{Deliverer, Writer};
use crate::kafka::{self, EmbeddedKafka, KafkaHealth};
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
        let health = Arc::new(KafkaHealth::new(&brokers, metrics::global()));
        start_admin(&live, &brokers, &consuming, &health, &shutdown).await?;
        return consume(live, &brokers, shutdown, consuming, health).await;
    }
    let topics = config.kafka_topics(EMBEDDED_PARTITIONS);
    let broker = EmbeddedKafka::start(&topics)?;
    let address = broker.bootstrap_servers().to_owned();
    let example_topic = config
        .table
        .enabled_kafka_topics()
        .first()
        .map(|t| t.to_string());
    info!(message = "Embedded Kafka broker started; its data lives as long as this process.", bootstrap_servers = %address);
    println!(
        "Embedded Kafka broker listening on {address} (topics: {}).",
        topics
            .iter()
            .map(|t| t.0.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    match example_topic {
        Some(topic) => println!(
            "Publish an event:  cargo run --release -- publish --brokers {address} --topic {topic} examples/events/instance-create.json"
        ),
        None => println!(
            "No source is enabled yet: set `enabled: true` on a source in {}.",
            config.path.display()
        ),
    }
    let health = Arc::new(KafkaHealth::new(&address, metrics::global()));
    start_admin(&live, &address, &consuming, &health, &shutdown).await?;
    let result = consume(live, &address, shutdown, consuming, health).await;
    drop(broker);
    result
}

/// Starts the admin server when configured, with a producer to `brokers` (for sent
/// notifications) and an HTTP client like the deliverer's (for destination tests).
async fn start_admin(
    live: &Arc<Live>,
    brokers: &str,
    consuming: &Arc<AtomicBool>,
    health: &Arc<KafkaHealth>,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let config = live.config();
    let Some(admin) = &config.router.admin else {
        return Ok(());
    };
    let listener = tokio::net::TcpListener::bind(admin.listen)
        .await
        .with_context(|| format!("cannot listen on admin.listen {}", admin.listen))?;
    let address = listener.local_addr().context("admin listener address")?;
    info!(message = "Admin server listening.", address = %address, endpoints = "/healthz /readyz /metrics /v1/...");
    let outlets = admin::Outlets {
        producer: kafka::producer_config(&config.router.kafka, brokers)
            .create()
            .context("cannot create the admin API's Kafka producer")?,
        client: HttpClient::new(&config.router.http.options().map_err(anyhow::Error::msg)?)
            .map_err(anyhow::Error::msg)?,
    };
    let readiness = Readiness {
        consuming: consuming.clone(),
        kafka: Some(health.clone()),
    };
    let state = AdminState::with_live(
        live.clone(),
        metrics::global(),
        Arc::new(readiness),
        Some(outlets),
    );
    let stop = shutdown.clone();
    tokio::spawn(async move {
        if let Err(error) = admin::serve(listener, state, stop).await {
            error!(message = "The admin server stopped.", %error);
        }
    });
    Ok(())
}

/// Consumes the enabled sources' topics and the retry topic from `brokers` until shutdown, with
/// the configuration `live` keeps; sets `consuming` once subscribed (readiness); the consumers
/// tell `health` whether the brokers can be reached.
pub async fn consume(
    live: Arc<Live>,
    brokers: &str,
    shutdown: CancellationToken,
    consuming: Arc<AtomicBool>,
    health: Arc<KafkaHealth>,
) -> anyhow::Result<()> {
    let config = live.config();
    let kafka = &config.router.kafka;
    let producer: FutureProducer = kafka::producer_config(kafka, brokers)
        .create()
        .context("cannot create the retry and dead-letter producer")?;
    let writer = Writer::new(
        RetryTopic::new(producer.clone(), kafka.retry_topic.clone()),
        DeadLetters::new(producer, kafka.dead_letter_topic.clone()),
    );
    let options = config.router.http.options().map_err(anyhow::Error::msg)?;
    let client = HttpClient::new(&options).map_err(anyhow::Error::msg)?;
    let deliverer =
        Arc::new(Deliverer::new(config.clone(), &client, writer).map_err(anyhow::Error::msg)?);
    live.attach(deliverer.clone()).await?;
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
    sources.and(retries)
}
