//! The one place that decides what a failed SMTP exchange means: retry or not, and whether it
//! concerns the recipients of one transaction or the whole session.

use std::error::Error as _;

use lettre::transport::smtp::Error as SmtpError;

use crate::channels::FailureKind;
use crate::channels::http::quote;

/// What went wrong, as far as classification needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cause {
    /// The server answered with this reply code.
    Reply(u16),
    /// No usable answer: connection refused or lost, TLS handshake, timeout, garbled reply.
    Unanswered,
    /// lettre refused before asking the server: no STARTTLS offered while required, no common
    /// authentication mechanism, an address needing SMTPUTF8 the server lacks.
    Refused,
}

/// How far a failure reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scope {
    /// A reply to MAIL, RCPT or DATA: it may concern only some recipients of the transaction.
    Transaction,
    /// The server, the connection or the credentials: every batch would fail the same way now.
    Session,
}

/// Classifies a failed exchange (RFC 5321 §4.2.1, RFC 4954 for authentication):
/// - 421 (closing), 432 and 454 (authentication or TLS temporarily unavailable): session,
///   retryable;
/// - any other 4xx: transaction, retryable;
/// - 530, 534, 535, 538 (authentication required, too weak, credentials rejected, encryption
///   required): session, permanent;
/// - any other 5xx: transaction, permanent;
/// - anything else a server should not fail with, and no answer at all: session, retryable;
/// - refused by the client itself: session, permanent (a retry would be refused the same way).
pub(super) fn smtp_failure_kind(cause: Cause) -> (FailureKind, Scope) {
    use FailureKind::{Permanent, Retryable};
    match cause {
        Cause::Reply(421 | 432 | 454) => (Retryable, Scope::Session),
        Cause::Reply(400..=499) => (Retryable, Scope::Transaction),
        Cause::Reply(530 | 534 | 535 | 538) => (Permanent, Scope::Session),
        Cause::Reply(500..=599) => (Permanent, Scope::Transaction),
        Cause::Reply(_) | Cause::Unanswered => (Retryable, Scope::Session),
        Cause::Refused => (Permanent, Scope::Session),
    }
}

/// The cause of a lettre error, and its text: `550 5.1.1 No such user` for a reply (control
/// characters as spaces, at most 512 characters), lettre's own description otherwise.
pub(super) fn describe(error: &SmtpError) -> (Cause, String) {
    if let Some(code) = error.status() {
        let code = u16::from(code);
        let text = error.source().map(|s| s.to_string()).unwrap_or_default();
        let reply = quote(format!("{code} {text}").as_bytes(), false);
        return (Cause::Reply(code), reply);
    }
    let cause = if error.is_client() {
        Cause::Refused
    } else {
        Cause::Unanswered
    };
    (cause, error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_replies_and_other_failures() {
        use FailureKind::{Permanent, Retryable};
        use Scope::{Session, Transaction};
        let cases: [(Cause, (FailureKind, Scope)); 19] = [
            (Cause::Reply(421), (Retryable, Session)),
            (Cause::Reply(432), (Retryable, Session)),
            (Cause::Reply(454), (Retryable, Session)),
            (Cause::Reply(450), (Retryable, Transaction)),
            (Cause::Reply(451), (Retryable, Transaction)),
            (Cause::Reply(452), (Retryable, Transaction)),
            (Cause::Reply(499), (Retryable, Transaction)),
            (Cause::Reply(530), (Permanent, Session)),
            (Cause::Reply(534), (Permanent, Session)),
            (Cause::Reply(535), (Permanent, Session)),
            (Cause::Reply(538), (Permanent, Session)),
            (Cause::Reply(501), (Permanent, Transaction)),
            (Cause::Reply(550), (Permanent, Transaction)),
            (Cause::Reply(552), (Permanent, Transaction)),
            (Cause::Reply(554), (Permanent, Transaction)),
            (Cause::Reply(250), (Retryable, Session)),
            (Cause::Reply(600), (Retryable, Session)),
            (Cause::Unanswered, (Retryable, Session)),
            (Cause::Refused, (Permanent, Session)),
        ];
        for (cause, expected) in cases {
            assert_eq!(smtp_failure_kind(cause), expected, "{cause:?}");
        }
    }
}
