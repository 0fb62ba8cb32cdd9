//! The pure compile step: checks every name, reference, URL and filter, and builds the routing
//! table and the destinations with their subscriptions. Every problem is reported, not just the
//! first.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::checks::{Problems, check_kafka_topic_name, check_name};
use super::error::ConfigErrors;
use super::files::{
    DestinationConfig, HttpSettings, KafkaSettings, RouterFile, SourceConfig, TopicFile,
};
use crate::channels::{self, Destinations, NetworkPolicy, Subscribed};
use crate::dispatch::DeliveryPolicy;
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
    check_http(&router.http, router_path, &mut problems);
    let (sources, source_by_kafka_topic) =
        compile_sources(&router.sources, &router.kafka, router_path, &mut problems);
    let (policies, mut channels) = compile_destinations(router, router_path, &mut problems);
    let destinations: Vec<Destination> = policies
        .iter()
        .map(|p| Destination { id: p.id.clone() })
        .collect();
    let (topics, subscriptions) = super::topics::compile_topics(
        &topic_files,
        router,
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

fn check_kafka(kafka: &KafkaSettings, file: &Path, problems: &mut Problems) {
    if kafka.brokers.trim().is_empty() {
        let why = "is empty: write host:port[,host:port...] or `embedded`";
        problems.add(file, "kafka.brokers", why);
    }
    if let Err(why) = check_kafka_topic_name(&kafka.dead_letter_topic) {
        problems.add(file, "kafka.dead_letter_topic", why);
    }
    if let Err(why) = check_kafka_topic_name(&kafka.retry_topic) {
        problems.add(file, "kafka.retry_topic", why);
    } else if kafka.retry_topic == kafka.dead_letter_topic {
        let why = format!("{:?} is also the dead-letter topic", kafka.retry_topic);
        problems.add(file, "kafka.retry_topic", why);
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
    for (key, value) in &kafka.properties {
        if let Err(why) = check_tls_verification(key, value.expose()) {
            problems.add(file, format!("kafka.properties.{key}"), why);
        }
    }
}

/// Broker certificates and their host names are always verified: the properties that would
/// turn either check off are refused (librdkafka's defaults, `https` and `true`, are kept).
fn check_tls_verification(key: &str, value: &str) -> Result<(), &'static str> {
    let value = value.trim();
    match key {
        "ssl.endpoint.identification.algorithm" if !value.eq_ignore_ascii_case("https") => Err(
            "may only be `https`: the broker's host name is always checked against its \
             certificate; give the broker a certificate for the name in kafka.brokers",
        ),
        "enable.ssl.certificate.verification" if !value.eq_ignore_ascii_case("true") => Err(
            "may only be `true`: broker certificates are always verified; trust a private CA \
             with ssl.ca.location",
        ),
        _ => Ok(()),
    }
}

fn check_http(http: &HttpSettings, file: &Path, problems: &mut Problems) {
    if let Err(why) = http.options() {
        problems.add(file, "http.proxy", why);
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
            problems.add(file, format!("{item}.id"), why);
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
                problems.add(file, &topics_item, why);
            } else if *topic == kafka.dead_letter_topic || *topic == kafka.retry_topic {
                let which = if *topic == kafka.retry_topic {
                    "retry"
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
            problems.add(file, format!("{item}.id"), why);
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
        };
        match channel {
            Ok(channel) => {
                check_delivery_settings(destination, file, &item, problems);
                destinations.push(DeliveryPolicy {
                    id: id.to_owned(),
                    retry: destination.retry().clone(),
                    limits: destination.limits().clone(),
                    breaker: destination.circuit_breaker().clone(),
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
