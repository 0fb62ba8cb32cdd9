//! A Teams subscription bound to its destination's notifier: its card rendered, cut to Teams'
//! size limit, sent and previewed.

use serde_json::Value;
use tracing::debug;

use super::{Attributes, TeamsNotifier, default_card, fit_size, shaped};
use crate::channels::{Attempts, Bound, Outcome, Parcel};
use crate::render::{RenderError, Templates};

/// A Teams subscription with its destination's notifier.
pub type Target = Bound<TeamsNotifier, Attributes>;

/// A rendered Teams message, checked and within Teams' size limit, with the target it is for.
#[derive(Debug, Clone)]
pub struct Message {
    pub target: Target,
    pub message: Value,
}

impl Target {
    /// The message: the subscription's template (a message or a bare card) or the default card;
    /// its longest texts cut visibly when it is over Teams' size limit.
    pub fn render(
        &self,
        templates: &Templates,
        notification: &Value,
    ) -> Result<Message, RenderError> {
        let name = self.subscription.template.as_deref();
        let invalid = |why: super::CardError| RenderError::InvalidMessage {
            name: name.unwrap_or("the default Teams card").to_owned(),
            message: why.to_string(),
        };
        let mut message = match name {
            Some(name) => shaped(templates.render_teams(name, notification)?).map_err(invalid)?,
            None => default_card(notification),
        };
        if fit_size(&mut message).map_err(invalid)? {
            debug!(message = "Teams card cut to Teams' size limit.", subscription = %self.subscription.name);
        }
        Ok(Message {
            target: self.clone(),
            message,
        })
    }
}

impl Message {
    /// Posts the message, each attempt through `attempts`.
    pub async fn deliver(&self, _parcel: Parcel<'_>, attempts: &impl Attempts) -> Outcome {
        let notifier = &self.target.notifier;
        let result = attempts
            .make(&|| Box::pin(notifier.send(&self.message)))
            .await;
        Outcome::untracked(result)
    }

    /// The request as text for a person, the URL's secret hidden.
    pub fn preview(&self) -> String {
        self.target.notifier.preview(&self.message)
    }
}
