//! Load-time warnings: what is valid but likely a mistake. A topic rule whose filter names an
//! event type (`$.type == '…'`, or a regex on `$.type`) that no catalogue of its source's kind
//! lists may never match — most often a typo. Loading goes on; `validate` and startup say so.

use std::fmt;
use std::path::PathBuf;

use regex::Regex;
use serde_json::Value;

use crate::event::{SourceKind, suggestion};
use crate::filter::{CompareOp, Expr, Filter, Operand, Path};
use crate::routing::RoutingTable;

/// Something in the configuration that is valid but probably not what was meant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    /// The file it is in.
    pub file: PathBuf,
    /// The item within the file, e.g. `sources[0].rules[1].event_type_filter`.
    pub item: String,
    /// What looks wrong, and what was probably meant.
    pub message: String,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}: {}",
            self.file.display(),
            self.item,
            self.message
        )
    }
}

/// A warning for each destination whose `limits.queue` is not below `kafka.max_in_flight`: its
/// queue can never be full (each of its deliveries holds a record in flight), so a slow receiver
/// is never relieved through the retry topic and paces every destination.
pub(super) fn queues_never_full(
    file: &std::path::Path,
    policies: &[crate::dispatch::DeliveryPolicy],
    max_in_flight: usize,
) -> Vec<ConfigWarning> {
    policies
        .iter()
        .enumerate()
        .filter(|(_, d)| d.limits.queue >= max_in_flight)
        .map(|(i, d)| ConfigWarning {
            file: file.to_owned(),
            item: format!("destinations[{i}] ({}).limits.queue", d.id),
            message: format!(
                "{} is not below kafka.max_in_flight ({max_in_flight}): the queue can never be full, so a slow destination holds up the others instead of handing its deliveries to the retry topic",
                d.limits.queue
            ),
        })
        .collect()
}

/// A warning for each event type a rule names that its source kind's catalogue does not list.
/// Sources of kind `cloudevents` have no catalogue and are not checked.
pub(super) fn unknown_event_types(table: &RoutingTable) -> Vec<ConfigWarning> {
    let mut warnings = Vec::new();
    for topic in table.topics() {
        for (s, topic_source) in topic.sources.iter().enumerate() {
            let source = table.source(topic_source.source);
            let Some(known) = source.kind.known_types() else {
                continue;
            };
            for (r, rule) in topic_source.rules.iter().enumerate() {
                let filters = [
                    ("event_type_filter", Some(&rule.event_type_filter)),
                    ("notification_filter", rule.notification_filter.as_ref()),
                ];
                for (field, filter) in filters {
                    let Some(filter) = filter else { continue };
                    for unknown in unknown_names(filter, known) {
                        let subject = format!("topic {:?}, source {:?}", topic.name, source.id);
                        warnings.push(ConfigWarning {
                            file: topic.file.clone(),
                            item: format!("sources[{s}].rules[{r}].{field}"),
                            message: unknown.describe(&subject, source.kind),
                        });
                    }
                }
            }
        }
    }
    warnings
}

/// A type name or pattern of a filter that matches no known type.
#[derive(Debug, PartialEq)]
enum Unknown {
    /// `$.type == 'literal'`.
    Literal(String),
    /// One alternative of a regex on `$.type`, as written, and its text when it is a plain name.
    Pattern(String, Option<String>),
}

impl Unknown {
    fn describe(&self, subject: &str, kind: SourceKind) -> String {
        let catalogue = kind.as_str();
        let (mut message, name) = match self {
            Unknown::Literal(literal) => (
                format!("{subject}: type {literal:?} is not one the {catalogue} catalogue lists"),
                Some(literal.as_str()),
            ),
            Unknown::Pattern(pattern, plain) => (
                format!(
                    "{subject}: pattern '{pattern}' matches no type the {catalogue} catalogue lists"
                ),
                plain.as_deref(),
            ),
        };
        message += ", so the rule may never match";
        if let Some(meant) = name.and_then(|name| suggestion(kind, name)) {
            message += &format!("; did you mean {meant:?}?");
        }
        message
    }
}

/// The type names and patterns `filter` compares `$.type` with that match no `known` type.
fn unknown_names(filter: &Filter, known: &[String]) -> Vec<Unknown> {
    let mut unknown = Vec::new();
    visit(filter.expr(), &mut |expr| match expr {
        Expr::Compare {
            left,
            op: CompareOp::Eq,
            right,
        } => {
            let literal = match (left, right) {
                (Operand::Path(path), Operand::Literal(Value::String(literal)))
                | (Operand::Literal(Value::String(literal)), Operand::Path(path))
                    if is_type(path) =>
                {
                    literal
                }
                _ => return,
            };
            if !known.contains(literal) {
                unknown.push(Unknown::Literal(literal.clone()));
            }
        }
        Expr::Regex { path, regex } if is_type(path) => {
            for alternative in alternatives(regex.as_str()) {
                // Each alternative was cut from a pattern that compiled, but may not compile alone.
                let Ok(compiled) = Regex::new(&alternative) else {
                    continue;
                };
                if !known.iter().any(|k| compiled.is_match(k)) {
                    let plain = plain_name(&alternative);
                    unknown.push(Unknown::Pattern(alternative, plain));
                }
            }
        }
        _ => {}
    });
    unknown
}

/// Calls `f` on `expr` and every expression inside it (not those inside path selectors).
fn visit(expr: &Expr, f: &mut impl FnMut(&Expr)) {
    f(expr);
    match expr {
        Expr::Or(parts) | Expr::And(parts) => parts.iter().for_each(|e| visit(e, f)),
        Expr::Not(inner) => visit(inner, f),
        _ => {}
    }
}

/// `$.type` (or `$['type']`).
fn is_type(path: &Path) -> bool {
    matches!(path.member_names().as_deref(), Some(["type"]))
}

/// The alternatives of a pattern, each a pattern of its own: `^a(b|c)d$` is `^abd$` and `^acd$`;
/// `x|y` is `x` and `y`. Any other pattern is its own single alternative.
fn alternatives(pattern: &str) -> Vec<String> {
    let top = split_top_level(pattern);
    if top.len() > 1 {
        return top;
    }
    let groups = top_level_groups(pattern);
    if let [(open, close)] = groups[..] {
        let inner = &pattern[open + 1..close];
        let inner = inner.strip_prefix("?:").unwrap_or(inner);
        let choices = split_top_level(inner);
        if choices.len() > 1 && top_level_groups(inner).is_empty() {
            let (prefix, suffix) = (&pattern[..open], &pattern[close + 1..]);
            return choices
                .iter()
                .map(|choice| format!("{prefix}{choice}{suffix}"))
                .collect();
        }
    }
    vec![pattern.to_owned()]
}

/// The byte ranges of the parenthesised groups at the top level of `pattern` (open, close).
fn top_level_groups(pattern: &str) -> Vec<(usize, usize)> {
    let mut groups = Vec::new();
    let mut open = None;
    scan(pattern, |i, c, depth| match (c, depth) {
        ('(', 0) => open = Some(i),
        (')', 1) => {
            if let Some(start) = open.take() {
                groups.push((start, i));
            }
        }
        _ => {}
    });
    groups
}

/// `pattern` split at its top-level `|`.
fn split_top_level(pattern: &str) -> Vec<String> {
    let mut cuts = Vec::new();
    scan(pattern, |i, c, depth| {
        if c == '|' && depth == 0 {
            cuts.push(i);
        }
    });
    let mut parts = Vec::new();
    let mut start = 0;
    for cut in cuts {
        parts.push(pattern[start..cut].to_owned());
        start = cut + 1;
    }
    parts.push(pattern[start..].to_owned());
    parts
}

/// Calls `f(byte index, char, depth before it)` for each unescaped character outside a `[...]`
/// class, where depth counts the open parentheses.
fn scan(pattern: &str, mut f: impl FnMut(usize, char, usize)) {
    let mut depth = 0usize;
    let mut escaped = false;
    let mut in_class = false;
    for (i, c) in pattern.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            _ if in_class => {}
            '(' => {
                f(i, c, depth);
                depth += 1;
            }
            ')' => {
                f(i, c, depth);
                depth = depth.saturating_sub(1);
            }
            _ => f(i, c, depth),
        }
    }
}

/// The name an anchored pattern of plain characters and escaped punctuation stands for:
/// `^com\.ibm\.x:create$` is `com.ibm.x:create`; `None` for any other pattern.
fn plain_name(pattern: &str) -> Option<String> {
    let body = pattern.strip_prefix('^')?.strip_suffix('$')?;
    let mut name = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(p) if p.is_ascii_punctuation() => name.push(p),
                _ => return None,
            },
            '.' | '*' | '+' | '?' | '(' | ')' | '[' | ']' | '{' | '}' | '|' | '^' | '$' => {
                return None;
            }
            c => name.push(c),
        }
    }
    Some(name)
}

#[cfg(test)]
mod tests;
