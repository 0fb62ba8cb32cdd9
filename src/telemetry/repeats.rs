//! librdkafka's own log lines, each said once a minute at most: while no broker can be reached
//! every client (the consumers and the producers alike) reports the same failures several times
//! a second. A line is a repeat when its target and the start of its message (the error code and
//! broker) match one said within [`WINDOW`]; the router's own line about the outage comes from
//! [`crate::kafka::KafkaHealth`].

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// How long a line stays a repeat.
pub(super) const WINDOW: Duration = Duration::from_secs(60);

/// How much of a message tells two lines apart: `librdkafka: Global error: AllBrokersDown (`,
/// `librdkafka: FAIL [thrd:host:port/bootstrap]: `.
const KEY_CHARS: usize = 48;

/// Drops repeated librdkafka lines.
#[derive(Default)]
pub struct LibrdkafkaRepeats {
    said: Mutex<HashMap<String, Instant>>,
}

impl<S: Subscriber> Layer<S> for LibrdkafkaRepeats {
    fn event_enabled(&self, event: &Event<'_>, _: Context<'_, S>) -> bool {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let target = fields
            .log_target
            .as_deref()
            .unwrap_or(event.metadata().target());
        if !(target == "librdkafka" || target.starts_with("rdkafka")) {
            return true;
        }
        let start: String = fields.message.chars().take(KEY_CHARS).collect();
        let key = format!("{target} {start}");
        let now = Instant::now();
        let mut said = self.said.lock().unwrap_or_else(PoisonError::into_inner);
        said.retain(|_, at| now.duration_since(*at) < WINDOW);
        if said.contains_key(&key) {
            return false;
        }
        said.insert(key, now);
        true
    }
}

/// The message and, for a line from the `log` crate, its target.
#[derive(Default)]
struct Fields {
    message: String,
    log_target: Option<String>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "message" => self.message = value.to_owned(),
            "log.target" => self.log_target = Some(value.to_owned()),
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    #[derive(Clone, Default)]
    struct Logged(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Logged {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("log").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_librdkafka_line_is_said_once_a_minute_and_the_routers_own_lines_always() {
        let logged = Logged::default();
        let writer = logged.clone();
        let subscriber = tracing_subscriber::registry()
            .with(LibrdkafkaRepeats::default())
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(move || writer.clone()),
            );
        tracing::subscriber::with_default(subscriber, || {
            for _ in 0..20 {
                tracing::error!(target: "librdkafka", "librdkafka: Global error: AllBrokersDown (Local: All broker connections are down): 1/1 brokers are down");
                tracing::error!(target: "rdkafka::client", "librdkafka: Global error: BrokerTransportFailure (Local: Broker transport failure): 127.0.0.1:1/bootstrap: Connect failed");
                tracing::warn!(message = "Kafka brokers cannot be reached.", n = 1);
            }
        });
        let text = String::from_utf8(logged.0.lock().expect("log").clone()).expect("UTF-8");
        let count = |needle: &str| text.lines().filter(|l| l.contains(needle)).count();
        assert_eq!(count("AllBrokersDown"), 1, "{text}");
        assert_eq!(count("BrokerTransportFailure"), 1, "{text}");
        assert_eq!(
            count("Kafka brokers cannot be reached."),
            20,
            "not librdkafka's"
        );
    }
}
