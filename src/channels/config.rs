//! A subscription as a topic file writes it, and the destinations compiled with their
//! subscriptions: each channel's `config` checks its own attributes; this file routes a
//! subscription to its destination's channel and refuses the attributes of the others.

use std::sync::Arc;

use serde::Deserialize;

use super::{
    EmailSettings, KafkaSettings, PagerDutySettings, SlackSettings, TeamsSettings, WebhookSettings,
    email, kafka, pagerduty, slack, teams, webhook,
};
use crate::render::Channel;

/// One topic to one destination, with the attributes of the destination's channel.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionConfig {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub destination: String,
    /// A template path relative to `templates_dir`, in the destination's channel folder.
    #[serde(default)]
    pub template: Option<String>,
    /// Email: the addresses to send to (at most 10,000).
    #[serde(default)]
    pub recipients: Option<Vec<String>>,
    /// Email: append the notification JSON to both parts.
    #[serde(default)]
    pub add_notification_payload: Option<bool>,
    /// Email: the `Reply-To` address, replacing the destination's.
    #[serde(default)]
    pub reply_to_mail: Option<String>,
    /// Email: the display name of `reply_to_mail`.
    #[serde(default)]
    pub reply_to_name: Option<String>,
    /// Email: the display name of the sender, replacing the destination's.
    #[serde(default)]
    pub from_name: Option<String>,
    /// Slack bot: the channel ids or names to post to.
    #[serde(default)]
    pub channels: Option<Vec<String>>,
    /// Slack: the colour bar of the message, `#RRGGBB`.
    #[serde(default)]
    pub attachment_color: Option<String>,
    /// Webhook: send `webhook-signature` (default: when the destination has secrets or keys).
    #[serde(default)]
    pub signing_enabled: Option<bool>,
    /// PagerDuty: the `dedup_key` template (default: the resource and the operation).
    #[serde(default)]
    pub dedup_key: Option<String>,
    /// PagerDuty: `ibmenseverity` to PagerDuty severity, over the defaults.
    #[serde(default)]
    pub severity: Option<std::collections::BTreeMap<String, String>>,
    /// PagerDuty: a filter; a notification it matches resolves the incident.
    #[serde(default)]
    pub resolve_on: Option<String>,
    /// Names of `router.yaml` time intervals during which nothing is sent.
    #[serde(default)]
    pub mute_time_intervals: Vec<String>,
    /// Names of `router.yaml` time intervals outside of which nothing is sent.
    #[serde(default)]
    pub active_time_intervals: Vec<String>,
    /// What happens to a delivery while muted: `drop` (default) or `delay` until the window ends.
    #[serde(default)]
    pub when_muted: Option<crate::mute::WhenMuted>,
    /// Webhook, email, Slack: one message per group of notifications instead of one each.
    #[serde(default)]
    pub digest: Option<crate::digest::DigestConfig>,
}

/// What is wrong with a subscription: the field (under the subscription) and why.
pub type Problems = Vec<(String, String)>;

/// One destination of `router.yaml`, compiled with the subscriptions that deliver to it. The
/// variant is the channel: its settings and its subscriptions' attributes are that channel's,
/// so no subscription can hold the attributes of another channel than its destination's.
#[derive(Debug, Clone)]
pub enum Destination {
    Webhook(Subscribed<WebhookSettings, webhook::Attributes>),
    Email(Subscribed<EmailSettings, email::Attributes>),
    Slack(Subscribed<SlackSettings, slack::Attributes>),
    PagerDuty(Subscribed<PagerDutySettings, pagerduty::Attributes>),
    Teams(Subscribed<TeamsSettings, teams::Attributes>),
    Kafka(Subscribed<KafkaSettings, kafka::Attributes>),
}

/// A destination's settings and its subscriptions.
#[derive(Debug, Clone)]
pub struct Subscribed<S, A> {
    pub id: String,
    pub settings: S,
    pub subscriptions: Vec<Arc<Subscription<A>>>,
}

/// One subscription, as its channel sees it.
#[derive(Debug)]
pub struct Subscription<A> {
    /// Its index among the routing table's subscriptions.
    pub index: usize,
    pub name: String,
    /// Template name relative to the templates folder (`webhook/summary.json.hbs`, `email/ops`).
    pub template: Option<String>,
    pub attributes: A,
}

impl<S, A> Subscribed<S, A> {
    pub fn new(id: &str, settings: S) -> Self {
        Subscribed {
            id: id.to_owned(),
            settings,
            subscriptions: Vec::new(),
        }
    }

    fn add(&mut self, index: usize, config: &SubscriptionConfig, attributes: A) {
        self.subscriptions.push(Arc::new(Subscription {
            index,
            name: config.name.clone(),
            template: config.template.clone(),
            attributes,
        }));
    }
}

impl Destination {
    pub fn id(&self) -> &str {
        match self {
            Destination::Webhook(d) => &d.id,
            Destination::Email(d) => &d.id,
            Destination::Slack(d) => &d.id,
            Destination::PagerDuty(d) => &d.id,
            Destination::Teams(d) => &d.id,
            Destination::Kafka(d) => &d.id,
        }
    }

    /// The channel whose templates the destination's subscriptions use.
    pub fn channel(&self) -> Channel {
        match self {
            Destination::Webhook(_) => Channel::Webhook,
            Destination::Email(_) => Channel::Email,
            Destination::Slack(_) => Channel::Slack,
            Destination::PagerDuty(_) => Channel::PagerDuty,
            Destination::Teams(_) => Channel::Teams,
            Destination::Kafka(_) => Channel::Kafka,
        }
    }

    /// Adds subscription `index` (as `config` writes it) with its attributes checked against
    /// this destination's channel; returns what is wrong with them, an attribute of another
    /// channel included.
    pub fn subscribe(&mut self, index: usize, config: &SubscriptionConfig) -> Problems {
        let mut problems = self.foreign_attributes(config);
        match self {
            Destination::Webhook(d) => {
                let attributes = webhook::config::attributes(config, &d.settings, &mut problems);
                d.add(index, config, attributes);
            }
            Destination::Email(d) => {
                let attributes = email::config::attributes(config, &mut problems);
                d.add(index, config, attributes);
            }
            Destination::Slack(d) => {
                let attributes = slack::config::attributes(config, &d.settings, &mut problems);
                d.add(index, config, attributes);
            }
            Destination::PagerDuty(d) => {
                let attributes = pagerduty::config::attributes(config, &mut problems);
                d.add(index, config, attributes);
            }
            Destination::Teams(d) => d.add(index, config, teams::Attributes),
            Destination::Kafka(d) => d.add(index, config, kafka::Attributes),
        }
        problems
    }

    /// The attributes `config` sets that belong to another channel than this destination's.
    fn foreign_attributes(&self, config: &SubscriptionConfig) -> Problems {
        let channel = self.channel();
        let tables = [
            (Channel::Webhook, webhook::config::ATTRIBUTES),
            (Channel::Email, email::config::ATTRIBUTES),
            (Channel::Slack, slack::config::ATTRIBUTES),
            (Channel::PagerDuty, pagerduty::config::ATTRIBUTES),
        ];
        let mut problems = Vec::new();
        for (of, table) in tables.into_iter().filter(|(of, _)| *of != channel) {
            for (field, is_set) in table {
                if is_set(config) {
                    let why = format!(
                        "is an attribute of {} subscriptions, but destination {:?} is a {} \
                         destination",
                        of.folder(),
                        config.destination,
                        channel.folder()
                    );
                    problems.push(((*field).to_owned(), why));
                }
            }
        }
        problems
    }
}

/// A channel's subscription attributes: each field's name, and whether a subscription sets it.
pub(super) type AttributeTable = &'static [(&'static str, fn(&SubscriptionConfig) -> bool)];
