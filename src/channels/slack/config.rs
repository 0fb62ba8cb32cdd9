//! A Slack destination as `router.yaml` writes it, checked into [`SlackSettings`], and the
//! attributes of its subscriptions.

use std::time::Duration;

use serde::Deserialize;

use super::{DEFAULT_API_URL, SlackSettings, SlackTarget, check_color};
use crate::channels::config::{AttributeTable, Problems, SubscriptionConfig};
use crate::channels::http::{NetworkPolicy, check_outbound_url, redacted};
use crate::secret::Secret;

/// A Slack workspace, reached by an incoming webhook or a bot token. `Retry`, `Limits` and
/// `Breaker` are the delivery settings every destination has; their types are the dispatcher's.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackDestination<Retry, Limits, Breaker> {
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
    /// At most this many requests a second (see [`RateLimit`]); unlimited unless set.
    #[serde(default)]
    pub rate_limit: Option<crate::channels::http::RateLimit>,
    #[serde(default)]
    pub retry: Retry,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub circuit_breaker: Breaker,
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

impl<Retry, Limits, Breaker> SlackDestination<Retry, Limits, Breaker> {
    /// The checked settings; on error the field and the reason.
    pub fn settings(
        &self,
        default_timeout: Duration,
        policy: &NetworkPolicy,
    ) -> Result<SlackSettings, (&'static str, String)> {
        // The URL and token are secrets: errors never quote them.
        let target = match &self.slack {
            SlackConfig::IncomingWebhook { url } => {
                let url = url::Url::parse(url.expose())
                    .map_err(|e| ("slack.url", format!("is not a URL: {e}")))?;
                let shown = SlackTarget::IncomingWebhook { url: url.clone() }.shown_url();
                check_outbound_url(&url, self.allow_http, policy, &shown)
                    .map_err(|why| ("slack.url", why.to_string()))?;
                SlackTarget::IncomingWebhook { url }
            }
            SlackConfig::Bot { token, api_url } => {
                let api_url = api_url.as_deref().unwrap_or(DEFAULT_API_URL);
                let mut api_url = url::Url::parse(api_url)
                    .map_err(|e| ("slack.api_url", format!("{api_url:?} is not a URL: {e}")))?;
                if !api_url.path().ends_with('/') {
                    let path = format!("{}/", api_url.path());
                    api_url.set_path(&path);
                }
                let shown = redacted(&api_url);
                check_outbound_url(&api_url, self.allow_http, policy, &shown)
                    .map_err(|why| ("slack.api_url", why.to_string()))?;
                SlackTarget::Bot {
                    token: token.clone(),
                    api_url,
                }
            }
        };
        let settings = SlackSettings {
            target,
            timeout: self.timeout.unwrap_or(default_timeout),
        };
        settings.check().map_err(|why| ("slack", why.to_string()))?;
        Ok(settings)
    }
}

/// A Slack subscription's attributes, as in Event Notifications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attributes {
    /// For bot destinations; empty for incoming webhooks.
    pub channels: Vec<String>,
    pub attachment_color: Option<String>,
}

/// The attributes only Slack subscriptions have.
pub const ATTRIBUTES: AttributeTable = &[
    ("channels", |c| c.channels.is_some()),
    ("attachment_color", |c| c.attachment_color.is_some()),
];

/// The attributes of a subscription to a destination with `settings`; problems are added.
pub fn attributes(
    config: &SubscriptionConfig,
    settings: &SlackSettings,
    problems: &mut Problems,
) -> Attributes {
    let channels = config.channels.clone().unwrap_or_default();
    let is_bot = matches!(settings.target, SlackTarget::Bot { .. });
    if is_bot && channels.is_empty() {
        let why = "is empty: a bot destination posts to the channels named here";
        problems.push(("channels".into(), why.into()));
    }
    if !is_bot && !channels.is_empty() {
        let why = "an incoming webhook posts to the channel it was created for: remove \
                   `channels`, or use a bot destination";
        problems.push(("channels".into(), why.into()));
    }
    for channel in channels.iter().filter(|c| c.trim().is_empty()) {
        problems.push(("channels".into(), format!("{channel:?} is not a channel")));
    }
    if let Some(color) = &config.attachment_color
        && let Err(why) = check_color(color)
    {
        problems.push(("attachment_color".into(), why.to_string()));
    }
    Attributes {
        channels,
        attachment_color: config.attachment_color.clone(),
    }
}
