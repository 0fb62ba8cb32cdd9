//! A webhook destination as `router.yaml` writes it, checked into [`WebhookSettings`], and the
//! attributes of its subscriptions.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::{Signer, Verb, WebhookSettings};
use crate::channels::config::{AttributeTable, Problems, SubscriptionConfig};
use crate::channels::http::{NetworkPolicy, check_outbound_url, redacted};
use crate::secret::Secret;

/// An HTTP endpoint. `Retry`, `Limits` and `Breaker` are the delivery settings every
/// destination has; their types are the dispatcher's.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookDestination<Retry, Limits, Breaker> {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// May carry a credential in its path or query, so `Debug` shows `****`.
    pub url: Secret,
    /// Allows an `http://` URL; `https://` is required otherwise.
    #[serde(default)]
    pub allow_http: bool,
    #[serde(default = "default_verb")]
    pub verb: Verb,
    /// Values are secrets: the `Debug` of this struct shows none of them.
    #[serde(default)]
    pub custom_headers: BTreeMap<String, Secret>,
    /// Names of `custom_headers` whose values are secret: sent, never logged. Every custom
    /// header is, unless listed in `public_headers`; listing it here too says so explicitly.
    #[serde(default)]
    pub sensitive_headers: Vec<String>,
    /// Names of `custom_headers` whose values are not secret, and may be shown (in `render`,
    /// the admin API, logs). Fail closed: a header not listed here is shown as `****`.
    #[serde(default)]
    pub public_headers: Vec<String>,
    /// `oauth2` client credentials: a bearer token on every request.
    #[serde(default)]
    pub auth: Option<crate::channels::http::AuthConfig>,
    /// Mutual TLS: a client certificate, and a CA to trust.
    #[serde(default)]
    pub tls: Option<crate::channels::http::TlsConfig>,
    /// Standard Webhooks signing; unsigned without it.
    #[serde(default)]
    pub signing: Option<SigningConfig>,
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

/// The secrets and keys a webhook destination signs with; each one signs every request, so a
/// rotation lists the old and the new one until receivers have switched.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigningConfig {
    /// `whsec_...` secrets for `v1,` HMAC-SHA256 signatures; empty values are left out.
    #[serde(default)]
    pub secrets: Vec<Secret>,
    /// `whsk_...` ed25519 private keys for `v1a,` signatures; empty values are left out.
    #[serde(default)]
    pub keys: Vec<Secret>,
}

fn default_verb() -> Verb {
    Verb::Post
}

impl<Retry, Limits, Breaker> WebhookDestination<Retry, Limits, Breaker> {
    /// The checked settings; on error the field and the reason.
    pub fn settings(
        &self,
        default_timeout: Duration,
        policy: &NetworkPolicy,
    ) -> Result<WebhookSettings, (&'static str, String)> {
        // The URL is not quoted: it may carry a credential in its path or query.
        let url = url::Url::parse(self.url.expose())
            .map_err(|e| ("url", format!("is not a URL: {e}")))?;
        check_outbound_url(&url, self.allow_http, policy, &redacted(&url))
            .map_err(|why| ("url", why.to_string()))?;
        let listed =
            |list: &[String], name: &str| list.iter().any(|s| s.eq_ignore_ascii_case(name));
        // Fail closed: a header's value is secret unless `public_headers` says otherwise.
        let mut custom_headers = Vec::new();
        let mut sensitive_headers = Vec::new();
        for (name, value) in &self.custom_headers {
            if listed(&self.public_headers, name) {
                custom_headers.push((name.clone(), value.expose().clone()));
            } else {
                sensitive_headers.push((name.clone(), value.clone()));
            }
        }
        let lists = [
            ("sensitive_headers", &self.sensitive_headers),
            ("public_headers", &self.public_headers),
        ];
        for (field, names) in lists {
            for name in names {
                if !self
                    .custom_headers
                    .keys()
                    .any(|h| h.eq_ignore_ascii_case(name))
                {
                    let names: Vec<&str> = self.custom_headers.keys().map(String::as_str).collect();
                    let valid = if names.is_empty() {
                        "none defined".to_owned()
                    } else {
                        names.join(", ")
                    };
                    let why = format!("{name:?} is not one of custom_headers; valid: {valid}");
                    return Err((field, why));
                }
            }
        }
        if let Some(both) = self
            .public_headers
            .iter()
            .find(|name| listed(&self.sensitive_headers, name))
        {
            let why =
                format!("{both:?} is also in sensitive_headers: a header is one or the other");
            return Err(("public_headers", why));
        }
        let signer = match &self.signing {
            None => Signer::default(),
            Some(signing) => Signer::new(&signing.secrets, &signing.keys)
                .map_err(|why| ("signing", why.to_string()))?,
        };
        let oauth2 = match &self.auth {
            None => None,
            Some(auth) => Some(self.oauth2(&auth.oauth2, policy)?),
        };
        let tls = match &self.tls {
            None => None,
            Some(tls) => Some(tls.load()?),
        };
        let settings = WebhookSettings {
            tls,
            oauth2,
            url,
            verb: self.verb,
            custom_headers,
            sensitive_headers,
            timeout: self.timeout.unwrap_or(default_timeout),
            signer,
        };
        settings
            .check()
            .map_err(|why| ("custom_headers", why.to_string()))?;
        Ok(settings)
    }
}

impl<Retry, Limits, Breaker> WebhookDestination<Retry, Limits, Breaker> {
    /// The checked client credentials; the token URL obeys the network policy and
    /// `allow_http` as the destination's URL does.
    fn oauth2(
        &self,
        config: &crate::channels::http::OAuth2Config,
        policy: &NetworkPolicy,
    ) -> Result<crate::channels::http::OAuth2Settings, (&'static str, String)> {
        const FIELD: &str = "auth.oauth2.token_url";
        let token_url = url::Url::parse(&config.token_url)
            .map_err(|e| (FIELD, format!("{:?} is not a URL: {e}", config.token_url)))?;
        check_outbound_url(&token_url, self.allow_http, policy, &redacted(&token_url))
            .map_err(|why| (FIELD, why.to_string()))?;
        if config.client_id.trim().is_empty() {
            return Err(("auth.oauth2.client_id", "is empty".to_owned()));
        }
        if config.client_secret.is_empty() {
            return Err(("auth.oauth2.client_secret", "is empty".to_owned()));
        }
        if self
            .custom_headers
            .keys()
            .any(|h| h.eq_ignore_ascii_case("authorization"))
        {
            let why = "the authorization header carries the OAuth2 token: remove it from \
                       custom_headers";
            return Err(("auth", why.to_owned()));
        }
        Ok(crate::channels::http::OAuth2Settings {
            token_url,
            client_id: config.client_id.clone(),
            client_secret: config.client_secret.clone(),
            scopes: config.scopes.clone(),
        })
    }
}

/// A webhook subscription's attributes, as in Event Notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attributes {
    /// Whether requests carry `webhook-signature` (the destination has secrets or keys).
    pub signing_enabled: bool,
}

/// The attributes only webhook subscriptions have.
pub const ATTRIBUTES: AttributeTable = &[("signing_enabled", |c| c.signing_enabled.is_some())];

/// The attributes of a subscription to a destination with `settings`; problems are added.
pub fn attributes(
    config: &SubscriptionConfig,
    settings: &WebhookSettings,
    problems: &mut Problems,
) -> Attributes {
    let can_sign = !settings.signer.is_empty();
    if config.signing_enabled == Some(true) && !can_sign {
        let why = format!(
            "is true, but destination {:?} has no signing secrets or keys: add `signing` to it",
            config.destination
        );
        problems.push(("signing_enabled".to_owned(), why));
    }
    Attributes {
        signing_enabled: config.signing_enabled.unwrap_or(can_sign) && can_sign,
    }
}

/// A destination that signs with no `whsk_` key: it has no public key to show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "destination {id:?} has no signing keys ({secrets} shared secret(s)): add `signing.keys` \
     (make one with `notification-router keys generate`)"
)]
pub struct NoSigningKeys {
    pub id: String,
    /// How many `whsec_` secrets it signs with instead.
    pub secrets: usize,
}

/// The `whpk_` public keys a destination with `settings` signs with, or why it has none.
pub fn public_keys(id: &str, settings: &WebhookSettings) -> Result<Vec<String>, NoSigningKeys> {
    let keys = settings.signer.public_keys();
    if keys.is_empty() {
        return Err(NoSigningKeys {
            id: id.to_owned(),
            secrets: settings.signer.secret_count(),
        });
    }
    Ok(keys)
}
