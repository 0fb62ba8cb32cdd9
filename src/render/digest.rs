//! Rendering a digest without a template: its context, and the default email that lists its
//! notifications (the first [`IN_FULL`] in full, the rest one line each). Slack's default
//! digest is the Slack channel's; a webhook's is the notifications as a JSON array.

use handlebars::html_escape;
use serde_json::{Map, Value, json};

use super::{EmailContent, one_line, text_field};

/// How many notifications of a digest the default renderings show in full.
pub const IN_FULL: usize = 5;

/// What a digest's template sees: `notifications` (in the order they came), `group` (each
/// `group_by` path with its value) and `count`.
pub fn digest_context(notifications: Vec<Value>, group: Map<String, Value>) -> Value {
    let count = notifications.len();
    json!({"notifications": notifications, "group": group, "count": count})
}

/// The notifications of a digest's context, or none.
pub fn digest_notifications(context: &Value) -> &[Value] {
    context
        .get("notifications")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// A digest's group as one line: `path = value, ...`; empty for the one group of `group_by: []`.
pub fn digest_group_line(context: &Value) -> String {
    let Some(group) = context.get("group").and_then(Value::as_object) else {
        return String::new();
    };
    group
        .iter()
        .map(|(path, value)| match value {
            Value::String(text) => format!("{path} = {text}"),
            other => format!("{path} = {other}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The headline of a digest: how many notifications, and of which group.
pub fn digest_headline(context: &Value) -> String {
    let count = digest_notifications(context).len();
    let noun = if count == 1 {
        "notification"
    } else {
        "notifications"
    };
    match digest_group_line(context) {
        group if group.is_empty() => format!("{count} {noun}"),
        group => format!("{count} {noun} ({group})"),
    }
}

/// The email of a digest without a template: the headline and the first short text as the
/// subject; the first [`IN_FULL`] notifications with their long texts, then one line (the short
/// text) for each of the rest; the HTML part escaped.
pub fn default_digest_email(context: &Value) -> EmailContent {
    let notifications = digest_notifications(context);
    let headline = digest_headline(context);
    let first = notifications
        .first()
        .map(|n| text_field(n, "ibmendefaultshort"))
        .unwrap_or_default();
    let subject = one_line(&format!("{headline}: {first}"));
    let mut text = format!("{headline}\n\n");
    let mut html = format!(
        "<!DOCTYPE html>\n<html><body style=\"font-family: sans-serif\">\n<p><b>{}</b></p>\n<ol>\n",
        html_escape(&headline)
    );
    for (i, notification) in notifications.iter().take(IN_FULL).enumerate() {
        let short = one_line(text_field(notification, "ibmendefaultshort"));
        let long = text_field(notification, "ibmendefaultlong");
        text.push_str(&format!("{}. {short}\n", i + 1));
        if !long.is_empty() {
            text.push_str(&format!("{long}\n"));
        }
        text.push('\n');
        html.push_str(&format!(
            "<li><p><b>{}</b><br>\n{}</p></li>\n",
            html_escape(&short),
            html_escape(long).replace('\n', "<br>\n")
        ));
    }
    html.push_str("</ol>\n");
    let rest = notifications.get(IN_FULL..).unwrap_or_default();
    if !rest.is_empty() {
        text.push_str(&format!("And {} more:\n", rest.len()));
        html.push_str(&format!("<p>And {} more:</p>\n<ul>\n", rest.len()));
        for notification in rest {
            let short = one_line(text_field(notification, "ibmendefaultshort"));
            text.push_str(&format!("- {short}\n"));
            html.push_str(&format!("<li>{}</li>\n", html_escape(&short)));
        }
        html.push_str("</ul>\n");
    }
    html.push_str("</body></html>\n");
    EmailContent {
        subject,
        text,
        html,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notification(i: usize) -> Value {
        json!({
            "ibmendefaultshort": format!("db-{i} <failed>"),
            "ibmendefaultlong": format!("Long text {i} & more"),
        })
    }

    #[test]
    fn the_default_digest_email_lists_every_notification_and_escapes_html() {
        let group = Map::from_iter([("$.data.region".to_owned(), json!("us-south"))]);
        let context = digest_context((0..8).map(notification).collect(), group);
        let email = default_digest_email(&context);
        assert_eq!(
            email.subject,
            "8 notifications ($.data.region = us-south): db-0 <failed>"
        );
        for i in 0..8 {
            assert!(
                email.text.contains(&format!("db-{i} <failed>")),
                "{}",
                email.text
            );
            assert!(email.html.contains(&format!("db-{i} &lt;failed&gt;")));
        }
        assert!(email.text.contains("Long text 4 & more"));
        assert!(
            !email.text.contains("Long text 5"),
            "only the first 5 in full"
        );
        assert!(email.text.contains("And 3 more:\n- db-5 <failed>\n"));
        assert!(!email.html.contains("<failed>"));
    }

    #[test]
    fn one_group_has_no_group_line() {
        let context = digest_context(vec![notification(1)], Map::new());
        assert_eq!(digest_headline(&context), "1 notification");
    }
}
