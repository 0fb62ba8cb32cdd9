//! A PagerDuty destination as `router.yaml` writes it, checked into [`PagerDutySettings`], and
//! the attributes of its subscriptions: the `dedup_key` template, the `severity` mapping and
//! the `resolve_on` filter.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::{DEFAULT_URL, PagerDutySettings, Severity, default_resolve_on};
use crate::channels::config::{AttributeTable, Problems, SubscriptionConfig};
use crate::channels::http::{NetworkPolicy, check_outbound_url, redacted};
use crate::filter::Filter;
use crate::render::InlineTemplate;
use crate::secret::Secret;

/// A PagerDuty service reached by the Events API v2. `Retry`, `Limits` and `Breaker` are the
/// delivery settings every destination has; their types are the dispatcher's.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagerDutyDestination<Retry, Limits, Breaker> {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// The integration key of the PagerDuty service (32 characters).
    pub routing_key: Secret,
    /// The Events API endpoint, [`DEFAULT_URL`] unless set (a proxy, a test server).
    #[serde(default)]
    pub url: Option<String>,
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

impl<Retry, Limits, Breaker> PagerDutyDestination<Retry, Limits, Breaker> {
    /// The checked settings; on error the field and the reason. The routing key is never quoted.
    pub fn settings(
        &self,
        default_timeout: Duration,
        policy: &NetworkPolicy,
    ) -> Result<PagerDutySettings, (&'static str, String)> {
        let key = self.routing_key.expose();
        if key.trim().is_empty() {
            return Err(("routing_key", "is empty".to_owned()));
        }
        if key.chars().any(|c| c.is_whitespace() || c.is_control()) {
            let why = "holds whitespace: a routing key is the 32-character integration key";
            return Err(("routing_key", why.to_owned()));
        }
        let written = self.url.as_deref().unwrap_or(DEFAULT_URL);
        let url = url::Url::parse(written)
            .map_err(|e| ("url", format!("{written:?} is not a URL: {e}")))?;
        check_outbound_url(&url, self.allow_http, policy, &redacted(&url))
            .map_err(|why| ("url", why.to_string()))?;
        Ok(PagerDutySettings {
            url,
            routing_key: self.routing_key.clone(),
            timeout: self.timeout.unwrap_or(default_timeout),
        })
    }
}

/// A PagerDuty subscription's attributes.
#[derive(Debug, Clone)]
pub struct Attributes {
    /// The `dedup_key` template; `None` for the default (see [`super::default_dedup_key`]).
    pub dedup_key: Option<InlineTemplate>,
    /// PagerDuty's severity for each `ibmenseverity`.
    pub severity: SeverityMap,
    /// A notification this matches resolves the incident instead of triggering one.
    pub resolve_on: Filter,
}

/// `ibmenseverity` to PagerDuty's severity: the defaults `HIGH` → `error`, `MEDIUM` →
/// `warning`, `LOW` → `info`, each replaceable, more values addable; anything unmapped is
/// `warning`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeverityMap(BTreeMap<String, Severity>);

impl Default for SeverityMap {
    fn default() -> Self {
        SeverityMap(BTreeMap::from([
            ("HIGH".to_owned(), Severity::Error),
            ("MEDIUM".to_owned(), Severity::Warning),
            ("LOW".to_owned(), Severity::Info),
        ]))
    }
}

impl SeverityMap {
    /// The severity of a notification whose `ibmenseverity` is `en` (any case).
    pub fn of(&self, en: Option<&str>) -> Severity {
        en.and_then(|en| self.0.get(&en.to_ascii_uppercase()))
            .copied()
            .unwrap_or(Severity::Warning)
    }
}

/// The attributes only PagerDuty subscriptions have.
pub const ATTRIBUTES: AttributeTable = &[
    ("dedup_key", |c| c.dedup_key.is_some()),
    ("severity", |c| c.severity.is_some()),
    ("resolve_on", |c| c.resolve_on.is_some()),
];

/// The attributes of a PagerDuty subscription; problems are added.
pub fn attributes(config: &SubscriptionConfig, problems: &mut Problems) -> Attributes {
    let dedup_key = config.dedup_key.as_deref().and_then(|source| {
        if source.trim().is_empty() {
            problems.push((
                "dedup_key".into(),
                "is empty: leave it out for the default".into(),
            ));
            return None;
        }
        InlineTemplate::compile(source)
            .map_err(|why| problems.push(("dedup_key".into(), format!("is not a template: {why}"))))
            .ok()
    });
    let mut severity = SeverityMap::default();
    for (en, pagerduty) in config.severity.iter().flatten() {
        match Severity::parse(pagerduty) {
            Some(mapped) => {
                severity.0.insert(en.to_ascii_uppercase(), mapped);
            }
            None => problems.push((
                format!("severity.{en}"),
                format!("{pagerduty:?} is not a PagerDuty severity; valid: critical, error, warning, info"),
            )),
        }
    }
    let resolve_on = match &config.resolve_on {
        None => default_resolve_on(),
        Some(text) => Filter::parse(text).unwrap_or_else(|why| {
            problems.push(("resolve_on".into(), format!("is not a filter: {why}")));
            default_resolve_on()
        }),
    };
    Attributes {
        dedup_key,
        severity,
        resolve_on,
    }
}
