//! A Kafka subscription bound to its destination's notifier: its record rendered, produced and
//! previewed.

use bytes::Bytes;
use serde_json::Value;

use super::{Attributes, KafkaNotifier, headers};
use crate::channels::{Attempts, Bound, Outcome, Parcel, serialise};
use crate::render::{RenderError, Templates};

/// A Kafka subscription with its destination's notifier.
pub type Target = Bound<KafkaNotifier, Attributes>;

/// A rendered record value and its CloudEvents headers, with the target it is for.
#[derive(Debug, Clone)]
pub struct Message {
    pub target: Target,
    pub body: Bytes,
    pub headers: Vec<(&'static str, String)>,
}

impl Target {
    /// The value: the subscription's template (JSON), or the notification as JSON; the headers
    /// from the notification's CloudEvent attributes.
    pub fn render(
        &self,
        templates: &Templates,
        notification: &Value,
    ) -> Result<Message, RenderError> {
        let body = match &self.subscription.template {
            Some(name) => Bytes::from(templates.render_kafka(name, notification)?),
            None => serialise(notification),
        };
        Ok(Message {
            target: self.clone(),
            body,
            headers: headers(notification),
        })
    }
}

impl Message {
    /// Produces the record keyed by the delivery's `webhook-id`, each attempt through
    /// `attempts`.
    pub async fn deliver(&self, parcel: Parcel<'_>, attempts: &impl Attempts) -> Outcome {
        let notifier = &self.target.notifier;
        let result = attempts
            .make(&|| Box::pin(notifier.send(parcel.delivery_id, &self.body, &self.headers)))
            .await;
        Outcome::untracked(result)
    }

    /// The record as text for a person.
    pub fn preview(&self, delivery_id: &str) -> String {
        self.target
            .notifier
            .preview(delivery_id, &self.body, &self.headers)
    }
}
