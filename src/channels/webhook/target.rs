//! A webhook subscription bound to its destination's notifier: its body rendered, sent and
//! previewed.

use bytes::Bytes;
use serde_json::Value;

use super::{Attributes, WebhookNotifier};
use crate::channels::{Attempts, Bound, Outcome, Parcel, SharedJson, pretty_json, serialise};
use crate::render::{RenderError, Templates};

/// A webhook subscription with its destination's notifier.
pub type Target = Bound<WebhookNotifier, Attributes>;

/// A rendered request body, with the target it is for.
#[derive(Debug, Clone)]
pub struct Message {
    pub target: Target,
    pub body: Bytes,
}

impl Target {
    /// The body: the subscription's template, or the notification as JSON (shared through
    /// `json` with the event's other deliveries).
    pub fn render(
        &self,
        templates: &Templates,
        notification: &Value,
        json: &SharedJson,
    ) -> Result<Message, RenderError> {
        let body = match &self.subscription.template {
            Some(name) => Bytes::from(templates.render_webhook(name, notification)?),
            None => json.body(notification),
        };
        Ok(Message {
            target: self.clone(),
            body,
        })
    }
}

impl Target {
    /// A digest's body: the subscription's template with the digest's context, or the
    /// notifications as a JSON array.
    pub fn render_digest(
        &self,
        templates: &Templates,
        context: &Value,
    ) -> Result<Message, RenderError> {
        let body = match &self.subscription.template {
            Some(name) => Bytes::from(templates.render_webhook(name, context)?),
            None => serialise(context.get("notifications").unwrap_or(&Value::Null)),
        };
        Ok(Message {
            target: self.clone(),
            body,
        })
    }
}

impl Message {
    /// Sends the body, each attempt through `attempts`, with the same `webhook-id`.
    pub async fn deliver(&self, parcel: Parcel<'_>, attempts: &impl Attempts) -> Outcome {
        let notifier = &self.target.notifier;
        let sign = self.target.subscription.attributes.signing_enabled;
        let result = attempts
            .make(&|| Box::pin(notifier.send(parcel.delivery_id, self.body.clone(), sign)))
            .await;
        Outcome::untracked(result)
    }

    /// The request as text for a person: method, URL, headers (secrets hidden), the body.
    pub fn preview(&self, delivery_id: &str) -> String {
        let sign = self.target.subscription.attributes.signing_enabled;
        let (method, url, headers) = self.target.notifier.preview(delivery_id, sign);
        let mut out = format!("{method} {url}\n");
        for (name, value) in headers {
            out.push_str(&format!("{name}: {value}\n"));
        }
        out.push('\n');
        out.push_str(&pretty_json(&self.body));
        out
    }
}
