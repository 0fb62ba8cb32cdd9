//! The text log format's fields, with control characters escaped: a value from an event (a
//! CloudEvent `type` holding `\n... WARN forged line`) cannot start a line of its own, move the
//! cursor or colour a terminal.

use std::fmt::{self, Write};

use tracing::field::{Field, Visit};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::fmt::format::Writer;

/// Formats fields as `name=value`, the message bare, like the default text format, with every
/// control character of a value written as an escape (`\n`, `\u{1b}`).
#[derive(Debug, Default, Clone, Copy)]
pub struct EscapedFields;

impl<'writer> FormatFields<'writer> for EscapedFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'writer>, fields: R) -> fmt::Result {
        let mut visitor = Visitor {
            writer,
            first: true,
            result: Ok(()),
        };
        fields.record(&mut visitor);
        visitor.result
    }
}

struct Visitor<'writer> {
    writer: Writer<'writer>,
    first: bool,
    result: fmt::Result,
}

impl Visit for Visitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let name = field.name();
        // librdkafka's lines arrive through the `log` bridge with their origin in `log.*`
        // fields, which the line's target already shows.
        if self.result.is_err() || name.starts_with("log.") {
            return;
        }
        let separator = if std::mem::take(&mut self.first) {
            ""
        } else {
            " "
        };
        let mut escaped = Escaped(&mut self.writer);
        self.result = match name {
            "message" => {
                write!(escaped.0, "{separator}").and_then(|()| write!(escaped, "{value:?}"))
            }
            name => write!(escaped.0, "{separator}{}=", name.trim_start_matches("r#"))
                .and_then(|()| write!(escaped, "{value:?}")),
        };
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        // As the default format: the message bare, other strings quoted.
        if field.name() == "message" {
            self.record_debug(field, &format_args!("{value}"));
        } else {
            self.record_debug(field, &value);
        }
    }
}

/// Writes through to the log line, escaping control characters (and the Unicode line and
/// paragraph separators) on the way.
struct Escaped<'a, 'writer>(&'a mut Writer<'writer>);

impl Write for Escaped<'_, '_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let mut rest = text;
        while let Some(at) = rest.find(needs_escape) {
            self.0.write_str(&rest[..at])?;
            let c = rest[at..].chars().next().expect("found at a char boundary");
            match c {
                '\n' => self.0.write_str("\\n")?,
                '\r' => self.0.write_str("\\r")?,
                '\t' => self.0.write_str("\\t")?,
                c => write!(self.0, "\\u{{{:x}}}", c as u32)?,
            }
            rest = &rest[at + c.len_utf8()..];
        }
        self.0.write_str(rest)
    }
}

fn needs_escape(c: char) -> bool {
    c.is_control() || c == '\u{2028}' || c == '\u{2029}'
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing::{info, warn};

    use tracing_subscriber::EnvFilter;

    use super::super::{LogFormat, subscriber};

    /// Everything the text format wrote, shared with the test.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .expect("not poisoned")
                .extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn logged(log: impl FnOnce()) -> String {
        let captured = Captured::default();
        let writer = captured.clone();
        // The binary's own logger (`telemetry::init`), writing here.
        let subscriber = subscriber(LogFormat::Text, EnvFilter::new("trace"), false, move || {
            writer.clone()
        });
        tracing::subscriber::with_default(subscriber, log);
        let bytes = captured.0.lock().expect("not poisoned").clone();
        String::from_utf8(bytes).expect("UTF-8")
    }

    #[test]
    fn a_hostile_value_cannot_forge_a_log_line() {
        let hostile =
            "com.example.created\n2026-12-02T04:00:00Z  WARN forged line\r\x1b[2J\u{2028}";
        let text = logged(|| {
            warn!(message = "Rejected record.", r#type = hostile, reason = %hostile, detail = ?hostile);
            info!("Unknown type {hostile}.");
        });
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(
            lines
                .iter()
                .all(|l| !l.contains('\r') && !l.contains('\x1b')),
            "{text}"
        );
        assert!(
            lines[0].contains(r#"type="com.example.created\n2026-12-02T04:00:00Z  WARN forged line\r\u{1b}[2J\u{2028}""#),
            "{}",
            lines[0]
        );
        assert!(
            lines[0].contains(r"reason=com.example.created\n2026"),
            "{}",
            lines[0]
        );
        assert!(
            lines[1].contains(r"Unknown type com.example.created\n2026"),
            "{}",
            lines[1]
        );
        assert!(
            !text.contains("\n2026-12-02T04:00:00Z  WARN forged line"),
            "{text}"
        );
    }

    #[test]
    fn ordinary_lines_read_as_the_default_format() {
        let text = logged(|| {
            warn!(
                message = "Delivery failed.",
                destination = "hook",
                attempts = 3
            )
        });
        assert!(
            text.trim_end()
                .ends_with(r#"Delivery failed. destination="hook" attempts=3"#),
            "{text}"
        );
    }
}
