//! The rules every webhook and Slack URL follows when the configuration is loaded.

use super::NetworkPolicy;

/// The rules every webhook and Slack URL follows at load: http or https, https unless
/// `allow_http`, no credentials, and no IP-literal host the network policy refuses (names are
/// checked when they resolve). `shown` is the URL as errors may show it.
pub fn check_outbound_url(
    url: &url::Url,
    allow_http: bool,
    policy: &NetworkPolicy,
    shown: &str,
) -> Result<(), String> {
    match url.scheme() {
        "https" => {}
        "http" if allow_http => {}
        "http" => {
            return Err(format!(
                "{shown} uses http, so deliveries could be read and changed on the way: use \
                 https, or set `allow_http: true` on the destination"
            ));
        }
        other => {
            return Err(format!(
                "scheme {other:?} is not supported: use http or https"
            ));
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("has no host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "must not carry credentials (user:password@): send them in a header listed in \
             sensitive_headers"
                .into(),
        );
    }
    policy
        .check_url(url)
        .map_err(|why| format!("{shown}: {why}"))
}
