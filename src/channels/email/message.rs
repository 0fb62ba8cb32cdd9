//! What one email says, and its RFC 5322 form for one batch: headers, Message-ID, both parts.

use lettre::Address;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};

use super::EmailSettings;
use crate::channels::DeliveryError;
pub use crate::render::EmailContent;

/// One delivery of an email: who gets it, as whom, and what it says.
#[derive(Debug, Clone)]
pub struct EmailMessage<'a> {
    /// Stable id of this delivery (the same on every retry), e.g. `msg_5d1e...`; it makes the
    /// Message-ID, so receivers can drop duplicates.
    pub delivery_id: &'a str,
    /// Sent in the `X-Notification-Id` header.
    pub notification_id: &'a str,
    /// Envelope recipients; none of them is written in a header.
    pub recipients: &'a [Address],
    /// Replaces the display name of the configured `from` (an empty one removes it).
    pub from_name: Option<&'a str>,
    /// Replaces the configured `reply_to`.
    pub reply_to: Option<Mailbox>,
    pub content: &'a EmailContent,
}

/// The header naming the notification an email is about.
pub(super) const NOTIFICATION_ID_HEADER: &str = "X-Notification-Id";

/// The message of batch `batch` (0-based), formatted as sent. Recipients go only in the
/// envelope; `To` is the empty group `undisclosed-recipients:;`. lettre encodes every header
/// value (RFC 2047 for non-ASCII, CR and LF), and picks 7bit, quoted-printable or base64 for
/// each part, so the result is ASCII.
pub(super) fn format_batch(
    settings: &EmailSettings,
    message: &EmailMessage<'_>,
    batch: usize,
    envelope_to: &[Address],
) -> Result<(lettre::address::Envelope, Vec<u8>), DeliveryError> {
    let from = match message.from_name {
        None => one_line_name(&settings.from),
        Some(name) => named(name, &settings.from.email),
    };
    let envelope =
        lettre::address::Envelope::new(Some(from.email.clone()), envelope_to.to_vec())
            .map_err(|e| DeliveryError::permanent(format!("cannot address the email: {e}")))?;
    let mut builder = lettre::Message::builder()
        .from(from)
        .raw_header(raw("To", "undisclosed-recipients:;"))
        .subject(one_line(&message.content.subject))
        .date_now()
        .message_id(Some(message_id(
            message.delivery_id,
            batch,
            settings.from.email.domain(),
        )))
        .raw_header(raw("Auto-Submitted", "auto-generated"))
        .raw_header(raw(
            NOTIFICATION_ID_HEADER,
            &one_line(message.notification_id),
        ))
        .envelope(envelope.clone());
    if let Some(reply_to) = message.reply_to.as_ref().or(settings.reply_to.as_ref()) {
        builder = builder.reply_to(one_line_name(reply_to));
    }
    let email = builder
        .multipart(MultiPart::alternative_plain_html(
            message.content.text.clone(),
            message.content.html.clone(),
        ))
        .map_err(|e| DeliveryError::permanent(format!("cannot build the email: {e}")))?;
    Ok((envelope, email.formatted()))
}

/// `address` with display name `name` folded onto one line, other control characters as
/// spaces (lettre cannot read back a name holding NUL); a blank name is left out.
fn named(name: &str, address: &Address) -> Mailbox {
    let name: String = one_line(name)
        .chars()
        .map(|c| if c.is_control() && c != '\t' { ' ' } else { c })
        .collect();
    let name = (!name.trim().is_empty()).then_some(name);
    Mailbox::new(name, address.clone())
}

/// The mailbox with its display name on one line: lettre refuses (by panicking while
/// formatting) a name holding CR or LF, which a config value such as `reply_to_name` can.
fn one_line_name(mailbox: &Mailbox) -> Mailbox {
    match &mailbox.name {
        Some(name) => named(name, &mailbox.email),
        None => mailbox.clone(),
    }
}

fn raw(name: &'static str, value: &str) -> HeaderValue {
    HeaderValue::new(HeaderName::new_from_ascii_str(name), value.to_owned())
}

/// `text` with every run of CR and LF replaced by one space, so it cannot start a new header.
pub(super) fn one_line(text: &str) -> String {
    let mut line = String::with_capacity(text.len());
    let mut in_break = false;
    for c in text.chars() {
        if c == '\r' || c == '\n' {
            if !in_break {
                line.push(' ');
            }
            in_break = true;
        } else {
            line.push(c);
            in_break = false;
        }
    }
    line
}

/// `<{delivery id}.{batch}@{domain}>`, the same for every attempt of one batch. Characters of
/// the id outside `[A-Za-z0-9_-]` are written `=XX` per UTF-8 byte (so distinct ids stay
/// distinct and the result is a valid dot-atom); a domain that is not plain ASCII is replaced.
pub(super) fn message_id(delivery_id: &str, batch: usize, domain: &str) -> String {
    let mut left = String::with_capacity(delivery_id.len() + 8);
    for byte in delivery_id.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-' {
            left.push(char::from(byte));
        } else {
            left.push_str(&format!("={byte:02X}"));
        }
    }
    let plain = !domain.is_empty()
        && domain
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    let domain = if plain {
        domain
    } else {
        "notification-router.invalid"
    };
    format!("<{left}.{batch}@{domain}>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collapses_line_breaks() {
        let cases = [
            ("plain", "plain"),
            ("x\r\nBcc: evil@example.com", "x Bcc: evil@example.com"),
            ("a\nb\rc", "a b c"),
            ("a\r\n\r\n\nb", "a b"),
            ("\r\nstart", " start"),
            ("tab\tkept", "tab\tkept"),
        ];
        for (text, expected) in cases {
            assert_eq!(one_line(text), expected, "{text:?}");
        }
    }

    /// Found by the hostile-header property test: a line break in a reply-to name made lettre
    /// panic while formatting the header.
    #[test]
    fn names_with_line_breaks_are_folded_not_a_panic() {
        let settings = EmailSettings {
            reply_to: Some(Mailbox::new(
                Some("Ops\r\nBcc: evil@example.com\0".to_owned()),
                "ops@example.com".parse().expect("address"),
            )),
            ..EmailSettings::new(
                "smtp://127.0.0.1".parse().expect("url"),
                Mailbox::new(
                    Some("Router\nX: y".to_owned()),
                    "router@example.com".parse().expect("address"),
                ),
            )
        };
        let content = EmailContent {
            subject: "s".to_owned(),
            text: "t".to_owned(),
            html: "h".to_owned(),
        };
        let recipients: Vec<Address> = vec!["ana@example.net".parse().expect("address")];
        let message = EmailMessage {
            delivery_id: "msg_1",
            notification_id: "n",
            recipients: &recipients,
            from_name: None,
            reply_to: None,
            content: &content,
        };
        let (_, email) = format_batch(&settings, &message, 0, &recipients).expect("formats");
        let email = String::from_utf8(email).expect("ASCII");
        let names: Vec<&str> = email
            .split("\r\n")
            .take_while(|line| !line.is_empty())
            .filter_map(|line| line.split_once(':').map(|(name, _)| name))
            .collect();
        assert_eq!(
            names,
            [
                "From",
                "To",
                "Subject",
                "Date",
                "Message-ID",
                "Auto-Submitted",
                "X-Notification-Id",
                "Reply-To",
                "MIME-Version",
                "Content-Type"
            ],
            "{email}"
        );
    }

    #[test]
    fn message_ids_are_stable_and_valid() {
        let cases = [
            ("msg_5d1e", 0, "example.com", "<msg_5d1e.0@example.com>"),
            (
                "msg_5d1e",
                12,
                "mail.example.com",
                "<msg_5d1e.12@mail.example.com>",
            ),
            ("a.b", 1, "example.com", "<a=2Eb.1@example.com>"),
            ("a b>@", 0, "example.com", "<a=20b=3E=40.0@example.com>"),
            ("é", 0, "example.com", "<=C3=A9.0@example.com>"),
            ("x", 0, "bücher.de", "<x.0@notification-router.invalid>"),
            ("x", 0, "[127.0.0.1]", "<x.0@notification-router.invalid>"),
        ];
        for (id, batch, domain, expected) in cases {
            assert_eq!(message_id(id, batch, domain), expected, "{id:?}");
        }
    }
}
