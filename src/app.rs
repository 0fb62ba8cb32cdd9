//! Wires the router together and runs it until shutdown: broker, consumer, record tasks, drain.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::FutureProducer;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

use crate::config::Config;
use crate::deliver::HttpClient;
use crate::kafka::{self, DeadLetters, EmbeddedKafka, Offsets, RebalanceContext};
use crate::pipeline::Pipeline;

/// The `kafka.brokers` value that starts the in-process broker.
pub const EMBEDDED: &str = "embedded";

/// Partitions of each topic the embedded broker creates.
const EMBEDDED_PARTITIONS: i32 = 3;

/// Runs the router until `shutdown` is cancelled, then drains and commits.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    for warning in &config.warnings {
        warn!(message = "Configuration warning.", file = %warning.file.display(), item = %warning.item, detail = %warning.message);
    }
    if config.router.kafka.brokers.trim() != EMBEDDED {
        let brokers = config.router.kafka.brokers.clone();
        return consume(config, &brokers, shutdown).await;
    }
    let mut topics: Vec<(String, i32)> = config
        .table
        .sources()
        .iter()
        .flat_map(|s| {
            s.kafka_topics
                .iter()
                .map(|t| (t.clone(), EMBEDDED_PARTITIONS))
        })
        .collect();
    topics.push((config.router.kafka.dead_letter_topic.clone(), 1));
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
    let result = consume(config, &address, shutdown).await;
    drop(broker);
    result
}

/// Consumes the enabled sources' topics from `brokers` until shutdown.
pub async fn consume(
    config: Config,
    brokers: &str,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let kafka = &config.router.kafka;
    let producer: FutureProducer = kafka::producer_config(kafka, brokers)
        .create()
        .context("cannot create the dead-letter producer")?;
    let dead_letters = DeadLetters::new(producer, kafka.dead_letter_topic.clone());
    let options = config.router.http.options().map_err(anyhow::Error::msg)?;
    let client = HttpClient::new(&options).map_err(anyhow::Error::msg)?;
    let pipeline =
        Arc::new(Pipeline::new(&config, &client, dead_letters).map_err(anyhow::Error::msg)?);

    let topics = config.table.enabled_kafka_topics();
    if topics.is_empty() {
        warn!(message = "No source is enabled: nothing to consume. Set `enabled: true` on a source.", config = %config.path.display());
        shutdown.cancelled().await;
        return Ok(());
    }
    let offsets = Arc::new(Offsets::default());
    let context = RebalanceContext {
        offsets: offsets.clone(),
        drain_timeout: kafka.drain_timeout,
    };
    let consumer: Arc<StreamConsumer<RebalanceContext>> = Arc::new(
        kafka::consumer_config(kafka, brokers)
            .create_with_context(context)
            .context("cannot create the Kafka consumer")?,
    );
    consumer
        .subscribe(&topics)
        .context("cannot subscribe to the sources' Kafka topics")?;
    info!(message = "Consuming.", topics = ?topics, group_id = %kafka.group_id, brokers);

    let permits = Arc::new(Semaphore::new(kafka.max_in_flight));
    let tasks = TaskTracker::new();
    loop {
        // Back-pressure: a record is fetched only when a slot is free.
        let permit = tokio::select! {
            () = shutdown.cancelled() => break,
            permit = permits.clone().acquire_owned() => permit.context("the in-flight semaphore closed")?,
        };
        let message = tokio::select! {
            () = shutdown.cancelled() => break,
            message = consumer.recv() => message,
        };
        let message = match message {
            Ok(message) => message.detach(),
            Err(error) => {
                // librdkafka reconnects and retries by itself; this only paces the log.
                warn!(message = "Kafka consumer error; retrying.", %error);
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let ticket = offsets
            .lock()
            .begin(message.topic(), message.partition(), message.offset());
        let (pipeline, offsets, consumer, shutdown) = (
            pipeline.clone(),
            offsets.clone(),
            consumer.clone(),
            shutdown.clone(),
        );
        tasks.spawn(async move {
            let _permit = permit;
            if pipeline.process(&message, &shutdown).await {
                offsets.finish(&ticket, |position| {
                    kafka::store(consumer.as_ref(), &ticket, position)
                });
            }
        });
    }

    info!(message = "Shutting down: draining in-flight records.", in_flight = tasks.len(), timeout = ?kafka.drain_timeout);
    tasks.close();
    if tokio::time::timeout(kafka.drain_timeout, tasks.wait())
        .await
        .is_err()
    {
        warn!(
            message = "Drain timed out; unfinished records will be redelivered after restart.",
            in_flight = tasks.len()
        );
    }
    kafka::commit(consumer.as_ref());
    offsets.lock().clear();
    let consumer = consumer.clone();
    tokio::task::spawn_blocking(move || consumer.unsubscribe())
        .await
        .ok();
    info!(message = "Stopped.");
    Ok(())
}
