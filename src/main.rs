//! The `notification-router` command: parses arguments, loads the config, starts logging, runs.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use notification_router::cli::{
    self, BrokerArgs, DeadLettersArgs, DeliveriesArgs, ExplainArgs, ImpactArgs, KeysCommand,
    PublishArgs, ReceiveArgs, RenderArgs, SourcesCommand,
};
use notification_router::telemetry::{self, LogFormat};
use notification_router::{app, config};
use tokio_util::sync::CancellationToken;

/// mimalloc: decoding, normalising and rendering allocate many small strings per event, and the
/// system allocator spends a quarter of that work in malloc and free (see docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Routes cloud resource lifecycle and audit events from Kafka to webhooks, email and Slack.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// The router configuration.
    #[arg(
        long,
        global = true,
        default_value = "router.yaml",
        env = "ROUTER_CONFIG"
    )]
    config: PathBuf,
    #[arg(long, global = true, value_enum, default_value = "text")]
    log_format: LogFormat,
    /// Log level or filter (`debug`, `notification_router=debug,rdkafka=warn`); `RUST_LOG` wins.
    #[arg(long, global = true, default_value = "info")]
    log_level: String,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the router (the default).
    Run,
    /// Check router.yaml, the topic files and the templates; exit non-zero with one line per problem.
    Validate,
    /// Explain what the configuration does with an event: its notification, each topic and rule
    /// (which part of a filter failed), and the deliveries it would make.
    Explain(ExplainArgs),
    /// Print what a subscription would send for an event (request or message), without sending.
    Render(RenderArgs),
    /// Publish events from JSON files to Kafka.
    Publish(PublishArgs),
    /// Listen for webhooks and print each delivery.
    Receive(ReceiveArgs),
    /// Show a webhook destination's public signing keys, or generate keys and secrets.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// What a proposed configuration would change in the deliveries of the recent traffic, per
    /// subscription. Exit code: 0 no change, 1 changes, 2 could not tell.
    Impact(ImpactArgs),
    /// List the sources, or turn one on or off in router.yaml.
    Sources {
        #[command(subcommand)]
        command: SourcesCommand,
    },
    /// List the dead-letter topic, or replay deliveries from it.
    DeadLetters(DeadLettersArgs),
    /// The delivery history of a running router (its admin API): list, show, resend.
    Deliveries(DeliveriesArgs),
    /// Make, list and expire silences through a running router's admin API.
    Silences(cli::SilencesArgs),
    /// Run a standalone Kafka-protocol broker (librdkafka's mock cluster) until stopped.
    Broker(BrokerArgs),
}

/// How long the exit waits for blocking tasks still running once the router has stopped.
const RUNTIME_SHUTDOWN: std::time::Duration = std::time::Duration::from_millis(500);

fn main() -> ExitCode {
    // First, before librdkafka initialises OpenSSL: no cleanup of OpenSSL at exit. The process
    // exits with Kafka clients still alive on their threads (a consumer closing without a broker,
    // one a blocking task held when the runtime stopped waiting); OpenSSL's exit handler freed
    // its tables under their TLS connections, and the exit crashed (SIGSEGV) or hung.
    openssl_sys::init();
    let cli = Cli::parse();
    telemetry::init(cli.log_format, &cli.log_level);
    // The consumers are polled on threads of their own (their rebalance callbacks block there),
    // so the runtime has tokio's default size, one worker per core.
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => {
            let code = runtime.block_on(execute(cli));
            // A blocking call to a broker that is gone (a lag measurement, say) must not hold
            // the exit; nor does a consumer still closing on its thread.
            runtime.shutdown_timeout(RUNTIME_SHUTDOWN);
            code
        }
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn execute(cli: Cli) -> ExitCode {
    let result = match cli.command.unwrap_or(Command::Run) {
        Command::Validate => {
            return if cli::validate(&cli.config) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            };
        }
        Command::Receive(args) => cli::receive(&args).await,
        Command::Explain(args) => match load(&cli.config) {
            Some(config) => cli::explain(&config, &args).await,
            None => return ExitCode::FAILURE,
        },
        Command::Keys { command } => cli::keys(&command, || load(&cli.config)),
        Command::Sources { command } => cli::sources(&cli.config, &command),
        Command::Silences(args) => {
            let config = cli_config(&cli.config, args.url.is_some());
            cli::silences(config.as_ref(), &args).await
        }
        Command::Impact(args) => {
            let Some(config) = load(&cli.config) else {
                return ExitCode::from(2);
            };
            // Blocking work (Kafka reads, git): off the runtime's threads.
            let answer = tokio::task::spawn_blocking(move || cli::impact(&config, &args)).await;
            return match answer.unwrap_or_else(|e| Err(anyhow::anyhow!("impact stopped: {e}"))) {
                Ok(false) => ExitCode::SUCCESS,
                Ok(true) => ExitCode::from(1),
                Err(error) => {
                    eprintln!("error: {error:#}");
                    ExitCode::from(2)
                }
            };
        }
        Command::Broker(args) => {
            let config = if args.topics.is_empty() {
                match load(&cli.config) {
                    Some(config) => Some(config),
                    None => return ExitCode::FAILURE,
                }
            } else {
                None
            };
            match cli::broker_topics(&args, config.as_ref()) {
                Ok(topics) => {
                    cli::broker(&topics, args.stop_with_stdin, shutdown_on_signal()).await
                }
                Err(error) => Err(error),
            }
        }
        Command::Deliveries(args) => match load(&cli.config) {
            Some(config) => cli::deliveries(&config, &args).await,
            None => return ExitCode::FAILURE,
        },
        Command::DeadLetters(args) => match load(&cli.config) {
            Some(config) => cli::dead_letters(&config, &args).await,
            None => return ExitCode::FAILURE,
        },
        Command::Render(args) => match load(&cli.config) {
            Some(config) => cli::render(&config, &args),
            None => return ExitCode::FAILURE,
        },
        Command::Publish(args) => match load(&cli.config) {
            Some(config) => cli::publish(&config, &args).await,
            None => return ExitCode::FAILURE,
        },
        Command::Run => match load(&cli.config) {
            Some(config) => {
                release_freed_memory();
                app::run(config, shutdown_on_signal()).await
            }
            None => return ExitCode::FAILURE,
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Hands back to the system the pages that loading the configuration allocated and freed (the
/// parsed topic files: about 12 MiB with 10,000 topics). mimalloc keeps freed pages for a while
/// and releases them on a later call from the thread that freed them, and this thread then only
/// waits on the runtime, so without this they stayed resident for the life of the process.
fn release_freed_memory() {
    // SAFETY: `mi_collect` takes no pointers and may be called at any time from any thread.
    #[allow(unsafe_code)]
    unsafe {
        libmimalloc_sys::mi_collect(true)
    }
}

fn load(path: &std::path::Path) -> Option<config::Config> {
    match config::load(path) {
        Ok(config) => Some(config),
        Err(errors) => {
            for error in &errors.0 {
                eprintln!("{error}");
            }
            eprintln!(
                "{}: the configuration is not valid; see `notification-router validate`.",
                path.display()
            );
            None
        }
    }
}

/// A token cancelled on SIGINT or SIGTERM.
fn shutdown_on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => {}
            () = term => {}
        }
        tracing::info!(message = "Shutdown signal received.");
        cancel.cancel();
    });
    token
}

/// The configuration a client subcommand reads its defaults from: none when `--url` says where
/// to go.
fn cli_config(path: &std::path::Path, has_url: bool) -> Option<config::Config> {
    if has_url { None } else { load(path) }
}
