//! An email subscription bound to its destination's notifier: its email rendered, sent to the
//! recipients still waiting, and previewed.

use lettre::Address;
use serde_json::Value;

use super::{Attributes, EmailContent, EmailMessage, EmailNotifier, EmailProgress};
use crate::channels::http::redacted;
use crate::channels::{Attempts, Bound, DeliveryError, Outcome, Parcel};
use crate::render::{self, RenderError, Templates};

/// An email subscription with its destination's notifier.
pub type Target = Bound<EmailNotifier, Attributes>;

/// A rendered email, with the target it is for.
#[derive(Debug, Clone)]
pub struct Message {
    pub target: Target,
    pub content: EmailContent,
}

impl Target {
    /// The email: the subscription's template or the default one, with the notification
    /// appended when the subscription asks for it.
    pub fn render(
        &self,
        templates: &Templates,
        notification: &Value,
    ) -> Result<Message, RenderError> {
        let subscription = &self.subscription;
        let mut content = match &subscription.template {
            Some(stem) => templates.render_email(stem, notification)?,
            None => render::default_email(notification),
        };
        if subscription.attributes.add_notification_payload {
            render::payload_appendix(&mut content, notification);
        }
        Ok(Message {
            target: self.clone(),
            content,
        })
    }
}

impl Target {
    /// A digest's email: the subscription's template with the digest's context, or the
    /// default digest (the first notifications in full, the rest one line each), with the
    /// notifications appended when the subscription asks for it.
    pub fn render_digest(
        &self,
        templates: &Templates,
        context: &Value,
    ) -> Result<Message, RenderError> {
        let subscription = &self.subscription;
        let mut content = match &subscription.template {
            Some(stem) => templates.render_email(stem, context)?,
            None => render::default_digest_email(context),
        };
        if subscription.attributes.add_notification_payload {
            let notifications = context.get("notifications").unwrap_or(&Value::Null);
            render::payload_appendix(&mut content, notifications);
        }
        Ok(Message {
            target: self.clone(),
            content,
        })
    }
}

impl Message {
    /// Sends the email to the subscription's recipients still waiting (`parcel.pending`), each
    /// attempt through `attempts`; whoever already has it is not sent it again.
    pub async fn deliver(&self, parcel: Parcel<'_>, attempts: &impl Attempts) -> Outcome {
        let attributes = &self.target.subscription.attributes;
        let recipients: Vec<Address> = attributes
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
        let message = self.email(&recipients, parcel.notification_id, parcel.delivery_id);
        let progress = EmailProgress::new(&recipients);
        let notifier = &self.target.notifier;
        let result = attempts
            .make(&|| Box::pin(notifier.send(&message, &progress)))
            .await;
        Outcome {
            result,
            pending: Some(progress.pending().iter().map(ToString::to_string).collect()),
            refused: progress
                .rejected()
                .into_iter()
                .map(|(address, reply)| (address.to_string(), reply))
                .collect(),
        }
    }

    /// The email as text for a person: the server, the recipients and batches, and the message
    /// as sent (recipients in the envelope only).
    pub fn preview(
        &self,
        notification_id: &str,
        delivery_id: &str,
    ) -> Result<String, DeliveryError> {
        let notifier = &self.target.notifier;
        let all = &self.target.subscription.attributes.recipients;
        let message = self.email(all, notification_id, delivery_id);
        let batch = notifier.settings().batch_size.max(1);
        let recipients: Vec<String> = all.iter().map(ToString::to_string).collect();
        let mut out = format!(
            "SMTP {} to {} recipient(s) in {} batch(es) of at most {batch}, each as below \
             (recipients in the envelope only): {}\n\n",
            redacted(&notifier.settings().url),
            recipients.len(),
            recipients.len().div_ceil(batch),
            recipients.join(", ")
        );
        let raw = notifier.format(&message)?;
        out.push_str(&String::from_utf8_lossy(&raw));
        Ok(out)
    }

    /// The email of one delivery, to `recipients` with the subscription's sender overrides.
    fn email<'a>(
        &'a self,
        recipients: &'a [Address],
        notification_id: &'a str,
        delivery_id: &'a str,
    ) -> EmailMessage<'a> {
        let attributes = &self.target.subscription.attributes;
        EmailMessage {
            delivery_id,
            notification_id,
            recipients,
            from_name: attributes.from_name.as_deref(),
            reply_to: attributes.reply_to.clone(),
            content: &self.content,
        }
    }
}
