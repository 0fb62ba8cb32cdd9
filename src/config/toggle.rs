//! Turns a source on or off in the text of `router.yaml`: the one `enabled:` of that source's
//! entry is rewritten (or added), and everything else — comments, order, quoting — is kept. The
//! result is parsed again and must differ from the original in that one value only.

use serde_yaml_ng::Value;

/// Why the text could not be edited; the file is then left as it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ToggleError {
    #[error("router.yaml has no block-style `sources:` list to edit")]
    NoSources,
    #[error("router.yaml has no source with id {0:?}")]
    UnknownSource(String),
    #[error("the entry of source {0:?} is written in a way this edit does not handle")]
    Unsupported(String),
    #[error("the edit would change more than `enabled` of source {0:?}")]
    Unverified(String),
    #[error("router.yaml is not valid YAML: {0}")]
    Invalid(String),
}

/// `text` with `enabled: <enabled>` on the source `id`. Only the `sources:` list of block style
/// is edited; each entry may be in block style (`- id: x` then `  enabled: ...`) or flow style
/// on one line (`- { id: x, enabled: true }`).
pub fn set_source_enabled(text: &str, id: &str, enabled: bool) -> Result<String, ToggleError> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let start = lines
        .iter()
        .position(|line| key_of(line, 0) == Some("sources") && rest_is_empty(line, "sources:"))
        .ok_or(ToggleError::NoSources)?;
    let end = (start + 1..lines.len())
        .find(|&i| is_content(lines[i]) && indent(lines[i]) == 0 && item_dash(lines[i]).is_none())
        .unwrap_or(lines.len());
    let value = if enabled { "true" } else { "false" };
    // The entries are the items at the column of the first one; deeper dashes are their lists.
    let column = (start + 1..end).find_map(|i| item_dash(lines[i]));
    let mut items = (start + 1..end).filter(|&i| column.is_some() && item_dash(lines[i]) == column);
    let edited = loop {
        let Some(first) = items.next() else {
            return Err(ToggleError::UnknownSource(id.to_owned()));
        };
        let dash = item_dash(lines[first]).expect("filtered on a dash");
        let last = (first + 1..end)
            .find(|&i| is_content(lines[i]) && indent(lines[i]) <= dash)
            .unwrap_or(end);
        let after_dash = lines[first][dash + 1..].trim_start();
        if after_dash.starts_with('{') {
            if let Some(line) = edit_flow(lines[first], dash, id, value)? {
                break replace(&lines, first..first + 1, &[line]);
            }
            continue;
        }
        if let Some((at, new)) = edit_block(&lines[first..last], dash, id, value)? {
            break splice(&lines, first..last, at, new);
        }
    };
    verify(text, &edited, id, enabled)?;
    Ok(edited)
}

/// The lines with `range` replaced by `new`.
fn replace(lines: &[&str], range: std::ops::Range<usize>, new: &[String]) -> String {
    let mut out = String::new();
    lines[..range.start].iter().for_each(|l| out.push_str(l));
    new.iter().for_each(|l| out.push_str(l));
    lines[range.end..].iter().for_each(|l| out.push_str(l));
    out
}

/// Where a block item's new line goes: replacing the item's line at an offset, or after it.
#[derive(Debug, Clone, Copy)]
enum At {
    Replace(usize),
    After(usize),
}

/// The lines with the block item at `item` edited.
fn splice(lines: &[&str], item: std::ops::Range<usize>, at: At, new: String) -> String {
    let mut edited: Vec<String> = lines[item.clone()]
        .iter()
        .map(|l| (*l).to_owned())
        .collect();
    match at {
        At::Replace(offset) => edited[offset] = new,
        At::After(offset) => edited.insert(offset + 1, new),
    }
    replace(lines, item, &edited)
}

/// Edits a block-style item (`lines[0]` starts with the dash at column `dash`) when it is the
/// source `id`: the line to write and where.
fn edit_block(
    lines: &[&str],
    dash: usize,
    id: &str,
    value: &str,
) -> Result<Option<(At, String)>, ToggleError> {
    // The keys of the item are at the column of the first one, after `- `.
    let after_dash = &lines[0][dash + 1..];
    let first_key = dash + 1 + after_dash.len() - after_dash.trim_start().len();
    let key_at = |i: usize, key: &str| -> bool {
        if i == 0 {
            key_of(&lines[0][first_key..], 0) == Some(key)
        } else {
            key_of(lines[i], first_key) == Some(key)
        }
    };
    let scalar = |i: usize| -> &str {
        let line = if i == 0 {
            &lines[0][first_key..]
        } else {
            lines[i]
        };
        let after = &line[line.find(':').expect("a key line has a colon") + 1..];
        plain_value(after)
    };
    let Some(id_line) = (0..lines.len()).find(|&i| key_at(i, "id")) else {
        return Ok(None);
    };
    if unquote(scalar(id_line)) != id {
        return Ok(None);
    }
    let line_ending = if lines[id_line].ends_with('\n') {
        "\n"
    } else {
        ""
    };
    if let Some(at) = (0..lines.len()).find(|&i| key_at(i, "enabled")) {
        let line = lines[at];
        let old = scalar(at);
        let line_offset = if at == 0 { first_key } else { 0 };
        let colon = line_offset + line[line_offset..].find(':').expect("a key line");
        let start = colon + 1 + (line[colon + 1..].len() - line[colon + 1..].trim_start().len());
        if old.is_empty() || !line[start..].starts_with(old) {
            return Err(ToggleError::Unsupported(id.to_owned()));
        }
        let new = format!("{}{value}{}", &line[..start], &line[start + old.len()..]);
        return Ok(Some((At::Replace(at), new)));
    }
    // Added after the id, at the column of the item's keys.
    if line_ending.is_empty() {
        let new = format!(
            "{}\n{}enabled: {value}",
            lines[id_line],
            " ".repeat(first_key)
        );
        return Ok(Some((At::Replace(id_line), new)));
    }
    let new = format!("{}enabled: {value}\n", " ".repeat(first_key));
    Ok(Some((At::After(id_line), new)))
}

/// Edits a flow-style item on one line when it is the source `id`.
fn edit_flow(
    line: &str,
    dash: usize,
    id: &str,
    value: &str,
) -> Result<Option<String>, ToggleError> {
    let open = dash + line[dash..].find('{').expect("a flow item");
    let Some(close) = matching_brace(line, open) else {
        return Err(ToggleError::Unsupported(id.to_owned()));
    };
    let entries = split_entries(line, open + 1, close);
    let entry = |key: &str| {
        entries.iter().find(|&&(s, e)| {
            let text = &line[s..e];
            text.split_once(':')
                .is_some_and(|(k, _)| unquote(k.trim()) == key)
        })
    };
    let Some(&(s, e)) = entry("id") else {
        return Ok(None);
    };
    let id_value = line[s..e]
        .split_once(':')
        .map(|(_, v)| v.trim())
        .unwrap_or_default();
    if unquote(id_value) != id {
        return Ok(None);
    }
    let edited = match entry("enabled") {
        Some(&(s, e)) => {
            let text = &line[s..e];
            let colon = s + text.find(':').expect("an entry with a key");
            let trimmed = line[colon + 1..e].trim();
            let start = colon + 1 + line[colon + 1..e].find(trimmed).unwrap_or(0);
            format!(
                "{}{value}{}",
                &line[..start],
                &line[start + trimmed.len()..]
            )
        }
        None => {
            // After the last entry, before the spaces and the closing brace.
            let last_end = entries.last().map_or(open + 1, |&(_, e)| e);
            let last_text_end = open + 1 + line[open + 1..last_end].trim_end().len();
            let separator = if entries.is_empty() { " " } else { ", " };
            format!(
                "{}{separator}enabled: {value}{}",
                &line[..last_text_end],
                &line[last_text_end..]
            )
        }
    };
    Ok(Some(edited))
}

/// The index of the `}` closing the `{` at `open`, outside quotes.
fn matching_brace(line: &str, open: usize) -> Option<usize> {
    let mut depth = 0;
    let mut quote: Option<char> = None;
    for (i, c) in line.char_indices().skip_while(|&(i, _)| i < open) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '{' | '[') => depth += 1,
            (None, '}' | ']') => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// The byte ranges of the top-level `key: value` entries between `from` and `to`.
fn split_entries(line: &str, from: usize, to: usize) -> Vec<(usize, usize)> {
    let mut entries = Vec::new();
    let (mut depth, mut quote, mut start) = (0, None::<char>, from);
    for (i, c) in line[from..to].char_indices().map(|(i, c)| (from + i, c)) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '{' | '[') => depth += 1,
            (None, '}' | ']') => depth -= 1,
            (None, ',') if depth == 0 => {
                entries.push((start, i));
                start = i + 1;
            }
            _ => {}
        }
    }
    if !line[start..to].trim().is_empty() {
        entries.push((start, to));
    }
    entries
}

/// Checks that `edited` parses and differs from `original` only in the source's `enabled`.
fn verify(original: &str, edited: &str, id: &str, enabled: bool) -> Result<(), ToggleError> {
    let parse = |text: &str| {
        serde_yaml_ng::from_str::<Value>(text).map_err(|e| ToggleError::Invalid(e.to_string()))
    };
    let mut expected = parse(original)?;
    let edited = parse(edited)?;
    let source = expected
        .get_mut("sources")
        .and_then(Value::as_sequence_mut)
        .and_then(|sources| {
            sources
                .iter_mut()
                .find(|s| s.get("id").and_then(Value::as_str) == Some(id))
        })
        .and_then(Value::as_mapping_mut)
        .ok_or_else(|| ToggleError::UnknownSource(id.to_owned()))?;
    source.insert(Value::from("enabled"), Value::from(enabled));
    if expected == edited {
        Ok(())
    } else {
        Err(ToggleError::Unverified(id.to_owned()))
    }
}

/// The key of a `key: value` (or `key:`) line whose key starts at column `at`.
fn key_of(line: &str, at: usize) -> Option<&str> {
    if indent(line) != at {
        return None;
    }
    let (key, _) = line.trim_start().split_once(':')?;
    let key = unquote(key.trim());
    (!key.is_empty() && !key.contains(['#', '{', '[', ' '])).then_some(key)
}

/// Whether `line` is `prefix` followed only by spaces and a comment.
fn rest_is_empty(line: &str, prefix: &str) -> bool {
    let rest = line.trim_start()[prefix.len()..].trim();
    rest.is_empty() || rest.starts_with('#')
}

/// The column of a list item's dash, when `line` starts one.
fn item_dash(line: &str) -> Option<usize> {
    let trimmed = line.trim_start();
    (trimmed.starts_with("- ") || trimmed.trim_end() == "-").then(|| indent(line))
}

/// The scalar after a key's colon, without a trailing comment.
fn plain_value(after_colon: &str) -> &str {
    let value = after_colon.trim_start();
    let end = match value.chars().next() {
        Some(q @ ('"' | '\'')) => value[1..].find(q).map_or(value.len(), |i| i + 2),
        _ => value.find(" #").unwrap_or(value.len()),
    };
    value[..end].trim_end()
}

fn unquote(value: &str) -> &str {
    let value = value.trim();
    for q in ['"', '\''] {
        if let Some(inner) = value.strip_prefix(q).and_then(|v| v.strip_suffix(q)) {
            return inner;
        }
    }
    value
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// Not blank and not only a comment.
fn is_content(line: &str) -> bool {
    let trimmed = line.trim();
    !trimmed.is_empty() && !trimmed.starts_with('#')
}

#[cfg(test)]
mod tests;
