//! What Slack's Web API answers mean for a bot attempt: per channel, accepted or refused (and
//! whether every other channel would be refused the same way), then the attempt's outcome.

use std::time::Duration;

use serde::Deserialize;
use tracing::debug;

use super::{
    ChannelState, Reply, SlackErrorScope, SlackNotifier, SlackProgress, slack_error_scope,
    slack_failure_kind,
};
use crate::channels::http::quote;
use crate::channels::{Delivered, DeliveryError, FailureKind, classify};

impl SlackNotifier {
    /// What one `chat.postMessage` answer means for its channel: the status when accepted.
    pub(super) fn api_answer(&self, channel: &str, reply: Reply) -> Result<u16, Refusal> {
        let status = reply.status.as_u16();
        let success = classify(status).is_ok();
        match serde_json::from_slice::<ApiAnswer>(&reply.body) {
            Ok(ApiAnswer {
                ok: true, warning, ..
            }) if success => {
                if let Some(warning) = warning {
                    debug!(
                        message = "Slack accepted the message with a warning.",
                        channel,
                        warning = %quote(warning.as_bytes(), false),
                    );
                }
                Ok(status)
            }
            Ok(ApiAnswer {
                ok: false,
                error: Some(error),
                ..
            }) => {
                let error = quote(error.as_bytes(), false);
                let mut reason = error.clone();
                if status != 200 {
                    reason.push_str(&format!(" (HTTP {})", reply.status));
                }
                let rate_limited = status == 429 || reply.retry_after.is_some();
                Err(Refusal {
                    kind: slack_failure_kind(status, Some(&error)),
                    status: Some(status),
                    retry_after: reply.retry_after,
                    every_channel: rate_limited
                        || slack_error_scope(&error) == SlackErrorScope::Request,
                    error: Some(error),
                    reason,
                })
            }
            _ => {
                let body = quote(&reply.body, reply.capped);
                let (kind, reason) = match classify(status) {
                    Ok(()) => (
                        FailureKind::Permanent,
                        format!(
                            "HTTP {} with an answer that is not Slack's: {body}",
                            reply.status
                        ),
                    ),
                    Err(kind) => (kind, format!("HTTP {}: {body}", reply.status)),
                };
                Err(Refusal {
                    kind,
                    status: Some(status),
                    retry_after: reply.retry_after,
                    error: None,
                    reason: reason.trim_end_matches([':', ' ']).to_owned(),
                    every_channel: status == 429 || reply.retry_after.is_some(),
                })
            }
        }
    }

    pub(super) fn bot_outcome(
        &self,
        channels: &[String],
        progress: &SlackProgress,
        accepted: u16,
        failures: &[(String, Refusal)],
    ) -> Result<Delivered, DeliveryError> {
        let pending = progress.pending_of(channels);
        let delivered = channels
            .iter()
            .filter(|c| progress.state(c) == Some(ChannelState::Delivered))
            .count();
        let rejected: Vec<(String, String)> = progress
            .rejected()
            .into_iter()
            .filter(|(name, _)| channels.contains(name))
            .collect();
        let list = |items: &mut dyn Iterator<Item = (&str, &str)>| {
            items
                .map(|(channel, why)| format!("{channel}: {why}"))
                .collect::<Vec<_>>()
                .join("; ")
        };
        if pending.is_empty() && delivered > 0 {
            return Ok(Delivered {
                status: accepted,
                attempts: 1,
            });
        }
        if pending.is_empty() {
            let why = list(&mut rejected.iter().map(|(c, e)| (c.as_str(), e.as_str())));
            return Err(DeliveryError {
                kind: FailureKind::Permanent,
                status: failures.last().and_then(|(_, refusal)| refusal.status),
                retry_after: None,
                message: format!(
                    "Slack chat.postMessage at {} refused the message for every channel: {why}",
                    self.shown_url
                ),
                attempts: 1,
            });
        }
        let retryable: Vec<&(String, Refusal)> = failures
            .iter()
            .filter(|(_, refusal)| refusal.kind == FailureKind::Retryable)
            .collect();
        let why = list(
            &mut retryable
                .iter()
                .map(|(c, refusal)| (c.as_str(), refusal.reason.as_str())),
        );
        let mut message = format!(
            "Slack chat.postMessage at {}: {} of {} channels still pending ({why}); {delivered} \
             delivered",
            self.shown_url,
            pending.len(),
            channels.len(),
        );
        if !rejected.is_empty() {
            let refused = list(&mut rejected.iter().map(|(c, e)| (c.as_str(), e.as_str())));
            message.push_str(&format!(", rejected: {refused}"));
        }
        Err(DeliveryError {
            kind: FailureKind::Retryable,
            status: retryable.last().and_then(|(_, refusal)| refusal.status),
            retry_after: retryable
                .iter()
                .filter_map(|(_, refusal)| refusal.retry_after)
                .max(),
            message,
            attempts: 1,
        })
    }
}

/// The parts of a Web API answer we read.
#[derive(Deserialize)]
pub(super) struct ApiAnswer {
    ok: bool,
    error: Option<String>,
    warning: Option<String>,
}

/// Why one channel did not get the message.
pub(super) struct Refusal {
    pub(super) kind: FailureKind,
    pub(super) status: Option<u16>,
    pub(super) retry_after: Option<Duration>,
    /// Slack's error string, when it gave one.
    pub(super) error: Option<String>,
    /// For messages: Slack's error string and any unusual status, or what went wrong.
    pub(super) reason: String,
    /// Whether the other channels would fail the same way now (token, message, rate limit,
    /// an unreachable API), so the attempt stops here.
    pub(super) every_channel: bool,
}

/// `text` when it looks like one of Slack's error strings (`no_service`), not a page of HTML.
pub(super) fn error_string(text: &str) -> Option<&str> {
    let looks_like_one = !text.is_empty()
        && text.len() <= 64
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    looks_like_one.then_some(text)
}
