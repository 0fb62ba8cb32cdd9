//! The consumer of one of the router's own topics (the retry and digest topics): in a group of
//! its own (`<group_id>.<client>`), told where each partition ends, polled on a thread of its
//! own, its records held (`offsets`) apart from those being worked on (`busy`, what a revoke
//! waits for).

use std::sync::Arc;

use rdkafka::consumer::Consumer;
use tokio::sync::mpsc;
use tracing::info;

use super::{KafkaConsumer, Offsets, Polling, RebalanceContext, Rebalanced, StartError};
use crate::config::KafkaSettings;
use crate::kafka::{self, KafkaHealth};

/// Which of the router's topics, in names for logs and errors.
pub(crate) struct OwnTopicNames {
    /// The consumer group's suffix, and the client's name for [`KafkaHealth`]: `retry`.
    pub client: &'static str,
    /// `the retry topic`.
    pub topic: &'static str,
    /// The polling thread's name: `kafka-retry`.
    pub thread: &'static str,
    /// `retry consumer's`.
    pub polling: &'static str,
}

/// A started consumer of one of the router's own topics.
pub(crate) struct OwnTopicConsumer {
    pub consumer: Arc<KafkaConsumer>,
    pub polling: Polling,
    /// The watermark of every record read.
    pub offsets: Arc<Offsets>,
    /// The records being worked on.
    pub busy: Arc<Offsets>,
    pub events: mpsc::UnboundedReceiver<Rebalanced>,
}

/// Subscribes to `topic` and starts polling it.
pub(crate) fn start(
    settings: &KafkaSettings,
    brokers: &str,
    topic: &str,
    names: &OwnTopicNames,
    health: Arc<KafkaHealth>,
) -> Result<OwnTopicConsumer, StartError> {
    let offsets = Arc::new(Offsets::default());
    let busy = Arc::new(Offsets::default());
    let (events_tx, events) = mpsc::unbounded_channel();
    let context = RebalanceContext {
        offsets: offsets.clone(),
        busy: busy.clone(),
        drain_timeout: settings.drain_timeout,
        events: Some(events_tx),
        health,
        client: names.client,
    };
    let group = format!("{}.{}", settings.group_id, names.client);
    let consumer: Arc<KafkaConsumer> = Arc::new(
        kafka::consumer_config(settings, brokers)
            .set("group.id", &group)
            .set("enable.partition.eof", "true")
            .create_with_context(context)
            .map_err(|e| StartError::Create(names.client, e))?,
    );
    consumer
        .subscribe(&[topic])
        .map_err(|e| StartError::Subscribe(names.topic, e))?;
    info!(message = "Consuming.", client = names.client, topic, group_id = %group);
    let polling = Polling::start(consumer.clone(), names.thread)
        .map_err(|e| StartError::Polling(names.polling, e))?;
    Ok(OwnTopicConsumer {
        consumer,
        polling,
        offsets,
        busy,
        events,
    })
}
