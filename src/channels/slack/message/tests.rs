//! Tests of Slack message escaping, the default layout, shape checks, limits and colour.

use serde_json::{Value, json};

use super::{
    BLOCKS_MAX, CONTEXT_TEXT_MAX, HEADER_TEXT_MAX, MESSAGE_TEXT_MAX, SECTION_TEXT_MAX,
    TRUNCATION_MARKER, apply_color, check_color, check_shape, default_message, default_slack,
    fit_limits,
};
use crate::render::escape_slack_text as escape_text;

fn section(text: &str) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": text}})
}

/// The message with one section of `text`, cut to the limits; returns the section's text.
fn fitted_section(text: &str) -> String {
    let mut message = json!({"blocks": [section(text)]});
    assert!(fit_limits(&mut message), "a cut was expected");
    message["blocks"][0]["text"]["text"]
        .as_str()
        .expect("section text")
        .to_owned()
}

fn chars(value: &Value) -> usize {
    value.as_str().expect("a string").chars().count()
}

#[test]
fn escapes_only_ampersand_and_angle_brackets() {
    let cases = [
        ("plain text", "plain text"),
        ("<!channel>", "&lt;!channel&gt;"),
        ("<@U123> and <#C1>", "&lt;@U123&gt; and &lt;#C1&gt;"),
        ("<http://x|y>", "&lt;http://x|y&gt;"),
        ("a & b", "a &amp; b"),
        ("&amp;", "&amp;amp;"),
        (
            "*bold* _it_ `code` \"q\" 'a'",
            "*bold* _it_ `code` \"q\" 'a'",
        ),
        ("é ü 😀", "é ü 😀"),
        ("", ""),
    ];
    for (text, escaped) in cases {
        assert_eq!(escape_text(text), escaped, "{text:?}");
    }
}

#[test]
fn default_message_has_en_layout() {
    let message = default_message(
        "Instance created",
        "Instance db-1 was created in us-south.",
        // Keys in sorted order, so the text is the same with or without serde_json's preserve_order.
        &json!({"data": {"region": "us-south"}, "id": "n-1"}),
    );
    assert_eq!(
        message,
        json!({
            "text": "Instance created",
            "blocks": [
                section("*Instance created*"),
                section("Instance db-1 was created in us-south."),
                {"type": "divider"},
                {"type": "context", "elements": [{
                    "type": "mrkdwn",
                    "text": "`{\"data\":{\"region\":\"us-south\"},\"id\":\"n-1\"}`",
                }]},
            ],
        })
    );
    assert_eq!(check_shape(&message), Ok(()));
}

#[test]
fn default_message_keeps_bold_and_code_markers_paired() {
    let message = default_message(
        "  3 * 4 <!here>\n*urgent*  ",
        "",
        &json!({"cmd": "echo `id` && ls"}),
    );
    assert_eq!(
        message["blocks"][0]["text"]["text"],
        "*3 ∗ 4 &lt;!here&gt; ∗urgent∗*"
    );
    assert_eq!(message["text"], "3 * 4 &lt;!here&gt; *urgent*");
    assert_eq!(
        message["blocks"][1]["type"], "divider",
        "empty long text has no section"
    );
    assert_eq!(
        message["blocks"][2]["elements"][0]["text"],
        "`{\"cmd\":\"echo ˋidˋ &amp;&amp; ls\"}`"
    );
}

#[test]
fn default_message_without_text_still_has_a_fallback() {
    let message = default_message(" ", "", &json!({}));
    assert_eq!(message["text"], "Notification");
    assert_eq!(check_shape(&message), Ok(()));
}

#[test]
fn default_message_fits_limits_and_keeps_markers_when_cut() {
    let message = default_message(
        &"s".repeat(5000),
        &"l<".repeat(5000),
        &json!({"big": "p".repeat(10_000)}),
    );
    let bold = message["blocks"][0]["text"]["text"].as_str().expect("bold");
    assert!(bold.starts_with("*s") && bold.ends_with(&format!("{TRUNCATION_MARKER}*")));
    assert!(bold.chars().count() <= SECTION_TEXT_MAX);
    assert!(chars(&message["blocks"][1]["text"]["text"]) <= SECTION_TEXT_MAX);
    let payload = message["blocks"][3]["elements"][0]["text"]
        .as_str()
        .expect("payload");
    assert!(payload.starts_with("`{") && payload.ends_with(&format!("{TRUNCATION_MARKER}`")));
    assert!(payload.chars().count() <= CONTEXT_TEXT_MAX);
    let mut again = message.clone();
    assert!(!fit_limits(&mut again), "already within the limits");
}

#[test]
fn check_shape_accepts_slack_messages() {
    let cases = [
        json!({"text": "hi"}),
        json!({"blocks": [section("hi")]}),
        json!({"blocks": [{"type": "section", "fields": [{"type": "mrkdwn", "text": "a"}]}]}),
        json!({"blocks": [{"type": "divider"}, {"type": "image", "image_url": "x", "alt_text": "y"}]}),
        json!({"attachments": [{"color": "good", "blocks": [section("hi")]}]}),
        json!({"attachments": [{"color": "good", "text": "legacy"}]}),
    ];
    for message in cases {
        assert_eq!(check_shape(&message), Ok(()), "{message}");
    }
}

#[test]
fn check_shape_says_what_is_wrong() {
    let cases = [
        (
            json!([1]),
            "a Slack message must be a JSON object, not an array",
        ),
        (
            json!("hi"),
            "a Slack message must be a JSON object, not a string",
        ),
        (
            json!({}),
            "a Slack message needs a non-empty \"text\" or \"blocks\" (or attachments with blocks)",
        ),
        (
            json!({"text": "  ", "blocks": []}),
            "a Slack message needs a non-empty \"text\" or \"blocks\" (or attachments with blocks)",
        ),
        (
            json!({"text": 3}),
            "\"text\" must be a string, not a number",
        ),
        (
            json!({"blocks": {}}),
            "blocks must be an array, not an object",
        ),
        (
            json!({"blocks": ["x"]}),
            "blocks[0] must be an object, not a string",
        ),
        (
            json!({"blocks": [section("a"), {"text": "b"}]}),
            "blocks[1] needs a string \"type\"",
        ),
        (
            json!({"blocks": [{"type": "section"}]}),
            "blocks[0] is a section without \"text\" or \"fields\"",
        ),
        (
            json!({"blocks": [{"type": "section", "fields": []}]}),
            "blocks[0] is a section without \"text\" or \"fields\"",
        ),
        (
            json!({"blocks": [{"type": "section", "text": "plain"}]}),
            "blocks[0].text must be a text object like {\"type\": \"mrkdwn\", \"text\": \"...\"}",
        ),
        (
            json!({"attachments": {}}),
            "\"attachments\" must be an array, not an object",
        ),
        (
            json!({"attachments": [1]}),
            "attachments[0] must be an object, not a number",
        ),
        (
            json!({"attachments": [{"blocks": [{"type": 1}]}]}),
            "attachments[0].blocks[0] needs a string \"type\"",
        ),
        (
            json!({"attachments": [{"text": null}]}),
            "attachments[0].text must be a string, not null",
        ),
    ];
    for (message, expected) in cases {
        assert_eq!(
            check_shape(&message).map_err(|e| e.to_string()),
            Err(expected.to_owned()),
            "{message}"
        );
    }
}

#[test]
fn fit_limits_leaves_fitting_messages_alone() {
    let original = json!({
        "text": "t".repeat(MESSAGE_TEXT_MAX),
        "blocks": [
            section(&"s".repeat(SECTION_TEXT_MAX)),
            {"type": "header", "text": {"type": "plain_text", "text": "h".repeat(HEADER_TEXT_MAX)}},
        ],
    });
    let mut message = original.clone();
    assert!(!fit_limits(&mut message));
    assert_eq!(message, original);
    assert!(!fit_limits(&mut json!(["not", "an", "object"])));
}

#[test]
fn fit_limits_cuts_each_text_to_its_limit_with_the_marker() {
    let mut message = json!({
        "text": "t".repeat(50_000),
        "blocks": [
            section(&"s".repeat(10_000)),
            {"type": "section", "fields": [{"type": "mrkdwn", "text": "f".repeat(2500)}]},
            {"type": "header", "text": {"type": "plain_text", "text": "h".repeat(200)}},
            {"type": "context", "elements": [{"type": "plain_text", "text": "c".repeat(2500)}]},
            {"type": "markdown", "text": "m".repeat(13_000)},
        ],
    });
    assert!(fit_limits(&mut message));
    let cases = [
        (&message["text"], 40_000),
        (&message["blocks"][0]["text"]["text"], 3000),
        (&message["blocks"][1]["fields"][0]["text"], 2000),
        (&message["blocks"][2]["text"]["text"], 150),
        (&message["blocks"][3]["elements"][0]["text"], 2000),
        (&message["blocks"][4]["text"], 12_000),
    ];
    for (text, limit) in cases {
        assert_eq!(chars(text), limit, "cut to exactly the limit");
        assert!(
            text.as_str()
                .is_some_and(|t| t.ends_with(TRUNCATION_MARKER))
        );
    }
}

#[test]
fn fit_limits_keeps_49_blocks_and_says_how_many_were_left_out() {
    let blocks: Vec<Value> = (0..60).map(|i| section(&format!("b{i}"))).collect();
    let mut message = json!({
        "blocks": blocks.clone(),
        "attachments": [{"color": "good", "blocks": blocks}],
    });
    assert!(fit_limits(&mut message));
    for blocks in [&message["blocks"], &message["attachments"][0]["blocks"]] {
        let blocks = blocks.as_array().expect("blocks");
        assert_eq!(blocks.len(), BLOCKS_MAX);
        assert_eq!(blocks[48], section("b48"));
        assert_eq!(
            blocks[49],
            json!({"type": "context", "elements": [
                {"type": "mrkdwn", "text": "… 11 more blocks left out"}
            ]})
        );
    }
    let mut exactly =
        json!({"blocks": (0..50).map(|i| section(&format!("b{i}"))).collect::<Vec<_>>()});
    assert!(!fit_limits(&mut exactly));
}

#[test]
fn fit_limits_caps_fields_and_context_elements_at_ten() {
    let items: Vec<Value> = (0..12)
        .map(|i| json!({"type": "mrkdwn", "text": format!("i{i}")}))
        .collect();
    let mut message = json!({"blocks": [
        {"type": "section", "fields": items.clone()},
        {"type": "context", "elements": items},
    ]});
    assert!(fit_limits(&mut message));
    let fields = message["blocks"][0]["fields"].as_array().expect("fields");
    assert_eq!(fields.len(), 10);
    assert_eq!(fields[9]["text"], "… 3 more fields left out");
    let elements = message["blocks"][1]["elements"]
        .as_array()
        .expect("elements");
    assert_eq!(elements.len(), 10);
    assert_eq!(elements[8]["text"], "i8");
    assert_eq!(elements[9]["text"], "… 3 more elements left out");
}

#[test]
fn truncation_counts_characters_not_bytes() {
    let mut at_the_limit = json!({"blocks": [section(&"é".repeat(SECTION_TEXT_MAX))]});
    assert!(
        !fit_limits(&mut at_the_limit),
        "3000 characters fit, though 6000 bytes"
    );
    for unit in ["é", "😀", "日本"] {
        let cut = fitted_section(&unit.repeat(5000));
        assert_eq!(cut.chars().count(), SECTION_TEXT_MAX, "{unit}");
        assert!(cut.ends_with(TRUNCATION_MARKER));
    }
}

#[test]
fn truncation_never_splits_an_entity() {
    let keep = SECTION_TEXT_MAX - TRUNCATION_MARKER.chars().count();
    for entity in ["&amp;", "&lt;", "&gt;"] {
        for pad in keep - 6..=keep {
            let text = format!(
                "{}{}{}",
                "a".repeat(pad),
                entity.repeat(3),
                "b".repeat(4000)
            );
            let cut = fitted_section(&text);
            assert!(cut.chars().count() <= SECTION_TEXT_MAX);
            let kept = cut
                .strip_suffix(TRUNCATION_MARKER)
                .expect("marker at the end");
            let tail = kept.trim_start_matches('a');
            assert!(
                tail.is_empty() || tail.split_inclusive(';').all(|piece| piece == entity),
                "{entity} at {pad}: kept ends {:?}",
                &kept[kept.len().saturating_sub(12)..]
            );
        }
    }
}

#[test]
fn truncation_never_splits_a_link_or_mention() {
    let keep = SECTION_TEXT_MAX - TRUNCATION_MARKER.chars().count();
    let text = format!(
        "{}<https://example.com/x|a link> tail{}",
        "a".repeat(keep - 10),
        "b".repeat(4000)
    );
    let cut = fitted_section(&text);
    assert_eq!(cut, format!("{}{TRUNCATION_MARKER}", "a".repeat(keep - 10)));
}

#[test]
fn colour_moves_blocks_into_an_attachment() {
    let message = json!({"text": "fallback", "blocks": [section("hi")]});
    assert_eq!(
        apply_color(message, "#ff0000"),
        json!({"attachments": [{"color": "#ff0000", "blocks": [section("hi")], "fallback": "fallback"}]})
    );
}

#[test]
fn colour_is_set_on_existing_attachments() {
    let message = json!({
        "blocks": [section("top")],
        "attachments": [{"blocks": [section("a")]}, {"text": "b", "color": "good"}],
    });
    assert_eq!(
        apply_color(message, "danger"),
        json!({
            "blocks": [section("top")],
            "attachments": [
                {"color": "danger", "blocks": [section("a")]},
                {"text": "b", "color": "danger"},
            ],
        })
    );
    let text_only = json!({"text": "hi"});
    assert_eq!(apply_color(text_only.clone(), "good"), text_only);
}

#[test]
fn checks_colours() {
    for good in ["#36a64f", "#FFFFFF", "#000000", "good", "warning", "danger"] {
        assert_eq!(check_color(good), Ok(()), "{good}");
    }
    for bad in [
        "36a64f", "#36a64", "#36a64f0", "#gggggg", "red", "Good", "", "#",
    ] {
        assert_eq!(
            check_color(bad).map_err(|e| e.to_string()),
            Err(format!(
                "invalid attachment_color {bad:?}: expected #RRGGBB (like #36a64f) or one of \
                 good, warning, danger"
            )),
            "{bad}"
        );
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    #[test]
    fn the_default_message_has_no_live_mention_or_link_from_the_event(
        text in crate::render::tests::safety::hostile()
    ) {
        use crate::render::tests::safety::{live_brackets, real_notification, with_every_string};
        let base = real_notification();
        let benign = with_every_string(&base, "x");
        let evil = with_every_string(&base, &text);
        proptest::prop_assert_eq!(
            live_brackets(&default_slack(&evil)),
            live_brackets(&default_slack(&benign))
        );
    }
}
