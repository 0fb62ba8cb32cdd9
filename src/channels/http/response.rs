//! Turning an HTTP answer or a transport error into a delivery outcome with a clear message.

use std::error::Error as _;
use std::io;
use std::time::{Duration, SystemTime};

use humantime_serde::re::humantime::format_duration;
use reqwest::header::{LOCATION, RETRY_AFTER};
use url::Url;

use crate::channels::{DeliveryError, FailureKind};

/// The most of any response body we read.
pub const MAX_BODY_READ: usize = 20_000;
/// The most characters of a response body quoted in an error message.
pub const MAX_BODY_QUOTED: usize = 512;

/// Reads at most [`MAX_BODY_READ`] bytes of the body; a read error keeps what arrived so far.
pub(crate) async fn read_capped(response: &mut reqwest::Response) -> (Vec<u8>, bool) {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = MAX_BODY_READ - body.len();
        if chunk.len() >= room {
            body.extend_from_slice(&chunk[..room]);
            return (body, true);
        }
        body.extend_from_slice(&chunk);
    }
    (body, false)
}

/// How long the answer asks us to wait before trying again (`Retry-After`), when it does.
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, SystemTime::now()))
}

/// What one answer to a single POST means: delivered (the body drained, bounded, so the connection
/// goes back to the pool) or the failure its status says. Logged at debug as `answered`
/// (`"Webhook answered."`), with the time since `started`.
pub(crate) async fn conclude(
    mut response: reqwest::Response,
    answered: &'static str,
    shown_url: &str,
    started: std::time::Instant,
) -> Result<crate::channels::Delivered, DeliveryError> {
    let status = response.status().as_u16();
    tracing::debug!(
        message = answered,
        status,
        url = %shown_url,
        elapsed_ms = started.elapsed().as_millis() as u64,
    );
    match crate::channels::classify(status) {
        Ok(()) => {
            read_capped(&mut response).await;
            Ok(crate::channels::Delivered {
                status,
                attempts: 1,
            })
        }
        Err(kind) => Err(failed_status(kind, response).await),
    }
}

/// The error for a non-2xx answer: status, redirect note, and the start of the body.
pub(crate) async fn failed_status(
    kind: FailureKind,
    mut response: reqwest::Response,
) -> DeliveryError {
    let status = response.status();
    let retry_after = retry_after(response.headers());
    let mut message = format!("HTTP {status}");
    if status.is_redirection() {
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok());
        message.push_str(&format!(
            " (redirect to {} not followed)",
            quote(location.unwrap_or("nowhere").as_bytes(), false)
        ));
    }
    let (body, capped) = read_capped(&mut response).await;
    let quoted = quote(&body, capped);
    if !quoted.is_empty() {
        message.push_str(": ");
        message.push_str(&quoted);
    }
    DeliveryError {
        kind,
        status: Some(status.as_u16()),
        retry_after,
        message,
        attempts: 1,
    }
}

/// At most [`MAX_BODY_QUOTED`] characters of `body`, control characters as spaces, `…` when cut.
pub(crate) fn quote(body: &[u8], capped: bool) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    let mut quoted: String = text
        .chars()
        .take(MAX_BODY_QUOTED)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if capped || text.chars().nth(MAX_BODY_QUOTED).is_some() {
        quoted.push('…');
    }
    quoted
}

/// `Retry-After` as delay-seconds or an HTTP date (a date in the past means now).
pub(super) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The error for a request that got no HTTP answer; `url` is already redacted.
pub(crate) fn transport_error(
    error: &reqwest::Error,
    url: &str,
    timeout: Duration,
) -> DeliveryError {
    if error.is_builder() {
        return DeliveryError::permanent(format!(
            "cannot build request to {url}: {}",
            root_cause(error)
        ));
    }
    if super::client::refused_by_resolver(error) {
        return DeliveryError::permanent(format!(
            "refused to connect to {url}: {}",
            root_cause(error)
        ));
    }
    let message = if error.is_timeout() && error.is_connect() {
        format!("timed out connecting to {url}")
    } else if error.is_timeout() {
        format!(
            "timed out after {} waiting for {url}",
            format_duration(timeout)
        )
    } else if io_kind(error) == Some(io::ErrorKind::ConnectionRefused) {
        format!("connection refused to {url}")
    } else if error.is_connect() {
        format!("cannot connect to {url}: {}", root_cause(error))
    } else {
        format!("request to {url} failed: {}", root_cause(error))
    };
    DeliveryError::retryable(message)
}

fn io_kind(error: &reqwest::Error) -> Option<io::ErrorKind> {
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<io::Error>() {
            return Some(io.kind());
        }
        source = cause.source();
    }
    None
}

/// The innermost cause: reqwest's own message repeats the URL, which may hold credentials.
fn root_cause(error: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// The URL as shown in messages, logs, the admin API, dead letters and `render`: its scheme,
/// host and port only. Many receivers (Teams, Discord, Google Chat, Zapier) carry their
/// credential in the path or the query, and which part is secret cannot be told, so none of
/// them is shown (nor a user name or password).
pub fn redacted(url: &Url) -> String {
    let mut shown = format!("{}://{}", url.scheme(), url.host_str().unwrap_or(""));
    if let Some(port) = url.port() {
        shown.push_str(&format!(":{port}"));
    }
    shown
}

/// The parts of `url` that may be secret, for scrubbing them from what a receiver answered (an
/// error page quoting the request's path): the whole URL, its path and query, each path segment
/// and each query value.
pub fn url_secrets(url: &Url) -> Vec<String> {
    let mut secrets = vec![url.as_str().to_owned()];
    let path = url.path();
    if path != "/" {
        secrets.push(path.to_owned());
    }
    if let Some(query) = url.query() {
        secrets.push(format!("{path}?{query}"));
        secrets.push(query.to_owned());
        secrets.extend(url.query_pairs().map(|(_, value)| value.into_owned()));
        secrets.extend(
            query
                .split('&')
                .filter_map(|pair| pair.split_once('='))
                .map(|(_, v)| v.to_owned()),
        );
    }
    secrets.extend(
        url.path_segments()
            .into_iter()
            .flatten()
            .filter(|segment| !segment.is_empty())
            .map(str::to_owned),
    );
    // Longest first, so a part is not left half-replaced by a shorter one inside it.
    secrets.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
    secrets.dedup();
    secrets
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_retry_after_seconds_and_dates() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2026 07:28:00 GMT").expect("valid date");
        let cases = [
            ("1", Some(Duration::from_secs(1))),
            (" 120 ", Some(Duration::from_secs(120))),
            ("0", Some(Duration::ZERO)),
            (
                "Wed, 21 Oct 2026 07:28:30 GMT",
                Some(Duration::from_secs(30)),
            ),
            ("Wed, 21 Oct 2026 07:27:00 GMT", Some(Duration::ZERO)),
            ("-1", None),
            ("1.5", None),
            ("soon", None),
        ];
        for (value, expected) in cases {
            assert_eq!(parse_retry_after(value, now), expected, "{value:?}");
        }
    }

    #[test]
    fn quotes_at_most_512_characters() {
        assert_eq!(quote(b"  oops\r\n", false), "oops");
        assert_eq!(quote("é".repeat(512).as_bytes(), false), "é".repeat(512));
        assert_eq!(
            quote("é".repeat(513).as_bytes(), false),
            format!("{}…", "é".repeat(512))
        );
        assert_eq!(quote(b"a\nb", true), "a b…");
    }

    #[test]
    fn redacts_url_passwords() {
        let url = Url::parse("https://user:secret@example.com/hook?x=1").expect("valid url");
        assert_eq!(redacted(&url), "https://example.com");
        let plain = Url::parse("http://127.0.0.1:1/x").expect("valid url");
        assert_eq!(redacted(&plain), "http://127.0.0.1:1");
    }

    /// Issue 17, item 5: receivers that carry their credential in the URL (Teams, Discord,
    /// Google Chat, Zapier) had it shown whole; only the scheme, host and port are.
    #[test]
    fn a_url_is_shown_as_scheme_host_and_port_only() {
        let cases = [
            (
                "https://hooks.example.com/canary-token?sig=canary",
                "https://hooks.example.com",
            ),
            (
                "https://discord.com/api/webhooks/1/canary-token",
                "https://discord.com",
            ),
            ("http://[::1]:8080/canary-token#frag", "http://[::1]:8080"),
            ("https://user:pw@example.com:443/x", "https://example.com"),
        ];
        for (url, shown) in cases {
            let url = Url::parse(url).expect("valid url");
            assert_eq!(redacted(&url), shown);
            assert!(!redacted(&url).contains("canary"));
        }
        let url = Url::parse("https://h.example/a/canary-token?sig=canary-sig&x=1").expect("url");
        let answer = "404 Cannot POST /a/canary-token?sig=canary-sig&x=1; no route canary-token, sig canary-sig";
        let scrubbed = crate::secret::scrub(answer, url_secrets(&url).iter().map(String::as_str));
        assert!(!scrubbed.contains("canary"), "{scrubbed}");
    }
}
