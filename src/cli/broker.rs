//! `broker`: librdkafka's mock cluster as a process of its own, so that tests (and people) can
//! kill and restart a router against a broker that outlives it.
//!
//! It speaks the Kafka protocol on a loopback port, keeps consumer groups and their committed
//! offsets, and keeps its data only in memory, for as long as it runs. Plaintext only; each
//! partition holds at most 5 MB or 100,000 records (older ones are dropped).

use std::io::Write;

use anyhow::{Context, bail};
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::kafka::EmbeddedKafka;

/// The control topic a router uses unless `kafka.control_topic` says otherwise.
const DEFAULT_CONTROL_TOPIC: &str = "notification-router.control";

/// The ledger topic a router uses unless `ledger.topic` says otherwise.
const DEFAULT_LEDGER_TOPIC: &str = "notification-router.ledger";

/// Partitions of a topic named without a count.
const DEFAULT_PARTITIONS: i32 = 3;

#[derive(Debug, Clone, clap::Args)]
pub struct BrokerArgs {
    /// A topic to create, `NAME` or `NAME:PARTITIONS`; repeatable (the default control and
    /// ledger topics are always created). Without any, the topics of the configuration: its sources', the
    /// dead-letter, retry, digest, control and ledger topics.
    #[arg(long = "topic", value_name = "NAME[:PARTITIONS]")]
    pub topics: Vec<String>,
    /// Also stop when standard input closes (so that a parent's broker dies with it).
    #[arg(long, hide = true)]
    pub stop_with_stdin: bool,
}

/// The topics to create: those named, or else the configuration's.
pub fn broker_topics(
    args: &BrokerArgs,
    config: Option<&Config>,
) -> anyhow::Result<Vec<(String, i32)>> {
    if !args.topics.is_empty() {
        let mut topics: Vec<(String, i32)> = args
            .topics
            .iter()
            .map(|t| parse_topic(t))
            .collect::<anyhow::Result<_>>()?;
        // The mock cluster cannot create topics on request: the router's control and ledger
        // topics (by default) are always there.
        for internal in [DEFAULT_CONTROL_TOPIC, DEFAULT_LEDGER_TOPIC] {
            if !topics.iter().any(|(t, _)| t == internal) {
                topics.push((internal.to_owned(), 1));
            }
        }
        return Ok(topics);
    }
    let Some(config) = config else {
        bail!("name the topics with --topic, or give a valid --config");
    };
    Ok(config.kafka_topics(DEFAULT_PARTITIONS))
}

/// Runs the broker until `shutdown`. The first line on stdout is `bootstrap.servers=HOST:PORT`.
pub async fn broker(
    topics: &[(String, i32)],
    stop_with_stdin: bool,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let broker = EmbeddedKafka::start(topics)?;
    if stop_with_stdin {
        let cancel = shutdown.clone();
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
            cancel.cancel();
        });
    }
    // Both lines in one write: a reader that closes the pipe after the first line (the load
    // run does) must not make the second one fail and stop the broker.
    let names: Vec<String> = topics.iter().map(|(t, p)| format!("{t}:{p}")).collect();
    let banner = format!(
        "bootstrap.servers={}\nKafka broker (librdkafka mock cluster, in memory) with topics {}; SIGTERM or Ctrl-C stops it.\n",
        broker.bootstrap_servers(),
        names.join(", ")
    );
    {
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(banner.as_bytes())?;
        stdout.flush()?;
    }
    shutdown.cancelled().await;
    tokio::task::spawn_blocking(move || drop(broker))
        .await
        .context("the broker did not stop cleanly")?;
    Ok(())
}

fn parse_topic(text: &str) -> anyhow::Result<(String, i32)> {
    let (name, partitions) = match text.split_once(':') {
        Some((name, count)) => {
            let count: i32 = count.parse().ok().filter(|n| *n > 0).with_context(|| {
                format!("--topic {text:?}: the partition count must be a positive number")
            })?;
            (name, count)
        }
        None => (text, DEFAULT_PARTITIONS),
    };
    crate::config::check_kafka_topic_name(name)
        .map_err(|why| anyhow::anyhow!("--topic {text:?}: {why}"))?;
    Ok((name.to_owned(), partitions))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_parse_with_or_without_a_partition_count() {
        assert_eq!(parse_topic("lifecycle").unwrap(), ("lifecycle".into(), 3));
        assert_eq!(parse_topic("dlq:1").unwrap(), ("dlq".into(), 1));
        assert!(parse_topic("dlq:0").is_err());
        assert!(parse_topic("no spaces:2").is_err());
    }
}
