//! The Teams message: an Adaptive Card 1.5 in a `message` attachment. The default card, the
//! shape a template's output must have, and the 28 KB size limit kept by cutting text visibly.

use serde_json::{Value, json};

use crate::render::{escape_adaptive_text, text_field};

/// The attachment content type of an Adaptive Card.
pub const CARD_CONTENT_TYPE: &str = "application/vnd.microsoft.card.adaptive";
/// The Adaptive Card schema version the router writes.
pub const CARD_VERSION: &str = "1.5";
/// The largest message Teams accepts, in bytes of JSON.
pub const MAX_MESSAGE_BYTES: usize = 28 * 1024;
/// Ends a text cut to fit [`MAX_MESSAGE_BYTES`].
pub const TRUNCATION_MARKER: &str = "… (truncated)";

/// What is wrong with a rendered message; `at` says where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    #[error(
        "a Teams template renders a message ({{\"type\": \"message\", \"attachments\": [...]}}) \
         or an Adaptive Card ({{\"type\": \"AdaptiveCard\", ...}})"
    )]
    NotAMessage,
    #[error("attachments[0].contentType must be {CARD_CONTENT_TYPE:?}")]
    ContentType,
    #[error("the card needs a \"version\" string, such as \"1.5\"")]
    NoVersion,
    #[error("the card's \"body\" must be a non-empty array of elements")]
    NoBody,
    #[error("{at} needs a string \"type\"")]
    NoType { at: String },
    #[error("{at} is a TextBlock without a string \"text\"")]
    NoText { at: String },
    #[error("the message is over Teams' {MAX_MESSAGE_BYTES} bytes even with every text cut")]
    TooLarge,
}

/// EN's layout as a card: the short text as a bold heading, the long text, the facts of a
/// lifecycle event (severity, type, source, time), and the notification as JSON. Event text is
/// escaped for the card's markdown.
pub fn default_card(notification: &Value) -> Value {
    let text = |field: &str| escape_adaptive_text(text_field(notification, field));
    let mut facts = Vec::new();
    for (title, field) in [
        ("Severity", "ibmenseverity"),
        ("Type", "type"),
        ("Resource", "subject"),
        ("Time", "time"),
    ] {
        let value = text_field(notification, field);
        if !value.is_empty() {
            facts.push(json!({"title": title, "value": escape_adaptive_text(value)}));
        }
    }
    let payload = serde_json::to_string_pretty(notification).unwrap_or_default();
    let card = json!({
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": CARD_VERSION,
        "body": [
            {"type": "TextBlock", "text": text("ibmendefaultshort"), "weight": "Bolder", "size": "Medium", "wrap": true},
            {"type": "TextBlock", "text": text("ibmendefaultlong"), "wrap": true},
            {"type": "FactSet", "facts": facts},
            {"type": "TextBlock", "text": escape_adaptive_text(&payload), "fontType": "Monospace", "size": "Small", "wrap": true, "separator": true},
        ],
    });
    message(card)
}

/// `card` as the attachment of a Teams message.
pub(super) fn message(card: Value) -> Value {
    json!({
        "type": "message",
        "attachments": [{"contentType": CARD_CONTENT_TYPE, "contentUrl": null, "content": card}],
    })
}

/// A template's output as a message: a message as it is, a bare card wrapped in one; checked.
pub fn shaped(rendered: Value) -> Result<Value, CardError> {
    let message = match rendered.get("type").and_then(Value::as_str) {
        Some("message") => rendered,
        Some("AdaptiveCard") => message(rendered),
        _ => return Err(CardError::NotAMessage),
    };
    check(&message)?;
    Ok(message)
}

/// Checks what Teams needs of a message: an Adaptive Card attachment with a version and a body
/// of typed elements, each TextBlock with text.
pub fn check(message: &Value) -> Result<(), CardError> {
    let attachment = &message["attachments"][0];
    if attachment["contentType"] != CARD_CONTENT_TYPE {
        return Err(CardError::ContentType);
    }
    let card = &attachment["content"];
    if card["type"] != "AdaptiveCard" {
        return Err(CardError::NotAMessage);
    }
    if !card["version"].is_string() {
        return Err(CardError::NoVersion);
    }
    let body = card["body"].as_array().filter(|b| !b.is_empty());
    let body = body.ok_or(CardError::NoBody)?;
    for (i, element) in body.iter().enumerate() {
        let at = format!("body[{i}]");
        match element["type"].as_str() {
            None => return Err(CardError::NoType { at }),
            Some("TextBlock") if !element["text"].is_string() => {
                return Err(CardError::NoText { at });
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Cuts the longest texts of `message` (TextBlock `text`, FactSet `value`, at any depth) until
/// its JSON fits [`MAX_MESSAGE_BYTES`], each cut ending in [`TRUNCATION_MARKER`]. Returns
/// whether anything was cut.
pub fn fit_size(message: &mut Value) -> Result<bool, CardError> {
    let mut cut = false;
    loop {
        let size = serde_json::to_vec(message).map(|v| v.len()).unwrap_or(0);
        if size <= MAX_MESSAGE_BYTES {
            return Ok(cut);
        }
        let Some(longest) = longest_text(message) else {
            return Err(CardError::TooLarge);
        };
        let Value::String(text) = longest else {
            return Err(CardError::TooLarge);
        };
        let over = size - MAX_MESSAGE_BYTES;
        let keep_bytes = text
            .len()
            .saturating_sub(over + TRUNCATION_MARKER.len() + 16);
        let keep = text
            .char_indices()
            .take_while(|(i, c)| i + c.len_utf8() <= keep_bytes)
            .count();
        if keep == 0 && text.ends_with(TRUNCATION_MARKER) {
            return Err(CardError::TooLarge);
        }
        let mut shorter: String = text.chars().take(keep).collect();
        // Never leave a lone escaping backslash at the end.
        while shorter.ends_with('\\') {
            shorter.pop();
        }
        shorter.push_str(TRUNCATION_MARKER);
        *text = shorter;
        cut = true;
    }
}

/// The longest cuttable text of the message.
fn longest_text(value: &mut Value) -> Option<&mut Value> {
    let mut best: Option<&mut Value> = None;
    collect_longest(value, &mut best);
    best
}

fn collect_longest<'a>(value: &'a mut Value, best: &mut Option<&'a mut Value>) {
    let len = |v: &Value| v.as_str().map_or(0, str::len);
    match value {
        Value::Object(object) => {
            let kind = object.get("type").and_then(Value::as_str).unwrap_or("");
            let is_text = kind == "TextBlock"
                || (object.contains_key("title") && object.contains_key("value"));
            for (key, child) in object.iter_mut() {
                let cuttable = is_text && (key == "text" || key == "value") && child.is_string();
                if cuttable {
                    if best.as_ref().is_none_or(|b| len(b) < len(child)) {
                        *best = Some(child);
                    }
                } else {
                    collect_longest(child, best);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                collect_longest(item, best);
            }
        }
        _ => {}
    }
}
