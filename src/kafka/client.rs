//! librdkafka client settings for the consumer and the producers. A `ClientConfig` is never logged:
//! its `Debug` prints `sasl.password`.

use rdkafka::ClientConfig;

use crate::config::KafkaSettings;

/// Properties the router sets itself; `kafka.properties` may not override them.
pub const MANAGED_PROPERTIES: &[&str] = &[
    "bootstrap.servers",
    "group.id",
    "enable.auto.commit",
    "enable.auto.offset.store",
    "auto.commit.interval.ms",
];

/// The consumer: at least once, with offsets stored by the router behind its watermark and
/// committed by librdkafka every `commit_interval`.
pub fn consumer_config(settings: &KafkaSettings, brokers: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "10000")
        .set("partition.assignment.strategy", "cooperative-sticky");
    for (key, value) in &settings.properties {
        config.set(key, value.expose());
    }
    config
        .set("bootstrap.servers", brokers)
        .set("group.id", &settings.group_id)
        .set("enable.auto.commit", "true")
        .set("enable.auto.offset.store", "false")
        .set(
            "auto.commit.interval.ms",
            settings.commit_interval.as_millis().max(1).to_string(),
        );
    config
}

/// A producer (dead letters, `publish`): every write acknowledged by all in-sync replicas.
pub fn producer_config(settings: &KafkaSettings, brokers: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("acks", "all").set("message.timeout.ms", "30000");
    for (key, value) in &settings.properties {
        if !is_consumer_only(key) {
            config.set(key, value.expose());
        }
    }
    config.set("bootstrap.servers", brokers);
    config
}

fn is_consumer_only(key: &str) -> bool {
    key.starts_with("auto.offset.")
        || key.starts_with("fetch.")
        || key.starts_with("session.")
        || key.starts_with("heartbeat.")
        || key.starts_with("group.")
        || matches!(
            key,
            "partition.assignment.strategy" | "max.poll.interval.ms" | "isolation.level"
        )
}
