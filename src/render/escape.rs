//! Escape functions of the registries: a value made safe for the inside of a JSON string literal,
//! and for Slack text or Adaptive Card text inside one.

use std::fmt::Write;

/// Escapes `value` so that `"<escaped>"` is a JSON string whose content is exactly `value`:
/// quote, backslash and every control character are escaped, and so are U+2028 and U+2029
/// (valid in JSON, but line terminators for JavaScript receivers that `eval` or embed the body).
pub(super) fn json_string_content(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if c.is_control() => {
                // Covers U+0000..U+001F and U+007F..U+009F; all fit in one \uXXXX escape.
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// Slack's escaping for text taken from events: `&`, `<` and `>` become `&amp;`, `&lt;` and
/// `&gt;`, and nothing else changes. So `<!channel>`, `<@U123>` or `<http://x|y>` in an event
/// shows as typed instead of notifying a channel or becoming a link.
pub fn slack_text(s: &str) -> String {
    let mut escaped = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// The Slack registry's escape function: [`slack_text`], then [`json_string_content`].
pub(super) fn slack_json_string_content(value: &str) -> String {
    json_string_content(&slack_text(value))
}

/// Adaptive Card text (the markdown subset of `TextBlock` and `FactSet`) for text taken from
/// events: a backslash before `\`, `*`, `_`, `` ` ``, `[`, `]`, `(` and `)`, and before a list
/// marker that opens a line (`-`, `+`, or the `.` of `1.`). So event text shows as typed instead
/// of becoming bold, a link or a list.
pub fn adaptive_text(s: &str) -> String {
    let mut escaped = String::with_capacity(s.len() + 8);
    for (i, line) in s.split('\n').enumerate() {
        if i > 0 {
            escaped.push('\n');
        }
        let digits = line.chars().take_while(char::is_ascii_digit).count();
        for (j, c) in line.chars().enumerate() {
            let list_marker =
                (j == 0 && matches!(c, '-' | '+')) || (digits > 0 && j == digits && c == '.');
            if list_marker || matches!(c, '\\' | '*' | '_' | '`' | '[' | ']' | '(' | ')') {
                escaped.push('\\');
            }
            escaped.push(c);
        }
    }
    escaped
}

/// The Teams registry's escape function: [`adaptive_text`], then [`json_string_content`].
pub(super) fn teams_json_string_content(value: &str) -> String {
    json_string_content(&adaptive_text(value))
}

#[cfg(test)]
mod tests {
    use super::{adaptive_text, json_string_content, slack_json_string_content};

    #[test]
    fn adaptive_text_shows_markdown_as_typed() {
        let cases = [
            ("plain text.", "plain text."),
            ("**bold** _it_", "\\*\\*bold\\*\\* \\_it\\_"),
            ("[x](https://evil.test)", "\\[x\\]\\(https://evil.test\\)"),
            ("- item\n12. item\na-b 1.5", "\\- item\n12\\. item\na-b 1.5"),
            ("back\\slash `code`", "back\\\\slash \\`code\\`"),
        ];
        for (text, expected) in cases {
            assert_eq!(adaptive_text(text), expected, "{text}");
        }
    }

    #[test]
    fn slack_escaping_neutralises_mentions_and_links_only() {
        let literal = format!("\"{}\"", slack_json_string_content("a \"<!here>\"\n"));
        let parsed: String = serde_json::from_str(&literal).expect("valid JSON string");
        assert_eq!(parsed, "a \"&lt;!here&gt;\"\n");
    }

    #[test]
    fn escaped_content_parses_back_to_the_input() {
        let cases = [
            "plain",
            "quote \" inside",
            "back\\slash and \\\" both",
            "new\nline, cr\r, tab\t, nul\0, bell\u{7}, del\u{7f}, c1\u{85}",
            "</script><script>alert(1)</script>",
            "line\u{2028}para\u{2029}end",
            "unicode: é 漢字 🚀 \u{feff}",
            "{\"injected\": true}",
            "",
        ];
        for input in cases {
            let literal = format!("\"{}\"", json_string_content(input));
            let parsed: String = serde_json::from_str(&literal)
                .unwrap_or_else(|e| panic!("{literal} does not parse: {e}"));
            assert_eq!(parsed, input);
        }
    }

    #[test]
    fn line_and_paragraph_separators_are_escaped() {
        assert_eq!(
            json_string_content("a\u{2028}b\u{2029}"),
            "a\\u2028b\\u2029"
        );
        assert_eq!(json_string_content("\u{1}"), "\\u0001");
    }
}
