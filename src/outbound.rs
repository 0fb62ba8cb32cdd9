//! What one delivery sends, per channel: rendering a notification for a subscription, and the
//! destination's notifier that sends it with in-process retries.

use std::sync::Arc;

use bytes::Bytes;
use serde_json::Value;
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::deliver::{
    Delivered, DeliveryError, EmailMessage, EmailNotifier, EmailProgress, SlackNotifier,
    SlackProgress, WebhookNotifier, apply_color, deliver_with_retries,
};
use crate::render::{self, EmailContent, RenderError, Templates};
use crate::routing::{ChannelAttributes, Destination, DestinationKind, Subscription};

/// A notification rendered for one subscription.
#[derive(Debug, Clone)]
pub enum Rendered {
    /// The request body.
    Webhook(Bytes),
    Email(EmailContent),
    /// The Slack message, within Slack's limits and coloured as the subscription asks.
    Slack(Value),
}

/// The notification as compact JSON: the default webhook body and the value of a delivery's
/// dead letter. Written straight into bytes: `Value`'s `Display` goes through the formatting
/// machinery one piece at a time and costs twice as many instructions.
pub fn serialise(notification: &Value) -> Bytes {
    Bytes::from(serde_json::to_vec(notification).expect("a JSON value always serialises"))
}

/// Renders `notification` for `subscription`: its template, or the channel's default.
pub fn render(
    templates: &Templates,
    subscription: &Subscription,
    notification: &Value,
) -> Result<Rendered, RenderError> {
    render_inner(templates, subscription, notification, None)
}

/// [`render`] for a notification already serialised as `json` (its compact JSON), which a
/// webhook without a template sends as is: one serialisation per event, not per delivery.
pub fn render_serialised(
    templates: &Templates,
    subscription: &Subscription,
    notification: &Value,
    json: &Bytes,
) -> Result<Rendered, RenderError> {
    render_inner(templates, subscription, notification, Some(json))
}

fn render_inner(
    templates: &Templates,
    subscription: &Subscription,
    notification: &Value,
    json: Option<&Bytes>,
) -> Result<Rendered, RenderError> {
    let template = subscription.template.as_deref();
    match &subscription.channel {
        ChannelAttributes::Webhook => {
            let body = match (template, json) {
                (Some(name), _) => Bytes::from(templates.render_webhook(name, notification)?),
                (None, Some(json)) => json.clone(),
                (None, None) => serialise(notification),
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

/// HTTP requests (webhook, Slack) one destination has open at once; more wait for a free slot.
/// Without a cap, 1,000 records in flight that each fan out to 100 subscriptions of one
/// destination open 100,000 connections to it. Email has its SMTP pool's own cap.
pub const MAX_REQUESTS_PER_DESTINATION: usize = 256;

/// The notifier of one destination; cheap to clone.
#[derive(Debug, Clone)]
pub struct Notifier {
    channel: ChannelNotifier,
    /// [`MAX_REQUESTS_PER_DESTINATION`] permits, shared by the clones.
    requests: Arc<Semaphore>,
}

/// The channel-specific half of a [`Notifier`].
#[derive(Debug, Clone)]
enum ChannelNotifier {
    Webhook(WebhookNotifier),
    Email(EmailNotifier),
    Slack(SlackNotifier),
}

/// A delivery the destination accepted, maybe not for every recipient.
#[derive(Debug, Clone)]
pub struct Sent {
    pub delivered: Delivered,
    /// Email recipients or Slack channels refused for good, each with the server's answer.
    pub rejected: Vec<(String, String)>,
}

impl Notifier {
    /// The notifier for `destination`; `client` is the shared HTTP client.
    pub fn new(destination: &Destination, client: &reqwest::Client) -> Result<Notifier, String> {
        let channel = match &destination.kind {
            DestinationKind::Webhook(settings) => {
                ChannelNotifier::Webhook(WebhookNotifier::new(client.clone(), settings.clone()))
            }
            DestinationKind::Email(settings) => ChannelNotifier::Email(
                EmailNotifier::new(settings.clone())
                    .map_err(|e| format!("destination {:?}: {e}", destination.id))?,
            ),
            DestinationKind::Slack(settings) => {
                ChannelNotifier::Slack(SlackNotifier::new(client.clone(), settings.clone()))
            }
        };
        Ok(Notifier {
            channel,
            requests: Arc::new(Semaphore::new(MAX_REQUESTS_PER_DESTINATION)),
        })
    }

    /// A request slot of this destination, held for one attempt.
    async fn request_slot(&self) -> Option<SemaphorePermit<'_>> {
        // The semaphore is never closed.
        self.requests.acquire().await.ok()
    }

    /// Sends `rendered` to the destination with its retry policy. Every attempt carries the same
    /// `delivery_id`; email recipients and Slack channels that already have it are not sent to
    /// again on a retry.
    pub async fn deliver(
        &self,
        destination: &Destination,
        subscription: &Subscription,
        notification_id: &str,
        delivery_id: &str,
        rendered: &Rendered,
    ) -> Result<Sent, DeliveryError> {
        let policy = &destination.retry;
        match (&self.channel, rendered, &subscription.channel) {
            (
                ChannelNotifier::Webhook(notifier),
                Rendered::Webhook(body),
                ChannelAttributes::Webhook,
            ) => {
                let delivered = deliver_with_retries(policy, |_| async {
                    let _slot = self.request_slot().await;
                    notifier.send(delivery_id, body.clone()).await
                })
                .await?;
                Ok(Sent {
                    delivered,
                    rejected: Vec::new(),
                })
            }
            (
                ChannelNotifier::Email(notifier),
                Rendered::Email(content),
                ChannelAttributes::Email(attributes),
            ) => {
                let message = EmailMessage {
                    delivery_id,
                    notification_id,
                    recipients: &attributes.recipients,
                    from_name: attributes.from_name.as_deref(),
                    reply_to: attributes.reply_to.clone(),
                    content,
                };
                let progress = EmailProgress::new(&attributes.recipients);
                let delivered =
                    deliver_with_retries(policy, |_| notifier.send(&message, &progress)).await?;
                let rejected = progress
                    .rejected()
                    .into_iter()
                    .map(|(address, reply)| (address.to_string(), reply))
                    .collect();
                Ok(Sent {
                    delivered,
                    rejected,
                })
            }
            (
                ChannelNotifier::Slack(notifier),
                Rendered::Slack(message),
                ChannelAttributes::Slack(attributes),
            ) => {
                let progress = SlackProgress::new();
                let delivered = deliver_with_retries(policy, |_| async {
                    let _slot = self.request_slot().await;
                    notifier
                        .send(message, &attributes.channels, &progress)
                        .await
                })
                .await?;
                Ok(Sent {
                    delivered,
                    rejected: progress.rejected(),
                })
            }
            _ => Err(DeliveryError::permanent(format!(
                "subscription {:?} does not match the channel of destination {:?}",
                subscription.name, destination.id
            ))),
        }
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
        match (&self.channel, rendered, &subscription.channel) {
            (ChannelNotifier::Webhook(notifier), Rendered::Webhook(body), _) => {
                let (method, url, headers) = notifier.preview(delivery_id);
                out.push_str(&format!("{method} {url}\n"));
                for (name, value) in headers {
                    out.push_str(&format!("{name}: {value}\n"));
                }
                out.push('\n');
                out.push_str(&pretty_json(body));
            }
            (
                ChannelNotifier::Email(notifier),
                Rendered::Email(content),
                ChannelAttributes::Email(attributes),
            ) => {
                let message = EmailMessage {
                    delivery_id,
                    notification_id,
                    recipients: &attributes.recipients,
                    from_name: attributes.from_name.as_deref(),
                    reply_to: attributes.reply_to.clone(),
                    content,
                };
                let batch = notifier.settings().batch_size.max(1);
                let recipients: Vec<String> = attributes
                    .recipients
                    .iter()
                    .map(ToString::to_string)
                    .collect();
                out.push_str(&format!(
                    "SMTP {} to {} recipient(s) in {} batch(es) of at most {batch}, each as below \
                     (recipients in the envelope only): {}\n\n",
                    crate::deliver::redacted(&notifier.settings().url),
                    recipients.len(),
                    recipients.len().div_ceil(batch),
                    recipients.join(", ")
                ));
                let raw = notifier.format(&message).map_err(|e| e.to_string())?;
                out.push_str(&String::from_utf8_lossy(&raw));
            }
            (
                ChannelNotifier::Slack(notifier),
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

/// A JSON body pretty-printed; anything else as text.
fn pretty_json(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned())
}
