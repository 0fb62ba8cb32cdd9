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
pub async fn read_capped(response: &mut reqwest::Response) -> (Vec<u8>, bool) {
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
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, SystemTime::now()))
}

/// The error for a non-2xx answer: status, redirect note, and the start of the body.
pub async fn failed_status(kind: FailureKind, mut response: reqwest::Response) -> DeliveryError {
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
pub fn quote(body: &[u8], capped: bool) -> String {
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
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The error for a request that got no HTTP answer; `url` is already redacted.
pub fn transport_error(error: &reqwest::Error, url: &str, timeout: Duration) -> DeliveryError {
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

/// The URL as shown in messages and logs: any password replaced by `****`.
pub fn redacted(url: &Url) -> String {
    if url.password().is_none() {
        return url.to_string();
    }
    let mut shown = url.clone();
    // Cannot fail: the URL already has a password, so it has a host that can carry one.
    let _ = shown.set_password(Some("****"));
    shown.to_string()
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
        assert_eq!(redacted(&url), "https://user:****@example.com/hook?x=1");
        let plain = Url::parse("http://127.0.0.1:1/x").expect("valid url");
        assert_eq!(redacted(&plain), "http://127.0.0.1:1/x");
    }
}
