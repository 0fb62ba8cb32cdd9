//! OAuth2 client credentials (RFC 6749 §4.4) for HTTP destinations: an access token fetched
//! from the token endpoint through the shared client (so the token URL obeys the network
//! policy), cached until shortly before it expires, and fetched again once when a receiver
//! answers 401.

use std::fmt;
use std::time::Duration;

use base64::Engine;
use reqwest::Method;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde::Deserialize;
use tokio::sync::Mutex;
use tokio::time::Instant;
use url::Url;

use super::{HttpClient, failed_status, read_capped, redacted, transport_error};
use crate::channels::{DeliveryError, FailureKind, classify};
use crate::secret::{Secret, scrub};

/// A token is fetched again this long before it expires.
pub const EXPIRY_MARGIN: Duration = Duration::from_secs(30);

/// `auth.oauth2` as `router.yaml` writes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuth2Config {
    pub token_url: String,
    pub client_id: String,
    pub client_secret: Secret,
    #[serde(default)]
    pub scopes: Vec<String>,
}

/// `auth` of an HTTP destination.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    pub oauth2: OAuth2Config,
}

/// The checked client credentials.
#[derive(Clone)]
pub struct OAuth2Settings {
    pub token_url: Url,
    pub client_id: String,
    pub client_secret: Secret,
    pub scopes: Vec<String>,
}

impl fmt::Debug for OAuth2Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuth2Settings")
            .field("token_url", &redacted(&self.token_url))
            .field("client_id", &self.client_id)
            .field("client_secret", &"****")
            .field("scopes", &self.scopes)
            .finish()
    }
}

/// A token endpoint's answer (RFC 6749 §5.1).
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// A cached access token.
struct Token {
    value: Secret,
    /// `None` when the endpoint gave no lifetime: kept until a receiver refuses it.
    expires_at: Option<Instant>,
}

/// Access tokens of one destination: fetched, cached, refreshed. Shared by its attempts.
pub struct TokenSource {
    client: HttpClient,
    settings: OAuth2Settings,
    timeout: Duration,
    cached: Mutex<Option<Token>>,
}

impl TokenSource {
    pub fn new(client: HttpClient, settings: OAuth2Settings, timeout: Duration) -> TokenSource {
        TokenSource {
            client,
            settings,
            timeout,
            cached: Mutex::new(None),
        }
    }

    /// The `authorization` header value of the current token, fetching one when there is none
    /// or it expires within [`EXPIRY_MARGIN`]. `refused` is a token a receiver answered 401 to:
    /// if it is still the cached one, another is fetched.
    pub async fn bearer(
        &self,
        refused: Option<&HeaderValue>,
    ) -> Result<HeaderValue, DeliveryError> {
        let mut cached = self.cached.lock().await;
        let now = Instant::now();
        if let Some(token) = cached.as_ref() {
            let fresh = token.expires_at.is_none_or(|at| at > now + EXPIRY_MARGIN);
            let header = header(&token.value)?;
            if fresh && refused != Some(&header) {
                return Ok(header);
            }
        }
        let token = self.fetch().await?;
        let value = header(&token.value)?;
        *cached = Some(token);
        Ok(value)
    }

    async fn fetch(&self) -> Result<Token, DeliveryError> {
        let settings = &self.settings;
        let shown = redacted(&settings.token_url);
        let credentials = format!(
            "{}:{}",
            form_encode(&settings.client_id),
            form_encode(settings.client_secret.expose())
        );
        let basic = base64::engine::general_purpose::STANDARD.encode(credentials);
        let mut basic = HeaderValue::from_str(&format!("Basic {basic}")).map_err(|_| {
            DeliveryError::permanent("the OAuth2 client credentials are not valid header text")
        })?;
        basic.set_sensitive(true);
        let mut form = vec![("grant_type", "client_credentials".to_owned())];
        if !settings.scopes.is_empty() {
            form.push(("scope", settings.scopes.join(" ")));
        }
        let body: String = form
            .iter()
            .map(|(k, v)| format!("{k}={}", form_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let request = self
            .client
            .request(Method::POST, &settings.token_url, &shown)?
            .header(AUTHORIZATION, basic)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, "application/json")
            .timeout(self.timeout)
            .body(body);
        let scrubbed = |mut error: DeliveryError| {
            error.message = format!(
                "OAuth2 token from {shown}: {}",
                scrub(&error.message, [settings.client_secret.expose().as_str()])
            );
            error
        };
        let mut response = request
            .send()
            .await
            .map_err(|e| scrubbed(transport_error(&e, &shown, self.timeout)))?;
        let status = response.status().as_u16();
        if let Err(kind) = classify(status) {
            // 400/401 (invalid_client, invalid_scope) would fail the same way again.
            let kind = if status == 401 {
                FailureKind::Permanent
            } else {
                kind
            };
            return Err(scrubbed(failed_status(kind, response).await));
        }
        let (bytes, _) = read_capped(&mut response).await;
        let answer: TokenAnswer = serde_json::from_slice(&bytes).map_err(|e| {
            scrubbed(DeliveryError::retryable(format!(
                "the answer is not a token: {e}"
            )))
        })?;
        if answer
            .token_type
            .as_deref()
            .is_some_and(|t| !t.eq_ignore_ascii_case("bearer"))
        {
            return Err(scrubbed(DeliveryError::permanent(format!(
                "token_type {:?} is not bearer",
                answer.token_type.unwrap_or_default()
            ))));
        }
        Ok(Token {
            value: Secret::new(answer.access_token),
            expires_at: answer
                .expires_in
                .map(|s| Instant::now() + Duration::from_secs(s)),
        })
    }
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSource")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// `Bearer <token>`, marked sensitive.
fn header(token: &Secret) -> Result<HeaderValue, DeliveryError> {
    let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
        .map_err(|_| DeliveryError::retryable("the OAuth2 token is not valid header text"))?;
    value.set_sensitive(true);
    Ok(value)
}

/// `application/x-www-form-urlencoded` encoding of one value (RFC 6749 appendix B).
fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
