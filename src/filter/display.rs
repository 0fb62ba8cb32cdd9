//! Filters written back as text, in the syntax the parser reads: `explain` shows which part of a
//! filter held and which did not.

use std::fmt::{self, Display, Formatter};

use serde_json::Value;

use super::ast::{Expr, Operand, Path, Root, Segment, Selector};

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Or(parts) => join(f, parts, " || ", |_| false),
            Expr::And(parts) => join(f, parts, " && ", |part| matches!(part, Expr::Or(_))),
            Expr::Not(inner) => write!(f, "not({inner})"),
            Expr::Compare { left, op, right } => write!(f, "{left} {op} {right}"),
            Expr::Regex { path, regex } => write!(f, "{path} =~ {}", quoted(regex.as_str())),
            Expr::Exists(path) => write!(f, "{path}"),
            Expr::Literal(value) => write!(f, "{value}"),
        }
    }
}

/// `parts` joined by `separator`, those for which `needs_parentheses` holds in parentheses.
fn join(
    f: &mut Formatter<'_>,
    parts: &[Expr],
    separator: &str,
    needs_parentheses: impl Fn(&Expr) -> bool,
) -> fmt::Result {
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            f.write_str(separator)?;
        }
        if needs_parentheses(part) {
            write!(f, "({part})")?;
        } else {
            write!(f, "{part}")?;
        }
    }
    Ok(())
}

impl Display for Operand {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Operand::Path(path) => write!(f, "{path}"),
            Operand::Literal(Value::String(text)) => f.write_str(&quoted(text)),
            Operand::Literal(value) => write!(f, "{value}"),
        }
    }
}

impl Display for Path {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self.root {
            Root::Document => "$",
            Root::Current => "@",
        })?;
        self.segments
            .iter()
            .try_for_each(|segment| write!(f, "{segment}"))
    }
}

impl Display for Segment {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let dots = if self.descendant { ".." } else { "" };
        match self.selectors.as_slice() {
            [Selector::Name(name)] if is_dot_name(name) => {
                write!(f, "{}{name}", if self.descendant { ".." } else { "." })
            }
            [Selector::Wildcard] => write!(f, "{}*", if self.descendant { ".." } else { "." }),
            selectors => {
                write!(f, "{dots}[")?;
                for (i, selector) in selectors.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{selector}")?;
                }
                f.write_str("]")
            }
        }
    }
}

impl Display for Selector {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Selector::Name(name) => f.write_str(&quoted(name)),
            Selector::Wildcard => f.write_str("*"),
            Selector::Index(index) => write!(f, "{index}"),
            Selector::Slice { start, end, step } => {
                let part = |p: &Option<i64>| p.map(|n| n.to_string()).unwrap_or_default();
                write!(f, "{}:{}", part(start), part(end))?;
                match step {
                    Some(step) => write!(f, ":{step}"),
                    None => Ok(()),
                }
            }
            Selector::Filter(expr) => write!(f, "?({expr})"),
        }
    }
}

/// A name the parser reads after a dot: a letter or `_`, then letters, digits, `_` or `-`.
fn is_dot_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// A single-quoted string literal reading back as `text`. A backslash is doubled only where the
/// lexer would read it as the start of an escape, so regexes keep their look (`'^com\.ibm'`).
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            // Doubled where the lexer would otherwise read it with what follows as an escape:
            // before an escape letter, before a character written as an escape, or last.
            '\\' if chars
                .peek()
                .is_none_or(|next| "\\'\"/ntrbfu\n\t\r".contains(*next)) =>
            {
                out.push_str("\\\\")
            }
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}
