//! The webhook notifier: one HTTP attempt per call, with Standard Webhooks id, timestamp and
//! signature headers.
//!
//! - [`config`]: the destination as `router.yaml` writes it, and its subscriptions' attributes;
//! - `signing`: [`Signer`], Standard Webhooks signatures and keys;
//! - `target`: a subscription bound to the notifier: rendered, sent, previewed.

pub mod config;
mod signing;
mod target;

#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, USER_AGENT};
use tracing::debug;

use crate::channels::http::{
    HttpClient, OAuth2Settings, TokenSource, conclude, read_capped, redacted, transport_error,
    url_secrets,
};
use crate::channels::{Delivered, DeliveryError};

use crate::secret::{Secret, scrub};
pub use config::{Attributes, NoSigningKeys, SigningConfig, WebhookDestination, public_keys};
pub use signing::{
    KeyProblem, PRIVATE_KEY_PREFIX, PUBLIC_KEY_PREFIX, SECRET_PREFIX, SecretProblem, Signer,
    SigningError, generate_key_pair, generate_secret,
};
pub use target::{Message, Target};

/// Sent as `user-agent` on every request.
pub const USER_AGENT_VALUE: &str = concat!("notification-router/", env!("CARGO_PKG_VERSION"));

/// Headers the notifier owns; custom and sensitive headers may not set them.
const RESERVED: [&str; 7] = [
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
];

/// Where and how a webhook destination is called.
#[derive(Clone)]
pub struct WebhookSettings {
    pub url: url::Url,
    pub verb: Verb,
    /// Sent as given; may replace `content-type` or `user-agent`.
    pub custom_headers: Vec<(String, String)>,
    /// Like `custom_headers`, but the values are never printed or logged.
    pub sensitive_headers: Vec<(String, Secret)>,
    /// For the whole attempt: connecting, sending, and reading the answer.
    pub timeout: Duration,
    /// The destination's Standard Webhooks secrets and keys; empty signs nothing.
    pub signer: Signer,
    /// OAuth2 client credentials: every request carries a bearer token.
    pub oauth2: Option<OAuth2Settings>,
    /// A client certificate and CA of its own (mutual TLS).
    pub tls: Option<crate::channels::http::ClientTls>,
}

/// Why a custom or sensitive header cannot be sent; a sensitive value is shown as `****`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("invalid header name {0:?}")]
    Name(String),
    #[error("header {0:?} is set by the notifier and cannot be configured")]
    Reserved(String),
    #[error("invalid value {shown:?} for header {name:?}")]
    Value { name: String, shown: String },
}

impl WebhookSettings {
    /// Checks that every custom and sensitive header is a valid, non-reserved header, so that
    /// config loading can reject a destination before any delivery is tried.
    pub fn check(&self) -> Result<(), HeaderError> {
        self.extra_headers().map(|_| ())
    }

    /// Custom then sensitive headers, sensitive values marked so HTTP/2 never indexes them.
    fn extra_headers(&self) -> Result<HeaderMap, HeaderError> {
        let mut headers = HeaderMap::new();
        let custom = self
            .custom_headers
            .iter()
            .map(|(n, v)| ((n, v.as_str()), false));
        let sensitive = self
            .sensitive_headers
            .iter()
            .map(|(n, v)| ((n, v.expose().as_str()), true));
        for ((name, value), is_sensitive) in custom.chain(sensitive) {
            let header = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| HeaderError::Name(name.clone()))?;
            if RESERVED.contains(&header.as_str()) {
                return Err(HeaderError::Reserved(name.clone()));
            }
            let mut value = HeaderValue::from_str(value).map_err(|_| {
                let shown = if is_sensitive { "****" } else { value };
                HeaderError::Value {
                    name: name.clone(),
                    shown: shown.to_owned(),
                }
            })?;
            value.set_sensitive(is_sensitive);
            headers.append(header, value);
        }
        Ok(headers)
    }
}

impl fmt::Debug for WebhookSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sensitive: Vec<(&str, &str)> = self
            .sensitive_headers
            .iter()
            .map(|(name, _)| (name.as_str(), "****"))
            .collect();
        f.debug_struct("WebhookSettings")
            .field("url", &redacted(&self.url))
            .field("verb", &self.verb)
            .field("custom_headers", &self.custom_headers)
            .field("sensitive_headers", &sensitive)
            .field("timeout", &self.timeout)
            .field("signer", &self.signer)
            .field("oauth2", &self.oauth2)
            .field("tls", &self.tls)
            .finish()
    }
}

/// Delivers to one webhook destination; cheap to clone, sharing the client's connection pool.
#[derive(Clone)]
pub struct WebhookNotifier {
    client: HttpClient,
    settings: Arc<WebhookSettings>,
    /// [`WebhookSettings::check`]'s verdict, computed once; an error fails every attempt.
    extra_headers: Arc<Result<HeaderMap, HeaderError>>,
    shown_url: Arc<str>,
    /// The OAuth2 tokens of the destination, when it has client credentials.
    tokens: Option<Arc<TokenSource>>,
    /// Why the destination's `tls` could not be set up, failing every attempt.
    tls_error: Option<Arc<str>>,
}

impl WebhookNotifier {
    pub fn new(client: HttpClient, settings: WebhookSettings) -> Self {
        // Checked when the configuration was loaded; a failure here fails every attempt.
        let (client, tls_error) = match &settings.tls {
            None => (client, None),
            Some(tls) => match client.with_tls(tls) {
                Ok(own) => (own, None),
                Err(error) => (client, Some(Arc::from(error.to_string()))),
            },
        };
        let tokens = settings
            .oauth2
            .clone()
            .map(|oauth2| Arc::new(TokenSource::new(client.clone(), oauth2, settings.timeout)));
        WebhookNotifier {
            client,
            tls_error,
            tokens,
            extra_headers: Arc::new(settings.extra_headers()),
            shown_url: redacted(&settings.url).into(),
            settings: Arc::new(settings),
        }
    }

    pub fn settings(&self) -> &WebhookSettings {
        &self.settings
    }

    /// What [`send`](Self::send) would send, for the `render` command: the method, the URL with
    /// any secret in it hidden, and the headers, sensitive values shown as `****` and signatures
    /// described rather than computed.
    pub fn preview(
        &self,
        webhook_id: &str,
        sign: bool,
    ) -> (&'static str, &str, Vec<(String, String)>) {
        let settings = &*self.settings;
        let mut headers: Vec<(String, String)> = Vec::new();
        if settings.verb != Verb::Get {
            headers.push(("content-type".into(), "application/json".into()));
        }
        headers.push(("webhook-id".into(), webhook_id.into()));
        headers.push((
            "webhook-timestamp".into(),
            "<unix seconds when sent>".into(),
        ));
        if sign && !settings.signer.is_empty() {
            headers.push(("webhook-signature".into(), settings.signer.preview()));
        }
        headers.push(("user-agent".into(), USER_AGENT_VALUE.into()));
        if let Some(oauth2) = &settings.oauth2 {
            let from = redacted(&oauth2.token_url);
            headers.push((
                "authorization".into(),
                format!("Bearer <OAuth2 token from {from}>"),
            ));
        }
        let custom = settings.custom_headers.iter().map(|(n, v)| (n, v.as_str()));
        let sensitive = settings.sensitive_headers.iter().map(|(n, _)| (n, "****"));
        for (name, value) in custom.chain(sensitive) {
            headers.retain(|(existing, _)| !existing.eq_ignore_ascii_case(name));
            headers.push((name.to_ascii_lowercase(), value.to_owned()));
        }
        (verb_name(settings.verb), &self.shown_url, headers)
    }

    /// One attempt. Sends `content-type: application/json` (not for GET, which has no body),
    /// `webhook-id`, `webhook-timestamp` (unix seconds of this attempt), when `sign` and the
    /// destination has secrets or keys `webhook-signature` over `{id}.{timestamp}.{body}`,
    /// `user-agent`, then the custom and sensitive headers. Redirects are not followed: a 3xx
    /// is a retryable failure. A URL whose host is an address the network policy refuses fails
    /// permanently without a connection.
    pub async fn send(
        &self,
        webhook_id: &str,
        body: Bytes,
        sign: bool,
    ) -> Result<Delivered, DeliveryError> {
        let settings = &*self.settings;
        if let Some(why) = &self.tls_error {
            return Err(DeliveryError::permanent(format!(
                "webhook to {} has unusable tls: {why}",
                self.shown_url
            )));
        }
        let extra = self.extra_headers.as_ref().as_ref().map_err(|e| {
            DeliveryError::permanent(format!(
                "webhook to {} is misconfigured: {e}",
                self.shown_url
            ))
        })?;
        let id = HeaderValue::from_str(webhook_id)
            .map_err(|_| DeliveryError::permanent(format!("invalid webhook id {webhook_id:?}")))?;
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_secs();

        let mut headers = HeaderMap::new();
        if settings.verb != Verb::Get {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        headers.insert("webhook-id", id);
        headers.insert("webhook-timestamp", HeaderValue::from(timestamp));
        if sign && !settings.signer.is_empty() {
            // GET sends no body, so its signature covers an empty one.
            let signed_body: &[u8] = if settings.verb == Verb::Get {
                b""
            } else {
                &body
            };
            let signature = settings.signer.sign(webhook_id, timestamp, signed_body);
            let signature = HeaderValue::from_str(&signature)
                .expect("base64 signatures are valid header values");
            headers.insert("webhook-signature", signature);
        }
        headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
        for name in extra.keys() {
            headers.remove(name);
        }
        for (name, value) in extra {
            headers.append(name.clone(), value.clone());
        }

        let started = Instant::now();
        let bearer = match &self.tokens {
            Some(tokens) => Some(tokens.bearer(None).await?),
            None => None,
        };
        let mut response = self.request(headers.clone(), bearer.clone(), &body).await?;
        // A refused token is fetched again, once, and the request made again with it.
        if response.status() == reqwest::StatusCode::UNAUTHORIZED
            && let (Some(tokens), Some(refused)) = (&self.tokens, &bearer)
        {
            read_capped(&mut response).await;
            debug!(message = "Receiver refused the OAuth2 token; fetching another.", url = %self.shown_url);
            let fresh = tokens.bearer(Some(refused)).await?;
            response = self.request(headers, Some(fresh), &body).await?;
        }
        conclude(response, "Webhook answered.", &self.shown_url, started)
            .await
            .map_err(|e| self.scrubbed(e))
    }

    /// One request: `headers`, the bearer token if any, the body unless a GET.
    async fn request(
        &self,
        mut headers: HeaderMap,
        bearer: Option<HeaderValue>,
        body: &Bytes,
    ) -> Result<reqwest::Response, DeliveryError> {
        let settings = &*self.settings;
        if let Some(bearer) = bearer {
            headers.insert(reqwest::header::AUTHORIZATION, bearer);
        }
        let mut request = self
            .client
            .request(method(settings.verb), &settings.url, &self.shown_url)?
            .headers(headers)
            .timeout(settings.timeout);
        if settings.verb != Verb::Get {
            request = request.body(body.clone());
        }
        request
            .send()
            .await
            .map_err(|e| self.scrubbed(transport_error(&e, &self.shown_url, settings.timeout)))
    }

    /// The error without any sensitive header value or part of the URL in it, should the
    /// receiver echo one back.
    fn scrubbed(&self, mut error: DeliveryError) -> DeliveryError {
        let headers = self.settings.sensitive_headers.iter();
        let url = url_secrets(&self.settings.url);
        let secrets = headers
            .map(|(_, v)| v.expose().as_str())
            .chain(url.iter().map(String::as_str));
        error.message = scrub(&error.message, secrets);
        error
    }
}

impl fmt::Debug for WebhookNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookNotifier")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

fn verb_name(verb: Verb) -> &'static str {
    match verb {
        Verb::Post => "POST",
        Verb::Put => "PUT",
        Verb::Patch => "PATCH",
        Verb::Get => "GET",
    }
}

fn method(verb: Verb) -> Method {
    match verb {
        Verb::Post => Method::POST,
        Verb::Put => Method::PUT,
        Verb::Patch => Method::PATCH,
        Verb::Get => Method::GET,
    }
}

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
