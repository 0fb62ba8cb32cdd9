//! A PagerDuty subscription bound to its destination's notifier: the event built, sent and
//! previewed.

use serde_json::Value;

use super::{Attributes, PagerDutyNotifier, build};
use crate::channels::{Attempts, Bound, Outcome, Parcel};
use crate::render::{RenderError, Templates};

/// A PagerDuty subscription with its destination's notifier.
pub type Target = Bound<PagerDutyNotifier, Attributes>;

/// A built Events API v2 event (without its routing key), with the target it is for.
#[derive(Debug, Clone)]
pub struct Message {
    pub target: Target,
    pub event: Value,
}

impl Target {
    /// The event: `resolve` when the notification matches `resolve_on`, else `trigger` with
    /// the default payload and the template's fields over it.
    pub fn render(
        &self,
        templates: &Templates,
        notification: &Value,
    ) -> Result<Message, RenderError> {
        let subscription = &self.subscription;
        let (rendered, name) = match &subscription.template {
            Some(name) => (
                Some(templates.render_pagerduty(name, notification)?),
                name.as_str(),
            ),
            None => (None, "the default PagerDuty event"),
        };
        let event = build(&subscription.attributes, notification, rendered, name)?;
        Ok(Message {
            target: self.clone(),
            event,
        })
    }
}

impl Message {
    /// Sends the event, each attempt through `attempts`.
    pub async fn deliver(&self, _parcel: Parcel<'_>, attempts: &impl Attempts) -> Outcome {
        let notifier = &self.target.notifier;
        let result = attempts
            .make(&|| Box::pin(notifier.send(&self.event)))
            .await;
        Outcome::untracked(result)
    }

    /// The request as text for a person, the routing key hidden.
    pub fn preview(&self) -> String {
        self.target.notifier.preview(&self.event)
    }
}
