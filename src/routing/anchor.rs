//! Anchors: what a rule's filters say a single field must hold, so the rule index can find the
//! rule by lookup instead of evaluating it.
//!
//! An anchor is a conjunct of a rule (a top-level `&&` part of either filter) over a path made
//! only of member names (`$.type`, `$.data.event_properties.region_id`), which selects at most
//! one node. The rule cannot match unless that node is a string that:
//! - equals one of `exact` (`$.type == 'a'`, or several joined by `||`), or
//! - starts with one of `prefixes` (`$.type =~ '^com\.ibm\.'`: a regex whose every match begins
//!   at the start of the text with one of a finite set of literals).
//!
//! Anything else (`!=`, numbers, `..`, unanchored regexes, `not( )`) is no anchor: the rule is
//! then evaluated one by one. Being an anchor is only ever a necessary condition; the index always
//! evaluates the whole rule on what it finds, so an anchor never changes what matches.

use std::collections::BTreeSet;

use regex_syntax::hir::literal::Extractor;
use regex_syntax::hir::{Hir, HirKind, Look};

use crate::filter::{CompareOp, Expr, Operand};

use super::Rule;

/// One field a rule needs, and the values or prefixes it accepts there.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct Anchor {
    /// Member names from the root: `["data", "event_type"]`.
    pub path: Vec<String>,
    pub exact: BTreeSet<String>,
    pub prefixes: BTreeSet<Vec<u8>>,
}

/// Every anchor of an enabled rule, from its event type filter then its notification filter.
pub(super) fn anchors(rule: &Rule) -> Vec<Anchor> {
    let mut found = Vec::new();
    let filters = std::iter::once(&rule.event_type_filter).chain(&rule.notification_filter);
    for filter in filters {
        for conjunct in conjuncts(filter.expr()) {
            if let Some(anchor) = anchor_of(conjunct) {
                found.push(anchor);
            }
        }
    }
    found
}

/// The top-level `&&` parts of an expression (itself when it is no `&&`).
fn conjuncts(expr: &Expr) -> Vec<&Expr> {
    match expr {
        Expr::And(parts) => parts.iter().flat_map(conjuncts).collect(),
        other => vec![other],
    }
}

/// The anchor a single conjunct sets, if any.
fn anchor_of(expr: &Expr) -> Option<Anchor> {
    match expr {
        Expr::Compare {
            left,
            op: CompareOp::Eq,
            right,
        } => {
            let (path, text) = match (left, right) {
                (Operand::Path(path), Operand::Literal(serde_json::Value::String(text)))
                | (Operand::Literal(serde_json::Value::String(text)), Operand::Path(path)) => {
                    (path, text)
                }
                _ => return None,
            };
            Some(Anchor {
                path: owned(path.member_names()?),
                exact: BTreeSet::from([text.clone()]),
                prefixes: BTreeSet::new(),
            })
        }
        Expr::Regex { path, regex } => Some(Anchor {
            path: owned(path.member_names()?),
            exact: BTreeSet::new(),
            prefixes: anchored_prefixes(regex.as_str())?,
        }),
        // `a || b`: an anchor when every alternative is one, on the same path.
        Expr::Or(alternatives) => {
            let mut union: Option<Anchor> = None;
            for alternative in alternatives {
                let anchor = anchor_of(alternative)?;
                match &mut union {
                    None => union = Some(anchor),
                    Some(union) if union.path == anchor.path => {
                        union.exact.extend(anchor.exact);
                        union.prefixes.extend(anchor.prefixes);
                    }
                    Some(_) => return None,
                }
            }
            union
        }
        _ => None,
    }
}

fn owned(names: Vec<&str>) -> Vec<String> {
    names.into_iter().map(str::to_owned).collect()
}

/// The literals every match of `pattern` starts the text with, when it has such a finite set:
/// `^abc` → `abc`; `^(a|b)c` → `ac`, `bc`; `^a|^b` → `a`, `b`. `None` for an unanchored pattern,
/// a multi-line `^`, or a set that could start with anything.
pub(super) fn anchored_prefixes(pattern: &str) -> Option<BTreeSet<Vec<u8>>> {
    // The regex crate parses with these same default flags.
    let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
    let prefixes = prefixes_of(&hir)?;
    (!prefixes.is_empty()).then_some(prefixes)
}

fn prefixes_of(hir: &Hir) -> Option<BTreeSet<Vec<u8>>> {
    match hir.kind() {
        HirKind::Capture(capture) => prefixes_of(&capture.sub),
        HirKind::Alternation(alternatives) => {
            let mut union = BTreeSet::new();
            for alternative in alternatives {
                union.extend(prefixes_of(alternative)?);
            }
            Some(union)
        }
        HirKind::Concat(parts) => {
            let (first, rest) = parts.split_first()?;
            if *first.kind() != HirKind::Look(Look::Start) {
                return None;
            }
            // Every match of `rest` starting at 0 begins with one of these (when finite).
            let seq = Extractor::new().extract(&Hir::concat(rest.to_vec()));
            let literals = seq.literals()?;
            let prefixes: BTreeSet<Vec<u8>> =
                literals.iter().map(|l| l.as_bytes().to_vec()).collect();
            // An empty prefix would accept any text: no anchor.
            (!prefixes.contains(&Vec::new())).then_some(prefixes)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::Filter;

    fn rule(event_type_filter: &str, notification_filter: Option<&str>) -> Rule {
        Rule {
            enabled: true,
            event_type_filter: Filter::parse(event_type_filter).expect("test filter parses"),
            notification_filter: notification_filter
                .map(|f| Filter::parse(f).expect("test filter parses")),
        }
    }

    fn summary(rule: &Rule) -> Vec<String> {
        anchors(rule)
            .iter()
            .map(|a| {
                let prefixes: Vec<String> = a
                    .prefixes
                    .iter()
                    .map(|p| format!("{}*", String::from_utf8_lossy(p)))
                    .collect();
                let values: Vec<String> = a.exact.iter().cloned().chain(prefixes).collect();
                format!("{}={}", a.path.join("."), values.join("|"))
            })
            .collect()
    }

    #[test]
    fn finds_the_fields_a_rule_pins() {
        let cases: &[(&str, Option<&str>, &[&str])] = &[
            ("$.type == 'a'", None, &["type=a"]),
            ("'a' == $['type']", None, &["type=a"]),
            ("$.type == 'a' || $.type == 'b'", None, &["type=a|b"]),
            ("$.type == 'a' || $.type =~ '^c'", None, &["type=a|c*"]),
            (r"$.type =~ '^com\.ibm\.'", None, &["type=com.ibm.*"]),
            ("$.type =~ '^(x|y)z'", None, &["type=xz*|yz*"]),
            ("$.type =~ '^x|^y'", None, &["type=x*|y*"]),
            (
                "$.type == 'a' && $.data.r =~ 'us'",
                Some("$.data.account == 'acc-1'"),
                &["type=a", "data.account=acc-1"],
            ),
            // Not anchors: other operators, unanchored or multi-line regexes, other paths.
            ("$.type != 'a'", None, &[]),
            ("$.type == 1", None, &[]),
            ("$.type =~ 'a'", None, &[]),
            ("$.type =~ '(?m)^a'", None, &[]),
            ("$.type =~ '^'", None, &[]),
            ("$.type =~ '^.*a'", None, &[]),
            ("$..type == 'a'", None, &[]),
            ("$.data[0] == 'a'", None, &[]),
            ("$.type == 'a' || $.kind == 'b'", None, &[]),
            ("$.type == 'a' || $.type != 'b'", None, &[]),
            ("not($.type == 'a')", None, &[]),
            ("$.*", None, &[]),
        ];
        for (event_type, notification, expected) in cases {
            assert_eq!(
                summary(&rule(event_type, *notification)),
                *expected,
                "{event_type} / {notification:?}"
            );
        }
    }

    #[test]
    fn case_insensitive_prefixes_expand_to_every_spelling() {
        let got = anchored_prefixes("(?i)^ab").expect("finite");
        let got: Vec<&[u8]> = got.iter().map(Vec::as_slice).collect();
        assert_eq!(got, [&b"AB"[..], b"Ab", b"aB", b"ab"]);
    }
}
