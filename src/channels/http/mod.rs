//! The HTTP side every HTTP channel shares: one client with its SSRF guard (a checking DNS
//! resolver, IP-literal checks, no redirects, no system proxy), the address classifier and
//! network policy it applies, and reading answers (bounded) and transport errors into clear
//! messages.

mod client;
mod identity;
mod network;
mod oauth2;
mod outbound;
mod pace;
mod rate;
mod response;

#[cfg(test)]
mod tests;

pub use client::{ClientError, HttpClient, HttpOptions};
pub use identity::{ClientTls, TlsConfig};
pub use network::{AddressClass, NetworkPolicy, Refused, UrlRefused, classify as classify_address};
pub use oauth2::{AuthConfig, EXPIRY_MARGIN, OAuth2Config, OAuth2Settings, TokenSource};
pub use outbound::{OutboundError, check_outbound_url};
pub use pace::Pace;
pub use rate::{RateLimit, SLACK_CHANNEL_RATE};
pub use response::{MAX_BODY_QUOTED, MAX_BODY_READ, redacted, url_secrets};
pub(crate) use response::{
    conclude, failed_status, quote, read_capped, retry_after, transport_error,
};

/// The shared HTTP client as the router builds it, with loopback allowed for the tests'
/// receivers.
#[cfg(test)]
pub(crate) fn loopback_client() -> HttpClient {
    HttpClient::new(&HttpOptions {
        connect_timeout: std::time::Duration::from_secs(2),
        allow_private_networks: vec!["127.0.0.0/8".parse().expect("valid network")],
        proxy: None,
    })
    .expect("a client without a proxy builds")
}
