//! Delivery of rendered notifications to destinations, with in-process retries.
//!
//! # Layout
//! - `outcome`: [`Delivered`], [`DeliveryError`] and [`classify`], the one place that maps an
//!   HTTP status to retry-or-not.
//! - `webhook`: [`WebhookNotifier`], one HTTP attempt per call, and the shared [`http_client`].
//! - `response`: reading answers (bounded) and transport errors into clear messages.
//! - `retry`: [`RetryPolicy`] and [`deliver_with_retries`], backoff with jitter and `Retry-After`.
//!
//! An attempt that fails retryably is retried here a few times; what is still failing after that
//! is returned with its kind and attempt count, for the caller to hand to the retry or
//! dead-letter topic. Every attempt of one delivery carries the same `webhook-id`.

mod outcome;
mod response;
mod retry;
mod webhook;

#[cfg(test)]
mod retry_tests;
#[cfg(test)]
mod test_server;
#[cfg(test)]
mod webhook_tests;

pub use outcome::{Delivered, DeliveryError, FailureKind, classify};
pub use response::{MAX_BODY_QUOTED, MAX_BODY_READ};
pub use retry::{RetryPolicy, deliver_with_retries, jittered};
pub use webhook::{USER_AGENT_VALUE, WebhookNotifier, WebhookSettings, http_client};

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
