//! `${VAR}` and `${VAR:-default}` interpolation in the string values of a YAML document.
//!
//! Interpolation runs on parsed string scalars, never on raw text, so a secret containing YAML
//! syntax (`: `, `#`, quotes) cannot change the document's structure. `$${` writes a literal `${`.
//!
//! `router.yaml` may read any environment variable; topic files, written by topic owners, only
//! the ones `router.yaml` lists in `topic_variables` ([`Scope`]).

use serde_yaml_ng::Value;

/// A variable that is referenced without a default but is not set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Unresolved {
    /// Where in the document, as a path (`destinations[0].url`).
    pub item: String,
    pub message: String,
}

/// Why a string cannot be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum ExpandError {
    #[error("unclosed '${{' in {0:?}: write ${{NAME}} or ${{NAME:-default}}")]
    Unclosed(String),
    #[error("{0:?} is not a variable name: use letters, digits and '_'")]
    BadName(String),
    #[error("environment variable {0} is not set (set it, or write ${{{0}:-default}})")]
    NotSet(String),
    #[error(
        "variable {name} is not listed in topic_variables of router.yaml: a topic file may read \
         only those (listed: {listed}); write $${{ for a literal ${{"
    )]
    NotListed { name: String, listed: String },
}

/// Which variables a file may read.
#[derive(Debug, Clone, Copy)]
pub(super) enum Scope<'a> {
    /// Any environment variable: `router.yaml`, written by operators.
    All,
    /// Only these: topic files, written by topic owners, which must not read the operator's
    /// secrets. Any other name is an error, with or without a default.
    Only(&'a [String]),
}

/// Replaces every `${VAR}` in the string values of `value`, looking variables up with `lookup`.
pub(super) fn interpolate(
    value: &mut Value,
    scope: Scope<'_>,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Vec<Unresolved> {
    let mut problems = Vec::new();
    walk(
        value,
        String::new(),
        &|name| scoped(scope, name, lookup),
        &mut problems,
    );
    problems
}

/// A variable's value within `scope`: `Err` when the scope may not read it.
fn scoped(
    scope: Scope<'_>,
    name: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<String>, ExpandError> {
    match scope {
        Scope::Only(listed) if !listed.iter().any(|l| l == name) => {
            let listed = if listed.is_empty() {
                "none".to_owned()
            } else {
                listed.join(", ")
            };
            Err(ExpandError::NotListed {
                name: name.to_owned(),
                listed,
            })
        }
        _ => Ok(lookup(name)),
    }
}

type Lookup<'a> = &'a dyn Fn(&str) -> Result<Option<String>, ExpandError>;

fn walk(value: &mut Value, item: String, lookup: Lookup<'_>, problems: &mut Vec<Unresolved>) {
    match value {
        Value::String(text) => match expand_with(text, lookup) {
            Ok(expanded) => *text = expanded,
            Err(e) => problems.push(Unresolved {
                item,
                message: e.to_string(),
            }),
        },
        Value::Sequence(items) => {
            for (i, child) in items.iter_mut().enumerate() {
                walk(child, format!("{item}[{i}]"), lookup, problems);
            }
        }
        Value::Mapping(map) => {
            for (key, child) in map.iter_mut() {
                let key = key
                    .as_str()
                    .map_or_else(|| format!("{key:?}"), str::to_owned);
                let path = if item.is_empty() {
                    key
                } else {
                    format!("{item}.{key}")
                };
                walk(child, path, lookup, problems);
            }
        }
        Value::Tagged(tagged) => walk(&mut tagged.value, item, lookup, problems),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Expands one string, reading any variable.
#[cfg(test)]
pub(super) fn expand(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ExpandError> {
    expand_with(text, &|name| Ok(lookup(name)))
}

fn expand_with(text: &str, lookup: Lookup<'_>) -> Result<String, ExpandError> {
    if !text.contains('$') {
        return Ok(text.to_owned());
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        if let Some(tail) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = tail;
        } else if let Some(tail) = after.strip_prefix("${") {
            let end = tail
                .find('}')
                .ok_or_else(|| ExpandError::Unclosed(text.to_owned()))?;
            let (name, default) = match tail[..end].split_once(":-") {
                Some((name, default)) => (name, Some(default)),
                None => (&tail[..end], None),
            };
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(ExpandError::BadName(name.to_owned()));
            }
            match (lookup(name)?, default) {
                (Some(found), _) => out.push_str(&found),
                (None, Some(default)) => out.push_str(default),
                (None, None) => {
                    return Err(ExpandError::NotSet(name.to_owned()));
                }
            }
            rest = &tail[end + 1..];
        } else {
            out.push('$');
            rest = &after[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOST" => Some("example.com".into()),
            "EMPTY" => Some(String::new()),
            "TRICKY" => Some("a: b # c".into()),
            _ => None,
        }
    }

    #[test]
    fn expands_strings() {
        let cases: &[(&str, Result<&str, &str>)] = &[
            ("plain", Ok("plain")),
            ("https://${HOST}/hook", Ok("https://example.com/hook")),
            ("${MISSING:-fallback}", Ok("fallback")),
            ("${HOST:-fallback}", Ok("example.com")),
            ("${EMPTY:-fallback}", Ok("")),
            ("${MISSING:-}", Ok("")),
            ("cost $5", Ok("cost $5")),
            ("$${HOST}", Ok("${HOST}")),
            ("${TRICKY}", Ok("a: b # c")),
            ("${HOST}${HOST}", Ok("example.comexample.com")),
            (
                "${MISSING}",
                Err(
                    "environment variable MISSING is not set (set it, or write ${MISSING:-default})",
                ),
            ),
            (
                "${HOST",
                Err("unclosed '${' in \"${HOST\": write ${NAME} or ${NAME:-default}"),
            ),
            (
                "${bad-name}",
                Err("\"bad-name\" is not a variable name: use letters, digits and '_'"),
            ),
        ];
        for (input, expected) in cases {
            let got = expand(input, &env).map_err(|e| e.to_string());
            assert_eq!(
                got.as_deref().map_err(String::as_str),
                *expected,
                "input {input:?}"
            );
        }
    }

    #[test]
    fn walks_the_document_and_names_the_item() {
        let mut doc: Value = serde_yaml_ng::from_str(
            "kafka:\n  brokers: ${HOST}\ndestinations:\n  - url: ${NOPE}\n    port: 5\n",
        )
        .unwrap();
        let problems = interpolate(&mut doc, Scope::All, &env);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].item, "destinations[0].url");
        assert_eq!(doc["kafka"]["brokers"].as_str(), Some("example.com"));
        assert_eq!(doc["destinations"][0]["port"].as_u64(), Some(5));
    }

    #[test]
    fn a_limited_scope_reads_only_listed_variables() {
        let listed = ["HOST".to_owned()];
        let mut doc: Value =
            serde_yaml_ng::from_str("a: ${HOST}\nb: ${TRICKY}\nc: ${TRICKY:-x}\nd: $${TRICKY}\n")
                .unwrap();
        let problems = interpolate(&mut doc, Scope::Only(&listed), &env);
        let items: Vec<&str> = problems.iter().map(|p| p.item.as_str()).collect();
        assert_eq!(items, ["b", "c"]);
        assert!(
            problems[0]
                .message
                .starts_with("variable TRICKY is not listed")
        );
        assert!(problems[0].message.contains("(listed: HOST)"));
        assert_eq!(doc["a"].as_str(), Some("example.com"));
        assert_eq!(doc["d"].as_str(), Some("${TRICKY}"));
    }
}
