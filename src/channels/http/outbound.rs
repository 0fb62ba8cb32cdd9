//! The rules every webhook and Slack URL follows when the configuration is loaded.

use super::{NetworkPolicy, UrlRefused};

/// Why a webhook or Slack URL is refused at load; `shown` is the URL as errors may show it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    #[error(
        "{shown} uses http, so deliveries could be read and changed on the way: use \
         https, or set `allow_http: true` on the destination"
    )]
    Http { shown: String },
    #[error("scheme {0:?} is not supported: use http or https")]
    Scheme(String),
    #[error("has no host")]
    NoHost,
    #[error(
        "must not carry credentials (user:password@): send them in a header listed in \
         sensitive_headers"
    )]
    Credentials,
    #[error("{shown}: {refused}")]
    Refused { shown: String, refused: UrlRefused },
}

/// The rules every webhook and Slack URL follows at load: http or https, https unless
/// `allow_http`, no credentials, and no IP-literal host the network policy refuses (names are
/// checked when they resolve). `shown` is the URL as errors may show it.
pub fn check_outbound_url(
    url: &url::Url,
    allow_http: bool,
    policy: &NetworkPolicy,
    shown: &str,
) -> Result<(), OutboundError> {
    match url.scheme() {
        "https" => {}
        "http" if allow_http => {}
        "http" => {
            return Err(OutboundError::Http {
                shown: shown.to_owned(),
            });
        }
        other => return Err(OutboundError::Scheme(other.to_owned())),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(OutboundError::NoHost);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(OutboundError::Credentials);
    }
    policy
        .check_url(url)
        .map_err(|refused| OutboundError::Refused {
            shown: shown.to_owned(),
            refused,
        })
}
