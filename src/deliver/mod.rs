//! Delivery of rendered notifications to destinations, with in-process retries.
//!
//! # Layout
//! - `outcome`: [`Delivered`], [`DeliveryError`] and [`classify`], the one place that maps an
//!   HTTP status to retry-or-not.
//! - `webhook`: [`WebhookNotifier`], one HTTP attempt per call; `signing`: its Standard
//!   Webhooks [`Signer`].
//! - `http`: the shared [`HttpClient`] with its SSRF guard (a checking DNS resolver, IP-literal
//!   checks, no redirects, no system proxy); `network`: the address classifier and
//!   [`NetworkPolicy`] it applies.
//! - `email`: [`EmailNotifier`], SMTP through a pooled lettre transport, recipients in batches.
//! - `slack`: [`SlackNotifier`], one attempt per call to an incoming webhook or, per channel,
//!   to `chat.postMessage`; `slack_settings`, `slack_progress` (no channel posted twice),
//!   `slack_errors` (the one place that reads Slack's error strings) and `slack_message`
//!   (escaping, the default layout, shape, limits, colour).
//! - `response`: reading answers (bounded) and transport errors into clear messages.
//! - `retry`: [`RetryPolicy`] and [`deliver_with_retries`], backoff with jitter and `Retry-After`.
//!
//! An attempt that fails retryably is retried here a few times; what is still failing after that
//! is returned with its kind and attempt count, for the caller to hand to the retry or
//! dead-letter topic. Every attempt of one delivery carries the same `webhook-id`.

mod email;
mod http;
mod network;
mod outcome;
mod response;
mod retry;
mod signing;
mod slack;
mod slack_errors;
mod slack_message;
mod slack_progress;
mod slack_settings;
mod webhook;

#[cfg(test)]
mod email_injection_tests;
#[cfg(test)]
mod email_tests;
#[cfg(test)]
mod retry_tests;
#[cfg(test)]
mod signing_tests;
#[cfg(test)]
mod slack_message_tests;
#[cfg(test)]
mod slack_test_server;
#[cfg(test)]
mod slack_tests;
#[cfg(test)]
pub(crate) mod smtp_test_server;
#[cfg(test)]
mod ssrf_tests;
#[cfg(test)]
mod test_server;
#[cfg(test)]
mod webhook_tests;

pub use email::{
    DEFAULT_BATCH_SIZE, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_CONNECTIONS, DEFAULT_SEND_TIMEOUT,
    EmailContent, EmailMessage, EmailNotifier, EmailProgress, EmailSettings, MAX_BATCH_SIZE,
    StartTls,
};
pub use http::{HttpClient, HttpOptions};
pub use network::{AddressClass, NetworkPolicy, Refused, classify as classify_address};
pub use outcome::{Delivered, DeliveryError, FailureKind, classify};
pub use response::{MAX_BODY_QUOTED, MAX_BODY_READ, redacted};
pub use retry::{
    DEFAULT_HORIZON, DEFAULT_SCHEDULE, NextRetry, RetryPolicy, deliver_with_retries, jittered,
};
pub use signing::{
    PRIVATE_KEY_PREFIX, PUBLIC_KEY_PREFIX, SECRET_PREFIX, Signer, generate_key_pair,
    generate_secret,
};
pub use slack::{SlackNotifier, SlackRequestPreview};
pub use slack_errors::{SlackErrorScope, slack_error_kind, slack_error_scope, slack_failure_kind};
pub use slack_message::{
    BLOCKS_MAX, CONTEXT_ELEMENTS_MAX, CONTEXT_TEXT_MAX, FIELD_TEXT_MAX, FIELDS_MAX,
    HEADER_TEXT_MAX, MARKDOWN_TEXT_MAX, MESSAGE_TEXT_MAX, SECTION_TEXT_MAX, TRUNCATION_MARKER,
    apply_color, check_color, check_shape, default_message, escape_text, fit_limits,
};
pub use slack_progress::{ChannelState, SlackProgress};
pub use slack_settings::{DEFAULT_API_URL, SlackSettings, SlackTarget};
pub use webhook::{USER_AGENT_VALUE, WebhookNotifier, WebhookSettings};

/// The HTTP method of a webhook destination (`verb` in config).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verb {
    Post,
    Put,
    Patch,
    /// Sent without a body or `content-type`.
    Get,
}

#[cfg(test)]
mod tests {
    use super::Verb;

    #[test]
    fn verbs_deserialise_in_lowercase() {
        let cases = [
            ("\"post\"", Verb::Post),
            ("\"put\"", Verb::Put),
            ("\"patch\"", Verb::Patch),
            ("\"get\"", Verb::Get),
        ];
        for (text, verb) in cases {
            assert_eq!(
                serde_json::from_str::<Verb>(text).expect("known verb"),
                verb
            );
        }
        assert!(serde_json::from_str::<Verb>("\"POST\"").is_err());
        assert!(serde_json::from_str::<Verb>("\"delete\"").is_err());
    }
}
