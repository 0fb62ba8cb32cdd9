//! The destinations of `router.yaml` as plain serde structs: webhook, email (SMTP) and Slack.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use crate::channels::{StartTls, Verb};
use crate::dispatch::RetryPolicy;
use crate::dispatch::lanes::{BreakerSettings, LaneLimits};
use crate::secret::Secret;

/// Where and how to deliver.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum DestinationConfig {
    Webhook(WebhookDestination),
    Email(EmailDestination),
    Slack(SlackDestination),
}

impl DestinationConfig {
    pub fn id(&self) -> &str {
        match self {
            DestinationConfig::Webhook(webhook) => &webhook.id,
            DestinationConfig::Email(email) => &email.id,
            DestinationConfig::Slack(slack) => &slack.id,
        }
    }

    pub fn retry(&self) -> &RetryPolicy {
        match self {
            DestinationConfig::Webhook(webhook) => &webhook.retry,
            DestinationConfig::Email(email) => &email.retry,
            DestinationConfig::Slack(slack) => &slack.retry,
        }
    }

    pub fn limits(&self) -> &LaneLimits {
        match self {
            DestinationConfig::Webhook(webhook) => &webhook.limits,
            DestinationConfig::Email(email) => &email.limits,
            DestinationConfig::Slack(slack) => &slack.limits,
        }
    }

    pub fn circuit_breaker(&self) -> &BreakerSettings {
        match self {
            DestinationConfig::Webhook(webhook) => &webhook.circuit_breaker,
            DestinationConfig::Email(email) => &email.circuit_breaker,
            DestinationConfig::Slack(slack) => &slack.circuit_breaker,
        }
    }
}

/// An HTTP endpoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookDestination {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// May carry a credential in its path or query, so `Debug` shows `****`.
    pub url: Secret,
    /// Allows an `http://` URL; `https://` is required otherwise.
    #[serde(default)]
    pub allow_http: bool,
    #[serde(default = "default_verb")]
    pub verb: Verb,
    /// Values are secrets: the `Debug` of this struct shows none of them.
    #[serde(default)]
    pub custom_headers: BTreeMap<String, Secret>,
    /// Names of `custom_headers` whose values are secret: sent, never logged. Every custom
    /// header is, unless listed in `public_headers`; listing it here too says so explicitly.
    #[serde(default)]
    pub sensitive_headers: Vec<String>,
    /// Names of `custom_headers` whose values are not secret, and may be shown (in `render`,
    /// the admin API, logs). Fail closed: a header not listed here is shown as `****`.
    #[serde(default)]
    pub public_headers: Vec<String>,
    /// Standard Webhooks signing; unsigned without it.
    #[serde(default)]
    pub signing: Option<SigningConfig>,
    #[serde(default, with = "humantime_serde")]
    pub timeout: Option<Duration>,
    #[serde(default)]
    pub retry: RetryPolicy,
    #[serde(default)]
    pub limits: LaneLimits,
    #[serde(default)]
    pub circuit_breaker: BreakerSettings,
}

/// The secrets and keys a webhook destination signs with; each one signs every request, so a
/// rotation lists the old and the new one until receivers have switched.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigningConfig {
    /// `whsec_...` secrets for `v1,` HMAC-SHA256 signatures; empty values are left out.
    #[serde(default)]
    pub secrets: Vec<Secret>,
    /// `whsk_...` ed25519 private keys for `v1a,` signatures; empty values are left out.
    #[serde(default)]
    pub keys: Vec<Secret>,
}

/// An SMTP server and the sender its messages come from; recipients are per subscription.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailDestination {
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
    pub retry: RetryPolicy,
    #[serde(default)]
    pub limits: LaneLimits,
    #[serde(default)]
    pub circuit_breaker: BreakerSettings,
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

/// A Slack workspace, reached by an incoming webhook or a bot token.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackDestination {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    pub slack: SlackConfig,
    /// Allows `http://` URLs; `https://` is required otherwise.
    #[serde(default)]
    pub allow_http: bool,
    #[serde(default, with = "humantime_serde")]
    pub timeout: Option<Duration>,
    #[serde(default)]
    pub retry: RetryPolicy,
    #[serde(default)]
    pub limits: LaneLimits,
    #[serde(default)]
    pub circuit_breaker: BreakerSettings,
}

/// Event Notifications' two kinds of Slack destination.
#[derive(Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum SlackConfig {
    /// Posts to the channel the webhook was created for; the URL is a secret.
    IncomingWebhook { url: Secret },
    /// Posts with `chat.postMessage` to each of the subscription's `channels`.
    Bot {
        token: Secret,
        /// The Web API base, `https://slack.com/api/` unless set.
        #[serde(default)]
        api_url: Option<String>,
    },
}

impl std::fmt::Debug for SlackConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SlackConfig::IncomingWebhook { .. } => f.write_str("IncomingWebhook { url: **** }"),
            SlackConfig::Bot { api_url, .. } => f
                .debug_struct("Bot")
                .field("token", &"****")
                .field("api_url", api_url)
                .finish(),
        }
    }
}

fn default_batch_size() -> usize {
    crate::channels::DEFAULT_BATCH_SIZE
}
fn default_send_timeout() -> Duration {
    crate::channels::DEFAULT_SEND_TIMEOUT
}
fn default_max_connections() -> u32 {
    crate::channels::DEFAULT_MAX_CONNECTIONS
}
fn default_verb() -> Verb {
    Verb::Post
}
