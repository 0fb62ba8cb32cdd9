//! Rendering is safe with hostile event data (property tests over every string of a real
//! notification) and bounded (output cap, recursive partials refused at load).

use std::path::Path;

use proptest::prelude::*;
use regex::Regex;
use serde_json::Value;

use crate::event::{RawRecord, SourceKind, normalise};
use crate::render::{MAX_OUTPUT_BYTES, RenderError, Templates, default_email};

/// The shipped templates.
pub(crate) fn shipped() -> Templates {
    Templates::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("templates"))
        .expect("the shipped templates load")
}

/// A real notification: the example instance-create event, normalised.
pub(crate) fn real_notification() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/events/instance-create.json");
    let bytes = std::fs::read(path).expect("example event");
    let record = RawRecord {
        value: Some(&bytes),
        headers: &[],
    };
    normalise(
        "lifecycle",
        SourceKind::ResourceLifecycleEvents,
        &record,
        1 << 20,
    )
    .expect("the example normalises")
    .body
}

/// `notification` with every string replaced by `hostile`, except the few fields templates
/// branch on (`type`, severity) and the CloudEvents envelope.
pub(crate) fn with_every_string(notification: &Value, hostile: &str) -> Value {
    fn walk(value: &mut Value, hostile: &str) {
        match value {
            Value::String(text) => *text = hostile.to_owned(),
            Value::Array(items) => items.iter_mut().for_each(|v| walk(v, hostile)),
            Value::Object(map) => {
                for (key, child) in map.iter_mut() {
                    let kept = ["specversion", "type", "ibmenseverity", "datacontenttype"];
                    if !kept.contains(&key.as_str()) {
                        walk(child, hostile);
                    }
                }
            }
            _ => {}
        }
    }
    let mut value = notification.clone();
    walk(&mut value, hostile);
    value
}

/// Strings made of what breaks markup, JSON, Slack and mail headers.
pub(crate) fn hostile() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "\"><b>",
        "' onmouseover='x",
        "&lt;b&gt;",
        "&amp;",
        "<!channel>",
        "<!here>",
        "<@U024BE7LH>",
        "<#C024BE7LR>",
        "<https://evil.example|click me>",
        "\r\nBcc: victim@evil.example",
        "\nX-Injected: yes",
        "\r\n\r\n<html>",
        "=?utf-8?b?PGI+?=",
        "\",\"injected\":\"",
        "\\",
        "\\u0000",
        "{{ibmenseverity}}",
        "\u{0}\u{1b}\u{7f}\u{85}",
        "\u{2028}\u{2029}",
        "漢字 🚀 é",
        "*bold* _it_ `code` ~s~",
    ]);
    let free = "[<>&\"'\\\\\r\n\t\u{0}-\u{1f}a-zA-Z0-9 @!#{}/:;=|*_`~.\u{2028}é漢🚀-]{0,24}";
    prop::collection::vec(prop_oneof![pieces.prop_map(str::to_owned), free], 1..6)
        .prop_map(|parts| parts.concat())
        // Templates treat an empty value as absent (`{{#if name}}`), which is not the point here.
        .prop_filter("non-empty", |text| !text.is_empty())
}

/// The tag names of an HTML document, in order; `<br>`, which the default rendering writes for
/// each line break of the text, left out.
pub(crate) fn tags(html: &str) -> Vec<String> {
    let tag = Regex::new(r"<\s*(/?[A-Za-z!][A-Za-z0-9-]*)").expect("regex");
    tag.captures_iter(html)
        .map(|c| c[1].to_ascii_lowercase())
        .filter(|name| name != "br")
        .collect()
}

/// Every string of a JSON value.
fn strings(value: &Value) -> Vec<&str> {
    match value {
        Value::String(text) => vec![text.as_str()],
        Value::Array(items) => items.iter().flat_map(strings).collect(),
        Value::Object(map) => map.values().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

/// Where Slack reads `<...>` as a mention or link: `<` in any text of the message.
pub(crate) fn live_brackets(message: &Value) -> usize {
    strings(message)
        .iter()
        .map(|s| s.matches('<').count())
        .sum()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn email_html_holds_no_markup_from_the_event(text in hostile()) {
        let templates = shipped();
        let base = real_notification();
        let benign = with_every_string(&base, "x");
        let evil = with_every_string(&base, &text);
        let shipped_benign = templates.render_email("email/lifecycle", &benign).expect("renders");
        let shipped_evil = templates.render_email("email/lifecycle", &evil).expect("renders");
        prop_assert_eq!(tags(&shipped_evil.html), tags(&shipped_benign.html));
        prop_assert_eq!(tags(&default_email(&evil).html), tags(&default_email(&benign).html));
        // Subjects are one line, whatever the event holds.
        prop_assert!(!shipped_evil.subject.contains(['\r', '\n']));
    }

    #[test]
    fn slack_text_has_no_live_mention_or_link_from_the_event(text in hostile()) {
        let templates = shipped();
        let base = real_notification();
        let benign = with_every_string(&base, "x");
        let evil = with_every_string(&base, &text);
        let shipped_benign = templates.render_slack("slack/lifecycle.json.hbs", &benign)
            .expect("renders");
        let shipped_evil = templates.render_slack("slack/lifecycle.json.hbs", &evil)
            .expect("renders");
        prop_assert_eq!(live_brackets(&shipped_evil), live_brackets(&shipped_benign));
    }

    #[test]
    fn json_templates_always_render_valid_json_with_the_string_intact(text in hostile()) {
        let templates = shipped();
        let evil = with_every_string(&real_notification(), &text);
        let body = templates
            .render_webhook("webhook/lifecycle-summary.json.hbs", &evil)
            .expect("valid JSON whatever the event holds");
        let parsed: Value = serde_json::from_slice(&body).expect("JSON");
        prop_assert_eq!(&parsed["summary"], &Value::from(text.clone()));
        prop_assert_eq!(&parsed["resource"]["name"], &Value::from(text.clone()));
        prop_assert_eq!(&parsed["initiator"], &Value::from(text));
    }
}

#[test]
fn the_property_checks_would_see_an_unescaped_value() {
    // The checks above compare against a benign rendering; an unescaped value must change them.
    let raw = "<b>x</b>";
    assert_ne!(tags(&format!("<p>{raw}</p>")), tags("<p>x</p>"));
    let message: Value = serde_json::json!({"text": format!("hi {}", "<!channel>")});
    assert_eq!(live_brackets(&message), 1);
}

fn load(files: &[(&str, &str)]) -> Result<Templates, Vec<String>> {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, source) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, source).expect("write");
    }
    Templates::load(dir.path()).map_err(|errors| {
        let prefix = format!("{}/", dir.path().display());
        errors
            .iter()
            .map(|e| e.to_string().replace(&prefix, ""))
            .collect()
    })
}

#[test]
fn output_over_the_cap_is_a_render_error() {
    let templates = load(&[(
        "webhook/loop.json.hbs",
        r#"[{{#each data.items}}"{{../data.big}}",{{/each}}0]"#,
    )])
    .expect("loads");
    let big = "x".repeat(64 * 1024);
    let under = serde_json::json!({"data": {"big": big, "items": vec![0; 15]}});
    let body = templates
        .render_webhook("webhook/loop.json.hbs", &under)
        .expect("under the cap");
    assert!(body.len() < MAX_OUTPUT_BYTES);
    let over = serde_json::json!({"data": {"big": big, "items": vec![0; 17]}});
    assert_eq!(
        templates.render_webhook("webhook/loop.json.hbs", &over),
        Err(RenderError::TooLarge {
            name: "webhook/loop.json.hbs".to_owned(),
            limit: MAX_OUTPUT_BYTES
        })
    );
    assert_eq!(
        RenderError::TooLarge {
            name: "webhook/loop.json.hbs".to_owned(),
            limit: MAX_OUTPUT_BYTES
        }
        .to_string(),
        "template \"webhook/loop.json.hbs\" rendered more than 1048576 bytes"
    );
}

#[test]
fn mutually_recursive_partials_are_a_load_error_not_a_stack_overflow() {
    let errors = load(&[
        ("email/a.html.hbs", "{{> email/b.html.hbs}}"),
        ("email/b.html.hbs", "{{#if x}}{{> email/a.html.hbs}}{{/if}}"),
        ("email/a.subject.hbs", "s"),
        ("email/a.text.hbs", "t"),
    ])
    .expect_err("the cycle is refused");
    assert_eq!(
        errors,
        [
            "email/b.html.hbs:1: partials include each other: email/a.html.hbs → email/b.html.hbs → email/a.html.hbs"
        ]
    );
}

/// Issue 17, item 4: `{{json ...}}` wrote event data unescaped. A resource named like a Slack
/// mention and a disguised link pinged the channel through `{"text": {{json ...}} }`, and
/// `<pre>{{json ...}}</pre>` put a live `<script>` into an email's HTML part.
#[test]
fn the_json_helper_escapes_for_slack_and_html() {
    let templates = load(&[
        ("slack/raw.json.hbs", r#"{"text": {{json data.event_properties.name}} }"#),
        ("slack/all.json.hbs", r#"{"text": "x", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}, "fields": [{{json data.event_properties}}]}]}"#),
        ("email/x.subject.hbs", "{{json data.event_properties.name}}"),
        ("email/x.text.hbs", "{{json data.event_properties}}"),
        ("email/x.html.hbs", "<pre>{{json data.event_properties}}</pre>"),
        ("webhook/x.json.hbs", r#"{"p": {{json data.event_properties}} }"#),
    ])
    .expect("loads");
    let name = "<!channel> <https://evil.example/login|Reset your SSO password> & \u{2028}";
    let notification = serde_json::json!({"data": {"event_properties": {
        "name": name,
        "<@U024BE7LH>": "<script>alert(1)</script>",
    }}});

    let message = templates
        .render_slack("slack/raw.json.hbs", &notification)
        .expect("renders");
    assert_eq!(live_brackets(&message), 0, "{message}");
    assert_eq!(
        message["text"],
        "&lt;!channel&gt; &lt;https://evil.example/login|Reset your SSO password&gt; &amp; \u{2028}"
    );
    let message = templates
        .render_slack("slack/all.json.hbs", &notification)
        .expect("renders");
    assert!(!message.to_string().contains('<'), "{message}");

    let email = templates
        .render_email("email/x", &notification)
        .expect("renders");
    assert_eq!(tags(&email.html), ["pre", "/pre"], "{}", email.html);
    assert!(email.html.contains("&lt;script&gt;"), "{}", email.html);
    // The text part is plain text: the JSON as it is.
    let text: Value = serde_json::from_str(&email.text).expect("JSON");
    assert_eq!(text, notification["data"]["event_properties"]);

    let body = templates
        .render_webhook("webhook/x.json.hbs", &notification)
        .expect("renders");
    let body = String::from_utf8(body).expect("UTF-8");
    assert!(
        !body.contains('\u{2028}') && body.contains("\\u2028"),
        "{body}"
    );
    let parsed: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(parsed["p"], notification["data"]["event_properties"]);
}

/// `{{json ...}}` in a Teams template wrote event text with JSON escaping only: a resource named
/// `[Reset your SSO password](https://evil.example/login)` became a live link in the card, though
/// `{{{ }}}` is refused there. Every string in it gets the markdown escaping `{{value}}` gets.
#[test]
fn the_json_helper_escapes_for_teams() {
    let templates = load(&[(
        "teams/x.json.hbs",
        r#"{"type": "AdaptiveCard", "body": [{"type": "TextBlock", "text": {{json data.event_properties.name}} }], "facts": {{json data.event_properties}} }"#,
    )])
    .expect("loads");
    let name = "[Reset your SSO password](https://evil.example/login) **now** \u{2028}";
    let notification = serde_json::json!({"data": {"event_properties": {
        "name": name,
        "[key](https://evil.example/k)": "- item",
    }}});
    let card = templates
        .render_teams("teams/x.json.hbs", &notification)
        .expect("renders");
    let text = card["body"][0]["text"].as_str().expect("a string");
    assert_eq!(text, crate::render::escape::adaptive_text(name));
    assert!(!text.contains("[Reset your SSO password]("), "{text}");
    let facts = card["facts"].as_object().expect("an object");
    let (key, value) = facts
        .iter()
        .find(|(k, _)| k.contains("key"))
        .expect("the key");
    assert_eq!(key, "\\[key\\]\\(https://evil.example/k\\)");
    assert_eq!(value, "\\- item");
}

/// Issue 17, item 4: `{{{ }}}` skips the registry's escaping, so Slack templates and email HTML
/// parts that use it are refused at load; JSON and plain-text templates may.
#[test]
fn raw_output_is_refused_in_slack_and_html_templates() {
    let errors = load(&[
        ("slack/t.json.hbs", "{\"text\": \"{{{data.name}}}\"}"),
        ("email/x.subject.hbs", "{{{data.name}}}"),
        ("email/x.text.hbs", "{{{data.name}}}"),
        (
            "email/x.html.hbs",
            "<p>\n{{#if data}}{{{json data}}}{{/if}}</p>",
        ),
        ("webhook/t.json.hbs", "{\"a\": \"{{{data.name}}}\"}"),
    ])
    .expect_err("refused");
    let why = "{{{ }}} writes a value unescaped, which Slack and Teams templates and email HTML \
               parts do not allow: write {{ }} (and {{json ...}} for JSON)";
    assert_eq!(
        errors,
        [
            format!("slack/t.json.hbs:1: {why}"),
            format!("email/x.html.hbs:2: {why}"),
        ]
    );
}
