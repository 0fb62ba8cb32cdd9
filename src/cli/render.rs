//! `render`: prints exactly what a subscription would send for an event, without sending it.
//! It is how a template is written: edit, run, read.

use std::path::PathBuf;

use anyhow::{Context, anyhow, bail};

use crate::config::Config;
use crate::event::{RawRecord, normalise};
use crate::routing::{SourceIndex, delivery_id};

/// Arguments of `render`.
#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    /// The subscription whose template and destination apply.
    #[arg(long)]
    pub subscription: String,
    /// A file holding one event, as it would arrive on the source's Kafka topic.
    #[arg(long)]
    pub event: PathBuf,
    /// The source the event comes from; needed when the subscription's topic has several.
    #[arg(long)]
    pub source: Option<String>,
}

/// Normalises the event, renders it for the subscription and prints the request or message.
pub fn render(config: &Config, args: &RenderArgs) -> anyhow::Result<()> {
    let table = &config.table;
    let index = table
        .subscription_index(&args.subscription)
        .ok_or_else(|| {
            let names: Vec<&str> = table
                .subscriptions()
                .iter()
                .map(|s| s.name.as_str())
                .collect();
            anyhow!(
                "unknown subscription {:?}; valid: {}",
                args.subscription,
                names.join(", ")
            )
        })?;
    let subscription = &table.subscriptions()[index];
    let topic = &table.topics()[subscription.topic];
    let source = pick_source(config, topic, args.source.as_deref())?;
    let bytes = std::fs::read(&args.event)
        .with_context(|| format!("cannot read {}", args.event.display()))?;
    let record = RawRecord {
        value: Some(&bytes),
        headers: &[],
    };
    let source_config = table.source(source);
    let notification = normalise(
        &source_config.id,
        source_config.kind,
        &record,
        config.router.kafka.max_message_bytes,
    )
    .map_err(|r| {
        anyhow!(
            "{}: rejected ({}): {}",
            args.event.display(),
            r.reason.code(),
            r.detail
        )
    })?;
    let matches = topic.sources.iter().any(|ts| {
        ts.source == source
            && (ts.rules.is_empty() || ts.rules.iter().any(|r| r.matches(&notification.body)))
    });
    if !matches {
        eprintln!(
            "note: this event does not match the rules of topic {:?}, so it would not be sent; \
             rendering it anyway.",
            topic.name
        );
    }
    let options = config.router.http.options().map_err(anyhow::Error::msg)?;
    let client = crate::channels::HttpClient::new(&options).map_err(anyhow::Error::msg)?;
    let target = config
        .destinations
        .target(index, &client)
        .map_err(anyhow::Error::msg)?
        .ok_or_else(|| anyhow!("subscription {:?} has no destination", subscription.name))?;
    let message = match &subscription.digest {
        Some(digest) => target.render_digest(
            &config.templates,
            &digest.context_of_one(&notification.body),
        ),
        None => target.render(&config.templates, &notification.body),
    }
    .map_err(|e| anyhow!("{e}"))?;
    let id = delivery_id(&notification.id, &subscription.name);
    let preview = message
        .preview(&notification.id, &id)
        .map_err(|e| anyhow!("{e}"))?;
    print!("{preview}");
    Ok(())
}

/// The `--source` given, or the only source of the topic.
fn pick_source(
    config: &Config,
    topic: &crate::routing::Topic,
    wanted: Option<&str>,
) -> anyhow::Result<SourceIndex> {
    let ids: Vec<&str> = topic
        .sources
        .iter()
        .map(|ts| config.table.source(ts.source).id.as_str())
        .collect();
    match wanted {
        Some(id) => match topic
            .sources
            .iter()
            .find(|ts| config.table.source(ts.source).id == id)
        {
            Some(ts) => Ok(ts.source),
            None => bail!(
                "topic {:?} has no source {id:?}; its sources: {}",
                topic.name,
                ids.join(", ")
            ),
        },
        None if topic.sources.len() == 1 => Ok(topic.sources[0].source),
        None => bail!(
            "topic {:?} has several sources ({}): name one with --source",
            topic.name,
            ids.join(", ")
        ),
    }
}
