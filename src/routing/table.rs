//! The compiled routing table: sources, topics with their parsed rules, subscriptions, destinations.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::event::SourceKind;
use crate::filter::Filter;

use super::index::RuleIndex;

/// Everything routing needs, checked and compiled; immutable once built.
#[derive(Debug, Clone)]
pub struct RoutingTable {
    pub(crate) sources: Vec<Source>,
    /// Shared by clones, as the index is: a table of 10,000 topics is cloned cheaply.
    pub(crate) topics: Arc<[Topic]>,
    pub(crate) subscriptions: Vec<Subscription>,
    pub(crate) destinations: Vec<Destination>,
    pub(crate) source_by_kafka_topic: HashMap<String, usize>,
    /// The topics' rules, compiled for matching.
    pub(crate) index: Arc<RuleIndex>,
}

/// Index of a source in its table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SourceIndex(pub(crate) usize);

#[derive(Debug, Clone)]
pub struct Source {
    pub id: String,
    pub name: String,
    pub kind: SourceKind,
    pub enabled: bool,
    pub kafka_topics: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Topic {
    pub name: String,
    pub description: Option<String>,
    /// The topic file it came from.
    pub file: PathBuf,
    pub sources: Vec<TopicSource>,
    /// Indexes into the table's subscriptions.
    pub subscriptions: Vec<usize>,
}

/// A topic's rules for one source; OR'ed, and an empty list takes every event of the source.
#[derive(Debug, Clone)]
pub struct TopicSource {
    pub source: SourceIndex,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub enabled: bool,
    pub event_type_filter: Filter,
    pub notification_filter: Option<Filter>,
}

impl Rule {
    /// Both filters must match.
    pub fn matches(&self, notification: &serde_json::Value) -> bool {
        self.enabled
            && self.event_type_filter.matches(notification)
            && self
                .notification_filter
                .as_ref()
                .is_none_or(|f| f.matches(notification))
    }
}

/// One topic to one destination; what it sends and how is its destination's channel's.
#[derive(Debug, Clone)]
pub struct Subscription {
    pub name: String,
    pub topic: usize,
    pub destination: usize,
    /// Its mute windows, when it has any.
    pub mute: Option<std::sync::Arc<crate::mute::Mute>>,
    /// How its notifications are gathered into digests, when they are.
    pub digest: Option<std::sync::Arc<crate::digest::Digest>>,
}

/// A destination, as routing sees it: which one. What it is (webhook, email, Slack) is the
/// channels', how deliveries to it are retried and limited the dispatcher's.
#[derive(Debug, Clone)]
pub struct Destination {
    pub id: String,
}

impl RoutingTable {
    /// Assembles a table from checked parts and indexes its rules.
    pub(crate) fn new(
        sources: Vec<Source>,
        topics: Vec<Topic>,
        subscriptions: Vec<Subscription>,
        destinations: Vec<Destination>,
        source_by_kafka_topic: HashMap<String, usize>,
    ) -> RoutingTable {
        let index = Arc::new(RuleIndex::build(&topics, sources.len()));
        RoutingTable {
            sources,
            topics: topics.into(),
            subscriptions,
            destinations,
            source_by_kafka_topic,
            index,
        }
    }

    /// The compiled rules.
    pub fn index(&self) -> &RuleIndex {
        &self.index
    }
    pub fn sources(&self) -> &[Source] {
        &self.sources
    }
    pub fn topics(&self) -> &[Topic] {
        &self.topics
    }
    pub fn subscriptions(&self) -> &[Subscription] {
        &self.subscriptions
    }
    pub fn destinations(&self) -> &[Destination] {
        &self.destinations
    }
    pub fn source(&self, index: SourceIndex) -> &Source {
        &self.sources[index.0]
    }
    /// The source whose events arrive on a Kafka topic.
    pub fn source_for_kafka_topic(&self, topic: &str) -> Option<SourceIndex> {
        self.source_by_kafka_topic
            .get(topic)
            .copied()
            .map(SourceIndex)
    }
    pub fn source_index(&self, id: &str) -> Option<SourceIndex> {
        self.sources
            .iter()
            .position(|s| s.id == id)
            .map(SourceIndex)
    }
    /// The Kafka topics of the enabled sources, which the consumer subscribes to.
    pub fn enabled_kafka_topics(&self) -> Vec<&str> {
        let mut topics: Vec<&str> = self
            .sources
            .iter()
            .filter(|s| s.enabled)
            .flat_map(|s| s.kafka_topics.iter().map(String::as_str))
            .collect();
        topics.sort_unstable();
        topics
    }
    pub fn subscription_by_name(&self, name: &str) -> Option<&Subscription> {
        self.subscriptions.iter().find(|s| s.name == name)
    }
    /// The index of subscription `name` among the table's subscriptions.
    pub fn subscription_index(&self, name: &str) -> Option<usize> {
        self.subscriptions.iter().position(|s| s.name == name)
    }
}
