//! The router's Prometheus metrics, exposed at `GET /metrics` in the OpenMetrics text format.
//!
//! One [`Metrics`] per process, shared by reference; recording is a few atomic operations.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels naming a source.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabels {
    pub source: String,
}

/// Labels of a rejected record: its source and the rejection reason code.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RejectedLabels {
    pub source: String,
    pub reason: String,
}

/// Labels naming a topic.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TopicLabels {
    pub topic: String,
}

/// Labels of a delivery outcome.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeliveryLabels {
    pub destination: String,
    pub channel: String,
    /// `delivered`, `rejected` (permanent failure), `failed` (retries spent) or `render_failed`.
    pub outcome: String,
}

/// Labels naming a destination.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DestinationLabels {
    pub destination: String,
}

/// Labels of a dead letter: its reason code.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub reason: String,
}

/// Labels of a consumed partition.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PartitionLabels {
    pub topic: String,
    pub partition: String,
}

/// Every metric the router exports.
pub struct Metrics {
    registry: Registry,
    pub events_consumed: Family<SourceLabels, Counter>,
    pub events_rejected: Family<RejectedLabels, Counter>,
    pub events_dropped_source_disabled: Family<SourceLabels, Counter>,
    pub events_unmatched: Family<SourceLabels, Counter>,
    pub notifications_routed: Family<TopicLabels, Counter>,
    pub deliveries: Family<DeliveryLabels, Counter>,
    /// From the event's `time` to the destination's acceptance.
    pub delivery_latency_seconds: Family<DestinationLabels, Histogram>,
    /// One attempt, from sending to the answer.
    pub request_duration_seconds: Family<DestinationLabels, Histogram>,
    pub retries: Family<DestinationLabels, Counter>,
    pub dead_letters: Family<ReasonLabels, Counter>,
    pub consumer_lag: Family<PartitionLabels, Gauge>,
    /// 1 when the last configuration load or reload succeeded, else 0.
    pub config_last_reload_successful: Gauge,
    /// Unix seconds of the last successful load or reload.
    pub config_last_reload_success_timestamp_seconds: Gauge<f64, AtomicU64>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("notification_router");
        let latency = || Histogram::new(exponential_buckets(0.005, 2.0, 16));
        let metrics = Metrics {
            events_consumed: Family::default(),
            events_rejected: Family::default(),
            events_dropped_source_disabled: Family::default(),
            events_unmatched: Family::default(),
            notifications_routed: Family::default(),
            deliveries: Family::default(),
            delivery_latency_seconds: Family::new_with_constructor(latency),
            request_duration_seconds: Family::new_with_constructor(latency),
            retries: Family::default(),
            dead_letters: Family::default(),
            consumer_lag: Family::default(),
            config_last_reload_successful: Gauge::default(),
            config_last_reload_success_timestamp_seconds: Gauge::default(),
            registry: Registry::default(),
        };
        let m = &metrics;
        registry.register(
            "events_consumed",
            "Records read from the sources' Kafka topics",
            m.events_consumed.clone(),
        );
        registry.register(
            "events_rejected",
            "Records that could not be normalised, by reason; each went to the dead-letter topic",
            m.events_rejected.clone(),
        );
        registry.register(
            "events_dropped_source_disabled",
            "Events dropped because their source is disabled",
            m.events_dropped_source_disabled.clone(),
        );
        registry.register(
            "events_unmatched",
            "Events that matched no topic with a subscription",
            m.events_unmatched.clone(),
        );
        registry.register(
            "notifications_routed",
            "Notifications that matched a topic",
            m.notifications_routed.clone(),
        );
        registry.register(
            "deliveries",
            "Deliveries by destination, channel and outcome",
            m.deliveries.clone(),
        );
        registry.register(
            "delivery_latency_seconds",
            "From the event's time to its delivery",
            m.delivery_latency_seconds.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "One delivery attempt, sending to answer",
            m.request_duration_seconds.clone(),
        );
        registry.register(
            "retries",
            "Delivery attempts after the first",
            m.retries.clone(),
        );
        registry.register(
            "dead_letters",
            "Records and deliveries written to the dead-letter topic, by reason",
            m.dead_letters.clone(),
        );
        registry.register(
            "consumer_lag",
            "Records between the committed position and the end of each partition",
            m.consumer_lag.clone(),
        );
        registry.register(
            "config_last_reload_successful",
            "1 when the last configuration load or reload succeeded",
            m.config_last_reload_successful.clone(),
        );
        registry.register(
            "config_last_reload_success_timestamp_seconds",
            "When the configuration was last loaded successfully",
            m.config_last_reload_success_timestamp_seconds.clone(),
        );
        Metrics {
            registry,
            ..metrics
        }
    }

    /// The metrics in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }

    /// Records a configuration load or reload.
    pub fn config_loaded(&self, successful: bool) {
        self.config_last_reload_successful
            .set(i64::from(successful));
        if successful {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or(Duration::ZERO);
            self.config_last_reload_success_timestamp_seconds
                .set(now.as_secs_f64());
        }
    }

    /// Counts one event of `source`.
    pub fn consumed(&self, source: &str) {
        self.events_consumed
            .get_or_create(&source_labels(source))
            .inc();
    }
}

fn source_labels(source: &str) -> SourceLabels {
    SourceLabels {
        source: source.to_owned(),
    }
}

/// The content type of [`Metrics::encode`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
