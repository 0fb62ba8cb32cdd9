//! The Slack notifier: an incoming webhook, or a bot posting with `chat.postMessage` per channel.
//!
//! One call to [`SlackNotifier::send`] is one attempt. A bot attempt posts to each channel still
//! pending in the delivery's [`SlackProgress`]: a channel Slack refuses for good is recorded as
//! rejected and the others still get the message; a channel that fails retryably stays pending,
//! so the next attempt posts only there and no channel is posted twice by a retry. The guarantee
//! stops at timeouts: Slack may have posted a message whose answer never arrived, and that
//! channel is posted again (at least once). Progress lives in memory, for the in-process
//! retries of one delivery.

mod answers;
pub mod config;
mod digest;
mod errors;
mod message;
mod pace;
mod progress;
mod settings;
mod target;

#[cfg(test)]
mod tests;

pub use config::{Attributes, SlackConfig, SlackDestination};
pub use digest::default_digest;
pub use errors::{SlackErrorScope, slack_error_kind, slack_error_scope, slack_failure_kind};
pub use message::{
    BLOCKS_MAX, CONTEXT_ELEMENTS_MAX, CONTEXT_TEXT_MAX, ColorError, FIELD_TEXT_MAX, FIELDS_MAX,
    HEADER_TEXT_MAX, MARKDOWN_TEXT_MAX, MESSAGE_TEXT_MAX, SECTION_TEXT_MAX, ShapeError,
    TRUNCATION_MARKER, apply_color, check_color, check_shape, default_message, default_slack,
    fit_limits,
};
pub use progress::{ChannelState, SlackProgress};
pub use settings::{DEFAULT_API_URL, SettingsError, SlackSettings, SlackTarget};
pub use target::{Message, Target};

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, USER_AGENT};
use serde_json::Value;
use tracing::debug;

use crate::channels::http::{HttpClient, quote, read_capped, retry_after, transport_error};
use crate::channels::{Delivered, DeliveryError, FailureKind, USER_AGENT_VALUE, classify};
use crate::secret::scrub;
use answers::{Refusal, error_string};
use pace::ChannelPaces;
use settings::Endpoint;

/// Slack asks for the charset on JSON bodies.
const CONTENT_TYPE_VALUE: &str = "application/json; charset=utf-8";
/// One request as [`SlackNotifier::preview`] shows it, secrets as `****`.
#[derive(Debug, Clone, PartialEq)]
pub struct SlackRequestPreview {
    /// Always `POST`.
    pub method: &'static str,
    /// The URL with its secret parts as `****`.
    pub url: String,
    /// The headers sent, the token as `****`.
    pub headers: Vec<(&'static str, String)>,
    /// The channel posted to, for a bot.
    pub channel: Option<String>,
    /// The JSON body, cut to Slack's limits as it would be sent.
    pub body: Value,
}

/// Why a message cannot be sent or previewed, found before any request is made.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PrepareError {
    #[error("Slack destination {shown} is misconfigured: {error}")]
    Misconfigured { shown: String, error: SettingsError },
    #[error("cannot send to Slack {shown}: {error}")]
    Shape { shown: String, error: ShapeError },
    #[error("Slack bot destination {0} has no channels to post to")]
    NoChannels(String),
}

/// Delivers to one Slack destination; cheap to clone, sharing the client's connection pool.
#[derive(Clone)]
pub struct SlackNotifier {
    client: HttpClient,
    settings: Arc<SlackSettings>,
    /// [`SlackSettings::check`]'s verdict, worked out once; an error fails every attempt.
    endpoint: Arc<Result<Endpoint, SettingsError>>,
    shown_url: Arc<str>,
    /// A bot's pace per channel: Slack's one message a second each.
    paces: ChannelPaces,
}

impl SlackNotifier {
    /// A notifier for `settings`; settings that fail [`SlackSettings::check`] fail every attempt.
    pub fn new(client: HttpClient, settings: SlackSettings) -> Self {
        SlackNotifier {
            client,
            paces: ChannelPaces::default(),
            endpoint: Arc::new(settings.endpoint()),
            shown_url: settings.target.shown_url().into(),
            settings: Arc::new(settings),
        }
    }

    /// The settings this notifier was built with.
    pub fn settings(&self) -> &SlackSettings {
        &self.settings
    }

    /// One attempt. `message` is a Slack message object (`text`, `blocks`, `attachments`); it
    /// must pass [`check_shape`], and is cut to Slack's limits with [`fit_limits`].
    ///
    /// An incoming webhook gets one POST of the message; `channels` and `progress` are not used.
    /// A bot posts `{api_url}chat.postMessage` once per channel still pending in `progress`,
    /// with `"channel"` added, `authorization: Bearer <token>` and
    /// `content-type: application/json; charset=utf-8`. It stops early on rate limiting or a
    /// transport error (the rest stay pending), and on an error about the token or the message
    /// itself (the rest are rejected with it). The result: nothing pending and at least one
    /// channel delivered is success (read [`SlackProgress::rejected`] for the others); every
    /// channel rejected is a permanent error; anything pending is a retryable error.
    pub async fn send(
        &self,
        message: &Value,
        channels: &[String],
        progress: &SlackProgress,
    ) -> Result<Delivered, DeliveryError> {
        let endpoint = self
            .endpoint()
            .map_err(|e| DeliveryError::permanent(e.to_string()))?;
        let message = self
            .prepared(message)
            .map_err(|e| DeliveryError::permanent(e.to_string()))?;
        let result = match &self.settings.target {
            SlackTarget::IncomingWebhook { .. } => self.send_webhook(endpoint, &message).await,
            SlackTarget::Bot { .. } => {
                let channels = distinct(channels);
                if channels.is_empty() {
                    return Err(DeliveryError::permanent(format!(
                        "Slack bot destination {} has no channels to post to",
                        self.shown_url
                    )));
                }
                self.send_bot(endpoint, &message, &channels, progress).await
            }
        };
        // Slack's answers are quoted in errors: never let one carry the token or the webhook path.
        result.map_err(|mut error| {
            let secrets = self.settings.target.secrets();
            error.message = scrub(&error.message, secrets.iter().map(String::as_str));
            error
        })
    }

    /// What [`send`](Self::send) would post, without the network: one request for a webhook,
    /// one per distinct channel for a bot (all of them, whatever any progress says).
    pub fn preview(
        &self,
        message: &Value,
        channels: &[String],
    ) -> Result<Vec<SlackRequestPreview>, PrepareError> {
        let endpoint = self.endpoint()?;
        let message = self.prepared(message)?;
        let mut headers = vec![
            ("content-type", CONTENT_TYPE_VALUE.to_owned()),
            ("user-agent", USER_AGENT_VALUE.to_owned()),
        ];
        let request = |channel: Option<&String>, body: Value, headers: &[_]| SlackRequestPreview {
            method: "POST",
            url: self.shown_url.to_string(),
            headers: headers.to_vec(),
            channel: channel.cloned(),
            body,
        };
        if endpoint.authorization.is_none() {
            return Ok(vec![request(None, message, &headers)]);
        }
        headers.push(("authorization", "Bearer ****".to_owned()));
        let channels = distinct(channels);
        if channels.is_empty() {
            return Err(PrepareError::NoChannels(self.shown_url.to_string()));
        }
        Ok(channels
            .iter()
            .map(|channel| request(Some(channel), with_channel(&message, channel), &headers))
            .collect())
    }

    fn endpoint(&self) -> Result<&Endpoint, PrepareError> {
        self.endpoint
            .as_ref()
            .as_ref()
            .map_err(|error| PrepareError::Misconfigured {
                shown: self.shown_url.to_string(),
                error: error.clone(),
            })
    }

    /// The message checked and cut to Slack's limits.
    fn prepared(&self, message: &Value) -> Result<Value, PrepareError> {
        check_shape(message).map_err(|error| PrepareError::Shape {
            shown: self.shown_url.to_string(),
            error,
        })?;
        let mut message = message.clone();
        if fit_limits(&mut message) {
            debug!(message = "Slack message cut to Slack's limits.", url = %self.shown_url);
        }
        Ok(message)
    }

    async fn send_webhook(
        &self,
        endpoint: &Endpoint,
        message: &Value,
    ) -> Result<Delivered, DeliveryError> {
        let reply = self.post(endpoint, message).await?;
        let status = reply.status.as_u16();
        if classify(status).is_ok() {
            if reply.body.trim_ascii() != b"ok" {
                debug!(
                    message = "Slack webhook accepted the message without saying ok.",
                    url = %self.shown_url,
                    body = %quote(&reply.body, reply.capped),
                );
            }
            return Ok(Delivered {
                status,
                attempts: 1,
            });
        }
        let text = quote(&reply.body, reply.capped);
        let kind = slack_failure_kind(status, error_string(&text));
        let mut message = format!(
            "Slack webhook {} answered HTTP {}",
            self.shown_url, reply.status
        );
        if !text.is_empty() {
            message.push_str(": ");
            message.push_str(&text);
        }
        Err(DeliveryError {
            kind,
            status: Some(status),
            retry_after: reply.retry_after,
            message,
            attempts: 1,
        })
    }

    async fn send_bot(
        &self,
        endpoint: &Endpoint,
        message: &Value,
        channels: &[String],
        progress: &SlackProgress,
    ) -> Result<Delivered, DeliveryError> {
        progress.track(channels);
        let mut accepted = 200;
        let mut failures: Vec<(String, Refusal)> = Vec::new();
        for channel in progress.pending_of(channels) {
            self.paces.wait(&channel).await;
            let answer = match self.post(endpoint, &with_channel(message, &channel)).await {
                Ok(reply) => self.api_answer(&channel, reply),
                Err(error) => Err(Refusal {
                    kind: error.kind,
                    status: None,
                    retry_after: None,
                    error: None,
                    reason: error.message,
                    every_channel: true,
                }),
            };
            match answer {
                Ok(status) => {
                    accepted = status;
                    progress.record(&channel, ChannelState::Delivered);
                }
                Err(refusal) if refusal.kind == FailureKind::Permanent => {
                    let error = refusal.error.clone().unwrap_or(refusal.reason.clone());
                    let rejected = ChannelState::Rejected { error };
                    progress.record(&channel, rejected.clone());
                    let every_channel = refusal.every_channel;
                    failures.push((channel, refusal));
                    if every_channel {
                        for other in progress.pending_of(channels) {
                            progress.record(&other, rejected.clone());
                        }
                        break;
                    }
                }
                Err(refusal) => {
                    let every_channel = refusal.every_channel;
                    failures.push((channel, refusal));
                    if every_channel {
                        break;
                    }
                }
            }
        }
        self.bot_outcome(channels, progress, accepted, &failures)
    }

    /// One POST; an error only when no HTTP answer came.
    async fn post(&self, endpoint: &Endpoint, body: &Value) -> Result<Reply, DeliveryError> {
        let timeout = self.settings.timeout;
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE_VALUE));
        headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
        if let Some(authorization) = &endpoint.authorization {
            headers.insert(AUTHORIZATION, authorization.clone());
        }
        let started = Instant::now();
        let mut response = self
            .client
            .request(reqwest::Method::POST, &endpoint.url, &self.shown_url)?
            .headers(headers)
            .timeout(timeout)
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| transport_error(&e, &self.shown_url, timeout))?;
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let (body, capped) = read_capped(&mut response).await;
        debug!(
            message = "Slack answered.",
            status = status.as_u16(),
            url = %self.shown_url,
            elapsed_ms = started.elapsed().as_millis() as u64,
        );
        Ok(Reply {
            status,
            retry_after,
            body,
            capped,
        })
    }
}

impl fmt::Debug for SlackNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlackNotifier")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// An HTTP answer, its body read (bounded).
struct Reply {
    status: reqwest::StatusCode,
    retry_after: Option<Duration>,
    body: Vec<u8>,
    capped: bool,
}

/// The message with `"channel"` set.
fn with_channel(message: &Value, channel: &str) -> Value {
    let mut message = message.clone();
    if let Some(object) = message.as_object_mut() {
        object.insert("channel".to_owned(), Value::from(channel));
    }
    message
}

/// The channels in order, each once.
fn distinct(channels: &[String]) -> Vec<String> {
    let mut seen: Vec<String> = Vec::with_capacity(channels.len());
    for channel in channels {
        if !seen.contains(channel) {
            seen.push(channel.clone());
        }
    }
    seen
}
