//! `publish`: produces events from JSON files to Kafka, so a newcomer needs no other Kafka client.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;

use crate::app::EMBEDDED;
use crate::config::Config;

#[derive(Debug, Clone, clap::Args)]
pub struct PublishArgs {
    /// JSON files: each holds one event, or an array of events published one by one.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Kafka topic; by default the first Kafka topic of `--source`.
    #[arg(long)]
    pub topic: Option<String>,
    /// Source whose topic to publish to; by default the first source in the config.
    #[arg(long)]
    pub source: Option<String>,
    /// Brokers; by default `kafka.brokers` of the config (the embedded broker prints its address).
    #[arg(long, env = "KAFKA_BROKERS")]
    pub brokers: Option<String>,
}

/// Publishes every event, keyed by its `event_id` (or CloudEvent `id`), and waits for each acknowledgement.
pub async fn publish(config: &Config, args: &PublishArgs) -> anyhow::Result<()> {
    let brokers = args
        .brokers
        .clone()
        .unwrap_or_else(|| config.router.kafka.brokers.clone());
    if brokers == EMBEDDED {
        bail!(
            "the embedded broker lives inside the running router: pass --brokers with the address it printed"
        );
    }
    let topic = match (&args.topic, &args.source) {
        (Some(topic), _) => topic.clone(),
        (None, source) => {
            let sources = config.table.sources();
            let found = match source {
                Some(id) => sources
                    .iter()
                    .find(|s| &s.id == id)
                    .with_context(|| format!("unknown source {id:?}"))?,
                None => sources
                    .first()
                    .context("the config has no source: pass --topic")?,
            };
            found
                .kafka_topics
                .first()
                .cloned()
                .context("the source has no Kafka topic")?
        }
    };
    let producer: FutureProducer = crate::kafka::producer_config(&config.router.kafka, &brokers)
        .create()
        .context("cannot create a Kafka producer")?;
    let mut published = 0;
    for file in &args.files {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        let value: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", file.display()))?;
        let events = match value {
            serde_json::Value::Array(events) => events,
            event => vec![event],
        };
        for event in events {
            let key = event
                .get("event_id")
                .or_else(|| event.get("id"))
                .and_then(|k| k.as_str())
                .map(str::to_owned);
            let payload = event.to_string();
            let mut record = FutureRecord::<str, str>::to(&topic).payload(&payload);
            if let Some(key) = &key {
                record = record.key(key);
            }
            let delivery = producer
                .send(record, Timeout::After(Duration::from_secs(30)))
                .await;
            let (partition, offset) = delivery
                .map(|d| (d.partition, d.offset))
                .map_err(|(error, _)| error)
                .with_context(|| format!("cannot publish to {topic} at {brokers}"))?;
            println!(
                "published {} to {topic} (partition {partition}, offset {offset})",
                key.as_deref().unwrap_or("event")
            );
            published += 1;
        }
    }
    println!("{published} event(s) published.");
    Ok(())
}
