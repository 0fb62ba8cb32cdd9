//! Telemetry: logging (this file; human-readable by default, JSON lines with `--log-format
//! json`, `RUST_LOG` overrides the level; librdkafka's repeats dropped, `repeats`) and the
//! Prometheus [`metrics`].

pub mod metrics;
mod repeats;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

pub use repeats::LibrdkafkaRepeats;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Installs the global subscriber. librdkafka's own log lines arrive through the `log` bridge,
/// each repeat within a minute dropped ([`LibrdkafkaRepeats`]).
pub fn init(format: LogFormat, level: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let lines = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    let lines = match format {
        LogFormat::Text => lines.boxed(),
        LogFormat::Json => lines
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .boxed(),
    };
    let installed = tracing_subscriber::registry()
        .with(filter)
        .with(LibrdkafkaRepeats::default())
        .with(lines)
        .try_init();
    if let Err(error) = installed {
        eprintln!("logging was already set up: {error}");
    }
}
