//! Routing: which topics an event belongs to and which deliveries it makes. Pure: no IO, no async.

mod accept;
mod anchor;
mod index;
mod table;

pub use accept::{Unaccepted, accepting_source};
pub use index::{IndexStats, RuleIndex};
pub use table::{
    Destination, RoutingTable, Rule, Source, SourceIndex, Subscription, Topic, TopicSource,
};

use serde_json::Value;

use crate::event::Notification;

/// What routing decided for one notification.
#[derive(Debug)]
pub enum Route<'t> {
    /// The source is disabled: drop the event and count it.
    SourceDisabled,
    /// The topics that matched (maybe none) and one delivery per subscription of each.
    Matched {
        topics: Vec<&'t Topic>,
        deliveries: Vec<Delivery<'t>>,
    },
}

/// One (notification, subscription) pair to deliver.
#[derive(Debug, Clone)]
pub struct Delivery<'t> {
    pub topic: &'t Topic,
    pub subscription: &'t Subscription,
    pub destination: &'t Destination,
    /// Stable for this notification and subscription, on every attempt and after restarts.
    pub webhook_id: String,
}

/// Namespace of the delivery ids (UUID v5).
const DELIVERY_ID_NAMESPACE: uuid::Uuid =
    uuid::Uuid::from_u128(0x5d1e_77a2_8c0b_4f3e_9a61_2b7c_0d4e_8f15);

/// The id every attempt of one (notification, subscription) delivery carries as `webhook-id`.
pub fn delivery_id(notification_id: &str, subscription: &str) -> String {
    let name = format!("{notification_id}\n{subscription}");
    format!(
        "msg_{}",
        uuid::Uuid::new_v5(&DELIVERY_ID_NAMESPACE, name.as_bytes()).simple()
    )
}

impl RoutingTable {
    /// Routes a notification from `source`: every topic with a matching rule for that source, then
    /// every subscription of those topics: an event matching two topics makes one delivery per
    /// subscription of each.
    /// Topics are found through the [`RuleIndex`].
    pub fn route(&self, source: SourceIndex, notification: &Notification) -> Route<'_> {
        if !self.source(source).enabled {
            return Route::SourceDisabled;
        }
        let topics: Vec<&Topic> = self
            .matching_topics(source, &notification.body)
            .into_iter()
            .map(|t| &self.topics[t])
            .collect();
        let deliveries = topics
            .iter()
            .flat_map(|topic| {
                topic
                    .subscriptions
                    .iter()
                    .map(move |&s| (*topic, &self.subscriptions[s]))
            })
            .map(|(topic, subscription)| Delivery {
                topic,
                subscription,
                destination: &self.destinations[subscription.destination],
                webhook_id: delivery_id(&notification.id, &subscription.name),
            })
            .collect();
        Route::Matched { topics, deliveries }
    }

    /// The indexes of the topics with a rule for `source` that `notification` matches (or no rule
    /// for it), in table order, found through the [`RuleIndex`].
    pub fn matching_topics(&self, source: SourceIndex, notification: &Value) -> Vec<usize> {
        self.index
            .matching_topics(&self.topics, source, notification)
    }

    /// The topics [`route`](Self::route) finds, found the slow way: every rule of every topic
    /// evaluated in turn. The reference the index is tested and benchmarked against.
    pub fn matching_topics_by_scan(&self, source: SourceIndex, notification: &Value) -> Vec<usize> {
        matching_topics_by_scan(&self.topics, source, notification)
    }
}

/// Every topic with a rule for `source` that `notification` matches (or no rule), in order.
fn matching_topics_by_scan(
    topics: &[Topic],
    source: SourceIndex,
    notification: &Value,
) -> Vec<usize> {
    (0..topics.len())
        .filter(|&t| {
            topics[t].sources.iter().any(|ts| {
                ts.source == source
                    && (ts.rules.is_empty()
                        || ts.rules.iter().any(|rule| rule.matches(notification)))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
