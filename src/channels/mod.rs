//! The channels: webhook, email and Slack, each in a folder of its own with its settings,
//! message, notifier and tests, behind one enum dispatch ([`Notifier`]); what one delivery
//! sends, rendered per channel ([`Rendered`]); and the one contract every notifier answers
//! with ([`Delivered`] or a [`DeliveryError`] whose kind says whether to retry).
//!
//! - `outcome`: [`Delivered`], [`DeliveryError`] and [`classify`], the one place that maps an
//!   HTTP status to retry-or-not.
//! - [`http`]: the shared [`HttpClient`] with its SSRF guard, and reading answers.
//! - [`webhook`]: [`WebhookNotifier`], one HTTP attempt per call, signed as Standard Webhooks.
//! - [`email`]: [`EmailNotifier`], SMTP through a pooled lettre transport, recipients in batches.
//! - [`slack`]: [`SlackNotifier`], an incoming webhook or `chat.postMessage` per channel.

pub mod email;
pub mod http;
mod outcome;
pub mod slack;
pub mod webhook;

use std::future::Future;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use bytes::Bytes;
use serde_json::Value;

pub use email::{
    DEFAULT_BATCH_SIZE, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_CONNECTIONS, DEFAULT_SEND_TIMEOUT,
    EmailContent, EmailMessage, EmailNotifier, EmailProgress, EmailSettings, MAX_BATCH_SIZE,
    StartTls,
};
pub use http::{HttpClient, HttpOptions, NetworkPolicy, redacted};
pub use outcome::{Delivered, DeliveryError, FailureKind, classify};
pub use slack::{
    ChannelState, SlackNotifier, SlackProgress, SlackRequestPreview, SlackSettings, SlackTarget,
    apply_color,
};
pub use webhook::{
    Signer, USER_AGENT_VALUE, Verb, WebhookNotifier, WebhookSettings, generate_key_pair,
    generate_secret,
};

use crate::dispatch::lanes::{Admission, Lane};
use crate::dispatch::{RetryPolicy, deliver_with_retries};
use crate::render::{self, RenderError, Templates};
use crate::routing::{
    ChannelAttributes, Destination, DestinationKind, EmailAttributes, Subscription,
};

/// A notification rendered for one subscription.
#[derive(Debug, Clone)]
pub enum Rendered {
    /// The request body.
    Webhook(Bytes),
    Email(EmailContent),
    /// The Slack message, within Slack's limits and coloured as the subscription asks.
    Slack(Value),
}

/// Renders `notification` for `subscription`: its template, or the channel's default.
pub fn render(
    templates: &Templates,
    subscription: &Subscription,
    notification: &Value,
) -> Result<Rendered, RenderError> {
    let template = subscription.template.as_deref();
    match &subscription.channel {
        ChannelAttributes::Webhook(_) => {
            let body = match template {
                Some(name) => Bytes::from(templates.render_webhook(name, notification)?),
                None => serialise(notification),
            };
            Ok(Rendered::Webhook(body))
        }
        ChannelAttributes::Email(attributes) => {
            let mut content = match template {
                Some(stem) => templates.render_email(stem, notification)?,
                None => render::default_email(notification),
            };
            if attributes.add_notification_payload {
                render::payload_appendix(&mut content, notification);
            }
            Ok(Rendered::Email(content))
        }
        ChannelAttributes::Slack(attributes) => {
            let mut message = match template {
                Some(name) => templates.render_slack(name, notification)?,
                None => render::default_slack(notification),
            };
            if let Some(color) = &attributes.attachment_color {
                message = apply_color(message, color);
            }
            // Slack's limits are applied by the notifier, on what it sends.
            Ok(Rendered::Slack(message))
        }
    }
}

/// The notifier of one destination; cheap to clone.
#[derive(Debug, Clone)]
pub enum Notifier {
    Webhook(WebhookNotifier),
    Email(EmailNotifier),
    Slack(SlackNotifier),
}

/// What the attempts of one delivery came to.
#[derive(Debug)]
pub struct Outcome {
    /// The last attempt's result; `attempts` counts only attempts made.
    pub result: Result<Delivered, DeliveryError>,
    /// Set when the destination's circuit was open: the last attempt was not made, and the
    /// next probe may go at this time.
    pub deferred_until: Option<Instant>,
    /// The email recipients or Slack channels still waiting for it; `None` for a channel that
    /// has no such list (webhook, Slack incoming webhook).
    pub pending: Option<Vec<String>>,
    /// Email recipients or Slack channels refused for good, each with the server's answer.
    pub refused: Vec<(String, String)>,
}

/// What one delivery is to send, and to whom.
#[derive(Debug, Clone, Copy)]
pub struct Parcel<'a> {
    pub notification_id: &'a str,
    pub delivery_id: &'a str,
    pub rendered: &'a Rendered,
    /// Only these email recipients or Slack channels (those still waiting after an earlier
    /// attempt); `None` for all of the subscription's.
    pub pending: Option<&'a [String]>,
}

impl Notifier {
    /// The notifier for `destination`; `client` is the shared HTTP client.
    pub fn new(destination: &Destination, client: &HttpClient) -> Result<Notifier, String> {
        Ok(match &destination.kind {
            DestinationKind::Webhook(settings) => {
                Notifier::Webhook(WebhookNotifier::new(client.clone(), settings.clone()))
            }
            DestinationKind::Email(settings) => Notifier::Email(
                EmailNotifier::new(settings.clone())
                    .map_err(|e| format!("destination {:?}: {e}", destination.id))?,
            ),
            DestinationKind::Slack(settings) => {
                Notifier::Slack(SlackNotifier::new(client.clone(), settings.clone()))
            }
        })
    }

    /// Sends `parcel` to the destination, retrying in process as `policy` says. Every attempt
    /// carries the same `delivery_id`, asks `lane` first (circuit breaker) and holds one of its
    /// slots; email recipients and Slack channels that already have it are not sent to again.
    pub async fn deliver(
        &self,
        subscription: &Subscription,
        parcel: Parcel<'_>,
        policy: &RetryPolicy,
        lane: &Lane,
    ) -> Outcome {
        let deferred = Mutex::new(None);
        let gate = Gate {
            lane,
            deferred: &deferred,
        };
        let mut outcome = match (self, parcel.rendered, &subscription.channel) {
            (
                Notifier::Webhook(notifier),
                Rendered::Webhook(body),
                ChannelAttributes::Webhook(attributes),
            ) => {
                let sign = attributes.signing_enabled;
                let result = deliver_with_retries(policy, |_| {
                    gate.attempt(notifier.send(parcel.delivery_id, body.clone(), sign))
                })
                .await;
                Outcome::untracked(result)
            }
            (
                Notifier::Email(notifier),
                Rendered::Email(content),
                ChannelAttributes::Email(attributes),
            ) => {
                let recipients: Vec<_> = attributes
                    .recipients
                    .iter()
                    .filter(|a| parcel.pending.is_none_or(|p| p.contains(&a.to_string())))
                    .cloned()
                    .collect();
                if recipients.is_empty() {
                    return Outcome::untracked(Err(DeliveryError::permanent(
                        "none of the recipients still waiting is in the subscription any more",
                    )));
                }
                let message = email_message(
                    attributes,
                    &recipients,
                    parcel.notification_id,
                    parcel.delivery_id,
                    content,
                );
                let progress = EmailProgress::new(&recipients);
                let result = deliver_with_retries(policy, |_| {
                    gate.attempt(notifier.send(&message, &progress))
                })
                .await;
                Outcome {
                    result,
                    deferred_until: None,
                    pending: Some(progress.pending().iter().map(ToString::to_string).collect()),
                    refused: progress
                        .rejected()
                        .into_iter()
                        .map(|(address, reply)| (address.to_string(), reply))
                        .collect(),
                }
            }
            (
                Notifier::Slack(notifier),
                Rendered::Slack(message),
                ChannelAttributes::Slack(attributes),
            ) => {
                let channels: Vec<String> = attributes
                    .channels
                    .iter()
                    .filter(|c| parcel.pending.is_none_or(|p| p.contains(c)))
                    .cloned()
                    .collect();
                if !attributes.channels.is_empty() && channels.is_empty() {
                    return Outcome::untracked(Err(DeliveryError::permanent(
                        "none of the channels still waiting is in the subscription any more",
                    )));
                }
                let progress = SlackProgress::new();
                let result = deliver_with_retries(policy, |_| {
                    gate.attempt(notifier.send(message, &channels, &progress))
                })
                .await;
                let waiting = channels
                    .iter()
                    .filter(|c| {
                        progress
                            .state(c)
                            .is_none_or(|state| state == ChannelState::Pending)
                    })
                    .cloned()
                    .collect();
                Outcome {
                    result,
                    deferred_until: None,
                    pending: (!channels.is_empty()).then_some(waiting),
                    refused: progress.rejected(),
                }
            }
            _ => Outcome::untracked(Err(DeliveryError::permanent(format!(
                "subscription {:?} does not match the channel of its destination",
                subscription.name
            )))),
        };
        outcome.deferred_until = *deferred.lock().unwrap_or_else(PoisonError::into_inner);
        if outcome.deferred_until.is_some()
            && let Err(error) = &mut outcome.result
        {
            // The refused "attempt" was never made.
            error.attempts = error.attempts.saturating_sub(1);
        }
        outcome
    }

    /// What [`deliver`](Self::deliver) would send, as text for a person: the request or message
    /// with its headers, secrets hidden. No network.
    pub fn preview(
        &self,
        subscription: &Subscription,
        notification_id: &str,
        delivery_id: &str,
        rendered: &Rendered,
    ) -> Result<String, String> {
        let mut out = String::new();
        match (self, rendered, &subscription.channel) {
            (
                Notifier::Webhook(notifier),
                Rendered::Webhook(body),
                ChannelAttributes::Webhook(attributes),
            ) => {
                let (method, url, headers) =
                    notifier.preview(delivery_id, attributes.signing_enabled);
                out.push_str(&format!("{method} {url}\n"));
                for (name, value) in headers {
                    out.push_str(&format!("{name}: {value}\n"));
                }
                out.push('\n');
                out.push_str(&pretty_json(body));
            }
            (
                Notifier::Email(notifier),
                Rendered::Email(content),
                ChannelAttributes::Email(attributes),
            ) => {
                let message = email_message(
                    attributes,
                    &attributes.recipients,
                    notification_id,
                    delivery_id,
                    content,
                );
                let batch = notifier.settings().batch_size.max(1);
                let recipients: Vec<String> = attributes
                    .recipients
                    .iter()
                    .map(ToString::to_string)
                    .collect();
                out.push_str(&format!(
                    "SMTP {} to {} recipient(s) in {} batch(es) of at most {batch}, each as below \
                     (recipients in the envelope only): {}\n\n",
                    redacted(&notifier.settings().url),
                    recipients.len(),
                    recipients.len().div_ceil(batch),
                    recipients.join(", ")
                ));
                let raw = notifier.format(&message).map_err(|e| e.to_string())?;
                out.push_str(&String::from_utf8_lossy(&raw));
            }
            (
                Notifier::Slack(notifier),
                Rendered::Slack(message),
                ChannelAttributes::Slack(attributes),
            ) => {
                for request in notifier.preview(message, &attributes.channels)? {
                    out.push_str(&format!("{} {}\n", request.method, request.url));
                    for (name, value) in &request.headers {
                        out.push_str(&format!("{name}: {value}\n"));
                    }
                    out.push('\n');
                    out.push_str(&serde_json::to_string_pretty(&request.body).unwrap_or_default());
                    out.push_str("\n\n");
                }
            }
            _ => {
                return Err(format!(
                    "subscription {:?} does not match its destination's channel",
                    subscription.name
                ));
            }
        }
        if !out.ends_with('\n') {
            out.push('\n');
        }
        Ok(out)
    }
}

/// The email of one delivery, to the subscription's recipients with its sender overrides.
fn email_message<'a>(
    attributes: &'a EmailAttributes,
    recipients: &'a [lettre::Address],
    notification_id: &'a str,
    delivery_id: &'a str,
    content: &'a EmailContent,
) -> EmailMessage<'a> {
    EmailMessage {
        delivery_id,
        notification_id,
        recipients,
        from_name: attributes.from_name.as_deref(),
        reply_to: attributes.reply_to.clone(),
        content,
    }
}

impl Outcome {
    fn untracked(result: Result<Delivered, DeliveryError>) -> Outcome {
        Outcome {
            result,
            deferred_until: None,
            pending: None,
            refused: Vec::new(),
        }
    }
}

/// Asks the lane before each attempt and tells it how the attempt went.
struct Gate<'a> {
    lane: &'a Lane,
    /// Set when the circuit refused an attempt.
    deferred: &'a Mutex<Option<Instant>>,
}

impl Gate<'_> {
    async fn attempt(
        &self,
        send: impl Future<Output = Result<Delivered, DeliveryError>>,
    ) -> Result<Delivered, DeliveryError> {
        // The breaker is asked once a slot is held, so attempts queued for the slot while the
        // circuit opened are refused too.
        let _slot = self.lane.slot().await;
        if let Admission::Refused { until } = self.lane.admit() {
            *self.deferred.lock().unwrap_or_else(PoisonError::into_inner) = Some(until);
            // Permanent, so that the in-process retries end here; the caller reads `deferred`.
            return Err(DeliveryError::permanent(format!(
                "the circuit of destination {:?} is open",
                self.lane.destination()
            )));
        }
        let started = Instant::now();
        let result = send.await;
        crate::telemetry::metrics::global().request(self.lane.destination(), started.elapsed());
        match &result {
            Err(error) if error.is_retryable() => self.lane.failed(&error.message),
            _ => self.lane.answered(),
        }
        result
    }
}

/// The notification as the JSON body of a webhook without a template.
pub fn serialise(notification: &Value) -> Bytes {
    Bytes::from(serde_json::to_vec(notification).unwrap_or_default())
}

/// A JSON body pretty-printed; anything else as text.
fn pretty_json(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned())
}
