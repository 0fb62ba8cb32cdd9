//! The pure compile step: checks every name, reference, URL and filter, and builds the routing
//! table and the destinations with their subscriptions. Every problem is reported, not just the
//! first.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::checks::{Problems, check_kafka_topic_name, check_name};
use super::error::ConfigErrors;
use super::files::{
    AdminSettings, DestinationConfig, HttpSettings, KafkaSettings, RouterFile, SourceConfig,
    TopicFile,
};
use crate::channels::{self, Destinations, NetworkPolicy, Subscribed};
use crate::dispatch::DeliveryPolicy;
use crate::mute::{NamedInterval, TimeInterval};
use crate::render::Templates;
use crate::routing::{Destination, RoutingTable, Source};

/// What the compile step builds: the routing table, and in the table's order the destinations,
/// each with the subscriptions that deliver to it, and how deliveries to each are retried and
/// limited.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub table: RoutingTable,
    pub destinations: Destinations,
    pub policies: Vec<DeliveryPolicy>,
}

/// Builds the routing table and the destinations from loaded files. The topic files are dropped
/// once compiled, before the table's index is built: with thousands of topics they are tens of
/// megabytes.
pub fn compile(
    router_path: &Path,
    router: &RouterFile,
    topic_files: Vec<(PathBuf, TopicFile)>,
    templates: &Templates,
) -> Result<Compiled, ConfigErrors> {
    let mut problems = Problems::default();
    check_kafka(&router.kafka, router_path, &mut problems);
    check_control_topic(router, router_path, &mut problems);
    check_http(&router.http, router_path, &mut problems);
    if let Some(admin) = &router.admin {
        check_admin(admin, router_path, &mut problems);
    }
    let (sources, source_by_kafka_topic) =
        compile_sources(&router.sources, &router.kafka, router_path, &mut problems);
    let (policies, mut channels) = compile_destinations(router, router_path, &mut problems);
    let destinations: Vec<Destination> = policies
        .iter()
        .map(|p| Destination { id: p.id.clone() })
        .collect();
    let intervals = compile_time_intervals(router, router_path, &mut problems);
    let (topics, subscriptions) = super::topics::compile_topics(
        &topic_files,
        router,
        &intervals,
        &destinations,
        &mut channels,
        templates,
        &mut problems,
    );
    drop(topic_files);
    if problems.0.is_empty() {
        let count = subscriptions.len();
        Ok(Compiled {
            table: RoutingTable::new(
                sources,
                topics,
                subscriptions,
                destinations,
                source_by_kafka_topic,
            ),
            destinations: Destinations::new(channels, count),
            policies,
        })
    } else {
        Err(ConfigErrors(problems.0))
    }
}

/// The named time intervals of `router.yaml`, each valid one by its name.
fn compile_time_intervals(
    router: &RouterFile,
    file: &Path,
    problems: &mut Problems,
) -> HashMap<String, Arc<NamedInterval>> {
    let mut named = HashMap::new();
    for (i, config) in router.time_intervals.iter().enumerate() {
        let item = format!("time_intervals[{i}] ({})", config.name);
        if let Err(why) = check_name(&config.name) {
            problems.add(file, format!("{item}.name"), why.to_string());
        }
        let mut intervals = Vec::new();
        for (j, interval) in config.time_intervals.iter().enumerate() {
            match TimeInterval::parse(interval) {
                Ok(interval) => intervals.push(interval),
                Err((field, why)) => {
                    problems.add(file, format!("{item}.time_intervals[{j}].{field}"), why);
                }
            }
        }
        let interval = Arc::new(NamedInterval {
            name: config.name.clone(),
            intervals,
        });
        if named.insert(config.name.clone(), interval).is_some() {
            let why = format!("duplicate time interval name {:?}", config.name);
            problems.add(file, item, why);
        }
    }
    named
}

/// The control topic: a valid name, and none of the router's other topics (retry,
/// dead-letter, digest, ledger); the old silences topic and the sources' topics are checked
/// against it where they are.
fn check_control_topic(router: &RouterFile, file: &Path, problems: &mut Problems) {
    let kafka = &router.kafka;
    if let Err(why) = check_kafka_topic_name(&kafka.control_topic) {
        problems.add(file, "kafka.control_topic", why.to_string());
        return;
    }
    let others = [
        ("retry", &kafka.retry_topic),
        ("dead-letter", &kafka.dead_letter_topic),
        ("digest", &kafka.digest_topic),
        ("ledger", &router.ledger.topic),
    ];
    if let Some((which, _)) = others.iter().find(|(_, t)| **t == kafka.control_topic) {
        let why = format!("{:?} is also the {which} topic", kafka.control_topic);
        problems.add(file, "kafka.control_topic", why);
    }
}

fn check_kafka(kafka: &KafkaSettings, file: &Path, problems: &mut Problems) {
    if kafka.brokers.trim().is_empty() {
        let why = "is empty: write host:port[,host:port...] or `embedded`";
        problems.add(file, "kafka.brokers", why);
    }
    if let Err(why) = check_kafka_topic_name(&kafka.dead_letter_topic) {
        problems.add(file, "kafka.dead_letter_topic", why.to_string());
    }
    if let Err(why) = check_kafka_topic_name(&kafka.retry_topic) {
        problems.add(file, "kafka.retry_topic", why.to_string());
    } else if kafka.retry_topic == kafka.dead_letter_topic {
        let why = format!("{:?} is also the dead-letter topic", kafka.retry_topic);
        problems.add(file, "kafka.retry_topic", why);
    }
    if let Err(why) = check_kafka_topic_name(&kafka.digest_topic) {
        problems.add(file, "kafka.digest_topic", why.to_string());
    } else if [&kafka.retry_topic, &kafka.dead_letter_topic].contains(&&kafka.digest_topic) {
        let why = format!(
            "{:?} is also the retry or dead-letter topic",
            kafka.digest_topic
        );
        problems.add(file, "kafka.digest_topic", why);
    }
    if let Err(why) = check_kafka_topic_name(&kafka.silences_topic) {
        problems.add(file, "kafka.silences_topic", why.to_string());
    } else if [&kafka.retry_topic, &kafka.dead_letter_topic].contains(&&kafka.silences_topic) {
        let why = format!(
            "{:?} is also the retry or dead-letter topic",
            kafka.silences_topic
        );
        problems.add(file, "kafka.silences_topic", why);
    } else if kafka.silences_topic == kafka.control_topic {
        let why = format!(
            "{:?} is also the control topic: the old silences topic is taken over into the control topic, and must be another",
            kafka.silences_topic
        );
        problems.add(file, "kafka.silences_topic", why);
    }
    for (item, value) in [
        ("kafka.max_in_flight", kafka.max_in_flight),
        (
            "kafka.max_in_flight_per_partition",
            kafka.max_in_flight_per_partition,
        ),
        ("kafka.max_pending_retries", kafka.max_pending_retries),
    ] {
        if value == 0 {
            problems.add(file, item, "must be at least 1");
        }
    }
    check_internal_key(kafka, file, problems);
    if kafka.max_message_bytes == 0 {
        problems.add(file, "kafka.max_message_bytes", "must be at least 1");
    }
    let managed = crate::kafka::MANAGED_PROPERTIES;
    for key in kafka
        .properties
        .keys()
        .filter(|k| managed.contains(&k.as_str()))
    {
        let why = "is set by the router: use kafka.brokers, kafka.group_id and \
                   kafka.commit_interval; offsets are stored by the router";
        problems.add(file, format!("kafka.properties.{key}"), why);
    }
    for (key, why) in crate::kafka::refused_properties(&kafka.brokers, &kafka.properties) {
        problems.add(file, format!("kafka.properties.{key}"), why);
    }
}

/// Records on the retry and dead-letter topics are only trusted with an authentication code
/// under `kafka.internal_key`: a key every instance (and `dead-letters replay`) shares, which
/// must outlive a restart. Only the embedded broker, whose records die with the process, does
/// without one.
fn check_internal_key(kafka: &KafkaSettings, file: &Path, problems: &mut Problems) {
    let key = kafka.internal_key.as_ref().filter(|k| !k.is_empty());
    match key {
        None if kafka.brokers.trim() != crate::app::EMBEDDED => problems.add(
            file,
            "kafka.internal_key",
            "is required with a Kafka cluster: it authenticates the records the router writes \
             to its retry and dead-letter topics; set it from the environment \
             (`internal_key: ${ROUTER_INTERNAL_KEY}`, e.g. `openssl rand -base64 32`), the \
             same on every instance",
        ),
        Some(key) if key.expose().len() < crate::kafka::MIN_KEY_BYTES => problems.add(
            file,
            "kafka.internal_key",
            format!(
                "is too short: at least {} bytes (e.g. `openssl rand -base64 32`)",
                crate::kafka::MIN_KEY_BYTES
            ),
        ),
        _ => {}
    }
}

/// The admin server answers with recipient lists and takes tokens: other machines reach it over
/// TLS only, unless the operator says a proxy in front of it adds TLS.
fn check_admin(admin: &AdminSettings, file: &Path, problems: &mut Problems) {
    if !admin.listen.ip().is_loopback() && admin.tls.is_none() && !admin.allow_plaintext {
        let why = format!(
            "{} is reachable from other machines, and the admin API's tokens and recipient \
             lists would cross the network in clear: set admin.tls (cert, key), or \
             admin.allow_plaintext: true behind a proxy that adds TLS",
            admin.listen
        );
        problems.add(file, "admin.listen", why);
    }
}

fn check_http(http: &HttpSettings, file: &Path, problems: &mut Problems) {
    if let Err(why) = http.options() {
        problems.add(file, "http.proxy", why.to_string());
    }
}

fn compile_sources(
    configs: &[SourceConfig],
    kafka: &KafkaSettings,
    file: &Path,
    problems: &mut Problems,
) -> (Vec<Source>, HashMap<String, usize>) {
    let mut sources: Vec<Source> = Vec::new();
    let mut by_kafka_topic = HashMap::new();
    for (i, source) in configs.iter().enumerate() {
        let item = format!("sources[{i}] ({})", source.id);
        if let Err(why) = check_name(&source.id) {
            problems.add(file, format!("{item}.id"), why.to_string());
        }
        if sources.iter().any(|s| s.id == source.id) {
            problems.add(
                file,
                item.clone(),
                format!("duplicate source id {:?}", source.id),
            );
        }
        let topics_item = format!("{item}.kafka_topics");
        if source.kafka_topics.is_empty() {
            problems.add(
                file,
                &topics_item,
                "is empty: name at least one Kafka topic",
            );
        }
        for topic in &source.kafka_topics {
            if let Err(why) = check_kafka_topic_name(topic) {
                problems.add(file, &topics_item, why.to_string());
            } else if *topic == kafka.dead_letter_topic
                || *topic == kafka.retry_topic
                || *topic == kafka.digest_topic
                || *topic == kafka.silences_topic
                || *topic == kafka.control_topic
            {
                let which = if *topic == kafka.retry_topic {
                    "retry"
                } else if *topic == kafka.digest_topic {
                    "digest"
                } else if *topic == kafka.silences_topic {
                    "silences"
                } else if *topic == kafka.control_topic {
                    "control"
                } else {
                    "dead-letter"
                };
                problems.add(
                    file,
                    &topics_item,
                    format!("{topic:?} is the {which} topic"),
                );
            } else if let Some(&other) = by_kafka_topic.get(topic) {
                let other: &Source = &sources[other];
                let why = format!(
                    "{topic:?} is already read by source {:?}: a Kafka topic belongs to one source",
                    other.id
                );
                problems.add(file, &topics_item, why);
            } else {
                by_kafka_topic.insert(topic.clone(), sources.len());
            }
        }
        sources.push(Source {
            id: source.id.clone(),
            name: source.name.clone().unwrap_or_else(|| source.id.clone()),
            kind: source.kind,
            enabled: source.enabled,
            kafka_topics: source.kafka_topics.clone(),
        });
    }
    (sources, by_kafka_topic)
}

/// The destinations that are valid, as the dispatcher and as their channel see them; each
/// invalid one is a problem and left out.
fn compile_destinations(
    router: &RouterFile,
    file: &Path,
    problems: &mut Problems,
) -> (Vec<DeliveryPolicy>, Vec<channels::Destination>) {
    let mut destinations: Vec<DeliveryPolicy> = Vec::new();
    let mut channels = Vec::new();
    let policy = NetworkPolicy::new(router.http.allow_private_networks.clone());
    for (i, destination) in router.destinations.iter().enumerate() {
        let item = format!("destinations[{i}] ({})", destination.id());
        if let Err(why) = check_name(destination.id()) {
            problems.add(file, format!("{item}.id"), why.to_string());
        }
        if destinations.iter().any(|d| d.id == destination.id()) {
            let why = format!("duplicate destination id {:?}", destination.id());
            problems.add(file, item.clone(), why);
        }
        let id = destination.id();
        let channel = match destination {
            DestinationConfig::Webhook(webhook) => webhook
                .settings(router.http.request_timeout, &policy)
                .map(|settings| channels::Destination::Webhook(Subscribed::new(id, settings))),
            DestinationConfig::Email(email) => email
                .settings(router.http.connect_timeout)
                .map(|settings| channels::Destination::Email(Subscribed::new(id, settings))),
            DestinationConfig::Slack(slack) => slack
                .settings(router.http.request_timeout, &policy)
                .map(|settings| channels::Destination::Slack(Subscribed::new(id, settings))),
            DestinationConfig::PagerDuty(pagerduty) => pagerduty
                .settings(router.http.request_timeout, &policy)
                .map(|settings| channels::Destination::PagerDuty(Subscribed::new(id, settings))),
            DestinationConfig::Teams(teams) => teams
                .settings(router.http.request_timeout, &policy)
                .map(|settings| channels::Destination::Teams(Subscribed::new(id, settings))),
            DestinationConfig::Kafka(kafka) => kafka
                .settings(
                    router.http.request_timeout,
                    &router.kafka.brokers,
                    &crate::kafka::producer_properties(&router.kafka),
                )
                .map(|settings| channels::Destination::Kafka(Subscribed::new(id, settings))),
        };
        match channel {
            Ok(channel) => {
                check_delivery_settings(destination, file, &item, problems);
                destinations.push(DeliveryPolicy {
                    id: id.to_owned(),
                    retry: destination.retry().clone(),
                    limits: destination.limits().clone(),
                    breaker: destination.circuit_breaker().clone(),
                    rate: destination.rate_limit(),
                });
                channels.push(channel);
            }
            Err((field, why)) => problems.add(file, format!("{item}.{field}"), why),
        }
    }
    (destinations, channels)
}

/// The retry policy, limits and circuit breaker of a destination: nothing may be zero.
fn check_delivery_settings(
    destination: &DestinationConfig,
    file: &Path,
    item: &str,
    problems: &mut Problems,
) {
    let retry = destination.retry();
    if retry.schedule.iter().any(Duration::is_zero) {
        let why =
            "has a zero delay: every long retry waits (write 5m, 30m, ...), or write [] for none";
        problems.add(file, format!("{item}.retry.schedule"), why);
    }
    if retry.horizon.is_zero() {
        problems.add(
            file,
            format!("{item}.retry.horizon"),
            "must be longer than 0s",
        );
    }
    let limits = destination.limits();
    if limits.concurrency == 0 {
        problems.add(
            file,
            format!("{item}.limits.concurrency"),
            "must be at least 1",
        );
    }
    if limits.queue < limits.concurrency {
        let why = format!(
            "must be at least limits.concurrency ({})",
            limits.concurrency
        );
        problems.add(file, format!("{item}.limits.queue"), why);
    }
    if let Some(rate) = destination.rate_limit()
        && let Some((field, why)) = rate.problem()
    {
        problems.add(file, format!("{item}.rate_limit.{field}"), why);
    }
    let breaker = destination.circuit_breaker();
    if breaker.failures == 0 {
        problems.add(
            file,
            format!("{item}.circuit_breaker.failures"),
            "must be at least 1",
        );
    }
    if breaker.probe_interval.is_zero() {
        let why = "must be longer than 0s";
        problems.add(file, format!("{item}.circuit_breaker.probe_interval"), why);
    }
}
