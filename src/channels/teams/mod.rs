//! The Microsoft Teams notifier: an Adaptive Card posted to a Workflows webhook, one POST per
//! attempt.
//!
//! - [`config`]: the destination as `router.yaml` writes it;
//! - `card`: the default card, the shape a template's output must have, the size limit;
//! - `target`: a subscription bound to the notifier: rendered, sent, previewed.
//!
//! Answers: 2xx (Workflows answers 202) is delivered; 429, 408 and 5xx are retried; another 4xx
//! (400 for a card Teams refuses) is permanent.

mod card;
pub mod config;
mod target;

#[cfg(test)]
mod tests;

pub use card::{
    CARD_CONTENT_TYPE, CARD_VERSION, CardError, MAX_MESSAGE_BYTES, TRUNCATION_MARKER, check,
    default_card, fit_size, shaped,
};
pub use config::{Attributes, TeamsDestination};
pub use target::{Message, Target};

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderValue, USER_AGENT};
use serde_json::Value;

use crate::channels::http::{HttpClient, conclude, redacted, transport_error, url_secrets};
use crate::channels::{Delivered, DeliveryError, USER_AGENT_VALUE};
use crate::secret::scrub;

/// Where a Teams destination posts.
#[derive(Clone)]
pub struct TeamsSettings {
    /// The Workflows webhook URL, a secret: shown without its path and query.
    pub url: url::Url,
    /// For the whole attempt.
    pub timeout: Duration,
}

impl fmt::Debug for TeamsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TeamsSettings")
            .field("url", &redacted(&self.url))
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Delivers to one Teams destination; cheap to clone, sharing the client's connection pool.
#[derive(Clone)]
pub struct TeamsNotifier {
    client: HttpClient,
    settings: Arc<TeamsSettings>,
    shown_url: Arc<str>,
}

impl TeamsNotifier {
    pub fn new(client: HttpClient, settings: TeamsSettings) -> Self {
        TeamsNotifier {
            client,
            shown_url: redacted(&settings.url).into(),
            settings: Arc::new(settings),
        }
    }

    /// One attempt: POSTs `message` (checked and cut to size by the target) as JSON.
    pub async fn send(&self, message: &Value) -> Result<Delivered, DeliveryError> {
        let body = serde_json::to_vec(message)
            .map_err(|e| DeliveryError::permanent(format!("message not serialisable: {e}")))?;
        let timeout = self.settings.timeout;
        let request = self
            .client
            .request(Method::POST, &self.settings.url, &self.shown_url)?
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE))
            .timeout(timeout)
            .body(body);
        let started = Instant::now();
        let response = request
            .send()
            .await
            .map_err(|e| self.scrubbed(transport_error(&e, &self.shown_url, timeout)))?;
        conclude(response, "Teams answered.", &self.shown_url, started)
            .await
            .map_err(|e| self.scrubbed(e))
    }

    /// What [`send`](Self::send) would POST, as text for a person, the URL's secret hidden.
    pub fn preview(&self, message: &Value) -> String {
        let mut out = format!("POST {}\n", self.shown_url);
        out.push_str("content-type: application/json\n");
        out.push_str(&format!("user-agent: {USER_AGENT_VALUE}\n\n"));
        out.push_str(&serde_json::to_string_pretty(message).unwrap_or_default());
        out
    }

    /// The error without any secret part of the URL, should an answer echo it.
    fn scrubbed(&self, mut error: DeliveryError) -> DeliveryError {
        let secrets = url_secrets(&self.settings.url);
        error.message = scrub(&error.message, secrets.iter().map(String::as_str));
        error
    }
}

impl fmt::Debug for TeamsNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TeamsNotifier")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}
