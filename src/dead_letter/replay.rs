//! Reading the dead-letter topic back and replaying deliveries from it: what
//! `notification-router dead-letters` and the console's dead-letters page run.
//!
//! A replay writes each matching delivery to the retry topic, due at once, where the running
//! router's retry consumer picks it up and delivers it through the current configuration (its
//! subscription's current template and destination). The delivery keeps its `webhook-id`, so a
//! receiver that already has it can drop it; an email or Slack delivery goes only to the
//! recipients or channels that did not get it. Input records (not JSON, unknown event type...)
//! are not deliveries: they are counted and skipped, and so are records without a valid
//! authentication code under `kafka.internal_key` (not written by the router, or changed).

use chrono::{DateTime, Utc};
use rdkafka::producer::FutureProducer;

use super::entry::{Entry, Filter};
use super::read;
use crate::config::Config;
use crate::kafka;
use crate::retry::RetryTopic;

/// Why the dead letters could not be read or replayed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReplayError {
    #[error("{0}")]
    Kafka(String),
    #[error("the topic {0} does not exist (or has no partitions)")]
    NoTopic(String),
    #[error(
        "a replay needs kafka.internal_key, the key of the running router: without it the router \
         makes one up per process and would refuse what a replay writes"
    )]
    NoInternalKey,
    #[error("since {0:?}: write an RFC 3339 time (2026-11-21T09:00:00Z) or a duration (2h)")]
    Since(String),
}

/// What a replay did (or, dry, would do): a line per delivery replayed, a line per record
/// skipped and why, and the counts.
#[derive(Debug, Clone, Default)]
pub(crate) struct ReplayReport {
    pub lines: Vec<String>,
    pub skipped: Vec<String>,
    pub summary: String,
    pub replayed: usize,
}

/// Replays the dead letters on `brokers` matching `filter` (`dry_run`: writes nothing): what
/// `dead-letters replay` and the console's replay run.
pub(crate) async fn replay(
    config: &Config,
    brokers: &str,
    filter: &Filter,
    dry_run: bool,
) -> Result<ReplayReport, ReplayError> {
    let entries = read_matching(config, brokers, filter).await?;
    let kafka = &config.router.kafka;
    let producer: FutureProducer = kafka::producer_config(kafka, brokers)
        .create()
        .map_err(|e| ReplayError::Kafka(format!("cannot create a Kafka producer: {e}")))?;
    // The key the running router checks retry records with, and signed its dead letters with.
    if kafka.internal_key.as_ref().is_none_or(|k| k.is_empty()) {
        return Err(ReplayError::NoInternalKey);
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
                .map_err(|e| {
                    ReplayError::Kafka(format!(
                        "cannot write to the retry topic {}: {e}",
                        kafka.retry_topic
                    ))
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

/// The dead letters on `brokers` matching `filter`, read to the topic's current end.
pub(crate) async fn read_matching(
    config: &Config,
    brokers: &str,
    filter: &Filter,
) -> Result<Vec<Entry>, ReplayError> {
    let kafka = &config.router.kafka;
    let mut client = kafka::consumer_config(kafka, brokers);
    client
        .set("group.id", format!("{}.dead-letters", kafka.group_id))
        .set("enable.auto.commit", "false");
    let topic = kafka.dead_letter_topic.clone();
    let entries = tokio::task::spawn_blocking(move || read::read_all(client, &topic))
        .await
        .map_err(|e| ReplayError::Kafka(format!("the reader failed: {e}")))??;
    Ok(entries.into_iter().filter(|e| filter.matches(e)).collect())
}

/// A time filter: an RFC 3339 time, or a duration before now (`2h`, `30m`, `7d`).
pub(crate) fn parse_since(text: &str) -> Result<DateTime<Utc>, ReplayError> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&Utc));
    }
    let ago = humantime_serde::re::humantime::parse_duration(text)
        .map_err(|_| ReplayError::Since(text.to_owned()))?;
    let ago = chrono::TimeDelta::from_std(ago).map_err(|_| ReplayError::Since(text.to_owned()))?;
    Ok(Utc::now() - ago)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_a_time_or_a_duration_ago() {
        assert_eq!(
            parse_since("2026-11-21T09:00:00Z").unwrap().to_rfc3339(),
            "2026-11-21T09:00:00+00:00"
        );
        let two_hours = Utc::now() - parse_since("2h").unwrap();
        assert!((7199..=7201).contains(&two_hours.num_seconds()));
        let error = parse_since("yesterday").unwrap_err().to_string();
        assert!(error.contains("RFC 3339"), "{error}");
    }
}
