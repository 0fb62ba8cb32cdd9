//! `bench`: the load run — a broker process, events published to it, the router process over them
//! to a local receiver, and the ceilings it is compared with. See README, "Performance".

use std::time::Duration;

use anyhow::{Context, bail};

use crate::bench::load::{self, Broker, LoadSettings, Signing};

/// Which broker process the load run starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BrokerChoice {
    /// `tansu broker` (`--tansu` or `TANSU`; `scripts/tansu` installs it).
    Tansu,
    /// librdkafka's mock cluster in a `notification-router broker` process: nothing to install,
    /// but at most 5 MiB per partition and every empty fetch held for `--fetch-wait-ms`.
    Mock,
}

#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// The broker process the bare consumer and the router read from.
    #[arg(long, value_enum, default_value_t = BrokerChoice::Tansu)]
    pub broker: BrokerChoice,
    /// The `tansu` executable (`scripts/tansu` prints its path, installing it if missing).
    #[arg(long, env = "TANSU", value_name = "PATH")]
    pub tansu: Option<std::path::PathBuf>,
    /// How the router's destination signs its webhooks.
    #[arg(long, value_enum, default_value_t = Signing::V1)]
    pub signing: Signing,
    /// The destination's `limits.concurrency`: the router's requests to it at once.
    #[arg(long, default_value_t = 256)]
    pub concurrency: usize,
    /// Events published for the fan-out 1 runs (larger fan-outs use proportionally fewer).
    #[arg(long, default_value_t = 200_000)]
    pub events: usize,
    /// Generated topics of the fan-out 1 runs; the smallest also hosts the larger fan-outs, the
    /// largest the steady-rate run.
    #[arg(long, value_delimiter = ',', default_value = "10,10000")]
    pub topics: Vec<usize>,
    /// Subscriptions per event.
    #[arg(long, value_delimiter = ',', default_value = "1,10,100")]
    pub fanout: Vec<usize>,
    /// The router's `kafka.max_in_flight`, and the bare HTTP client's concurrency.
    #[arg(long, default_value_t = 1000)]
    pub in_flight: usize,
    /// Events per second of the steady-rate run (0 to skip it).
    #[arg(long, default_value_t = 1000)]
    pub steady_rate: usize,
    /// Seconds of the steady-rate run.
    #[arg(long, default_value_t = 10)]
    pub steady_seconds: u64,
    /// The longest one router run may take, in seconds.
    #[arg(long, default_value_t = 600)]
    pub timeout: u64,
    /// `fetch.wait.max.ms` of the consumers. librdkafka's mock broker holds an empty fetch for
    /// all of it rather than answering when records arrive; the default keeps that wait out of
    /// the latency measured.
    #[arg(long, default_value_t = 10)]
    pub fetch_wait_ms: u64,
    /// A librdkafka property for the router's clients, as in `kafka.properties`
    /// (`queued.max.messages.kbytes=16384`); repeat for more.
    #[arg(long = "kafka-property", value_name = "KEY=VALUE", value_parser = key_value)]
    pub kafka_properties: Vec<(String, String)>,
}

fn key_value(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(key, value)| (key.trim().to_owned(), value.trim().to_owned()))
        .ok_or_else(|| format!("{text:?} is not KEY=VALUE"))
}

/// Runs the load run with this executable as router, on tansu or the mock broker.
pub async fn bench(args: &BenchArgs) -> anyhow::Result<()> {
    let broker = match (args.broker, &args.tansu) {
        (BrokerChoice::Mock, _) => Broker::Mock,
        (BrokerChoice::Tansu, Some(path)) => Broker::Tansu(path.clone()),
        (BrokerChoice::Tansu, None) => bail!(
            "no tansu executable: pass --tansu PATH or set TANSU (scripts/tansu prints the path, \
             installing it if missing; scripts/bench does that), or use --broker mock"
        ),
    };
    let settings = LoadSettings {
        exe: std::env::current_exe().context("cannot find this executable")?,
        broker,
        signing: args.signing,
        concurrency: args.concurrency.max(1),
        events: args.events.max(2),
        topic_counts: args.topics.clone(),
        fanouts: args.fanout.clone(),
        in_flight: args.in_flight.max(1),
        steady_rate: args.steady_rate,
        steady_seconds: args.steady_seconds,
        timeout: Duration::from_secs(args.timeout),
        fetch_wait_ms: args.fetch_wait_ms,
        kafka_properties: args.kafka_properties.clone(),
    };
    load::run(&settings).await
}
