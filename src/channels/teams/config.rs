//! A Teams destination as `router.yaml` writes it, checked into [`TeamsSettings`]. Teams
//! subscriptions have no attributes of their own: a `template` at most.

use std::time::Duration;

use serde::Deserialize;

use super::TeamsSettings;
use crate::channels::http::{NetworkPolicy, check_outbound_url, redacted};
use crate::secret::Secret;

/// A Teams channel reached by a Workflows (Power Automate) webhook. `Retry`, `Limits` and
/// `Breaker` are the delivery settings every destination has; their types are the dispatcher's.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamsDestination<Retry, Limits, Breaker> {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// The Workflows webhook URL; its query holds the signature, so it is a secret.
    pub url: Secret,
    /// Allows an `http://` URL; `https://` is required otherwise.
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

impl<Retry, Limits, Breaker> TeamsDestination<Retry, Limits, Breaker> {
    /// The checked settings; on error the field and the reason. The URL is never quoted.
    pub fn settings(
        &self,
        default_timeout: Duration,
        policy: &NetworkPolicy,
    ) -> Result<TeamsSettings, (&'static str, String)> {
        let url = url::Url::parse(self.url.expose())
            .map_err(|e| ("url", format!("is not a URL: {e}")))?;
        check_outbound_url(&url, self.allow_http, policy, &redacted(&url))
            .map_err(|why| ("url", why.to_string()))?;
        Ok(TeamsSettings {
            url,
            timeout: self.timeout.unwrap_or(default_timeout),
        })
    }
}

/// A Teams subscription's attributes: none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Attributes;
