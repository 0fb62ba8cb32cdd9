//! The channels: webhook, email and Slack, each in a folder of its own with its config,
//! settings, message, notifier, target and tests. A subscription compiled with its destination
//! is one [`Target`] whose variant is its channel; rendering it gives a [`Message`], which is
//! sent or previewed. Every notifier answers with the one contract of [`Delivered`] or a
//! [`DeliveryError`] whose kind says whether to retry.
//!
//! - `config`: [`SubscriptionConfig`] as topic files write it, and each [`Destination`]
//!   compiled with its subscriptions, whose attributes each channel's `config` checks.
//! - `target`: [`Target`], [`Message`] and the compiled [`Destinations`] they are built from.
//! - `outcome`: [`Delivered`], [`DeliveryError`] and [`classify`], the one place that maps an
//!   HTTP status to retry-or-not.
//! - [`http`]: the shared [`HttpClient`] with its SSRF guard, and reading answers.
//! - [`webhook`]: [`WebhookNotifier`], one HTTP attempt per call, signed as Standard Webhooks.
//! - [`email`]: [`EmailNotifier`], SMTP through a pooled lettre transport, recipients in batches.
//! - [`slack`]: [`SlackNotifier`], an incoming webhook or `chat.postMessage` per channel.
//! - [`pagerduty`]: [`PagerDutyNotifier`], Events API v2 events that trigger and resolve.
//! - [`teams`]: [`TeamsNotifier`], an Adaptive Card posted to a Workflows webhook.
//! - [`kafka`]: [`KafkaNotifier`], a record with CloudEvents headers on a Kafka topic.
//!
//! Channels make one attempt per call; how attempts are retried and admitted is the
//! dispatcher's, behind [`Attempts`].

mod config;
pub mod email;
pub mod http;
pub mod kafka;
mod outcome;
pub mod pagerduty;
pub mod slack;
mod target;
pub mod teams;
#[cfg(test)]
mod test_retries;
pub mod webhook;

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use serde_json::Value;

pub use config::{Destination, Problems, Subscribed, Subscription, SubscriptionConfig};
pub use email::{
    DEFAULT_BATCH_SIZE, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_CONNECTIONS, DEFAULT_SEND_TIMEOUT,
    EmailContent, EmailDestination, EmailMessage, EmailNotifier, EmailProgress, EmailSettings,
    MAX_BATCH_SIZE, SmtpConfig, StartTls,
};
pub use http::{
    ClientError, HttpClient, HttpOptions, NetworkPolicy, RateLimit, UrlRefused, redacted,
};
pub use kafka::{KafkaDestination, KafkaNotifier, KafkaSettings};
pub use outcome::{Delivered, DeliveryError, FailureKind, classify};
pub use pagerduty::{PagerDutyDestination, PagerDutyNotifier, PagerDutySettings};
pub use slack::{
    ChannelState, SlackConfig, SlackDestination, SlackNotifier, SlackProgress, SlackRequestPreview,
    SlackSettings, SlackTarget, apply_color,
};
pub use target::{Bound, Destinations, KeysError, Message, PreviewError, Target, TargetError};
pub use teams::{TeamsDestination, TeamsNotifier, TeamsSettings};
pub use webhook::{
    Signer, SigningConfig, USER_AGENT_VALUE, Verb, WebhookDestination, WebhookNotifier,
    WebhookSettings, generate_key_pair, generate_secret,
};

/// One attempt, or all the attempts, of a delivery.
pub type Attempt<'a> = Pin<Box<dyn Future<Output = Result<Delivered, DeliveryError>> + Send + 'a>>;

/// How the attempts of one delivery are made: the dispatcher retries them as the destination's
/// policy says and passes each through the destination's lane (queue slot, circuit breaker).
pub trait Attempts: Sync {
    /// Makes `attempt` until one succeeds or the attempts end; the result counts them.
    fn make<'a>(&'a self, attempt: &'a (dyn Fn() -> Attempt<'a> + Sync)) -> Attempt<'a>;
}

/// What the attempts of one delivery came to.
#[derive(Debug)]
pub struct Outcome {
    /// The last attempt's result; `attempts` counts the attempts made.
    pub result: Result<Delivered, DeliveryError>,
    /// The email recipients or Slack channels still waiting for it; `None` for a channel that
    /// has no such list (webhook, Slack incoming webhook).
    pub pending: Option<Vec<String>>,
    /// Email recipients or Slack channels refused for good, each with the server's answer.
    pub refused: Vec<(String, String)>,
}

/// What one delivery is, and to whom it still goes.
#[derive(Debug, Clone, Copy)]
pub struct Parcel<'a> {
    pub notification_id: &'a str,
    pub delivery_id: &'a str,
    /// Only these email recipients or Slack channels (those still waiting after an earlier
    /// attempt); `None` for all of the subscription's.
    pub pending: Option<&'a [String]>,
}

impl Outcome {
    fn untracked(result: Result<Delivered, DeliveryError>) -> Outcome {
        Outcome {
            result,
            pending: None,
            refused: Vec::new(),
        }
    }
}

/// The notification as the JSON body of a webhook without a template.
pub fn serialise(notification: &Value) -> Bytes {
    Bytes::from(serde_json::to_vec(notification).unwrap_or_default())
}

/// An event's notification as JSON, serialised once for all of its deliveries that send it as it
/// is (webhooks without a template), which then share one body. A cache: two are always equal.
#[derive(Debug, Clone, Default)]
pub struct SharedJson(std::sync::Arc<std::sync::OnceLock<Bytes>>);

impl SharedJson {
    /// The body, serialised from `notification` by the first delivery that asks; every
    /// delivery that shares this passes the same notification, its event's.
    pub fn body(&self, notification: &Value) -> Bytes {
        self.0.get_or_init(|| serialise(notification)).clone()
    }
}

impl PartialEq for SharedJson {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// A JSON body pretty-printed; anything else as text.
fn pretty_json(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{SharedJson, serialise};

    #[test]
    fn the_deliveries_of_an_event_share_one_serialised_body() {
        let notification = json!({"id": "n-1", "data": {"crn": "crn:v1:a"}});
        let json = SharedJson::default();
        let (first, second) = (json.body(&notification), json.clone().body(&notification));
        assert_eq!(first, serialise(&notification));
        assert_eq!(first.as_ptr(), second.as_ptr(), "one buffer, not a copy");
        let other = SharedJson::default().body(&notification);
        assert_ne!(first.as_ptr(), other.as_ptr(), "another event's is its own");
    }
}
