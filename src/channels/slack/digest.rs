//! The Slack message of a digest without a template: a headline with the count and group, the
//! first notifications in full, then one line each for the rest, within Slack's limits.

use serde_json::{Value, json};

use super::message::{BLOCKS_MAX, SECTION_TEXT_MAX, fit_limits};
use crate::render::{
    IN_FULL, digest_headline, digest_notifications, escape_slack_text, one_line, text_field,
};

/// Blocks kept for the closing line when the summaries do not all fit.
const CLOSING: usize = 1;

/// The default digest: a bold headline (`50 notifications (region = us-south)`), a section per
/// notification of the first [`IN_FULL`] (short text in bold, long text), a divider, then the
/// short text of each of the others as a bulleted line, as many sections of up to 3000
/// characters as it takes; what does not fit in 50 blocks is counted in a last line. All text
/// from events goes through [`escape_slack_text`].
pub fn default_digest(context: &Value) -> Value {
    let notifications = digest_notifications(context);
    let headline = escape_slack_text(&digest_headline(context));
    let mut blocks = vec![section(format!("*{headline}*"))];
    for notification in notifications.iter().take(IN_FULL) {
        let short = escape_slack_text(&one_line(text_field(notification, "ibmendefaultshort")));
        let long = escape_slack_text(text_field(notification, "ibmendefaultlong").trim());
        let short = short.replace('*', "\u{2217}");
        let text = if long.is_empty() {
            format!("*{short}*")
        } else {
            format!("*{short}*\n{long}")
        };
        blocks.push(section(text));
    }
    let rest = notifications.get(IN_FULL..).unwrap_or_default();
    if !rest.is_empty() {
        blocks.push(json!({"type": "divider"}));
        let mut chunk = format!("And {} more:", rest.len());
        let mut left = rest.len();
        for notification in rest {
            let line = format!(
                "\n• {}",
                escape_slack_text(&one_line(text_field(notification, "ibmendefaultshort")))
            );
            if chunk.chars().count() + line.chars().count() > SECTION_TEXT_MAX {
                if blocks.len() + 1 + CLOSING >= BLOCKS_MAX {
                    break;
                }
                blocks.push(section(std::mem::take(&mut chunk)));
                chunk = line.trim_start().to_owned();
            } else {
                chunk.push_str(&line);
            }
            left -= 1;
        }
        if !chunk.is_empty() {
            blocks.push(section(chunk));
        }
        if left > 0 {
            blocks.push(section(format!("… and {left} more not listed")));
        }
    }
    let mut message = json!({"text": headline, "blocks": blocks});
    fit_limits(&mut message);
    message
}

fn section(text: String) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": text}})
}

#[cfg(test)]
mod tests {
    use serde_json::Map;

    use super::*;
    use crate::channels::slack::check_shape;
    use crate::render::digest_context;

    fn notification(i: usize) -> Value {
        json!({
            "ibmendefaultshort": format!("db-{i} <@U1> & *bold*"),
            "ibmendefaultlong": format!("Long {i}"),
        })
    }

    fn all_text(message: &Value) -> String {
        message["blocks"]
            .as_array()
            .expect("blocks")
            .iter()
            .filter_map(|b| b["text"]["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn lists_every_notification_escaped_and_within_limits() {
        let context = digest_context((0..50).map(notification).collect(), Map::new());
        let message = default_digest(&context);
        check_shape(&message).expect("a valid message");
        assert_eq!(message["text"], "50 notifications");
        let text = all_text(&message);
        for i in 0..50 {
            assert!(
                text.contains(&format!("db-{i} &lt;@U1&gt; &amp;")),
                "{text}"
            );
        }
        assert!(!text.contains("<@U1>"));
        assert!(text.contains("Long 4") && !text.contains("Long 5"));
        assert!(text.contains("And 45 more:"));
    }

    #[test]
    fn what_does_not_fit_in_fifty_blocks_is_counted() {
        let long = |i: usize| json!({"ibmendefaultshort": format!("{i} {}", "x".repeat(1000))});
        let context = digest_context((0..1000).map(long).collect(), Map::new());
        let message = default_digest(&context);
        let blocks = message["blocks"].as_array().expect("blocks");
        assert!(blocks.len() <= BLOCKS_MAX, "{}", blocks.len());
        assert!(all_text(&message).contains("more not listed"));
    }
}
