//! The PagerDuty notifier: one Events API v2 event per attempt, `trigger` or `resolve` by the
//! subscription's `resolve_on`, with a `dedup_key` that ties a failure to the success that
//! ends it.
//!
//! - [`config`]: the destination as `router.yaml` writes it, and its subscriptions' attributes;
//! - `event`: the event built from a notification and checked against the published schema;
//! - `target`: a subscription bound to the notifier: rendered, sent, previewed.
//!
//! Answers are read as PagerDuty documents them: 202 accepted; 400 an invalid event (permanent);
//! 429 and 5xx retried. Events with one `dedup_key` are idempotent on PagerDuty's side, so a
//! retry after a lost answer triggers no second incident.

pub mod config;
mod event;
mod target;

#[cfg(test)]
mod tests;

pub use config::{Attributes, PagerDutyDestination, SeverityMap};
pub use event::{
    Action, DEDUP_KEY_MAX, SUMMARY_MAX, Severity, TEMPLATE_FIELDS, TRUNCATION_MARKER, build,
    default_dedup_key, default_resolve_on, explain, fit_dedup_key, fit_summary,
};
pub use target::{Message, Target};

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderValue, USER_AGENT};
use serde_json::Value;

use crate::channels::http::{HttpClient, conclude, redacted, transport_error};
use crate::channels::{Delivered, DeliveryError, USER_AGENT_VALUE};
use crate::secret::{Secret, scrub};

/// PagerDuty's public Events API v2 endpoint.
pub const DEFAULT_URL: &str = "https://events.pagerduty.com/v2/enqueue";

/// Where and with which key events are sent.
#[derive(Clone)]
pub struct PagerDutySettings {
    pub url: url::Url,
    /// The integration key of the service; never printed.
    pub routing_key: Secret,
    /// For the whole attempt.
    pub timeout: Duration,
}

impl fmt::Debug for PagerDutySettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PagerDutySettings")
            .field("url", &redacted(&self.url))
            .field("routing_key", &"****")
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Delivers to one PagerDuty service; cheap to clone, sharing the client's connection pool.
#[derive(Clone)]
pub struct PagerDutyNotifier {
    client: HttpClient,
    settings: Arc<PagerDutySettings>,
    shown_url: Arc<str>,
}

impl PagerDutyNotifier {
    pub fn new(client: HttpClient, settings: PagerDutySettings) -> Self {
        PagerDutyNotifier {
            client,
            shown_url: redacted(&settings.url).into(),
            settings: Arc::new(settings),
        }
    }

    pub fn settings(&self) -> &PagerDutySettings {
        &self.settings
    }

    /// `event` with the routing key first, as sent.
    fn with_key(&self, event: &Value, key: &str) -> Value {
        let mut body = serde_json::Map::new();
        body.insert("routing_key".into(), key.into());
        if let Value::Object(fields) = event {
            body.extend(fields.clone());
        }
        Value::Object(body)
    }

    /// One attempt: POSTs `event` (built by [`build`]) with the routing key added.
    pub async fn send(&self, event: &Value) -> Result<Delivered, DeliveryError> {
        let body = self.with_key(event, self.settings.routing_key.expose());
        let body = serde_json::to_vec(&body)
            .map_err(|e| DeliveryError::permanent(format!("event not serialisable: {e}")))?;
        let request = self
            .client
            .request(Method::POST, &self.settings.url, &self.shown_url)?
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE))
            .timeout(self.settings.timeout)
            .body(body);
        let started = Instant::now();
        let timeout = self.settings.timeout;
        let response = request
            .send()
            .await
            .map_err(|e| self.scrubbed(transport_error(&e, &self.shown_url, timeout)))?;
        conclude(response, "PagerDuty answered.", &self.shown_url, started)
            .await
            .map_err(|e| self.scrubbed(e))
    }

    /// What [`send`](Self::send) would POST, as text for a person, the routing key as `****`.
    pub fn preview(&self, event: &Value) -> String {
        let body = self.with_key(event, "****");
        let mut out = format!("POST {}\n", self.shown_url);
        out.push_str("content-type: application/json\n");
        out.push_str(&format!("user-agent: {USER_AGENT_VALUE}\n\n"));
        out.push_str(&serde_json::to_string_pretty(&body).unwrap_or_default());
        out
    }

    /// The error without the routing key, should an answer echo it.
    fn scrubbed(&self, mut error: DeliveryError) -> DeliveryError {
        let key = self.settings.routing_key.expose().as_str();
        error.message = scrub(&error.message, [key]);
        error
    }
}

impl fmt::Debug for PagerDutyNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PagerDutyNotifier")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}
