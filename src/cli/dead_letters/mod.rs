//! `dead-letters list` and `dead-letters replay`: what is on the dead-letter topic, and putting
//! deliveries back on their way once their destination is fixed.
//!
//! A replay writes each matching delivery to the retry topic, due at once, where the running
//! router's retry consumer picks it up and delivers it through the current configuration (its
//! subscription's current template and destination). The delivery keeps its `webhook-id`, so a
//! receiver that already has it can drop it; an email or Slack delivery goes only to the
//! recipients or channels that did not get it. Input records (not JSON, unknown event type...)
//! are not deliveries: they are counted and skipped, and so are records without a valid
//! authentication code under `kafka.internal_key` (not written by the router, or changed).

mod entry;
mod read;

use anyhow::{Context, anyhow, bail};
use chrono::{DateTime, Utc};
use rdkafka::producer::FutureProducer;

use crate::app::EMBEDDED;
use crate::config::Config;
use crate::kafka;
use crate::retry::RetryTopic;

pub use entry::{Entry, Filter};

/// `dead-letters`: inspect or replay the dead-letter topic.
#[derive(Debug, clap::Args)]
pub struct DeadLettersArgs {
    #[command(subcommand)]
    pub command: DeadLettersCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum DeadLettersCommand {
    /// Print what is on the dead-letter topic, one line per record (or JSON lines).
    List {
        #[command(flatten)]
        filter: FilterArgs,
        /// One JSON object per line, with every header and the value.
        #[arg(long)]
        json: bool,
    },
    /// Re-enqueue matching deliveries for delivery through the current configuration.
    Replay {
        #[command(flatten)]
        filter: FilterArgs,
        /// Print what would be replayed, and the counts, without writing anything.
        #[arg(long)]
        dry_run: bool,
    },
}

/// Which dead letters a command takes.
#[derive(Debug, Clone, clap::Args)]
pub struct FilterArgs {
    /// Only deliveries to this destination.
    #[arg(long)]
    pub destination: Option<String>,
    /// Only deliveries of this subscription.
    #[arg(long)]
    pub subscription: Option<String>,
    /// Only this reason code (`retries-exhausted`, `delivery-rejected`, ...).
    #[arg(long)]
    pub reason: Option<String>,
    /// Only records written since: an RFC 3339 time, or a duration ago (`2h`, `30m`, `7d`).
    #[arg(long)]
    pub since: Option<String>,
    /// Brokers; by default `kafka.brokers` of the config.
    #[arg(long, env = "KAFKA_BROKERS")]
    pub brokers: Option<String>,
}

/// Runs `dead-letters list` or `dead-letters replay`.
pub async fn dead_letters(config: &Config, args: &DeadLettersArgs) -> anyhow::Result<()> {
    match &args.command {
        DeadLettersCommand::List { filter, json } => {
            let entries = matching(config, filter).await?;
            for entry in &entries {
                if *json {
                    println!("{}", entry.json());
                } else {
                    println!("{}", entry.line());
                }
            }
            if !*json {
                eprintln!("{} dead letter(s).", entries.len());
            }
            Ok(())
        }
        DeadLettersCommand::Replay { filter, dry_run } => replay(config, filter, *dry_run).await,
    }
}

async fn replay(config: &Config, args: &FilterArgs, dry_run: bool) -> anyhow::Result<()> {
    let brokers = brokers(config, args)?;
    let report = replay_from(config, &brokers, &args.filter()?, dry_run).await?;
    for skipped in &report.skipped {
        eprintln!("{skipped}");
    }
    for line in &report.lines {
        println!("{line}");
    }
    println!("{}", report.summary);
    Ok(())
}

/// What a replay did (or, dry, would do): a line per delivery replayed, a line per record
/// skipped and why, and the counts.
#[derive(Debug, Clone, Default)]
pub struct ReplayReport {
    pub lines: Vec<String>,
    pub skipped: Vec<String>,
    pub summary: String,
    pub replayed: usize,
}

/// Replays the dead letters on `brokers` matching `filter` (`dry_run`: writes nothing); what
/// `dead-letters replay` and the console's replay run.
pub async fn replay_from(
    config: &Config,
    brokers: &str,
    filter: &Filter,
    dry_run: bool,
) -> anyhow::Result<ReplayReport> {
    let entries = matching_on(config, brokers, filter).await?;
    let kafka = &config.router.kafka;
    let producer: FutureProducer = kafka::producer_config(kafka, brokers)
        .create()
        .context("cannot create a Kafka producer")?;
    // The key the running router checks retry records with, and signed its dead letters with.
    if kafka.internal_key.as_ref().is_none_or(|k| k.is_empty()) {
        bail!(
            "a replay needs kafka.internal_key, the key of the running router: without it the \
             router makes one up per process and would refuse what a replay writes"
        );
    }
    let key = kafka::InternalKey::of(kafka);
    let retry_topic = RetryTopic::new(producer, kafka.retry_topic.clone(), key.clone());
    let mut report = ReplayReport::default();
    let (mut inputs, mut unknown, mut broken, mut forged) = (0, 0, 0, 0);
    let now = Utc::now();
    for entry in &entries {
        if let Err(why) = entry.authentic(&key, &kafka.dead_letter_topic) {
            // Anyone able to write to the dead-letter topic could otherwise have a notification
            // of their making delivered, signed with a destination's secret.
            report.skipped.push(format!(
                "skipped {}@{}: {why}",
                entry.partition, entry.offset
            ));
            forged += 1;
            continue;
        }
        if !entry.is_delivery() {
            inputs += 1;
            continue;
        }
        let job = match entry.to_job(now) {
            Ok(job) => job,
            Err(why) => {
                report.skipped.push(format!(
                    "skipped {}@{}: {why}",
                    entry.partition, entry.offset
                ));
                broken += 1;
                continue;
            }
        };
        if config
            .table
            .subscription_by_name(&job.subscription)
            .is_none()
        {
            report.skipped.push(format!(
                "skipped {}@{}: subscription {:?} is not in the configuration",
                entry.partition, entry.offset, job.subscription
            ));
            unknown += 1;
            continue;
        }
        let verb = if dry_run { "would replay" } else { "replayed" };
        if !dry_run {
            retry_topic
                .send(&job.webhook_id, &job.to_json(), &job.due.to_rfc3339())
                .await
                .with_context(|| {
                    format!("cannot write to the retry topic {}", kafka.retry_topic)
                })?;
        }
        report.lines.push(format!(
            "{verb} {}@{}: subscription={} webhook-id={}",
            entry.partition, entry.offset, job.subscription, job.webhook_id
        ));
        report.replayed += 1;
    }
    report.summary = format!(
        "{} matched; {} {} to {}; skipped: {inputs} input record(s), {unknown} of an unknown subscription, {broken} unreadable, {forged} not written by the router.",
        entries.len(),
        report.replayed,
        if dry_run {
            "would be replayed"
        } else {
            "replayed"
        },
        kafka.retry_topic
    );
    Ok(report)
}

impl FilterArgs {
    /// The filter the arguments describe.
    pub fn filter(&self) -> anyhow::Result<Filter> {
        Ok(Filter {
            destination: self.destination.clone(),
            subscription: self.subscription.clone(),
            reason: self.reason.clone(),
            since: self.since.as_deref().map(since).transpose()?,
            webhook_id: None,
        })
    }
}

/// The dead letters matching the filter, read to the topic's current end.
async fn matching(config: &Config, args: &FilterArgs) -> anyhow::Result<Vec<Entry>> {
    matching_on(config, &brokers(config, args)?, &args.filter()?).await
}

/// The dead letters on `brokers` matching `filter`, read to the topic's current end.
pub async fn matching_on(
    config: &Config,
    brokers: &str,
    filter: &Filter,
) -> anyhow::Result<Vec<Entry>> {
    let kafka = &config.router.kafka;
    let mut client = kafka::consumer_config(kafka, brokers);
    client
        .set("group.id", format!("{}.dead-letters", kafka.group_id))
        .set("enable.auto.commit", "false");
    let topic = kafka.dead_letter_topic.clone();
    let entries = tokio::task::spawn_blocking(move || read::read_all(client, &topic))
        .await
        .context("the reader panicked")??;
    Ok(entries.into_iter().filter(|e| filter.matches(e)).collect())
}

fn brokers(config: &Config, args: &FilterArgs) -> anyhow::Result<String> {
    let brokers = args
        .brokers
        .clone()
        .unwrap_or_else(|| config.router.kafka.brokers.clone());
    if brokers.trim() == EMBEDDED {
        bail!(
            "the embedded broker lives inside the running router: pass --brokers with the address it printed"
        );
    }
    Ok(brokers)
}

/// `--since`: an RFC 3339 time, or a duration before now.
pub fn since(text: &str) -> anyhow::Result<DateTime<Utc>> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&Utc));
    }
    let ago = humantime_serde::re::humantime::parse_duration(text).map_err(|_| {
        anyhow!(
            "--since {text:?}: write an RFC 3339 time (2026-11-21T09:00:00Z) or a duration (2h)"
        )
    })?;
    let ago = chrono::TimeDelta::from_std(ago).context("--since: too long ago")?;
    Ok(Utc::now() - ago)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_a_time_or_a_duration_ago() {
        assert_eq!(
            since("2026-11-21T09:00:00Z").unwrap().to_rfc3339(),
            "2026-11-21T09:00:00+00:00"
        );
        let two_hours = Utc::now() - since("2h").unwrap();
        assert!((7199..=7201).contains(&two_hours.num_seconds()));
        let error = since("yesterday").unwrap_err().to_string();
        assert!(error.contains("RFC 3339"), "{error}");
    }
}
