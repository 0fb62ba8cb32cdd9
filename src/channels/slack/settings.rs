//! Where a Slack destination posts, checked without the network, and shown without its secrets.

use std::fmt;
use std::time::Duration;

use reqwest::header::HeaderValue;
use url::Url;

use crate::channels::http::redacted;
use crate::secret::Secret;

/// The Web API base a bot posts to unless configured otherwise.
pub const DEFAULT_API_URL: &str = "https://slack.com/api/";

/// Where a Slack destination posts.
#[derive(Clone, PartialEq, Eq)]
pub enum SlackTarget {
    /// An incoming webhook: the channel is fixed by the webhook, and its URL's path is the secret.
    IncomingWebhook {
        /// Like `https://hooks.slack.com/services/T.../B.../...`; never shown past `/services/`.
        url: Url,
    },
    /// A bot token posting with `chat.postMessage` to each channel of the subscription.
    Bot {
        /// The bot token (`xoxb-...`), sent as `authorization: Bearer`; never shown.
        token: Secret,
        /// The Web API base, [`DEFAULT_API_URL`] unless testing.
        api_url: Url,
    },
}

impl SlackTarget {
    /// A bot posting to Slack's own Web API.
    pub fn bot(token: impl Into<String>) -> SlackTarget {
        SlackTarget::Bot {
            token: Secret::new(token.into()),
            api_url: Url::parse(DEFAULT_API_URL).expect("the default Slack API URL is valid"),
        }
    }

    /// The URL as shown in messages and logs: scheme, host and port, a webhook's path and query
    /// as `/****`.
    pub fn shown_url(&self) -> String {
        match self {
            SlackTarget::IncomingWebhook { url } => shown_webhook_url(url),
            SlackTarget::Bot { api_url, .. } => redacted(&post_message_url(api_url)),
        }
    }

    /// The secret parts of the target as text, for scrubbing them from what a server answered:
    /// the token, or the webhook URL's path and query.
    pub(super) fn secrets(&self) -> Vec<String> {
        match self {
            SlackTarget::IncomingWebhook { url } => {
                let mut secrets = vec![url.as_str().to_owned()];
                let segments = url.path_segments().into_iter().flatten().skip(1);
                secrets.extend(segments.map(str::to_owned));
                secrets.extend(url.query().map(str::to_owned));
                secrets
            }
            SlackTarget::Bot { token, .. } => vec![token.expose().clone()],
        }
    }
}

impl fmt::Debug for SlackTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SlackTarget::IncomingWebhook { url } => f
                .debug_struct("IncomingWebhook")
                .field("url", &shown_webhook_url(url))
                .finish(),
            SlackTarget::Bot { api_url, .. } => f
                .debug_struct("Bot")
                .field("token", &"****")
                .field("api_url", &redacted(api_url))
                .finish(),
        }
    }
}

/// Why a Slack destination's settings cannot be used; no message shows the token or the
/// webhook's secret path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("the timeout must be more than zero")]
    ZeroTimeout,
    #[error("{name} {shown} must be an http or https URL")]
    Scheme { name: &'static str, shown: String },
    #[error("{name} {shown} has no host")]
    NoHost { name: &'static str, shown: String },
    #[error("the bot token is empty")]
    EmptyToken,
    #[error("the bot token contains whitespace")]
    TokenWhitespace,
    #[error("the bot token has characters not allowed in an HTTP header")]
    TokenCharacters,
}

/// A Slack destination's settings.
#[derive(Clone, PartialEq, Eq)]
pub struct SlackSettings {
    /// Incoming webhook or bot.
    pub target: SlackTarget,
    /// For each request: connecting, sending, and reading the answer.
    pub timeout: Duration,
}

impl SlackSettings {
    /// Checks what can be checked without the network, so that config loading can reject a
    /// destination before any delivery: http(s) URLs with a host, a bot token that is non-empty
    /// and fits an HTTP header, a timeout above zero. Messages never show the token or the
    /// webhook's secret path.
    pub fn check(&self) -> Result<(), SettingsError> {
        self.endpoint().map(|_| ())
    }

    /// The URL posted to and the `authorization` header, or why there are none.
    pub(super) fn endpoint(&self) -> Result<Endpoint, SettingsError> {
        if self.timeout.is_zero() {
            return Err(SettingsError::ZeroTimeout);
        }
        match &self.target {
            SlackTarget::IncomingWebhook { url } => {
                check_url("webhook url", url, &shown_webhook_url(url))?;
                Ok(Endpoint {
                    url: url.clone(),
                    authorization: None,
                })
            }
            SlackTarget::Bot { token, api_url } => {
                check_url("api_url", api_url, &redacted(api_url))?;
                Ok(Endpoint {
                    url: post_message_url(api_url),
                    authorization: Some(bearer(token.expose())?),
                })
            }
        }
    }
}

impl fmt::Debug for SlackSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlackSettings")
            .field("target", &self.target)
            .field("timeout", &self.timeout)
            .finish()
    }
}

fn check_url(name: &'static str, url: &Url, shown: &str) -> Result<(), SettingsError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(SettingsError::Scheme {
            name,
            shown: shown.to_owned(),
        });
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(SettingsError::NoHost {
            name,
            shown: shown.to_owned(),
        });
    }
    Ok(())
}

fn bearer(token: &str) -> Result<HeaderValue, SettingsError> {
    if token.is_empty() {
        return Err(SettingsError::EmptyToken);
    }
    if token.chars().any(char::is_whitespace) {
        return Err(SettingsError::TokenWhitespace);
    }
    let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| SettingsError::TokenCharacters)?;
    value.set_sensitive(true);
    Ok(value)
}

/// `{api_url}chat.postMessage`, whether or not `api_url` ends in `/`.
fn post_message_url(api_url: &Url) -> Url {
    let mut base = api_url.clone();
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    base.join("chat.postMessage").unwrap_or(base)
}

/// A webhook URL as shown: scheme, host and port; any path and query (where the secret is, in
/// whichever segment a Slack-compatible service puts it) become `/****`.
fn shown_webhook_url(url: &Url) -> String {
    let shown = redacted(url);
    if url.path() == "/" && url.query().is_none() {
        format!("{shown}/")
    } else {
        format!("{shown}/****")
    }
}

/// Where requests go, and the `authorization` header a bot sends.
pub(super) struct Endpoint {
    pub(super) url: Url,
    pub(super) authorization: Option<HeaderValue>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "xoxb-1234-secret-token";

    fn url(s: &str) -> Url {
        Url::parse(s).expect("valid url")
    }

    fn settings(target: SlackTarget) -> SlackSettings {
        SlackSettings {
            target,
            timeout: Duration::from_secs(10),
        }
    }

    #[test]
    fn check_rejects_bad_settings_with_clear_messages() {
        let cases = [
            (
                settings(SlackTarget::IncomingWebhook {
                    url: url("ftp://hooks.slack.com/services/T/B/secret"),
                }),
                "webhook url ftp://hooks.slack.com/**** must be an http or https URL",
            ),
            (settings(SlackTarget::bot("")), "the bot token is empty"),
            (
                settings(SlackTarget::bot("xoxb-1 2")),
                "the bot token contains whitespace",
            ),
            (
                settings(SlackTarget::bot("xoxb-\u{7f}")),
                "the bot token has characters not allowed in an HTTP header",
            ),
            (
                settings(SlackTarget::Bot {
                    token: TOKEN.into(),
                    api_url: url("file:///api/"),
                }),
                "api_url file:// must be an http or https URL",
            ),
            (
                SlackSettings {
                    timeout: Duration::ZERO,
                    ..settings(SlackTarget::bot(TOKEN))
                },
                "the timeout must be more than zero",
            ),
        ];
        for (settings, expected) in cases {
            assert_eq!(
                settings.check().map_err(|e| e.to_string()),
                Err(expected.to_owned()),
                "{settings:?}"
            );
        }
        let good = [
            settings(SlackTarget::bot(TOKEN)),
            settings(SlackTarget::IncomingWebhook {
                url: url("https://hooks.slack.com/services/T/B/secret"),
            }),
        ];
        for settings in good {
            assert_eq!(settings.check(), Ok(()), "{settings:?}");
        }
    }

    #[test]
    fn debug_hides_the_token_and_the_webhook_path() {
        assert_eq!(
            format!("{:?}", settings(SlackTarget::bot(TOKEN))),
            "SlackSettings { target: Bot { token: \"****\", api_url: \"https://slack.com\" \
             }, timeout: 10s }"
        );
        let hook = settings(SlackTarget::IncomingWebhook {
            url: url("https://hooks.slack.com/services/T000/B000/XXXXsecret"),
        });
        assert_eq!(
            format!("{hook:?}"),
            "SlackSettings { target: IncomingWebhook { url: \
             \"https://hooks.slack.com/****\" }, timeout: 10s }"
        );
    }

    #[test]
    fn shows_webhook_urls_without_their_secret() {
        let cases = [
            (
                "https://hooks.slack.com/services/T0/B0/xyz",
                "https://hooks.slack.com/****",
            ),
            (
                "http://127.0.0.1:8080/services/T0/B0/xyz",
                "http://127.0.0.1:8080/****",
            ),
            (
                "https://u:p@hooks.example/secret",
                "https://hooks.example/****",
            ),
            (
                "https://hooks.example/?key=secret",
                "https://hooks.example/****",
            ),
            ("https://hooks.example/", "https://hooks.example/"),
            // A Slack-compatible service with the secret first (issue 17, item 5).
            (
                "https://chat.example/canary-token/hooks",
                "https://chat.example/****",
            ),
        ];
        for (url_text, shown) in cases {
            assert_eq!(shown_webhook_url(&url(url_text)), shown, "{url_text}");
        }
    }

    #[test]
    fn joins_chat_post_message_onto_the_api_url() {
        let cases = [
            (
                "https://slack.com/api/",
                "https://slack.com/api/chat.postMessage",
            ),
            (
                "https://slack.example/api",
                "https://slack.example/api/chat.postMessage",
            ),
            ("http://127.0.0.1:9/", "http://127.0.0.1:9/chat.postMessage"),
        ];
        for (api_url, expected) in cases {
            assert_eq!(
                post_message_url(&url(api_url)).as_str(),
                expected,
                "{api_url}"
            );
        }
    }
}
