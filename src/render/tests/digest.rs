//! The shipped digest templates and the default digest email, with hostile event data: JSON
//! stays JSON, Slack text mentions nobody, HTML gains no markup.

use serde_json::{Map, Value, json};

use super::safety::{live_brackets, real_notification, shipped, tags, with_every_string};
use crate::render::{default_digest_email, digest_context};

const HOSTILE: &str = "<!channel> <b>x</b> & \"quoted\" {{x}} \\ \n line";

fn context(text: &str, count: usize) -> Value {
    let notification = with_every_string(&real_notification(), text);
    let group = Map::from_iter([("$.data.region".to_owned(), json!(text))]);
    digest_context(vec![notification; count], group)
}

#[test]
fn the_webhook_digest_template_renders_json_with_every_notification() {
    let body = shipped()
        .render_webhook("webhook/digest.json.hbs", &context(HOSTILE, 8))
        .expect("renders");
    let parsed: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(parsed["count"], 8);
    assert_eq!(parsed["group"]["$.data.region"], HOSTILE);
    let notifications = parsed["notifications"].as_array().expect("an array");
    assert_eq!(notifications.len(), 8);
    assert_eq!(notifications[7]["summary"], HOSTILE);
}

#[test]
fn the_slack_digest_template_renders_a_message_that_mentions_nobody() {
    let templates = shipped();
    let render = |text: &str| {
        templates
            .render_slack("slack/digest.json.hbs", &context(text, 8))
            .expect("renders valid JSON")
    };
    let (evil, benign) = (render(HOSTILE), render("x"));
    crate::channels::slack::check_shape(&evil).expect("a Slack message");
    assert_eq!(live_brackets(&evil), live_brackets(&benign));
    assert_eq!(evil["blocks"].as_array().expect("blocks").len(), 1 + 5 + 1);
}

#[test]
fn the_email_digest_template_and_the_default_escape_html() {
    let templates = shipped();
    let render = |text: &str| {
        templates
            .render_email("email/digest", &context(text, 8))
            .expect("renders")
    };
    let (evil, benign) = (render(HOSTILE), render("x"));
    assert_eq!(tags(&evil.html), tags(&benign.html));
    assert!(evil.subject.starts_with("[8] "), "{}", evil.subject);
    assert!(!evil.subject.contains('\n'));
    assert!(evil.text.contains(HOSTILE.lines().next().expect("a line")));
    let (evil, benign) = (
        default_digest_email(&context(HOSTILE, 8)),
        default_digest_email(&context("x", 8)),
    );
    assert_eq!(tags(&evil.html), tags(&benign.html));
}
