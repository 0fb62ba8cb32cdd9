//! Telemetry: logging (this file; human-readable by default, JSON lines with `--log-format
//! json`, `RUST_LOG` overrides the level) and the Prometheus [`metrics`].

mod fields;
pub mod metrics;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

pub use fields::EscapedFields;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Installs the global subscriber. librdkafka's own log lines arrive through the `log` bridge.
pub fn init(format: LogFormat, level: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let filter = quiet_file_watcher(filter);
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    let installed = match format {
        // Values from events are escaped (EscapedFields); JSON strings are escaped by JSON.
        LogFormat::Text => builder.fmt_fields(EscapedFields).try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
    };
    if let Err(error) = installed {
        eprintln!("logging was already set up: {error}");
    }
}

/// The text format as [`init`] sets it up, writing to `writer`: for tests of what it prints.
pub fn text_subscriber<W>(level: &str, ansi: bool, writer: W) -> impl tracing::Subscriber
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .with_env_filter(quiet_file_watcher(EnvFilter::new(level)))
        .with_writer(writer)
        .with_ansi(ansi)
        .fmt_fields(EscapedFields)
        .finish()
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
