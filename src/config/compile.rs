//! The pure compile step: checks every name, reference, URL and filter, and builds the routing
//! table. Every problem is reported, not just the first.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::checks::{
    Problems, check_kafka_topic_name, check_name, email_settings, slack_settings, webhook_settings,
};
use super::error::ConfigErrors;
use super::files::{DestinationConfig, KafkaSettings, RouterFile, SourceConfig, TopicFile};
use crate::render::Templates;
use crate::routing::{Destination, DestinationKind, RoutingTable, Source};

/// Builds the routing table from loaded files.
pub fn compile(
    router_path: &Path,
    router: &RouterFile,
    topic_files: &[(PathBuf, TopicFile)],
    templates: &Templates,
) -> Result<RoutingTable, ConfigErrors> {
    let mut problems = Problems::default();
    check_kafka(&router.kafka, router_path, &mut problems);
    let (sources, source_by_kafka_topic) =
        compile_sources(&router.sources, &router.kafka, router_path, &mut problems);
    let destinations = compile_destinations(router, router_path, &mut problems);
    let (topics, subscriptions) =
        super::topics::compile_topics(topic_files, router, &destinations, templates, &mut problems);
    if problems.0.is_empty() {
        Ok(RoutingTable::new(
            sources,
            topics,
            subscriptions,
            destinations,
            source_by_kafka_topic,
        ))
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
    if kafka.max_in_flight == 0 {
        problems.add(file, "kafka.max_in_flight", "must be at least 1");
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
            } else if *topic == kafka.dead_letter_topic {
                problems.add(
                    file,
                    &topics_item,
                    format!("{topic:?} is the dead-letter topic"),
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

/// The destinations that are valid; each invalid one is a problem and left out.
fn compile_destinations(
    router: &RouterFile,
    file: &Path,
    problems: &mut Problems,
) -> Vec<Destination> {
    let mut destinations: Vec<Destination> = Vec::new();
    for (i, destination) in router.destinations.iter().enumerate() {
        let item = format!("destinations[{i}] ({})", destination.id());
        if let Err(why) = check_name(destination.id()) {
            problems.add(file, format!("{item}.id"), why);
        }
        if destinations.iter().any(|d| d.id == destination.id()) {
            let why = format!("duplicate destination id {:?}", destination.id());
            problems.add(file, item.clone(), why);
        }
        let kind = match destination {
            DestinationConfig::Webhook(webhook) => {
                webhook_settings(webhook, router.http.request_timeout).map(DestinationKind::Webhook)
            }
            DestinationConfig::Email(email) => {
                email_settings(email, router.http.connect_timeout).map(DestinationKind::Email)
            }
            DestinationConfig::Slack(slack) => {
                slack_settings(slack, router.http.request_timeout).map(DestinationKind::Slack)
            }
        };
        match kind {
            Ok(kind) => destinations.push(Destination {
                id: destination.id().to_owned(),
                retry: destination.retry().clone(),
                kind,
            }),
            Err((field, why)) => problems.add(file, format!("{item}.{field}"), why),
        }
    }
    destinations
}
