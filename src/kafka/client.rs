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

/// Properties that make librdkafka load a library, or run a command, of the path or text given:
/// code running inside the router with its secrets. Refused in `kafka.properties`, whatever the
/// value (librdkafka's CONFIGURATION.md: plugins, OpenSSL engines and providers, the Kerberos
/// refresh command).
pub const CODE_LOADING_PROPERTIES: &[&str] = &[
    "plugin.library.paths",
    "ssl.engine.location",
    "ssl.engine.id",
    "ssl.providers",
    "sasl.kerberos.kinit.cmd",
];

/// Properties librdkafka pastes into the Kerberos refresh command, which a shell runs: their
/// values may not hold what a shell would read as more than a word.
pub const SHELL_INTERPOLATED_PROPERTIES: &[&str] =
    &["sasl.kerberos.keytab", "sasl.kerberos.principal"];

/// SASL mechanisms that send a reusable credential (a password, a bearer token) as it is: over
/// `SASL_PLAINTEXT` anyone on the path reads it. SCRAM and GSSAPI do not.
pub const CLEARTEXT_SASL_MECHANISMS: &[&str] = &["PLAIN", "OAUTHBEARER"];

/// Whether every broker of a `kafka.brokers` list is this machine (`localhost`, a loopback
/// address, or the embedded broker), where a password sent in clear never leaves it.
pub fn brokers_are_loopback(brokers: &str) -> bool {
    if brokers.trim() == crate::app::EMBEDDED {
        return true;
    }
    let mut any = false;
    for broker in brokers.split(',').map(str::trim).filter(|b| !b.is_empty()) {
        any = true;
        // [proto://]host[:port], an IPv6 host in brackets.
        let broker = broker.split_once("://").map_or(broker, |(_, rest)| rest);
        let host = if let Some(rest) = broker.strip_prefix('[') {
            rest.split(']').next().unwrap_or_default()
        } else {
            broker.rsplit_once(':').map_or(broker, |(host, _)| host)
        };
        let loopback = host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if !loopback {
            return false;
        }
    }
    any
}

/// How much librdkafka prefetches into the consumer's queue, in KiB (its own default is 65,536,
/// and a backlog fills all of it). 8 MiB is thousands of records of a few KiB, more than
/// `kafka.max_in_flight` takes at once; `kafka.properties` may set more for a faster catch-up.
pub(super) const PREFETCH_KIB: usize = 8192;

/// How long librdkafka waits before fetching from a partition again after a fetch error, in ms
/// (its own default is 500). Back-pressure pauses and resumes partitions while a backlog lasts;
/// at 500 ms the consumer sat idle for hundreds of milliseconds after many resumes
/// (docs/performance.md).
pub(super) const FETCH_ERROR_BACKOFF_MS: u64 = 10;

/// The longest wait between two attempts to connect to a broker, in ms (librdkafka's default is
/// 10,000): after an outage the router reconnects within seconds of the broker's return.
pub(super) const RECONNECT_BACKOFF_MAX_MS: u64 = 1000;

/// How long librdkafka postpones a partition's next fetch once the prefetch is full, in ms. Its
/// default, 1,000, leaves a consumer that drains the prefetch faster than that idle for the rest
/// of the second: draining a backlog with the 8 MiB prefetch, 100 ms doubled the events per
/// second (docs/performance.md, "Changes").
pub(super) const FETCH_QUEUE_BACKOFF_MS: u64 = 100;

/// How often a consumer's statistics are emitted, in ms: they tell when a broker is up again
/// after an outage ([`super::KafkaHealth`]).
pub(super) const STATISTICS_INTERVAL_MS: u64 = 1000;

/// How often a consumer refreshes its topics' metadata, in ms. A consumer subscribed to a topic
/// that does not exist when its group assigns partitions (created later, or a broker come back
/// empty) is assigned nothing, and only sees the topic at the next refresh: librdkafka's
/// default, 5 minutes, is how long it would wait.
pub(super) const METADATA_REFRESH_MS: u64 = 10_000;

/// The consumer: at least once, with offsets stored by the router behind its watermark and
/// committed by librdkafka every `commit_interval`.
pub fn consumer_config(settings: &KafkaSettings, brokers: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "10000")
        .set("partition.assignment.strategy", "cooperative-sticky")
        .set("queued.max.messages.kbytes", PREFETCH_KIB.to_string())
        .set("fetch.error.backoff.ms", FETCH_ERROR_BACKOFF_MS.to_string())
        .set("fetch.queue.backoff.ms", FETCH_QUEUE_BACKOFF_MS.to_string())
        .set(
            "reconnect.backoff.max.ms",
            RECONNECT_BACKOFF_MAX_MS.to_string(),
        )
        .set("statistics.interval.ms", STATISTICS_INTERVAL_MS.to_string())
        .set(
            "topic.metadata.refresh.interval.ms",
            METADATA_REFRESH_MS.to_string(),
        );
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
    config
        .set("acks", "all")
        .set("message.timeout.ms", "30000")
        .set(
            "reconnect.backoff.max.ms",
            RECONNECT_BACKOFF_MAX_MS.to_string(),
        );
    for (key, value) in &settings.properties {
        if !is_consumer_only(key) {
            config.set(key, value.expose());
        }
    }
    config.set("bootstrap.servers", brokers);
    config
}

/// The router's `kafka.properties` that apply to a producer (a Kafka destination on the
/// router's own cluster).
pub fn producer_properties(
    settings: &KafkaSettings,
) -> std::collections::BTreeMap<String, crate::secret::Secret> {
    settings
        .properties
        .iter()
        .filter(|(key, _)| !is_consumer_only(key))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

fn is_consumer_only(key: &str) -> bool {
    key.starts_with("auto.offset.")
        || key.starts_with("fetch.")
        || key.starts_with("session.")
        || key.starts_with("heartbeat.")
        || key.starts_with("group.")
        || key.starts_with("queued.")
        || key == "statistics.interval.ms"
        || matches!(
            key,
            "partition.assignment.strategy" | "max.poll.interval.ms" | "isolation.level"
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::files::RouterFile;

    fn settings(properties: &str) -> KafkaSettings {
        let yaml = format!(
            "kafka:\n  brokers: b:9092\n  group_id: g\n  properties: {properties}\nsources: []\n"
        );
        let file: RouterFile = serde_yaml_ng::from_str(&yaml).expect("a router file");
        file.kafka
    }

    #[test]
    fn the_prefetch_is_bounded_unless_properties_say_otherwise() {
        let bounded = consumer_config(&settings("{}"), "b:9092");
        assert_eq!(bounded.get("queued.max.messages.kbytes"), Some("8192"));
        assert_eq!(bounded.get("fetch.error.backoff.ms"), Some("10"));
        assert_eq!(bounded.get("fetch.queue.backoff.ms"), Some("100"));
        assert_eq!(bounded.get("reconnect.backoff.max.ms"), Some("1000"));
        assert_eq!(bounded.get("statistics.interval.ms"), Some("1000"));
        let larger = settings("{ queued.max.messages.kbytes: '65536' }");
        let config = consumer_config(&larger, "b:9092");
        assert_eq!(config.get("queued.max.messages.kbytes"), Some("65536"));
        let producer = producer_config(&larger, "b:9092");
        assert_eq!(producer.get("queued.max.messages.kbytes"), None);
    }
}
