//! One subscription bound to its destination's notifier ([`Target`]), what it is to send
//! ([`Message`]), and the compiled [`Destinations`] they are built from.

use std::sync::Arc;

use serde_json::Value;

use super::config::{Destination, Subscribed, Subscription};
use super::{
    Attempts, EmailNotifier, HttpClient, KafkaNotifier, Outcome, PagerDutyNotifier, Parcel,
    SharedJson, SlackNotifier, TeamsNotifier, WebhookNotifier, email, kafka, pagerduty, slack,
    teams, webhook,
};
use crate::render::{RenderError, Templates};

/// A subscription with its destination's notifier; its type is its channel, so its attributes,
/// its rendering and its notifier always agree. Cheap to clone.
#[derive(Debug, Clone)]
pub enum Target {
    Webhook(webhook::Target),
    Email(email::Target),
    Slack(slack::Target),
    PagerDuty(pagerduty::Target),
    Teams(teams::Target),
    Kafka(kafka::Target),
}

/// A notifier with one subscription's attributes and template.
#[derive(Debug, Clone)]
pub struct Bound<N, A> {
    pub notifier: N,
    pub subscription: Arc<Subscription<A>>,
}

/// A notification rendered for one target, with it: what a delivery sends.
#[derive(Debug, Clone)]
pub enum Message {
    Webhook(webhook::Message),
    Email(email::Message),
    Slack(slack::Message),
    PagerDuty(pagerduty::Message),
    Teams(teams::Message),
    Kafka(kafka::Message),
}

impl Target {
    /// Renders `notification` with the subscription's template, or the channel's default.
    pub fn render(
        &self,
        templates: &Templates,
        notification: &Value,
    ) -> Result<Message, RenderError> {
        self.render_shared(templates, notification, &SharedJson::default())
    }

    /// As [`Target::render`], a body without a template taken from (or serialised into) the
    /// event's `json`, which its other deliveries share.
    pub fn render_shared(
        &self,
        templates: &Templates,
        notification: &Value,
        json: &SharedJson,
    ) -> Result<Message, RenderError> {
        Ok(match self {
            Target::Webhook(target) => {
                Message::Webhook(target.render(templates, notification, json)?)
            }
            Target::Email(target) => Message::Email(target.render(templates, notification)?),
            Target::Slack(target) => Message::Slack(target.render(templates, notification)?),
            Target::PagerDuty(target) => {
                Message::PagerDuty(target.render(templates, notification)?)
            }
            Target::Teams(target) => Message::Teams(target.render(templates, notification)?),
            Target::Kafka(target) => Message::Kafka(target.render(templates, notification)?),
        })
    }

    /// Renders a digest's `context` (`notifications`, `group`, `count`) with the subscription's
    /// template, or the channel's default digest. Only webhook, email and Slack send digests.
    pub fn render_digest(
        &self,
        templates: &Templates,
        context: &Value,
    ) -> Result<Message, RenderError> {
        Ok(match self {
            Target::Webhook(target) => Message::Webhook(target.render_digest(templates, context)?),
            Target::Email(target) => Message::Email(target.render_digest(templates, context)?),
            Target::Slack(target) => Message::Slack(target.render_digest(templates, context)?),
            Target::PagerDuty(_) | Target::Teams(_) | Target::Kafka(_) => {
                return Err(RenderError::InvalidMessage {
                    name: "(digest)".to_owned(),
                    message: "only webhook, email and slack destinations send digests".to_owned(),
                });
            }
        })
    }

    /// The subscription's name.
    pub fn name(&self) -> &str {
        match self {
            Target::Webhook(target) => &target.subscription.name,
            Target::Email(target) => &target.subscription.name,
            Target::Slack(target) => &target.subscription.name,
            Target::PagerDuty(target) => &target.subscription.name,
            Target::Teams(target) => &target.subscription.name,
            Target::Kafka(target) => &target.subscription.name,
        }
    }
}

impl Message {
    /// Sends it, each attempt through `attempts` (the dispatcher's retries and lane); email
    /// recipients and Slack channels not in `parcel.pending` are not sent to again.
    pub async fn deliver(&self, parcel: Parcel<'_>, attempts: &impl Attempts) -> Outcome {
        match self {
            Message::Webhook(message) => message.deliver(parcel, attempts).await,
            Message::Email(message) => message.deliver(parcel, attempts).await,
            Message::Slack(message) => message.deliver(parcel, attempts).await,
            Message::PagerDuty(message) => message.deliver(parcel, attempts).await,
            Message::Teams(message) => message.deliver(parcel, attempts).await,
            Message::Kafka(message) => message.deliver(parcel, attempts).await,
        }
    }

    /// What [`deliver`](Self::deliver) would send, as text for a person: the request or message
    /// with its headers, secrets hidden. No network.
    pub fn preview(
        &self,
        notification_id: &str,
        delivery_id: &str,
    ) -> Result<String, PreviewError> {
        let mut out = match self {
            Message::Webhook(message) => message.preview(delivery_id),
            Message::Email(message) => message.preview(notification_id, delivery_id)?,
            Message::Slack(message) => message.preview()?,
            Message::PagerDuty(message) => message.preview(),
            Message::Teams(message) => message.preview(),
            Message::Kafka(message) => message.preview(delivery_id),
        };
        if !out.ends_with('\n') {
            out.push('\n');
        }
        Ok(out)
    }
}

/// Why a message cannot be shown as it would be sent.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PreviewError {
    #[error(transparent)]
    Email(#[from] super::DeliveryError),
    #[error(transparent)]
    Slack(#[from] slack::PrepareError),
}

/// Why the target of a destination cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// An email destination's notifier (its TLS setup, say).
    #[error("destination {id:?}: {error}")]
    Email {
        id: String,
        error: email::NotifierError,
    },
    /// A test with nobody to send it to: [`Destination::nobody_to_test`]'s reason.
    #[error("{0}")]
    NobodyToTest(String),
}

/// Why a destination has no public keys to show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeysError {
    #[error("unknown destination {id:?}; valid: {valid}")]
    Unknown { id: String, valid: String },
    #[error("destination {0:?} is not a webhook destination: only webhooks are signed")]
    NotWebhook(String),
    #[error(transparent)]
    NoKeys(#[from] webhook::NoSigningKeys),
}

/// The destinations of a configuration, in the routing table's order, each with its
/// subscriptions.
#[derive(Debug, Clone, Default)]
pub struct Destinations {
    destinations: Vec<Destination>,
    /// How many subscriptions the routing table has.
    subscriptions: usize,
}

impl Destinations {
    /// `destinations` in the routing table's order; every one of the table's `subscriptions`
    /// subscribes to one of them.
    pub fn new(destinations: Vec<Destination>, subscriptions: usize) -> Destinations {
        Destinations {
            destinations,
            subscriptions,
        }
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Destination> {
        self.destinations.iter()
    }

    pub fn get(&self, index: usize) -> &Destination {
        &self.destinations[index]
    }

    /// The destination with id `id`.
    pub fn find(&self, id: &str) -> Option<&Destination> {
        self.destinations.iter().find(|d| d.id() == id)
    }

    /// The target of every subscription, by its index in the routing table: one notifier per
    /// destination, shared by its subscriptions. Fails when a notifier cannot be built (an
    /// email destination's TLS setup, say).
    pub fn targets(&self, client: &HttpClient) -> Result<Vec<Target>, TargetError> {
        let mut targets: Vec<Option<Target>> = vec![None; self.subscriptions];
        for destination in &self.destinations {
            for (index, target) in destination.targets(client)? {
                targets[index] = Some(target);
            }
        }
        Ok(targets
            .into_iter()
            .map(|t| t.expect("every subscription of the table subscribes to a destination"))
            .collect())
    }

    /// The target of subscription `index` of the routing table alone.
    pub fn target(&self, index: usize, client: &HttpClient) -> Result<Option<Target>, TargetError> {
        for destination in &self.destinations {
            if destination.subscribes(index) {
                let targets = destination.targets(client)?;
                return Ok(targets
                    .into_iter()
                    .find(|(i, _)| *i == index)
                    .map(|(_, t)| t));
            }
        }
        Ok(None)
    }

    /// The `whpk_` public keys of destination `id`, or why it has none.
    pub fn public_keys(&self, id: &str) -> Result<Vec<String>, KeysError> {
        match self.find(id) {
            None => {
                let ids: Vec<&str> = self.destinations.iter().map(Destination::id).collect();
                Err(KeysError::Unknown {
                    id: id.to_owned(),
                    valid: ids.join(", "),
                })
            }
            Some(Destination::Webhook(webhook)) => Ok(webhook::public_keys(id, &webhook.settings)?),
            Some(_) => Err(KeysError::NotWebhook(id.to_owned())),
        }
    }
}

impl Destination {
    /// Whether subscription `index` of the routing table is one of its subscriptions.
    fn subscribes(&self, index: usize) -> bool {
        self.template_of(index).is_some()
    }

    /// The template of its subscription `index` (of the routing table), if it has one.
    pub fn template(&self, index: usize) -> Option<&str> {
        self.template_of(index).flatten()
    }

    /// `None` when subscription `index` is not one of its subscriptions, else its template.
    fn template_of(&self, index: usize) -> Option<Option<&str>> {
        fn find<A>(subscriptions: &[Arc<Subscription<A>>], index: usize) -> Option<Option<&str>> {
            subscriptions
                .iter()
                .find(|s| s.index == index)
                .map(|s| s.template.as_deref())
        }
        match self {
            Destination::Webhook(d) => find(&d.subscriptions, index),
            Destination::Email(d) => find(&d.subscriptions, index),
            Destination::Slack(d) => find(&d.subscriptions, index),
            Destination::PagerDuty(d) => find(&d.subscriptions, index),
            Destination::Teams(d) => find(&d.subscriptions, index),
            Destination::Kafka(d) => find(&d.subscriptions, index),
        }
    }

    /// Its notifier, bound to each of its subscriptions.
    fn targets(&self, client: &HttpClient) -> Result<Vec<(usize, Target)>, TargetError> {
        Ok(match self {
            Destination::Webhook(d) => bind(d, webhook_notifier(d, client), Target::Webhook),
            Destination::Email(d) => bind(d, email_notifier(d)?, Target::Email),
            Destination::Slack(d) => bind(d, slack_notifier(d, client), Target::Slack),
            Destination::PagerDuty(d) => bind(d, pagerduty_notifier(d, client), Target::PagerDuty),
            Destination::Teams(d) => bind(d, teams_notifier(d, client), Target::Teams),
            Destination::Kafka(d) => bind(d, kafka_notifier(d), Target::Kafka),
        })
    }

    /// What its subscription `index` would do with `notification` beyond sending it, for
    /// `explain`: a PagerDuty event's action and `dedup_key`; `None` for other channels.
    pub fn explain(&self, index: usize, notification: &Value) -> Option<String> {
        match self {
            Destination::PagerDuty(d) => d
                .subscriptions
                .iter()
                .find(|s| s.index == index)
                .map(|s| pagerduty::explain(&s.attributes, notification)),
            _ => None,
        }
    }

    /// Why a test could not be sent to anybody: an email destination none of whose
    /// subscriptions names recipients.
    pub fn nobody_to_test(&self) -> Option<String> {
        match self {
            Destination::Email(d)
                if d.subscriptions
                    .iter()
                    .all(|s| s.attributes.recipients.is_empty()) =>
            {
                Some(format!(
                    "no subscription of email destination {:?} names recipients to send a test to",
                    d.id
                ))
            }
            _ => None,
        }
    }

    /// The target a destination test is sent to: no template, the channel's default
    /// attributes, and the recipients (email) or channels (Slack) of all its subscriptions.
    pub fn test_target(&self, client: &HttpClient) -> Result<Target, TargetError> {
        if let Some(why) = self.nobody_to_test() {
            return Err(TargetError::NobodyToTest(why));
        }
        let id = self.id();
        fn subscription<A>(id: &str, attributes: A) -> Arc<Subscription<A>> {
            Arc::new(Subscription {
                index: usize::MAX,
                name: format!("{id}/test"),
                template: None,
                attributes,
            })
        }
        Ok(match self {
            Destination::Webhook(d) => Target::Webhook(Bound {
                notifier: webhook_notifier(d, client),
                subscription: subscription(
                    id,
                    webhook::Attributes {
                        signing_enabled: !d.settings.signer.is_empty(),
                    },
                ),
            }),
            Destination::Email(d) => Target::Email(Bound {
                notifier: email_notifier(d)?,
                subscription: subscription(
                    id,
                    email::Attributes {
                        recipients: distinct(
                            d.subscriptions.iter().map(|s| &s.attributes.recipients),
                        ),
                        add_notification_payload: true,
                        reply_to: None,
                        from_name: None,
                    },
                ),
            }),
            Destination::Slack(d) => Target::Slack(Bound {
                notifier: slack_notifier(d, client),
                subscription: subscription(
                    id,
                    slack::Attributes {
                        channels: distinct(d.subscriptions.iter().map(|s| &s.attributes.channels)),
                        attachment_color: None,
                    },
                ),
            }),
            Destination::PagerDuty(d) => Target::PagerDuty(Bound {
                notifier: pagerduty_notifier(d, client),
                subscription: subscription(
                    id,
                    pagerduty::Attributes {
                        dedup_key: None,
                        severity: pagerduty::SeverityMap::default(),
                        resolve_on: pagerduty::default_resolve_on(),
                    },
                ),
            }),
            Destination::Teams(d) => Target::Teams(Bound {
                notifier: teams_notifier(d, client),
                subscription: subscription(id, teams::Attributes),
            }),
            Destination::Kafka(d) => Target::Kafka(Bound {
                notifier: kafka_notifier(d),
                subscription: subscription(id, kafka::Attributes),
            }),
        })
    }
}

fn webhook_notifier(
    d: &Subscribed<super::WebhookSettings, webhook::Attributes>,
    client: &HttpClient,
) -> WebhookNotifier {
    WebhookNotifier::new(client.clone(), d.settings.clone())
}

fn email_notifier(
    d: &Subscribed<super::EmailSettings, email::Attributes>,
) -> Result<EmailNotifier, TargetError> {
    EmailNotifier::new(d.settings.clone()).map_err(|error| TargetError::Email {
        id: d.id.clone(),
        error,
    })
}

fn slack_notifier(
    d: &Subscribed<super::SlackSettings, slack::Attributes>,
    client: &HttpClient,
) -> SlackNotifier {
    SlackNotifier::new(client.clone(), d.settings.clone())
}

fn pagerduty_notifier(
    d: &Subscribed<super::PagerDutySettings, pagerduty::Attributes>,
    client: &HttpClient,
) -> PagerDutyNotifier {
    PagerDutyNotifier::new(client.clone(), d.settings.clone())
}

fn teams_notifier(
    d: &Subscribed<super::TeamsSettings, teams::Attributes>,
    client: &HttpClient,
) -> TeamsNotifier {
    TeamsNotifier::new(client.clone(), d.settings.clone())
}

fn kafka_notifier(d: &Subscribed<super::KafkaSettings, kafka::Attributes>) -> KafkaNotifier {
    KafkaNotifier::new(d.settings.clone())
}

/// `notifier` bound to each subscription of `destination`, by the subscription's index.
fn bind<S, N: Clone, A>(
    destination: &Subscribed<S, A>,
    notifier: N,
    variant: fn(Bound<N, A>) -> Target,
) -> Vec<(usize, Target)> {
    destination
        .subscriptions
        .iter()
        .map(|subscription| {
            let bound = Bound {
                notifier: notifier.clone(),
                subscription: subscription.clone(),
            };
            (subscription.index, variant(bound))
        })
        .collect()
}

/// The items of every list, in order, each once.
fn distinct<'a, T: Clone + PartialEq + 'a>(lists: impl Iterator<Item = &'a Vec<T>>) -> Vec<T> {
    let mut all: Vec<T> = Vec::new();
    for item in lists.flatten() {
        if !all.contains(item) {
            all.push(item.clone());
        }
    }
    all
}
