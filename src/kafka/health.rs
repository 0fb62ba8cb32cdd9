//! Whether the Kafka brokers can be reached, as the router's consumers see it: said once per
//! outage in the router's own words, exposed as `kafka_connected` and in readiness. (librdkafka's
//! own lines are said once a minute at most: `telemetry::LibrdkafkaRepeats`.)
//!
//! While connections are refused librdkafka queues an error event some twenty times a second per
//! client; they are informational (it reconnects by itself). A client is down from
//! `_ALL_BROKERS_DOWN` until its statistics (every second) show a broker up again, or a record
//! arrives; the brokers are reachable when no client is down.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use chrono::{DateTime, Utc};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use serde::Deserialize;
use tracing::{debug, info, warn};

use crate::telemetry::metrics::Metrics;

/// The brokers' reachability, shared by the clients that report to it.
pub struct KafkaHealth {
    brokers: String,
    metrics: &'static Metrics,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Clients that have seen a broker, and whether they are down now.
    down: HashMap<&'static str, bool>,
    /// Since when some client has been down, when one is.
    outage: Option<(Instant, DateTime<Utc>)>,
}

impl KafkaHealth {
    /// Not connected until a client has seen a broker up.
    pub fn new(brokers: &str, metrics: &'static Metrics) -> Self {
        metrics.kafka_connected.set(0);
        Self {
            brokers: brokers.to_owned(),
            metrics,
            state: Mutex::new(State::default()),
        }
    }

    /// Whether every client reporting here has seen a broker and none is down now.
    pub fn connected(&self) -> bool {
        let state = self.lock();
        !state.down.is_empty() && !state.down.values().any(|down| *down)
    }

    /// A librdkafka error of `client`: all brokers down is an outage; each is logged as well.
    pub fn error(&self, client: &'static str, error: &KafkaError, reason: &str) {
        if error.rdkafka_error_code() == Some(RDKafkaErrorCode::AllBrokersDown) {
            self.set(client, false);
        }
        super::report_client_error(error, reason);
    }

    /// librdkafka's statistics of `client` (JSON): up when some broker's state is `UP`.
    pub fn statistics(&self, client: &'static str, json: &[u8]) {
        #[derive(Deserialize)]
        struct Statistics {
            #[serde(default)]
            brokers: HashMap<String, Broker>,
        }
        #[derive(Deserialize)]
        struct Broker {
            state: String,
        }
        match serde_json::from_slice::<Statistics>(json) {
            Ok(stats) => {
                let up = stats.brokers.values().any(|b| b.state == "UP");
                if up || self.lock().down.contains_key(client) {
                    self.set(client, up);
                }
            }
            Err(error) => debug!(message = "Unreadable librdkafka statistics.", %error),
        }
    }

    /// `client` read a record: a broker answers it.
    /// A broker answered a request of `client`.
    pub fn answered(&self, client: &'static str) {
        self.set(client, true);
    }

    /// No broker answered a request of `client`.
    pub fn unanswered(&self, client: &'static str) {
        self.set(client, false);
    }

    pub fn record_read(&self, client: &'static str) {
        if self.lock().down.get(client) != Some(&false) {
            self.set(client, true);
        }
    }

    /// Records whether `client` reaches a broker; says so when the brokers' reachability changes.
    fn set(&self, client: &'static str, up: bool) {
        let mut state = self.lock();
        let was = !state.down.is_empty() && !state.down.values().any(|d| *d);
        state.down.insert(client, !up);
        let is = !state.down.values().any(|d| *d);
        self.metrics.kafka_connected.set(i64::from(is));
        match (state.outage, is) {
            (None, false) => {
                let since = Utc::now();
                state.outage = Some((Instant::now(), since));
                warn!(
                    message = "Kafka brokers cannot be reached; consuming waits for them and librdkafka keeps reconnecting.",
                    brokers = %self.brokers,
                    since = %since.to_rfc3339(),
                    client
                );
            }
            (Some((started, since)), true) => {
                state.outage = None;
                info!(
                    message = "Kafka brokers reachable again.",
                    brokers = %self.brokers,
                    since = %since.to_rfc3339(),
                    outage = ?started.elapsed()
                );
            }
            (None, true) if !was => {
                info!(message = "Connected to the Kafka brokers.", brokers = %self.brokers, client);
            }
            _ => {}
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_down() -> KafkaError {
        KafkaError::Global(RDKafkaErrorCode::AllBrokersDown)
    }

    const UP: &[u8] = br#"{"name":"c","brokers":{"127.0.0.1:9/1":{"state":"UP"}}}"#;
    const DOWN: &[u8] = br#"{"name":"c","brokers":{"127.0.0.1:9/bootstrap":{"state":"DOWN"}}}"#;

    #[test]
    fn connected_only_while_every_client_sees_a_broker() {
        let metrics: &'static Metrics = Box::leak(Box::new(Metrics::new()));
        let health = KafkaHealth::new("127.0.0.1:9", metrics);
        assert!(!health.connected(), "nothing seen yet");
        health.statistics("sources", DOWN);
        assert!(!health.connected(), "statistics without a broker up");
        assert_eq!(metrics.kafka_connected.get(), 0);
        health.statistics("sources", UP);
        health.record_read("retry");
        assert!(health.connected());
        assert_eq!(metrics.kafka_connected.get(), 1);
        health.error("retry", &all_down(), "1/1 brokers are down");
        assert!(!health.connected(), "one client down is an outage");
        assert_eq!(metrics.kafka_connected.get(), 0);
        health.statistics("retry", DOWN);
        assert!(!health.connected());
        health.statistics("retry", UP);
        assert!(health.connected());
        assert_eq!(metrics.kafka_connected.get(), 1);
    }
}
