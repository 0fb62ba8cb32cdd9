//! Wires the router together and runs it until shutdown: broker, the sources' consumer with its
//! record tasks and back-pressure, the retry consumer, drain.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::FutureProducer;
use rdkafka::{Message, Offset, TopicPartitionList};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

use crate::config::Config;
use crate::deliver::HttpClient;
use crate::delivery::{Deliverer, Writer};
use crate::kafka::{
    self, Backpressure, DeadLetters, EmbeddedKafka, Offsets, RebalanceContext, Rebalanced,
    RetryTopic,
};
use crate::pipeline::Pipeline;
use crate::retrying;

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
    topics.push((config.router.kafka.retry_topic.clone(), EMBEDDED_PARTITIONS));
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

/// Consumes the enabled sources' topics and the retry topic from `brokers` until shutdown.
pub async fn consume(
    config: Config,
    brokers: &str,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
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
    let deliverer = Arc::new(Deliverer::new(&config, &client, writer).map_err(anyhow::Error::msg)?);
    let retries = tokio::spawn({
        let (settings, brokers, deliverer, shutdown) = (
            kafka.clone(),
            brokers.to_owned(),
            deliverer.clone(),
            shutdown.clone(),
        );
        async move { retrying::run(&settings, &brokers, deliverer, shutdown).await }
    });
    let sources = consume_sources(&config, brokers, deliverer, shutdown.clone()).await;
    if sources.is_err() {
        shutdown.cancel();
    }
    let retries = retries.await.context("the retry consumer panicked")?;
    sources.and(retries)
}

/// Consumes the enabled sources' topics until shutdown. Back-pressure pauses fetching from busy
/// partitions (or all of them) while the consumer keeps being polled.
async fn consume_sources(
    config: &Config,
    brokers: &str,
    deliverer: Arc<Deliverer>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let kafka = &config.router.kafka;
    let pipeline = Arc::new(Pipeline::new(config, deliverer));
    let topics = config.table.enabled_kafka_topics();
    if topics.is_empty() {
        warn!(message = "No source is enabled: nothing to consume. Set `enabled: true` on a source.", config = %config.path.display());
        shutdown.cancelled().await;
        return Ok(());
    }
    let offsets = Arc::new(Offsets::default());
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let context = RebalanceContext {
        events: Some(events_tx),
        ..RebalanceContext::new(offsets.clone(), kafka.drain_timeout)
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

    let mut pressure = Backpressure::new(kafka.max_in_flight, kafka.max_in_flight_per_partition);
    let (finished_tx, mut finished) = mpsc::unbounded_channel::<(String, i32)>();
    let tasks = TaskTracker::new();
    loop {
        let message = tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            Some(event) = events.recv() => {
                match event {
                    Rebalanced::Assigned(partitions) => {
                        pause(consumer.as_ref(), &pressure.assigned(&partitions), true);
                    }
                    Rebalanced::Revoked(partitions) => pressure.revoked(&partitions),
                }
                continue;
            }
            Some((topic, partition)) = finished.recv() => {
                pause(consumer.as_ref(), &pressure.finished(&topic, partition), false);
                continue;
            }
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
        let (topic, partition) = (message.topic().to_owned(), message.partition());
        pause(
            consumer.as_ref(),
            &pressure.started(&topic, partition),
            true,
        );
        let ticket = offsets.lock().begin(&topic, partition, message.offset());
        let (pipeline, offsets, consumer, shutdown, finished) = (
            pipeline.clone(),
            offsets.clone(),
            consumer.clone(),
            shutdown.clone(),
            finished_tx.clone(),
        );
        tasks.spawn(async move {
            if pipeline.process(&message, &shutdown).await {
                offsets.finish(&ticket, |position| {
                    kafka::store(consumer.as_ref(), &ticket, position)
                });
            }
            let _ = finished.send((topic, partition));
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

/// Pauses (or resumes) fetching from `partitions`; polling goes on either way.
fn pause<C: Consumer<X>, X: rdkafka::consumer::ConsumerContext>(
    consumer: &C,
    partitions: &[(String, i32)],
    pause: bool,
) {
    if partitions.is_empty() {
        return;
    }
    let mut list = TopicPartitionList::new();
    for (topic, partition) in partitions {
        let _ = list.add_partition_offset(topic, *partition, Offset::Invalid);
    }
    let result = if pause {
        debug!(message = "Back-pressure: pausing partitions.", partitions = ?partitions);
        consumer.pause(&list)
    } else {
        debug!(message = "Back-pressure released: resuming partitions.", partitions = ?partitions);
        consumer.resume(&list)
    };
    if let Err(error) = result {
        debug!(message = "Cannot pause or resume partitions.", %error);
    }
}
