//! Rendering without a template, per product.md: email from `ibmendefaultshort` and
//! `ibmendefaultlong`, and the payload appendix of `add_notification_payload`. (Slack's default
//! layout is the Slack channel's.)

use handlebars::html_escape;
use serde_json::Value;

use super::{EmailContent, one_line};

/// The email of a notification without a template: the short text as subject, the long text as
/// both bodies (the HTML part escaped, line breaks kept).
pub fn default_email(notification: &Value) -> EmailContent {
    let short = text_field(notification, "ibmendefaultshort");
    let long = text_field(notification, "ibmendefaultlong");
    let long = if long.is_empty() { short } else { long };
    EmailContent {
        subject: one_line(short),
        text: format!("{long}\n"),
        html: format!(
            "<!DOCTYPE html>\n<html><body style=\"font-family: sans-serif\">\n<p>{}</p>\n</body></html>\n",
            html_escape(long).replace('\n', "<br>\n")
        ),
    }
}

/// EN's `add_notification_payload`: the notification JSON, pretty-printed, appended to the text
/// part and, escaped in a `<pre>`, before the end of the HTML part's body.
pub fn payload_appendix(content: &mut EmailContent, notification: &Value) {
    let pretty = serde_json::to_string_pretty(notification).unwrap_or_default();
    content.text.push_str("\n--\nNotification payload:\n");
    content.text.push_str(&pretty);
    content.text.push('\n');
    let block = format!(
        "<hr>\n<p>Notification payload:</p>\n<pre style=\"font-size: 12px\">{}</pre>\n",
        html_escape(&pretty)
    );
    match content.html.rfind("</body>") {
        Some(at) => content.html.insert_str(at, &block),
        None => content.html.push_str(&block),
    }
}

/// The text of `field` in `notification`, or empty.
pub fn text_field<'a>(notification: &'a Value, field: &str) -> &'a str {
    notification
        .get(field)
        .and_then(Value::as_str)
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn notification() -> Value {
        json!({
            "ibmendefaultshort": "instance create_failure\n<b>x</b>",
            "ibmendefaultlong": "Line one & <script>alert(1)</script>\nLine two",
            "data": {"name": "<img src=x>"}
        })
    }

    #[test]
    fn default_email_uses_the_texts_and_escapes_html() {
        let email = default_email(&notification());
        assert_eq!(email.subject, "instance create_failure <b>x</b>");
        assert_eq!(
            email.text,
            "Line one & <script>alert(1)</script>\nLine two\n"
        );
        assert!(
            email.html.contains(
                "<p>Line one &amp; &lt;script&gt;alert(1)&lt;/script&gt;<br>\nLine two</p>"
            )
        );
        assert!(!email.html.contains("<script>"));
    }

    #[test]
    fn payload_appendix_adds_the_json_to_both_parts() {
        let mut email = default_email(&notification());
        payload_appendix(&mut email, &notification());
        assert!(
            email.text.contains("\"name\": \"<img src=x>\""),
            "{}",
            email.text
        );
        assert!(
            email.html.contains("&lt;img src&#x3D;x&gt;"),
            "{}",
            email.html
        );
        assert!(!email.html.contains("<img"));
        let pre = email.html.find("<pre").expect("pre block");
        assert!(pre < email.html.find("</body>").expect("body end"));
    }
}
