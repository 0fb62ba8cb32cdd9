//! The router's Prometheus metrics, exposed at `GET /metrics` in the OpenMetrics text format.
//!
//! One [`Metrics`] per process ([`global`]); recording is a few atomic operations.

use std::sync::OnceLock;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use chrono::{DateTime, Utc};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::recent::{Kind, Recent};

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

/// Labels of a delivery attempt's outcome.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeliveryLabels {
    pub destination: String,
    /// `delivered`, `refused_recipients`, `retryable` or `permanent`.
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

/// Labels of a muted delivery: its subscription and what happened to it.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MutedLabels {
    pub subscription: String,
    pub outcome: String,
}

/// Labels of a silenced delivery: its subscription.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SilencedLabels {
    pub subscription: String,
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
    /// How long attempts waited for their destination's `rate_limit` (0 when they did not).
    pub rate_limit_wait_seconds: Family<DestinationLabels, Histogram>,
    /// Deliveries handed to the retry topic.
    pub retries: Family<DestinationLabels, Counter>,
    pub dead_letters: Family<ReasonLabels, Counter>,
    /// Deliveries of a subscription in a mute window, by what happened (`dropped`, `delayed`).
    pub deliveries_muted: Family<MutedLabels, Counter>,
    /// Deliveries not sent because a silence matched them, by subscription.
    pub deliveries_silenced: Family<SilencedLabels, Counter>,
    /// 1 for a destination disabled (410, or failing for its whole horizon) on this instance.
    pub destination_disabled: Family<DestinationLabels, Gauge>,
    pub consumer_lag: Family<PartitionLabels, Gauge>,
    /// Filter evaluations stopped at their step budget (`filter::MAX_STEPS`): no match.
    pub filter_budget_exceeded: Counter,
    /// Delivery ledger records not written (queue full, or Kafka refused them).
    pub ledger_writes_failed: Counter,
    /// 1 while the router's consumers reach a Kafka broker, 0 during an outage and before the
    /// first connection.
    pub kafka_connected: Gauge,
    /// 1 when the last configuration load or reload succeeded, else 0.
    pub config_last_reload_successful: Gauge,
    /// Unix seconds of the last successful load or reload.
    pub config_last_reload_success_timestamp_seconds: Gauge<f64, AtomicU64>,
    /// The last hour's counts, minute by minute, for the console.
    pub recent: Recent,
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
            rate_limit_wait_seconds: Family::new_with_constructor(latency),
            retries: Family::default(),
            dead_letters: Family::default(),
            deliveries_muted: Family::default(),
            deliveries_silenced: Family::default(),
            destination_disabled: Family::default(),
            consumer_lag: Family::default(),
            filter_budget_exceeded: Counter::default(),
            ledger_writes_failed: Counter::default(),
            kafka_connected: Gauge::default(),
            config_last_reload_successful: Gauge::default(),
            config_last_reload_success_timestamp_seconds: Gauge::default(),
            registry: Registry::default(),
            recent: Recent::default(),
        };
        let m = &metrics;
        registry.register(
            "ledger_writes_failed",
            "Delivery ledger records not written (queue full, or Kafka refused them); deliveries are unaffected",
            m.ledger_writes_failed.clone(),
        );
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
            "rate_limit_wait_seconds",
            "How long an attempt waited for its destination's rate limit",
            m.rate_limit_wait_seconds.clone(),
        );
        registry.register(
            "retries",
            "Delivery attempts after the first",
            m.retries.clone(),
        );
        registry.register(
            "deliveries_silenced",
            "Deliveries not sent because a silence matched them",
            m.deliveries_silenced.clone(),
        );
        registry.register(
            "deliveries_muted",
            "Deliveries in a subscription's mute window, dropped or delayed until it ends",
            m.deliveries_muted.clone(),
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
            "filter_budget_exceeded",
            "Filter evaluations stopped at their step budget; the rule did not match",
            m.filter_budget_exceeded.clone(),
        );
        registry.register(
            "kafka_connected",
            "1 while the consumers reach a Kafka broker, 0 during an outage or before connecting",
            m.kafka_connected.clone(),
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

    /// Counts one record of `source`.
    pub fn consumed(&self, source: &str) {
        self.events_consumed
            .get_or_create(&source_labels(source))
            .inc();
        self.recent.count(Kind::Consumed, source);
    }

    /// Counts a record of `source` the normaliser rejected for `reason`.
    pub fn rejected(&self, source: &str, reason: &str) {
        let labels = RejectedLabels {
            source: source.to_owned(),
            reason: reason.to_owned(),
        };
        self.events_rejected.get_or_create(&labels).inc();
    }

    /// Counts an event dropped because `source` is disabled.
    pub fn dropped(&self, source: &str) {
        self.events_dropped_source_disabled
            .get_or_create(&source_labels(source))
            .inc();
    }

    /// Counts an event of `source` no topic with a subscription matched.
    pub fn unmatched(&self, source: &str) {
        self.events_unmatched
            .get_or_create(&source_labels(source))
            .inc();
    }

    /// Counts a notification that matched `topic`.
    pub fn routed(&self, topic: &str) {
        let labels = TopicLabels {
            topic: topic.to_owned(),
        };
        self.notifications_routed.get_or_create(&labels).inc();
    }

    /// Counts a match of rule `rule` (from 1) of `topic` for `source`, for the console only.
    pub fn rule_matched(&self, topic: &str, source: &str, rule: usize) {
        self.recent
            .count(Kind::RuleMatched, &rule_label(topic, source, rule));
    }

    /// Counts a delivery attempt's outcome; for a delivered one, records the time since the
    /// event's `time` (RFC 3339) when it has one.
    pub fn delivery(&self, destination: &str, outcome: &str, event_time: Option<&str>) {
        let labels = DeliveryLabels {
            destination: destination.to_owned(),
            outcome: outcome.to_owned(),
        };
        self.deliveries.get_or_create(&labels).inc();
        self.recent.count(Kind::Outcome, outcome);
        if outcome == "delivered"
            && let Some(time) = event_time.and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        {
            let age = Utc::now().signed_duration_since(time);
            let seconds = age.num_milliseconds().max(0) as f64 / 1000.0;
            self.delivery_latency_seconds
                .get_or_create(&destination_labels(destination))
                .observe(seconds);
        }
    }

    /// Records one attempt's duration.
    pub fn request(&self, destination: &str, took: Duration) {
        self.request_duration_seconds
            .get_or_create(&destination_labels(destination))
            .observe(took.as_secs_f64());
    }

    /// Records how long an attempt waited for its destination's rate limit.
    pub fn rate_limited(&self, destination: &str, waited: Duration) {
        self.rate_limit_wait_seconds
            .get_or_create(&destination_labels(destination))
            .observe(waited.as_secs_f64());
    }

    /// Counts a delivery handed to the retry topic.
    pub fn retried(&self, destination: &str) {
        self.retries
            .get_or_create(&destination_labels(destination))
            .inc();
    }

    /// Counts a delivery in a mute window: `dropped` or `delayed`.
    pub fn muted(&self, subscription: &str, outcome: &str) {
        let labels = MutedLabels {
            subscription: subscription.to_owned(),
            outcome: outcome.to_owned(),
        };
        self.deliveries_muted.get_or_create(&labels).inc();
    }

    /// Counts a delivery a silence kept from being sent.
    pub fn silenced(&self, subscription: &str) {
        let labels = SilencedLabels {
            subscription: subscription.to_owned(),
        };
        self.deliveries_silenced.get_or_create(&labels).inc();
    }

    /// Counts a record or delivery written to the dead-letter topic.
    pub fn dead_lettered(&self, reason: &str) {
        let labels = ReasonLabels {
            reason: reason.to_owned(),
        };
        self.dead_letters.get_or_create(&labels).inc();
    }

    /// Counts a filter evaluation stopped at its step budget.
    pub fn filter_budget_exceeded(&self) {
        self.filter_budget_exceeded.inc();
    }

    /// Marks `destination` disabled.
    pub fn disabled(&self, destination: &str) {
        self.destination_disabled
            .get_or_create(&destination_labels(destination))
            .set(1);
    }

    /// Marks `destination` enabled again.
    pub fn enabled(&self, destination: &str) {
        self.destination_disabled
            .get_or_create(&destination_labels(destination))
            .set(0);
    }
}

/// The process's metrics, which every part of the router records into.
pub fn global() -> &'static Metrics {
    static GLOBAL: OnceLock<Metrics> = OnceLock::new();
    GLOBAL.get_or_init(Metrics::new)
}

fn source_labels(source: &str) -> SourceLabels {
    SourceLabels {
        source: source.to_owned(),
    }
}

fn destination_labels(destination: &str) -> DestinationLabels {
    DestinationLabels {
        destination: destination.to_owned(),
    }
}

/// The content type of [`Metrics::encode`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The label [`Metrics::rule_matched`] counts a rule's matches under in [`Metrics::recent`].
pub fn rule_label(topic: &str, source: &str, rule: usize) -> String {
    format!("{topic}\u{0}{source}\u{0}{rule}")
}
