//! Rendering hostile event data through every shipped template and every default rendering,
//! and through templates that embed event data with `{{json ...}}` in each channel.
//!
//! Input: one flags byte, then the hostile text (UTF-8, invalid bytes replaced).
//! - bit 0: the text is also a key of `data.event_properties` (object keys reach `{{json}}`).
//!
//! Every string of a real notification (the example instance-create event) becomes the text,
//! except the few fields templates branch on and the CloudEvents envelope. Each rendering is
//! compared with the rendering of a benign twin: the same text with `< > & " '` replaced by
//! `x`, which takes the same branches. The escaping invariants, per channel:
//! - email HTML parts (shipped, default, with the payload appended, `{{json}}` in `<pre>`): the
//!   same tags as the twin's, so no markup from the event;
//! - Slack messages (shipped, default, `{{json}}` as the text): as many `<` in their strings as
//!   the twin's, so no live mention or link from the event;
//! - webhook JSON (shipped, `{{json}}`): the body parses, and holds the text intact;
//! - Teams cards (shipped, default, `{{json}}`): as many live markdown characters (`[ ] ( ) * _`
//!   and backquotes not escaped by a backslash) in their strings as the twin's, so no link or
//!   emphasis from the event; Teams' twin also has those characters replaced;
//! - PagerDuty events (shipped template, default payload and dedup key) and Kafka records
//!   (shipped): valid JSON holding the text intact;
//! - email subjects: one line.

#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use notification_router::channels::pagerduty::{
    self, Attributes, SeverityMap, default_dedup_key, default_resolve_on, fit_dedup_key,
};
use notification_router::channels::slack::default_slack;
use notification_router::channels::teams::default_card;
use notification_router::event::{RawRecord, SourceKind, normalise};
use notification_router::filter::Filter;
use notification_router::render::{Templates, default_email, payload_appendix};
use serde_json::Value;

/// Templates of each channel that embed event data with `{{json}}`, besides the shipped ones.
const JSON_TEMPLATES: [(&str, &str); 6] = [
    (
        "slack/fuzz-json.json.hbs",
        r#"{"text": {{json data.event_properties.name}}, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}, "fields": [{{json data.event_properties}}]}]}"#,
    ),
    (
        "email/fuzz-json.subject.hbs",
        "{{json data.event_properties.name}}",
    ),
    ("email/fuzz-json.text.hbs", "{{json data}}"),
    (
        "email/fuzz-json.html.hbs",
        "<p>{{ibmenseverity}}</p><pre>{{json data}}</pre>",
    ),
    ("webhook/fuzz-json.json.hbs", r#"{"data": {{json data}}}"#),
    (
        "teams/fuzz-json.json.hbs",
        r#"{"type": "message", "text": {{json data.event_properties.name}}, "data": {{json data}}}"#,
    ),
];

const SHIPPED_EMAIL: &str = "email/lifecycle";
const SHIPPED_SLACK: &str = "slack/lifecycle.json.hbs";
const SHIPPED_WEBHOOK: &str = "webhook/lifecycle-summary.json.hbs";
const SHIPPED_TEAMS: &str = "teams/lifecycle.json.hbs";
const SHIPPED_PAGERDUTY: &str = "pagerduty/lifecycle.json.hbs";
const SHIPPED_KAFKA: &str = "kafka/lifecycle-summary.json.hbs";

/// What Teams' markdown reads as a link, emphasis or code when not escaped by a backslash.
const MARKDOWN: &str = "[]()*_`";

struct Fixture {
    templates: Templates,
    notification: Value,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let dir: PathBuf =
            std::env::temp_dir().join(format!("nr-fuzz-render-{}", std::process::id()));
        for channel in ["webhook", "slack", "email", "teams", "pagerduty", "kafka"] {
            std::fs::create_dir_all(dir.join(channel)).expect("mkdir");
            for entry in std::fs::read_dir(root.join("templates").join(channel)).expect("shipped") {
                let path = entry.expect("entry").path();
                let name = path.file_name().expect("a name");
                std::fs::copy(&path, dir.join(channel).join(name)).expect("copy");
            }
        }
        for (name, source) in JSON_TEMPLATES {
            std::fs::write(dir.join(name), source).expect("write");
        }
        let templates = Templates::load(&dir).expect("the templates load");
        let _ = std::fs::remove_dir_all(&dir);

        let bytes = std::fs::read(root.join("examples/events/instance-create.json"))
            .expect("the example event");
        let record = RawRecord {
            value: Some(&bytes),
            headers: &[],
        };
        let notification = normalise(
            "lifecycle",
            SourceKind::ResourceLifecycleEvents,
            &record,
            1 << 20,
        )
        .expect("the example normalises")
        .body;
        Fixture {
            templates,
            notification,
        }
    })
}

/// `notification` with every string `text`, except what templates branch on and the envelope;
/// with `as_key`, `text` is also a key of `data.event_properties`.
fn with_every_string(notification: &Value, text: &str, as_key: bool) -> Value {
    fn walk(value: &mut Value, text: &str) {
        match value {
            Value::String(s) => *s = text.to_owned(),
            Value::Array(items) => items.iter_mut().for_each(|v| walk(v, text)),
            Value::Object(map) => {
                for (key, child) in map.iter_mut() {
                    let kept = ["specversion", "type", "ibmenseverity", "datacontenttype"];
                    if !kept.contains(&key.as_str()) {
                        walk(child, text);
                    }
                }
            }
            _ => {}
        }
    }
    let mut value = notification.clone();
    walk(&mut value, text);
    if as_key {
        if let Some(properties) = value["data"]["event_properties"].as_object_mut() {
            properties.insert(text.to_owned(), Value::from(text));
        }
    }
    value
}

/// The tag names of an HTML document, in order, `<br>` left out: `<` then an optional `/` and a
/// letter or `!` opens a tag, as browsers read it.
fn tags(html: &str) -> Vec<String> {
    let bytes = html.as_bytes();
    let mut found = Vec::new();
    for (i, _) in html.match_indices('<') {
        let mut j = i + 1;
        while j < bytes.len() && bytes[j].is_ascii_whitespace() {
            j += 1;
        }
        let start = j;
        if j < bytes.len() && bytes[j] == b'/' {
            j += 1;
        }
        if j >= bytes.len() || !(bytes[j].is_ascii_alphabetic() || bytes[j] == b'!') {
            continue;
        }
        j += 1;
        while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'-') {
            j += 1;
        }
        let name = html[start..j].to_ascii_lowercase();
        if name != "br" {
            found.push(name);
        }
    }
    found
}

/// How many `<` the strings of a Slack message hold: where Slack reads a mention or a link.
fn live_brackets(value: &Value) -> usize {
    match value {
        Value::String(s) => s.matches('<').count(),
        Value::Array(items) => items.iter().map(live_brackets).sum(),
        Value::Object(map) => map.values().map(live_brackets).sum(),
        _ => 0,
    }
}

/// How many characters of [`MARKDOWN`] the strings of a Teams message hold without a
/// backslash before them (an odd number of backslashes escapes; an even number is literal).
fn live_markdown(value: &Value) -> usize {
    match value {
        Value::String(s) => {
            let mut live = 0;
            let mut backslashes = 0;
            for c in s.chars() {
                if MARKDOWN.contains(c) && backslashes % 2 == 0 {
                    live += 1;
                }
                backslashes = if c == '\\' { backslashes + 1 } else { 0 };
            }
            live
        }
        Value::Array(items) => items.iter().map(live_markdown).sum(),
        Value::Object(map) => {
            map.keys()
                .map(|k| live_markdown(&Value::from(k.as_str())))
                .sum::<usize>()
                + map.values().map(live_markdown).sum::<usize>()
        }
        _ => 0,
    }
}

/// Every Teams rendering of `notification`: shipped, `{{json}}` and the default card.
fn teams(templates: &Templates, notification: &Value) -> Vec<Value> {
    vec![
        templates
            .render_teams(SHIPPED_TEAMS, notification)
            .expect("the shipped Teams template renders"),
        templates
            .render_teams("teams/fuzz-json.json.hbs", notification)
            .expect("the json Teams template renders"),
        default_card(notification),
    ]
}

/// The PagerDuty events for `notification`: a trigger with the shipped template's fields, one
/// with the default payload only, and the resolve the default `resolve_on` makes of the example
/// (a create); `None` where the text makes the summary blank (refused, as it should).
fn pagerduty_events(templates: &Templates, notification: &Value) -> Vec<Option<Value>> {
    let attributes = |resolve_on: Filter| Attributes {
        dedup_key: None,
        severity: SeverityMap::default(),
        resolve_on,
    };
    let never = Filter::parse("$.type == 'no.such.type'").expect("a valid filter");
    let trigger = attributes(never);
    let resolve = attributes(default_resolve_on());
    let fields = templates
        .render_pagerduty(SHIPPED_PAGERDUTY, notification)
        .expect("the shipped PagerDuty template renders a JSON object");
    [(&trigger, Some(fields)), (&trigger, None), (&resolve, None)]
        .into_iter()
        .map(|(attributes, fields)| {
            pagerduty::build(attributes, notification, fields, SHIPPED_PAGERDUTY).ok()
        })
        .collect()
}

/// Every email rendering of `notification`: shipped and `{{json}}` templates and the default,
/// each without and with the payload appended.
fn emails(templates: &Templates, notification: &Value) -> Vec<(String, String)> {
    let mut contents = vec![
        templates
            .render_email(SHIPPED_EMAIL, notification)
            .expect("the shipped email renders"),
        templates
            .render_email("email/fuzz-json", notification)
            .expect("the json email renders"),
        default_email(notification),
    ];
    for i in 0..contents.len() {
        let mut appended = contents[i].clone();
        payload_appendix(&mut appended, notification);
        contents.push(appended);
    }
    contents
        .into_iter()
        .map(|content| (content.subject, content.html))
        .collect()
}

/// Every Slack rendering of `notification`: shipped, `{{json}}` and the default.
fn slacks(templates: &Templates, notification: &Value) -> Vec<Value> {
    vec![
        templates
            .render_slack(SHIPPED_SLACK, notification)
            .expect("the shipped Slack template renders"),
        templates
            .render_slack("slack/fuzz-json.json.hbs", notification)
            .expect("the json Slack template renders"),
        default_slack(notification),
    ]
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    // Templates treat an empty value as absent (`{{#if name}}`), which is not the point here.
    if text.is_empty() {
        return;
    }
    let twin: String = text
        .chars()
        .map(|c| if "<>&\"'".contains(c) { 'x' } else { c })
        .collect();
    let as_key = flags & 1 != 0;
    let Fixture {
        templates,
        notification,
    } = fixture();
    let evil = with_every_string(notification, &text, as_key);
    let benign = with_every_string(notification, &twin, as_key);

    for ((subject, html), (_, benign_html)) in emails(templates, &evil)
        .into_iter()
        .zip(emails(templates, &benign))
    {
        assert_eq!(
            tags(&html),
            tags(&benign_html),
            "markup from the event in {html}"
        );
        assert!(
            !subject.contains(['\r', '\n']),
            "a subject of two lines: {subject:?}"
        );
    }

    for (message, benign_message) in slacks(templates, &evil)
        .into_iter()
        .zip(slacks(templates, &benign))
    {
        assert_eq!(
            live_brackets(&message),
            live_brackets(&benign_message),
            "a live mention or link from the event in {message}"
        );
    }

    let body = templates
        .render_webhook(SHIPPED_WEBHOOK, &evil)
        .expect("the shipped webhook template renders valid JSON");
    let parsed: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(parsed["summary"], Value::from(text.as_ref()));
    assert_eq!(parsed["resource"]["name"], Value::from(text.as_ref()));
    let body = templates
        .render_webhook("webhook/fuzz-json.json.hbs", &evil)
        .expect("the json webhook template renders valid JSON");
    let parsed: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(parsed["data"], evil["data"]);

    // Teams: the twin has Teams' markdown characters replaced too.
    let markdown_twin: String = twin
        .chars()
        .map(|c| {
            if MARKDOWN.contains(c) || c == '\\' {
                'x'
            } else {
                c
            }
        })
        .collect();
    let markdown_benign = with_every_string(notification, &markdown_twin, as_key);
    for (card, benign_card) in teams(templates, &evil)
        .into_iter()
        .zip(teams(templates, &markdown_benign))
    {
        assert_eq!(
            live_markdown(&card),
            live_markdown(&benign_card),
            "a live markdown link or emphasis from the event in {card}"
        );
    }

    // PagerDuty: a valid event whose summary and dedup key hold the text as it is.
    let blank = text.trim().is_empty();
    for event in pagerduty_events(templates, &evil) {
        let Some(event) = event else {
            assert!(blank, "a PagerDuty event was refused for {text:?}");
            continue;
        };
        let written = serde_json::to_vec(&event).expect("serialises");
        let parsed: Value = serde_json::from_slice(&written).expect("JSON");
        assert_eq!(parsed, event);
        assert_eq!(
            parsed["dedup_key"],
            Value::from(fit_dedup_key(default_dedup_key(&evil)))
        );
        if parsed["event_action"] == "trigger" && text.chars().count() < 200 {
            let summary = parsed["payload"]["summary"].as_str().expect("a summary");
            assert!(summary.starts_with(text.as_ref()), "{summary:?}");
        }
    }

    // Kafka: the shipped record parses with the text intact.
    let body = templates
        .render_kafka(SHIPPED_KAFKA, &evil)
        .expect("the shipped Kafka template renders valid JSON");
    let parsed: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(parsed["summary"], Value::from(text.as_ref()));
    assert_eq!(parsed["resource"], Value::from(text.as_ref()));
});
