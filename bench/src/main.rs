//! `notification-router-bench`: the load run — a broker process, events published to it, the
//! router process over them to a local receiver, and the ceilings it is compared with. See
//! docs/performance.md.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use notification_router::telemetry::{self, LogFormat};
use notification_router_bench::bare;
use notification_router_bench::load::{self, Broker, LoadSettings, Signing};

/// The allocator the `notification-router` binary uses: the bare clients and the receiver run
/// under the same one as the router.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Which broker process the load run starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BrokerChoice {
    /// `tansu broker` (`--tansu` or `TANSU`; `scripts/tansu` installs it).
    Tansu,
    /// librdkafka's mock cluster in a `notification-router broker` process: nothing to install,
    /// but at most 5 MiB per partition and every empty fetch held for `--fetch-wait-ms`.
    Mock,
}

/// Measures the router end to end against a broker process and a local receiver.
#[derive(Debug, Clone, Parser)]
#[command(version, args_conflicts_with_subcommands = true)]
pub struct BenchArgs {
    /// A part of the load run that runs as a process of its own.
    #[command(subcommand)]
    pub bare: Option<Bare>,
    /// The `notification-router` executable to measure (and to run the mock broker); by default
    /// the one beside this executable, in the same target directory.
    #[arg(long, value_name = "PATH")]
    pub router: Option<PathBuf>,
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
    /// Whether the router writes and keeps the delivery ledger (`ledger.enabled`), to measure
    /// its cost: `--ledger false` turns it off.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub ledger: bool,
    /// A librdkafka property for the router's clients, as in `kafka.properties`
    /// (`queued.max.messages.kbytes=16384`); repeat for more.
    #[arg(long = "kafka-property", value_name = "KEY=VALUE", value_parser = key_value)]
    pub kafka_properties: Vec<(String, String)>,
    /// The format of this process's own logs.
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Log level or filter of this process's own logs; `RUST_LOG` wins.
    #[arg(long, default_value = "info")]
    pub log_level: String,
}

/// The bare clients, which the load run starts as processes of their own (this executable with
/// one of these subcommands), so that their CPU is measured apart from the receiver's.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Bare {
    /// Posts a notification body REQUESTS times to URL, CONCURRENCY at once; prints one JSON
    /// line (requests per second, CPU seconds).
    #[command(hide = true)]
    BareHttp {
        #[arg(long)]
        url: String,
        #[arg(long)]
        requests: usize,
        #[arg(long)]
        concurrency: usize,
    },
    /// Reads TOPIC from its start and posts each record's value to URL as it arrives, IN_FLIGHT
    /// at once, until EVENTS were posted.
    #[command(hide = true)]
    BarePipeline(bare::PipelineArgs),
}

/// Runs a bare client process.
async fn bare(command: &Bare) -> anyhow::Result<()> {
    match command {
        Bare::BareHttp {
            url,
            requests,
            concurrency,
        } => {
            let run = bare::http_client(url, *requests, (*concurrency).max(1)).await?;
            println!("{}", serde_json::to_string(&run)?);
        }
        Bare::BarePipeline(args) => bare::pipeline(args).await?,
    }
    Ok(())
}

fn key_value(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(key, value)| (key.trim().to_owned(), value.trim().to_owned()))
        .ok_or_else(|| format!("{text:?} is not KEY=VALUE"))
}

fn main() -> ExitCode {
    let args = BenchArgs::parse();
    telemetry::init(args.log_format, &args.log_level);
    // The runtime the router binary runs its subcommands in, so that the bare clients' ceilings
    // are measured as before: at least four workers.
    let workers = std::thread::available_parallelism().map_or(4, |n| n.get().max(4));
    let result = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
        .and_then(|runtime| {
            runtime.block_on(async {
                match &args.bare {
                    Some(command) => bare(command).await,
                    None => bench(&args).await,
                }
            })
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The router executable: `--router`, or `notification-router` beside this executable.
fn router_exe(args: &BenchArgs) -> anyhow::Result<PathBuf> {
    let exe = match &args.router {
        Some(path) => path.clone(),
        None => std::env::current_exe()
            .context("cannot find this executable")?
            .with_file_name(format!(
                "notification-router{}",
                std::env::consts::EXE_SUFFIX
            )),
    };
    if !exe.is_file() {
        bail!(
            "no router executable at {}: build it (`cargo build --release --bin \
             notification-router`; scripts/bench does that) or pass --router PATH",
            exe.display()
        );
    }
    Ok(exe)
}

/// Runs the load run with the router executable, on tansu or the mock broker.
async fn bench(args: &BenchArgs) -> anyhow::Result<()> {
    let broker = match (args.broker, &args.tansu) {
        (BrokerChoice::Mock, _) => Broker::Mock,
        (BrokerChoice::Tansu, Some(path)) => Broker::Tansu(path.clone()),
        (BrokerChoice::Tansu, None) => bail!(
            "no tansu executable: pass --tansu PATH or set TANSU (scripts/tansu prints the path, \
             installing it if missing; scripts/bench does that), or use --broker mock"
        ),
    };
    let settings = LoadSettings {
        exe: router_exe(args)?,
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
        ledger: args.ledger,
    };
    load::run(&settings).await
}
