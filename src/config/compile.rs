//! The pure compile step: checks every name, reference, URL and filter, and builds the routing table.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::error::{ConfigError, ConfigErrors};
use super::files::{DestinationConfig, RouterFile, TopicFile, WebhookDestination};
use crate::deliver::WebhookSettings;
use crate::filter::Filter;
use crate::render::{Channel, Templates};
use crate::routing::{
    Destination, DestinationKind, RoutingTable, Rule, Source, SourceIndex, Subscription, Topic,
    TopicSource,
};

/// Builds the routing table from loaded files; reports every problem, not just the first.
pub fn compile(
    router_path: &Path,
    router: &RouterFile,
    topic_files: &[(PathBuf, TopicFile)],
    templates: &Templates,
) -> Result<RoutingTable, ConfigErrors> {
    let mut errors = Vec::new();
    let mut error = |file: &Path, item: String, message: String| {
        errors.push(ConfigError::new(file, item, message))
    };

    let kafka = &router.kafka;
    if kafka.brokers.trim().is_empty() {
        error(
            router_path,
            "kafka.brokers".into(),
            "is empty: write host:port[,host:port...] or `embedded`".into(),
        );
    }
    if let Err(why) = check_kafka_topic_name(&kafka.dead_letter_topic) {
        error(router_path, "kafka.dead_letter_topic".into(), why);
    }
    if kafka.max_in_flight == 0 {
        error(
            router_path,
            "kafka.max_in_flight".into(),
            "must be at least 1".into(),
        );
    }
    for key in kafka
        .properties
        .keys()
        .filter(|k| crate::kafka::MANAGED_PROPERTIES.contains(&k.as_str()))
    {
        let why = "is set by the router: use kafka.brokers, kafka.group_id and kafka.commit_interval; offsets are stored by the router";
        error(router_path, format!("kafka.properties.{key}"), why.into());
    }
    if kafka.max_message_bytes == 0 {
        error(
            router_path,
            "kafka.max_message_bytes".into(),
            "must be at least 1".into(),
        );
    }

    // Sources.
    let mut sources = Vec::new();
    let mut source_by_kafka_topic = HashMap::new();
    for (i, source) in router.sources.iter().enumerate() {
        let item = format!("sources[{i}] ({})", source.id);
        if let Err(why) = check_name(&source.id) {
            error(router_path, format!("{item}.id"), why);
        }
        if sources.iter().any(|s: &Source| s.id == source.id) {
            error(
                router_path,
                item.clone(),
                format!("duplicate source id {:?}", source.id),
            );
        }
        if source.kafka_topics.is_empty() {
            error(
                router_path,
                format!("{item}.kafka_topics"),
                "is empty: name at least one Kafka topic".into(),
            );
        }
        for topic in &source.kafka_topics {
            if let Err(why) = check_kafka_topic_name(topic) {
                error(router_path, format!("{item}.kafka_topics"), why);
            } else if *topic == kafka.dead_letter_topic {
                error(
                    router_path,
                    format!("{item}.kafka_topics"),
                    format!("{topic:?} is the dead-letter topic"),
                );
            } else if let Some(&other) = source_by_kafka_topic.get(topic) {
                let other: &Source = &sources[other];
                error(
                    router_path,
                    format!("{item}.kafka_topics"),
                    format!(
                        "{topic:?} is already read by source {:?}: a Kafka topic belongs to one source",
                        other.id
                    ),
                );
            } else {
                source_by_kafka_topic.insert(topic.clone(), sources.len());
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

    // Destinations.
    let mut destinations: Vec<Destination> = Vec::new();
    for (i, destination) in router.destinations.iter().enumerate() {
        let item = format!("destinations[{i}] ({})", destination.id());
        if let Err(why) = check_name(destination.id()) {
            error(router_path, format!("{item}.id"), why);
        }
        if destinations.iter().any(|d| d.id == destination.id()) {
            error(
                router_path,
                item.clone(),
                format!("duplicate destination id {:?}", destination.id()),
            );
        }
        let kind = match destination {
            DestinationConfig::Webhook(webhook) => {
                match webhook_settings(webhook, router.http.request_timeout) {
                    Ok(settings) => DestinationKind::Webhook {
                        settings,
                        retry: webhook.retry.clone(),
                    },
                    Err((field, why)) => {
                        error(router_path, format!("{item}.{field}"), why);
                        continue;
                    }
                }
            }
        };
        destinations.push(Destination {
            id: destination.id().to_owned(),
            kind,
        });
    }

    // Topics and their subscriptions.
    let source_ids: Vec<&str> = router.sources.iter().map(|s| s.id.as_str()).collect();
    let destination_ids: Vec<&str> = router.destinations.iter().map(|d| d.id()).collect();
    let mut topics: Vec<Topic> = Vec::new();
    let mut subscriptions: Vec<Subscription> = Vec::new();
    let mut subscription_files: HashMap<String, PathBuf> = HashMap::new();
    for (file, topic_file) in topic_files {
        if let Err(why) = check_name(&topic_file.name) {
            error(file, "name".into(), why);
        }
        if let Some(other) = topics.iter().find(|t| t.name == topic_file.name) {
            error(
                file,
                "name".into(),
                format!(
                    "topic {:?} is also defined in {}",
                    topic_file.name,
                    other.file.display()
                ),
            );
        }
        let topic_index = topics.len();
        let mut topic_sources = Vec::new();
        let mut seen_sources = HashSet::new();
        for (s, topic_source) in topic_file.sources.iter().enumerate() {
            let item = format!("sources[{s}]");
            let Some(source) = source_ids.iter().position(|id| *id == topic_source.id) else {
                error(
                    file,
                    format!("{item}.id"),
                    format!(
                        "unknown source {:?}; valid: {}",
                        topic_source.id,
                        choices(&source_ids)
                    ),
                );
                continue;
            };
            if !seen_sources.insert(source) {
                error(
                    file,
                    format!("{item}.id"),
                    format!(
                        "source {:?} is listed twice: put all its rules in one entry",
                        topic_source.id
                    ),
                );
            }
            let mut rules = Vec::new();
            for (r, rule) in topic_source.rules.iter().enumerate() {
                let rule_item = format!("{item}.rules[{r}]");
                let event_type_filter = parse_filter(
                    &rule.event_type_filter,
                    file,
                    &format!("{rule_item}.event_type_filter"),
                    &mut error,
                );
                let notification_filter = rule.notification_filter.as_deref().map(|f| {
                    parse_filter(
                        f,
                        file,
                        &format!("{rule_item}.notification_filter"),
                        &mut error,
                    )
                });
                if let (Some(event_type_filter), Some(notification_filter)) = (
                    event_type_filter,
                    notification_filter.map_or(Some(None), |f| f.map(Some)),
                ) {
                    rules.push(Rule {
                        enabled: rule.enabled,
                        event_type_filter,
                        notification_filter,
                    });
                }
            }
            topic_sources.push(TopicSource {
                source: SourceIndex(source),
                rules,
            });
        }
        if topic_file.sources.is_empty() {
            error(
                file,
                "sources".into(),
                format!(
                    "is empty: name at least one source; valid: {}",
                    choices(&source_ids)
                ),
            );
        }
        let mut topic_subscriptions = Vec::new();
        for (n, subscription) in topic_file.subscriptions.iter().enumerate() {
            let item = format!("subscriptions[{n}] ({})", subscription.name);
            if let Err(why) = check_name(&subscription.name) {
                error(file, format!("{item}.name"), why);
            }
            if let Some(other) = subscription_files.get(&subscription.name) {
                error(
                    file,
                    item.clone(),
                    format!(
                        "duplicate subscription name {:?}, also in {}",
                        subscription.name,
                        other.display()
                    ),
                );
            }
            subscription_files.insert(subscription.name.clone(), file.clone());
            let Some(destination) = destinations
                .iter()
                .position(|d| d.id == subscription.destination)
            else {
                if !destination_ids.contains(&subscription.destination.as_str()) {
                    error(
                        file,
                        format!("{item}.destination"),
                        format!(
                            "unknown destination {:?}; valid: {}",
                            subscription.destination,
                            choices(&destination_ids)
                        ),
                    );
                }
                continue;
            };
            let channel = channel_of(&destinations[destination].kind);
            if let Some(template) = &subscription.template
                && !templates.contains(channel, template)
            {
                let names = templates.names(channel);
                error(
                    file,
                    format!("{item}.template"),
                    format!(
                        "unknown {channel:?} template {template:?}; valid: {}",
                        choices(&names)
                    ),
                );
            }
            topic_subscriptions.push(subscriptions.len());
            subscriptions.push(Subscription {
                name: subscription.name.clone(),
                topic: topic_index,
                destination,
                template: subscription.template.clone(),
            });
        }
        topics.push(Topic {
            name: topic_file.name.clone(),
            description: topic_file.description.clone(),
            file: file.clone(),
            sources: topic_sources,
            subscriptions: topic_subscriptions,
        });
    }

    if errors.is_empty() {
        Ok(RoutingTable {
            sources,
            topics,
            subscriptions,
            destinations,
            source_by_kafka_topic,
        })
    } else {
        Err(ConfigErrors(errors))
    }
}

fn parse_filter(
    source: &str,
    file: &Path,
    item: &str,
    error: &mut impl FnMut(&Path, String, String),
) -> Option<Filter> {
    match Filter::parse(source) {
        Ok(filter) => Some(filter),
        Err(why) => {
            error(file, item.to_owned(), format!("{why}, in: {source}"));
            None
        }
    }
}

fn channel_of(kind: &DestinationKind) -> Channel {
    match kind {
        DestinationKind::Webhook { .. } => Channel::Webhook,
    }
}

type Headers = Vec<(String, String)>;

/// Checks a webhook destination; on error returns the field and the reason.
fn webhook_settings(
    webhook: &WebhookDestination,
    default_timeout: std::time::Duration,
) -> Result<WebhookSettings, (&'static str, String)> {
    let url = url::Url::parse(&webhook.url)
        .map_err(|e| ("url", format!("{:?} is not a URL: {e}", webhook.url)))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err((
            "url",
            format!(
                "scheme {:?} is not supported: use http or https",
                url.scheme()
            ),
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(("url", "has no host".into()));
    }
    let (sensitive_headers, custom_headers): (Headers, Headers) = webhook
        .custom_headers
        .iter()
        .map(|(name, value)| (name.clone(), value.clone()))
        .partition(|(name, _)| {
            webhook
                .sensitive_headers
                .iter()
                .any(|s| s.eq_ignore_ascii_case(name))
        });
    for name in &webhook.sensitive_headers {
        if !webhook
            .custom_headers
            .keys()
            .any(|h| h.eq_ignore_ascii_case(name))
        {
            let names: Vec<&str> = webhook.custom_headers.keys().map(String::as_str).collect();
            return Err((
                "sensitive_headers",
                format!(
                    "{name:?} is not one of custom_headers; valid: {}",
                    choices(&names)
                ),
            ));
        }
    }
    let settings = WebhookSettings {
        url,
        verb: webhook.verb,
        custom_headers,
        sensitive_headers,
        timeout: webhook.timeout.unwrap_or(default_timeout),
    };
    settings.check().map_err(|why| ("custom_headers", why))?;
    Ok(settings)
}

/// Ids and names: letters, digits, `-`, `_` and `.`, so they read well in logs, headers and URLs.
fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("is empty".into());
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(format!(
            "{name:?} may only contain letters, digits, '-', '_' and '.'"
        ));
    }
    Ok(())
}

/// Kafka's own rule for topic names.
fn check_kafka_topic_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 249 || name == "." || name == ".." {
        return Err(format!(
            "{name:?} is not a Kafka topic name (1 to 249 characters, not '.' or '..')"
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(format!(
            "{name:?} is not a Kafka topic name: use letters, digits, '-', '_' and '.'"
        ));
    }
    Ok(())
}

/// The valid names, once each, for an error message.
fn choices(names: &[&str]) -> String {
    let mut unique: Vec<&str> = Vec::new();
    for name in names {
        if !unique.contains(name) {
            unique.push(name);
        }
    }
    if unique.is_empty() {
        "none defined".into()
    } else {
        unique.join(", ")
    }
}
