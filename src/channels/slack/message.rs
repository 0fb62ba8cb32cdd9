//! Slack message bodies as JSON: escaping, EN's default layout, shape checks, size limits, colour.
//!
//! Every function here is pure. A rendered message goes `check_shape` → `fit_limits` →
//! `apply_color` (when the subscription sets `attachment_color`) → the notifier.
//!
//! The limits are Slack's documented Block Kit limits (docs.slack.dev, "Blocks" and each block's
//! reference page): 50 blocks per message, section `text` 3000 characters, at most 10 section
//! fields of 2000 characters each, header text 150, context at most 10 elements, markdown block
//! 12,000. Slack truncates a top-level `text` over 40,000 characters (changelog 2018-04,
//! "truncating really long messages"). Slack documents no separate limit for a context element's
//! text beyond the text object's 3000; we keep such text to 2000, the lower figure some Block
//! Kit references give, because a needless cut costs less than a rejected message. Lengths are
//! counted in characters (Unicode scalar values), not bytes.

use serde_json::{Map, Value, json};

use crate::event::kind_of;
use crate::render::{escape_slack_text, text_field};

/// The most characters in a section's `text`.
pub const SECTION_TEXT_MAX: usize = 3000;
/// The most characters in one section field.
pub const FIELD_TEXT_MAX: usize = 2000;
/// The most fields in one section.
pub const FIELDS_MAX: usize = 10;
/// The most characters in a header's text.
pub const HEADER_TEXT_MAX: usize = 150;
/// The most elements in one context block.
pub const CONTEXT_ELEMENTS_MAX: usize = 10;
/// The most characters we put in one context text element (see the module doc).
pub const CONTEXT_TEXT_MAX: usize = 2000;
/// The most characters in a `markdown` block.
pub const MARKDOWN_TEXT_MAX: usize = 12_000;
/// The most blocks in a message, and in each of its attachments.
pub const BLOCKS_MAX: usize = 50;
/// The most characters of a message's top-level `text`.
pub const MESSAGE_TEXT_MAX: usize = 40_000;
/// Ends any text [`fit_limits`] had to cut; counted within the limit.
pub const TRUNCATION_MARKER: &str = "… (truncated)";

/// Stands in for `*` inside the bold headline, so text from an event cannot close the bold early.
const BOLD_SAFE_ASTERISK: char = '\u{2217}';
/// Stands in for a backtick inside the payload's code span, so it cannot end the span early.
const CODE_SAFE_BACKTICK: char = '\u{02CB}';
/// The only entities [`escape_slack_text`] produces; a cut never splits one.
const ENTITIES: [&str; 3] = ["&amp;", "&lt;", "&gt;"];

/// EN's default Slack rendering of a notification: a section with the short text in bold, a
/// section with the long text, a divider, and a context block with the payload as compact JSON
/// in a code span; top-level `text` is the short text, what notifications show.
///
/// All of it goes through [`escape_slack_text`]. The headline is one line (whitespace collapsed) and
/// any `*` in it is shown as `∗` (U+2217), so the bold markers always pair up; a backtick in the
/// payload is shown as `ˋ` (U+02CB) for the same reason. An empty short or long text leaves its
/// section out. The result passes [`check_shape`] and is within Slack's limits.
pub fn default_message(short: &str, long: &str, payload: &Value) -> Value {
    let headline = escape_slack_text(&short.split_whitespace().collect::<Vec<_>>().join(" "));
    let body = escape_slack_text(long.trim());
    let mut blocks = Vec::new();
    if !headline.is_empty() {
        let bold = headline.replace('*', &BOLD_SAFE_ASTERISK.to_string());
        let bold = truncated(&bold, SECTION_TEXT_MAX - 2).unwrap_or(bold);
        blocks.push(section(format!("*{bold}*")));
    }
    if !body.is_empty() {
        blocks.push(section(body.clone()));
    }
    blocks.push(json!({"type": "divider"}));
    let payload =
        escape_slack_text(&payload.to_string()).replace('`', &CODE_SAFE_BACKTICK.to_string());
    let payload = truncated(&payload, CONTEXT_TEXT_MAX - 2).unwrap_or(payload);
    blocks.push(json!({
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": format!("`{payload}`")}],
    }));
    let fallback = if !headline.is_empty() {
        headline
    } else if !body.is_empty() {
        body
    } else {
        "Notification".to_owned()
    };
    let mut message = json!({"text": fallback, "blocks": blocks});
    fit_limits(&mut message);
    message
}

/// The Slack message of a notification without a template: [`default_message`] of its
/// `ibmendefaultshort` and `ibmendefaultlong` texts and its payload.
pub fn default_slack(notification: &Value) -> Value {
    default_message(
        text_field(notification, "ibmendefaultshort"),
        text_field(notification, "ibmendefaultlong"),
        notification,
    )
}

fn section(text: String) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": text}})
}

/// What is wrong with a message Slack would refuse; `at` is where, as `blocks[2].text`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShapeError {
    #[error("a Slack message must be a JSON object, not {0}")]
    NotAnObject(&'static str),
    #[error("{at} must be an array, not {kind}")]
    NotAnArray { at: String, kind: &'static str },
    #[error("{at} must be an object, not {kind}")]
    ItemNotAnObject { at: String, kind: &'static str },
    #[error("{at} must be a string, not {kind}")]
    NotAString { at: String, kind: &'static str },
    #[error("{at} needs a string \"type\"")]
    NoBlockType { at: String },
    #[error("{at}.text must be a text object like {{\"type\": \"mrkdwn\", \"text\": \"...\"}}")]
    SectionText { at: String },
    #[error("{at} is a section without \"text\" or \"fields\"")]
    EmptySection { at: String },
    #[error(
        "a Slack message needs a non-empty \"text\" or \"blocks\" (or attachments with blocks)"
    )]
    NoContent,
}

/// Checks that `message` can be sent to Slack: a JSON object with a non-empty `text`, non-empty
/// `blocks`, or attachments with blocks (or text); `blocks` arrays of objects with a string
/// `type`; sections with a `text` object or `fields`. The error says where and what is wrong,
/// for rejecting a template's output.
pub fn check_shape(message: &Value) -> Result<(), ShapeError> {
    let Value::Object(object) = message else {
        return Err(ShapeError::NotAnObject(kind_of(message)));
    };
    let has_text = non_empty_string(object, "text", "")?;
    let blocks = match object.get("blocks") {
        Some(blocks) => check_blocks(blocks, "blocks")?,
        None => 0,
    };
    let mut attachment_content = false;
    if let Some(attachments) = object.get("attachments") {
        let Value::Array(attachments) = attachments else {
            return Err(ShapeError::NotAnArray {
                at: "\"attachments\"".to_owned(),
                kind: kind_of(attachments),
            });
        };
        for (i, attachment) in attachments.iter().enumerate() {
            let path = format!("attachments[{i}]");
            let Value::Object(attachment) = attachment else {
                return Err(ShapeError::ItemNotAnObject {
                    at: path,
                    kind: kind_of(attachment),
                });
            };
            if let Some(blocks) = attachment.get("blocks") {
                attachment_content |= check_blocks(blocks, &format!("{path}.blocks"))? > 0;
            }
            attachment_content |= non_empty_string(attachment, "text", &path)?;
            attachment_content |= non_empty_string(attachment, "fallback", &path)?;
        }
    }
    if has_text || blocks > 0 || attachment_content {
        Ok(())
    } else {
        Err(ShapeError::NoContent)
    }
}

/// Whether `object[key]` is a non-blank string; an error if it is there but not a string.
fn non_empty_string(
    object: &Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<bool, ShapeError> {
    match object.get(key) {
        None => Ok(false),
        Some(Value::String(s)) => Ok(!s.trim().is_empty()),
        Some(other) => {
            let at = if path.is_empty() {
                format!("\"{key}\"")
            } else {
                format!("{path}.{key}")
            };
            Err(ShapeError::NotAString {
                at,
                kind: kind_of(other),
            })
        }
    }
}

/// Checks a `blocks` array at `path`, returning how many blocks it has.
fn check_blocks(blocks: &Value, path: &str) -> Result<usize, ShapeError> {
    let Value::Array(blocks) = blocks else {
        return Err(ShapeError::NotAnArray {
            at: path.to_owned(),
            kind: kind_of(blocks),
        });
    };
    for (i, block) in blocks.iter().enumerate() {
        let at = format!("{path}[{i}]");
        let Value::Object(block) = block else {
            return Err(ShapeError::ItemNotAnObject {
                at,
                kind: kind_of(block),
            });
        };
        let Some(Value::String(block_type)) = block.get("type") else {
            return Err(ShapeError::NoBlockType { at });
        };
        if block_type != "section" {
            continue;
        }
        match (block.get("text"), block.get("fields")) {
            (Some(text), _) if text.get("text").is_some_and(Value::is_string) => {}
            (Some(_), _) => return Err(ShapeError::SectionText { at }),
            (None, Some(Value::Array(fields))) if !fields.is_empty() => {}
            (None, _) => return Err(ShapeError::EmptySection { at }),
        }
    }
    Ok(blocks.len())
}

/// Cuts `message` to Slack's limits (see the module doc), returning whether anything was cut.
///
/// Cut text ends with [`TRUNCATION_MARKER`] and is within its limit, marker included; a cut
/// never splits a character, an entity like `&amp;`, or a `<...>` link or mention. Over 50
/// blocks (top level, or in an attachment), the first 49 are kept and a context block says how
/// many were left out; likewise for section fields and context elements over 10.
pub fn fit_limits(message: &mut Value) -> bool {
    let Some(object) = message.as_object_mut() else {
        return false;
    };
    let mut cut = fit_text(object.get_mut("text"), MESSAGE_TEXT_MAX);
    if let Some(Value::Array(blocks)) = object.get_mut("blocks") {
        cut |= fit_blocks(blocks);
    }
    if let Some(Value::Array(attachments)) = object.get_mut("attachments") {
        for attachment in attachments {
            if let Some(Value::Array(blocks)) = attachment.get_mut("blocks") {
                cut |= fit_blocks(blocks);
            }
        }
    }
    cut
}

fn fit_blocks(blocks: &mut Vec<Value>) -> bool {
    let mut cut = false;
    if blocks.len() > BLOCKS_MAX {
        let left_out = blocks.len() - (BLOCKS_MAX - 1);
        blocks.truncate(BLOCKS_MAX - 1);
        blocks.push(json!({
            "type": "context",
            "elements": [left_out_notice(left_out, "blocks")],
        }));
        cut = true;
    }
    for block in blocks.iter_mut() {
        cut |= fit_block(block);
    }
    cut
}

fn fit_block(block: &mut Value) -> bool {
    let block_type = block.get("type").and_then(Value::as_str).unwrap_or("");
    match block_type {
        "section" => {
            let mut cut = fit_text(text_of(block.get_mut("text")), SECTION_TEXT_MAX);
            if let Some(Value::Array(fields)) = block.get_mut("fields") {
                cut |= fit_count(fields, FIELDS_MAX, "fields");
                for field in fields {
                    cut |= fit_text(field.get_mut("text"), FIELD_TEXT_MAX);
                }
            }
            cut
        }
        "header" => fit_text(text_of(block.get_mut("text")), HEADER_TEXT_MAX),
        "markdown" => fit_text(block.get_mut("text"), MARKDOWN_TEXT_MAX),
        "context" => {
            let Some(Value::Array(elements)) = block.get_mut("elements") else {
                return false;
            };
            let mut cut = fit_count(elements, CONTEXT_ELEMENTS_MAX, "elements");
            for element in elements {
                let is_text = matches!(
                    element.get("type").and_then(Value::as_str),
                    Some("mrkdwn" | "plain_text")
                );
                if is_text {
                    cut |= fit_text(element.get_mut("text"), CONTEXT_TEXT_MAX);
                }
            }
            cut
        }
        _ => false,
    }
}

/// The string inside a text object (`{"type": ..., "text": "..."}`).
fn text_of(object: Option<&mut Value>) -> Option<&mut Value> {
    object.and_then(|object| object.get_mut("text"))
}

/// Keeps at most `max` items: the first `max - 1` and a notice of how many were left out.
fn fit_count(items: &mut Vec<Value>, max: usize, what: &str) -> bool {
    if items.len() <= max {
        return false;
    }
    let left_out = items.len() - (max - 1);
    items.truncate(max - 1);
    items.push(left_out_notice(left_out, what));
    true
}

fn left_out_notice(left_out: usize, what: &str) -> Value {
    json!({"type": "mrkdwn", "text": format!("… {left_out} more {what} left out")})
}

fn fit_text(slot: Option<&mut Value>, max: usize) -> bool {
    let Some(Value::String(text)) = slot else {
        return false;
    };
    match truncated(text, max) {
        Some(cut) => {
            *text = cut;
            true
        }
        None => false,
    }
}

/// `text` cut to at most `max` characters with [`TRUNCATION_MARKER`] at the end, or `None` when
/// it fits. The cut backs off to the start of an entity or a `<...>` sequence it would split.
fn truncated(text: &str, max: usize) -> Option<String> {
    if text.chars().count() <= max {
        return None;
    }
    let marker = TRUNCATION_MARKER.chars().count();
    if max < marker {
        return Some(text.chars().take(max).collect());
    }
    let keep = max - marker;
    let cut = text.char_indices().nth(keep).map_or(text.len(), |(i, _)| i);
    let cut = outside_markup(text, cut);
    let mut shortened = text[..cut].trim_end().to_owned();
    shortened.push_str(TRUNCATION_MARKER);
    Some(shortened)
}

/// `cut`, or an earlier byte offset if cutting at `cut` would split an entity (`&amp;`, `&lt;`,
/// `&gt;`) or a `<...>` link or mention. `cut` is a character boundary, and so is the result:
/// `&` and `<` are ASCII, and ASCII bytes never occur inside a multi-byte UTF-8 character.
fn outside_markup(text: &str, cut: usize) -> usize {
    let bytes = text.as_bytes();
    let mut cut = cut;
    // An entity is at most 5 bytes, so one split by the cut starts in the 4 bytes before it.
    if let Some(start) = (cut.saturating_sub(4)..cut)
        .rev()
        .find(|&i| bytes[i] == b'&')
    {
        let rest = &text[start..];
        if ENTITIES
            .iter()
            .any(|entity| rest.starts_with(entity) && start + entity.len() > cut)
        {
            cut = start;
        }
    }
    let kept = &text[..cut];
    if let Some(open) = kept.rfind('<')
        && !kept[open..].contains('>')
        && text[cut..].contains('>')
    {
        cut = open;
    }
    cut
}

/// EN's `attachment_color`: with `attachments`, sets `color` on each; otherwise moves non-empty
/// `blocks` into one attachment `{"color": color, "blocks": [...], "fallback": text}`. The
/// top-level `text` moves to the attachment's `fallback` because Slack shows a top-level `text`
/// above attachments (beside top-level blocks it is only the notification text): kept there, the
/// headline would appear twice.
/// A message with neither is returned unchanged. `color` should have passed [`check_color`].
pub fn apply_color(mut message: Value, color: &str) -> Value {
    let Some(object) = message.as_object_mut() else {
        return message;
    };
    if let Some(attachments) = object.get_mut("attachments") {
        if let Value::Array(attachments) = attachments {
            for attachment in attachments.iter_mut().filter_map(Value::as_object_mut) {
                attachment.insert("color".to_owned(), Value::from(color));
            }
        }
        return message;
    }
    let has_blocks =
        matches!(object.get("blocks"), Some(Value::Array(blocks)) if !blocks.is_empty());
    if has_blocks && let Some(blocks) = object.remove("blocks") {
        let mut attachment = json!({"color": color, "blocks": blocks});
        if let Some(text) = object.remove("text") {
            attachment["fallback"] = text;
        }
        object.insert("attachments".to_owned(), json!([attachment]));
    }
    message
}

/// An `attachment_color` Slack does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid attachment_color {0:?}: expected #RRGGBB (like #36a64f) or one of good, warning, \
     danger"
)]
pub struct ColorError(pub String);

/// Checks an `attachment_color`: `#RRGGBB` in hex, or Slack's `good`, `warning` or `danger`.
pub fn check_color(color: &str) -> Result<(), ColorError> {
    if matches!(color, "good" | "warning" | "danger") {
        return Ok(());
    }
    if let Some(hex) = color.strip_prefix('#')
        && hex.len() == 6
        && hex.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Ok(());
    }
    Err(ColorError(color.to_owned()))
}

#[cfg(test)]
mod tests;
