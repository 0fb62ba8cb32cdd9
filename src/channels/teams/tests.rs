//! The Teams card: the default layout, the shape of a template's output, the size limit.

use serde_json::{Value, json};

use super::*;

fn notification() -> Value {
    json!({
        "type": "com.ibm.cloud.resource-lifecycle-events.instance:create_failure",
        "subject": "crn:v1:x",
        "time": "2026-11-21T09:30:00Z",
        "ibmenseverity": "HIGH",
        "ibmendefaultshort": "instance create_failure **db** [x](https://evil.test)",
        "ibmendefaultlong": "- not a list",
    })
}

#[test]
fn the_default_card_is_an_adaptive_card_with_event_text_escaped() {
    let message = default_card(&notification());
    check(&message).unwrap();
    assert_eq!(message["type"], "message");
    let attachment = &message["attachments"][0];
    assert_eq!(attachment["contentType"], CARD_CONTENT_TYPE);
    let card = &attachment["content"];
    assert_eq!(card["version"], CARD_VERSION);
    assert_eq!(
        card["body"][0]["text"],
        "instance create\\_failure \\*\\*db\\*\\* \\[x\\]\\(https://evil.test\\)"
    );
    assert_eq!(card["body"][1]["text"], "\\- not a list");
    assert_eq!(
        card["body"][2]["facts"][0],
        json!({"title": "Severity", "value": "HIGH"})
    );
}

#[test]
fn a_template_renders_a_message_or_a_bare_card() {
    let card = json!({"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock", "text": "x"}]});
    let wrapped = shaped(card.clone()).unwrap();
    assert_eq!(wrapped["attachments"][0]["content"], card);
    assert_eq!(shaped(wrapped.clone()).unwrap(), wrapped);
    let cases = [
        (json!({"text": "x"}), CardError::NotAMessage),
        (
            json!({"type": "AdaptiveCard", "body": [{"type": "TextBlock", "text": "x"}]}),
            CardError::NoVersion,
        ),
        (
            json!({"type": "AdaptiveCard", "version": "1.5", "body": []}),
            CardError::NoBody,
        ),
        (
            json!({"type": "AdaptiveCard", "version": "1.5", "body": [{"text": "x"}]}),
            CardError::NoType {
                at: "body[0]".into(),
            },
        ),
        (
            json!({"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock"}]}),
            CardError::NoText {
                at: "body[0]".into(),
            },
        ),
        (
            json!({"type": "message", "attachments": [{"contentType": "text/plain"}]}),
            CardError::ContentType,
        ),
    ];
    for (rendered, expected) in cases {
        assert_eq!(
            shaped(rendered.clone()).unwrap_err(),
            expected,
            "{rendered}"
        );
    }
}

#[test]
fn an_oversized_card_is_cut_visibly_to_the_limit() {
    let mut n = notification();
    n["ibmendefaultlong"] = "é".repeat(40_000).into();
    n["data"] = json!({"blob": "x".repeat(20_000)});
    let mut message = default_card(&n);
    assert!(fit_size(&mut message).unwrap());
    let size = serde_json::to_vec(&message).unwrap().len();
    assert!(size <= MAX_MESSAGE_BYTES, "{size}");
    let body = &message["attachments"][0]["content"]["body"];
    let long = body[1]["text"].as_str().unwrap();
    assert!(long.ends_with(TRUNCATION_MARKER), "the cut is visible");
    assert_eq!(
        body[0]["text"],
        default_card(&notification())["attachments"][0]["content"]["body"][0]["text"],
        "short texts stay"
    );
    let mut small = default_card(&notification());
    assert!(!fit_size(&mut small).unwrap());
}
