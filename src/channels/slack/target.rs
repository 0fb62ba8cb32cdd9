//! A Slack subscription bound to its destination's notifier: its message rendered, posted to
//! the channels still waiting, and previewed.

use serde_json::Value;

use super::{
    Attributes, ChannelState, SlackNotifier, SlackProgress, apply_color, check_shape, default_slack,
};
use crate::channels::{Attempts, Bound, DeliveryError, Outcome, Parcel};
use crate::render::{RenderError, Templates};

/// A Slack subscription with its destination's notifier.
pub type Target = Bound<SlackNotifier, Attributes>;

/// A rendered Slack message, with the target it is for.
#[derive(Debug, Clone)]
pub struct Message {
    pub target: Target,
    /// Coloured as the subscription asks; Slack's limits are applied by the notifier, on what
    /// it sends.
    pub message: Value,
}

impl Target {
    /// The message: the subscription's template (which must have a message's shape) or EN's
    /// default layout, coloured as the subscription asks.
    pub fn render(
        &self,
        templates: &Templates,
        notification: &Value,
    ) -> Result<Message, RenderError> {
        let subscription = &self.subscription;
        let mut message = match &subscription.template {
            Some(name) => {
                let message = templates.render_slack(name, notification)?;
                check_shape(&message).map_err(|why| RenderError::InvalidMessage {
                    name: name.to_owned(),
                    message: why.to_string(),
                })?;
                message
            }
            None => default_slack(notification),
        };
        if let Some(color) = &subscription.attributes.attachment_color {
            message = apply_color(message, color);
        }
        Ok(Message {
            target: self.clone(),
            message,
        })
    }
}

impl Target {
    /// A digest's message: the subscription's template with the digest's context (which must
    /// have a message's shape), or the default digest layout; coloured as the subscription asks.
    pub fn render_digest(
        &self,
        templates: &Templates,
        context: &Value,
    ) -> Result<Message, RenderError> {
        let subscription = &self.subscription;
        let mut message = match &subscription.template {
            Some(name) => {
                let message = templates.render_slack(name, context)?;
                check_shape(&message).map_err(|why| RenderError::InvalidMessage {
                    name: name.to_owned(),
                    message: why.to_string(),
                })?;
                message
            }
            None => super::default_digest(context),
        };
        if let Some(color) = &subscription.attributes.attachment_color {
            message = apply_color(message, color);
        }
        Ok(Message {
            target: self.clone(),
            message,
        })
    }
}

impl Message {
    /// Posts the message to the subscription's channels still waiting (`parcel.pending`), each
    /// attempt through `attempts`; a channel that already has it is not posted to again.
    pub async fn deliver(&self, parcel: Parcel<'_>, attempts: &impl Attempts) -> Outcome {
        let attributes = &self.target.subscription.attributes;
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
        let notifier = &self.target.notifier;
        let result = attempts
            .make(&|| Box::pin(notifier.send(&self.message, &channels, &progress)))
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
            pending: (!channels.is_empty()).then_some(waiting),
            refused: progress.rejected(),
        }
    }

    /// The requests as text for a person: one per channel for a bot, secrets hidden.
    pub fn preview(&self) -> Result<String, super::PrepareError> {
        let attributes = &self.target.subscription.attributes;
        let mut out = String::new();
        for request in self
            .target
            .notifier
            .preview(&self.message, &attributes.channels)?
        {
            out.push_str(&format!("{} {}\n", request.method, request.url));
            for (name, value) in &request.headers {
                out.push_str(&format!("{name}: {value}\n"));
            }
            out.push('\n');
            out.push_str(&serde_json::to_string_pretty(&request.body).unwrap_or_default());
            out.push_str("\n\n");
        }
        Ok(out)
    }
}
