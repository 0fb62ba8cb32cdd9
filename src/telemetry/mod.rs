//! Telemetry: logging (this file; human-readable by default, JSON lines with `--log-format
//! json`, `RUST_LOG` overrides the level; librdkafka's repeats dropped, `repeats`) and the
//! Prometheus [`metrics`], and the last hour's counts minute by minute ([`recent`]).

mod fields;
pub mod metrics;
pub mod recent;
mod repeats;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

pub use fields::EscapedFields;
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
    if let Err(error) = subscriber(format, filter, ansi, std::io::stderr).try_init() {
        eprintln!("logging was already set up: {error}");
    }
}

/// The subscriber [`init`] installs, writing to `writer`: the tests of what the log prints use
/// this one, so they cover the logger the binary runs with.
pub fn subscriber<W>(
    format: LogFormat,
    filter: EnvFilter,
    ansi: bool,
    writer: W,
) -> impl tracing::Subscriber + Send + Sync + 'static
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let lines = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(ansi);
    let lines = match format {
        // Values from events are escaped (EscapedFields); JSON strings are escaped by JSON.
        LogFormat::Text => lines.fmt_fields(EscapedFields).boxed(),
        LogFormat::Json => lines
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .boxed(),
    };
    tracing_subscriber::registry()
        .with(quiet_file_watcher(filter))
        .with(LibrdkafkaRepeats::default())
        .with(lines)
}

/// The file watcher (`notify`) logs every file event it sees at trace level, the writes to a log
/// file beside `router.yaml` among them: each of those lines is another write, another event and
/// another line, without end (a gigabyte in half a minute). Its trace lines are never shown,
/// whatever the level or `RUST_LOG` asks.
fn quiet_file_watcher(filter: EnvFilter) -> EnvFilter {
    filter.add_directive(
        "notify=debug"
            .parse()
            .expect("a valid directive, checked by the tests"),
    )
}
