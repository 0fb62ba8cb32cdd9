//! An email destination as `router.yaml` writes it, checked into [`EmailSettings`], and the
//! attributes of its subscriptions.

use std::time::Duration;

use lettre::Address;
use lettre::message::Mailbox;
use serde::Deserialize;

use super::{
    DEFAULT_BATCH_SIZE, DEFAULT_MAX_CONNECTIONS, DEFAULT_SEND_TIMEOUT, EmailSettings, StartTls,
};
use crate::channels::config::{AttributeTable, Problems, SubscriptionConfig};
use crate::secret::Secret;

/// An SMTP server and the sender its messages come from; recipients are per subscription.
/// `Retry`, `Limits` and `Breaker` are the delivery settings every destination has; their
/// types are the dispatcher's.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailDestination<Retry, Limits, Breaker> {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    pub smtp: SmtpConfig,
    /// `router@example.com` or `Notification Router <router@example.com>`.
    pub from: String,
    #[serde(default)]
    pub reply_to: Option<String>,
    /// Recipients per SMTP transaction (Event Notifications sends at most 50).
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    #[serde(default)]
    pub retry: Retry,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub circuit_breaker: Breaker,
}

/// How to reach the SMTP server.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// `smtp://host[:port]` (STARTTLS per `starttls`) or `smtps://host[:port]` (TLS from the start).
    pub url: String,
    #[serde(default)]
    pub starttls: StartTls,
    #[serde(default)]
    pub username: Option<String>,
    /// Never logged; write `${SMTP_PASSWORD}`.
    #[serde(default)]
    pub password: Option<Secret>,
    #[serde(default, with = "humantime_serde")]
    pub connect_timeout: Option<Duration>,
    #[serde(default = "default_send_timeout", with = "humantime_serde")]
    pub send_timeout: Duration,
    /// Pooled connections kept open to the server.
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("url", &self.url)
            .field("starttls", &self.starttls)
            .field("username", &self.username)
            .field("password", &self.password)
            .finish_non_exhaustive()
    }
}

fn default_batch_size() -> usize {
    DEFAULT_BATCH_SIZE
}
fn default_send_timeout() -> Duration {
    DEFAULT_SEND_TIMEOUT
}
fn default_max_connections() -> u32 {
    DEFAULT_MAX_CONNECTIONS
}

impl<Retry, Limits, Breaker> EmailDestination<Retry, Limits, Breaker> {
    /// The checked settings; on error the field and the reason.
    pub fn settings(
        &self,
        default_connect_timeout: Duration,
    ) -> Result<EmailSettings, (&'static str, String)> {
        let smtp = &self.smtp;
        let url = url::Url::parse(&smtp.url)
            .map_err(|e| ("smtp.url", format!("{:?} is not a URL: {e}", smtp.url)))?;
        let from = mailbox(&self.from).map_err(|why| ("from", why.to_string()))?;
        let reply_to = self
            .reply_to
            .as_deref()
            .map(mailbox)
            .transpose()
            .map_err(|why| ("reply_to", why.to_string()))?;
        let settings = EmailSettings {
            url,
            starttls: smtp.starttls,
            // `${SMTP_USERNAME:-}` leaves an empty string: no authentication.
            username: smtp.username.clone().filter(|u| !u.is_empty()),
            password: smtp.password.clone().filter(|p| !p.is_empty()),
            from,
            reply_to,
            batch_size: self.batch_size,
            connect_timeout: smtp.connect_timeout.unwrap_or(default_connect_timeout),
            send_timeout: smtp.send_timeout,
            max_connections: smtp.max_connections,
        };
        settings.check().map_err(|why| ("smtp", why.to_string()))?;
        Ok(settings)
    }
}

/// An address with an optional display name: `a@example.com` or `Name <a@example.com>`.
fn mailbox(text: &str) -> Result<Mailbox, NotAnAddress> {
    text.parse::<Mailbox>()
        .map_err(|e| NotAnAddress(text.to_owned(), e))
}

/// A text that does not parse as an email address.
#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not an email address: {1}")]
pub struct NotAnAddress(String, #[source] lettre::address::AddressError);

/// An email subscription's attributes, as in Event Notifications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attributes {
    pub recipients: Vec<Address>,
    pub add_notification_payload: bool,
    /// Replaces the destination's `reply_to`.
    pub reply_to: Option<Mailbox>,
    /// Replaces the display name of the destination's `from`.
    pub from_name: Option<String>,
}

/// The most recipients one subscription may have, as in Event Notifications.
pub const MAX_RECIPIENTS: usize = 10_000;

/// The attributes only email subscriptions have.
pub const ATTRIBUTES: AttributeTable = &[
    ("recipients", |c| c.recipients.is_some()),
    ("add_notification_payload", |c| {
        c.add_notification_payload.is_some()
    }),
    ("reply_to_mail", |c| c.reply_to_mail.is_some()),
    ("reply_to_name", |c| c.reply_to_name.is_some()),
    ("from_name", |c| c.from_name.is_some()),
];

/// The attributes of a subscription to an email destination; problems are added.
pub fn attributes(config: &SubscriptionConfig, problems: &mut Problems) -> Attributes {
    let mut problem = |field: String, why: String| problems.push((field, why));
    let given = config.recipients.as_deref().unwrap_or_default();
    if given.is_empty() {
        problem(
            "recipients".into(),
            "is empty: name at least one address".into(),
        );
    }
    if given.len() > MAX_RECIPIENTS {
        let why = format!("has {} addresses; at most {MAX_RECIPIENTS}", given.len());
        problem("recipients".into(), why);
    }
    let mut recipients: Vec<Address> = Vec::with_capacity(given.len());
    for (i, text) in given.iter().enumerate() {
        match text.trim().parse::<Address>() {
            Ok(address) if recipients.contains(&address) => {
                problem(
                    format!("recipients[{i}]"),
                    format!("{text:?} is listed twice"),
                );
            }
            Ok(address) => recipients.push(address),
            Err(e) => {
                let why = format!("{text:?} is not an email address: {e}");
                problem(format!("recipients[{i}]"), why);
            }
        }
    }
    let reply_to = match (&config.reply_to_mail, &config.reply_to_name) {
        (Some(mail), name) => match mail.trim().parse::<Address>() {
            Ok(address) => Some(Mailbox::new(name.clone(), address)),
            Err(e) => {
                let why = format!("{mail:?} is not an email address: {e}");
                problem("reply_to_mail".into(), why);
                None
            }
        },
        (None, Some(_)) => {
            let why = "names the reply address, so it needs reply_to_mail";
            problem("reply_to_name".into(), why.into());
            None
        }
        (None, None) => None,
    };
    Attributes {
        recipients,
        add_notification_payload: config.add_notification_payload.unwrap_or(false),
        reply_to,
        from_name: config.from_name.clone(),
    }
}
