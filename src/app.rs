//! Wires the router together and runs it until shutdown: broker, the live configuration and its
//! reload triggers, the sources' consumer with its record tasks, back-pressure and subscription
//! changes, the retry consumer, drain.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::OwnedMessage;
use rdkafka::producer::FutureProducer;
use rdkafka::{Message, Offset, TopicPartitionList};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, error, info, warn};

use crate::admin::{self, AdminState};
use crate::config::Config;
use crate::deliver::HttpClient;
use crate::delivery::{Deliverer, Writer};
use crate::kafka::{
    self, Backpressure, DeadLetters, EmbeddedKafka, Offsets, Partition, RebalanceContext,
    Rebalanced, RetryTopic, Waiting,
};
use crate::metrics::{self, PartitionLabels};
use crate::pipeline::Pipeline;
use crate::reload::{self, Live};
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
    metrics::global().config_loaded(true);
    let consuming = Arc::new(AtomicBool::new(false));
    let live = Arc::new(Live::new(Arc::new(config.clone())));
    reload::spawn_triggers(live.clone(), shutdown.clone());
    if config.router.kafka.brokers.trim() != EMBEDDED {
        let brokers = config.router.kafka.brokers.clone();
        start_admin(&live, &brokers, &consuming, &shutdown).await?;
        return consume(live, &brokers, shutdown, consuming).await;
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
    start_admin(&live, &address, &consuming, &shutdown).await?;
    let result = consume(live, &address, shutdown, consuming).await;
    drop(broker);
    result
}

/// Starts the admin server when configured, with a producer to `brokers` (for sent
/// notifications) and an HTTP client like the deliverer's (for destination tests).
async fn start_admin(
    live: &Arc<Live>,
    brokers: &str,
    consuming: &Arc<AtomicBool>,
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
    let state = AdminState::with_live(
        live.clone(),
        metrics::global(),
        consuming.clone(),
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
/// the configuration `live` keeps; sets `consuming` once subscribed (readiness).
pub async fn consume(
    live: Arc<Live>,
    brokers: &str,
    shutdown: CancellationToken,
    consuming: Arc<AtomicBool>,
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
        let (settings, brokers, deliverer, shutdown) = (
            kafka.clone(),
            brokers.to_owned(),
            deliverer.clone(),
            shutdown.clone(),
        );
        async move { retrying::run(&settings, &brokers, deliverer, shutdown).await }
    });
    let sources = consume_sources(&live, brokers, deliverer, shutdown.clone(), consuming).await;
    if sources.is_err() {
        shutdown.cancel();
    }
    let retries = retries.await.context("the retry consumer panicked")?;
    sources.and(retries)
}

/// Consumes the enabled sources' topics until shutdown, following the subscription as reloads
/// change it ([`subscription`]). Back-pressure pauses fetching from busy partitions (or all of
/// them) while the consumer keeps being polled.
async fn consume_sources(
    live: &Live,
    brokers: &str,
    deliverer: Arc<Deliverer>,
    shutdown: CancellationToken,
    consuming: Arc<AtomicBool>,
) -> anyhow::Result<()> {
    let mut changes = live.subscribe();
    let config = changes.borrow_and_update().clone();
    let kafka = &config.router.kafka;
    let pipeline = Arc::new(Pipeline::new(&config, deliverer));
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
    let mut subscribed = BTreeSet::new();
    resubscribe(consumer.as_ref(), &mut subscribed, &config)
        .context("cannot subscribe to the sources' Kafka topics")?;
    if subscribed.is_empty() {
        warn!(message = "No source is enabled: nothing to consume until one is. Set `enabled: true` on a source.", config = %config.path.display());
    } else {
        info!(message = "Consuming.", topics = ?subscribed, group_id = %kafka.group_id, brokers);
    }
    consuming.store(true, Ordering::Release);
    tokio::spawn(report_lag(consumer.clone(), shutdown.clone()));

    let mut pressure = Backpressure::new(kafka.max_in_flight, kafka.max_in_flight_per_partition);
    let (finished_tx, mut finished) = mpsc::unbounded_channel::<Partition>();
    let records = Records {
        pipeline,
        offsets: offsets.clone(),
        consumer: consumer.clone(),
        shutdown: shutdown.clone(),
        finished: finished_tx,
        tasks: TaskTracker::new(),
    };
    // A record with no room (its partition's limit or the total reached) waits, and the loop
    // takes no more for up to FULL_GRACE before pausing (see `Waiting`).
    let mut waiting = Waiting::new(FULL_GRACE);
    loop {
        while let Some((partition, message)) = waiting.next_admitted(&pressure) {
            records.start(partition, message, &mut pressure);
        }
        if let Some(partition) = waiting.overdue(&pressure, Instant::now()) {
            pause(consumer.as_ref(), &pressure.pause_for(&partition), true);
            continue;
        }
        let deadline = waiting.deadline(&pressure);
        let message = tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            Some(event) = events.recv() => {
                match event {
                    Rebalanced::Assigned(partitions) => {
                        pause(consumer.as_ref(), &pressure.assigned(&partitions), true);
                    }
                    Rebalanced::Revoked(partitions) => {
                        waiting.revoked(&partitions);
                        pressure.revoked(&partitions);
                    }
                }
                continue;
            }
            Some(partition) = finished.recv() => {
                pause(consumer.as_ref(), &pressure.finished(&partition), false);
                continue;
            }
            Ok(()) = changes.changed() => {
                let config = changes.borrow_and_update().clone();
                let before = subscribed.clone();
                match resubscribe(consumer.as_ref(), &mut subscribed, &config) {
                    Ok(()) if before != subscribed => {
                        info!(message = "Subscription changed.", topics = ?subscribed, before = ?before);
                    }
                    Ok(()) => {}
                    Err(error) => error!(message = "Cannot change the subscription to the sources' Kafka topics; the previous one stays.", %error),
                }
                continue;
            }
            () = sleep_until(deadline), if deadline.is_some() => continue,
            message = consumer.recv(), if deadline.is_none() => message,
        };
        match message {
            Ok(message) => {
                let message = message.detach();
                let partition = (message.topic().to_owned(), message.partition());
                waiting.push(partition, Instant::now(), message);
            }
            Err(error) => {
                // librdkafka reconnects and retries by itself; this only paces the log.
                warn!(message = "Kafka consumer error; retrying.", %error);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }

    let tasks = records.tasks;
    info!(message = "Shutting down: draining in-flight records.", in_flight = tasks.len(), waiting = waiting.len(), timeout = ?kafka.drain_timeout);
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

/// What a record task needs: it runs the pipeline, then moves the committable offset and
/// reports its partition finished.
struct Records {
    pipeline: Arc<Pipeline>,
    offsets: Arc<Offsets>,
    consumer: Arc<StreamConsumer<RebalanceContext>>,
    shutdown: CancellationToken,
    finished: mpsc::UnboundedSender<Partition>,
    tasks: TaskTracker,
}

impl Records {
    /// Starts a task for `message` of `partition`, counted in `pressure` until it finishes.
    fn start(&self, partition: Partition, message: OwnedMessage, pressure: &mut Backpressure) {
        pressure.started(&partition);
        let ticket = self
            .offsets
            .lock()
            .begin(&partition.0, partition.1, message.offset());
        let (pipeline, offsets, consumer, shutdown, finished) = (
            self.pipeline.clone(),
            self.offsets.clone(),
            self.consumer.clone(),
            self.shutdown.clone(),
            self.finished.clone(),
        );
        self.tasks.spawn(async move {
            if pipeline.process(&message, &shutdown).await {
                offsets.finish(&ticket, |position| {
                    kafka::store(consumer.as_ref(), &ticket, position)
                });
            }
            let _ = finished.send(partition);
        });
    }
}

/// The topics to consume under `config`: the enabled sources', and those already consumed whose
/// source is still configured (a source disabled while running stays subscribed, so its records
/// are dropped and committed rather than delivered when it is enabled again).
fn subscription(config: &Config, subscribed: &BTreeSet<String>) -> BTreeSet<String> {
    let configured: BTreeSet<&str> = config
        .table
        .sources()
        .iter()
        .flat_map(|s| s.kafka_topics.iter().map(String::as_str))
        .collect();
    config
        .table
        .enabled_kafka_topics()
        .into_iter()
        .chain(
            subscribed
                .iter()
                .map(String::as_str)
                .filter(|t| configured.contains(t)),
        )
        .map(str::to_owned)
        .collect()
}

/// Subscribes to [`subscription`] when it differs from `subscribed`.
fn resubscribe<C: Consumer<X>, X: rdkafka::consumer::ConsumerContext>(
    consumer: &C,
    subscribed: &mut BTreeSet<String>,
    config: &Config,
) -> rdkafka::error::KafkaResult<()> {
    let wanted = subscription(config, subscribed);
    if wanted == *subscribed {
        return Ok(());
    }
    if wanted.is_empty() {
        consumer.unsubscribe();
    } else {
        let topics: Vec<&str> = wanted.iter().map(String::as_str).collect();
        consumer.subscribe(&topics)?;
    }
    *subscribed = wanted;
    Ok(())
}

/// Sleeps until `deadline`, or not at all without one.
async fn sleep_until(deadline: Option<Instant>) {
    if let Some(deadline) = deadline {
        tokio::time::sleep_until(deadline.into()).await;
    }
}

/// How long the consume loop holds a record with no room for it (its partition's in-flight
/// limit or the total reached) before it pauses that partition, or every one.
const FULL_GRACE: Duration = Duration::from_millis(250);

/// How often consumer lag is measured for `/metrics`.
const LAG_INTERVAL: Duration = Duration::from_secs(15);

/// Measures the lag of each assigned partition (its end minus the committed offset) for
/// `/metrics`, every [`LAG_INTERVAL`], until shutdown. The calls block on the broker, so they
/// run off the async workers.
async fn report_lag(consumer: Arc<StreamConsumer<RebalanceContext>>, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(LAG_INTERVAL) => {}
        }
        let consumer = consumer.clone();
        let Ok(lags) = tokio::task::spawn_blocking(move || measure_lag(&consumer)).await else {
            continue;
        };
        for (topic, partition, lag) in lags {
            let labels = PartitionLabels {
                topic,
                partition: partition.to_string(),
            };
            metrics::global()
                .consumer_lag
                .get_or_create(&labels)
                .set(lag);
        }
    }
}

fn measure_lag(consumer: &StreamConsumer<RebalanceContext>) -> Vec<(String, i32, i64)> {
    let timeout = Duration::from_secs(5);
    let Ok(assignment) = consumer.assignment() else {
        return Vec::new();
    };
    let committed = consumer
        .committed_offsets(assignment.clone(), timeout)
        .unwrap_or(assignment);
    committed
        .elements()
        .iter()
        .filter_map(|element| {
            let (low, high) = consumer
                .fetch_watermarks(element.topic(), element.partition(), timeout)
                .ok()?;
            let position = match element.offset() {
                Offset::Offset(offset) => offset,
                _ => low,
            };
            Some((
                element.topic().to_owned(),
                element.partition(),
                (high - position).max(0),
            ))
        })
        .collect()
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
