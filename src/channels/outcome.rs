//! What a delivery attempt ends in, and the one place that maps an HTTP status to retry-or-not.

use std::time::Duration;

/// A delivery the destination accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    /// The 2xx status of the last attempt.
    pub status: u16,
    /// Attempts made, this one included (1 when the first succeeded).
    pub attempts: u32,
}

/// Whether trying again could succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Could succeed later: network trouble, timeouts, 3xx, 408, 429, 5xx.
    Retryable,
    /// Would fail the same way if retried: other 4xx, a bad request built from config.
    Permanent,
}

/// A delivery that did not succeed. `message` names the cause; it never holds a sensitive header
/// value and holds at most the first 512 characters of the response body.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct DeliveryError {
    pub kind: FailureKind,
    /// The HTTP status, when the destination answered.
    pub status: Option<u16>,
    /// How long the destination asked us to wait (`Retry-After`), when it did.
    pub retry_after: Option<Duration>,
    pub message: String,
    /// Attempts made, the failing one included.
    pub attempts: u32,
}

impl DeliveryError {
    /// A failure without an HTTP answer that may pass on a later attempt.
    pub fn retryable(message: impl Into<String>) -> DeliveryError {
        DeliveryError::new(FailureKind::Retryable, message)
    }

    /// A failure without an HTTP answer that no retry can fix.
    pub fn permanent(message: impl Into<String>) -> DeliveryError {
        DeliveryError::new(FailureKind::Permanent, message)
    }

    fn new(kind: FailureKind, message: impl Into<String>) -> DeliveryError {
        DeliveryError {
            kind,
            status: None,
            retry_after: None,
            message: message.into(),
            attempts: 1,
        }
    }

    pub fn is_retryable(&self) -> bool {
        self.kind == FailureKind::Retryable
    }

    /// Whether the destination says it is gone for good (HTTP 410): it is then disabled.
    pub fn is_gone(&self) -> bool {
        self.kind == FailureKind::Permanent && self.status == Some(410)
    }
}

/// The one place that decides retry-or-not from an HTTP status: 2xx is success; 3xx (redirects
/// are never followed), 408, 429 and 5xx are retryable; other 4xx are permanent (410 included:
/// the endpoint is gone, see [`DeliveryError::is_gone`]). Anything else (1xx, over 599) is
/// unexpected and treated as retryable.
pub fn classify(status: u16) -> Result<(), FailureKind> {
    match status {
        200..=299 => Ok(()),
        408 | 429 => Err(FailureKind::Retryable),
        400..=499 => Err(FailureKind::Permanent),
        _ => Err(FailureKind::Retryable),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_statuses() {
        use FailureKind::{Permanent, Retryable};
        let cases: [(u16, Result<(), FailureKind>); 18] = [
            (200, Ok(())),
            (201, Ok(())),
            (204, Ok(())),
            (299, Ok(())),
            (301, Err(Retryable)),
            (302, Err(Retryable)),
            (304, Err(Retryable)),
            (308, Err(Retryable)),
            (400, Err(Permanent)),
            (401, Err(Permanent)),
            (404, Err(Permanent)),
            (408, Err(Retryable)),
            (410, Err(Permanent)),
            (429, Err(Retryable)),
            (500, Err(Retryable)),
            (502, Err(Retryable)),
            (504, Err(Retryable)),
            (100, Err(Retryable)),
        ];
        for (status, expected) in cases {
            assert_eq!(classify(status), expected, "status {status}");
        }
    }

    #[test]
    fn constructors_start_at_one_attempt() {
        let error = DeliveryError::retryable("connection refused to http://127.0.0.1:1/x");
        assert!(error.is_retryable());
        assert_eq!(error.attempts, 1);
        assert_eq!(
            error.to_string(),
            "connection refused to http://127.0.0.1:1/x"
        );
        assert!(!DeliveryError::permanent("bad header").is_retryable());
    }

    #[test]
    fn only_a_permanent_410_is_gone() {
        let answered = |kind, status| DeliveryError {
            status: Some(status),
            ..DeliveryError::new(kind, "HTTP")
        };
        assert!(answered(FailureKind::Permanent, 410).is_gone());
        assert!(!answered(FailureKind::Permanent, 404).is_gone());
        assert!(!answered(FailureKind::Retryable, 410).is_gone());
        assert!(!DeliveryError::permanent("no status").is_gone());
    }
}
