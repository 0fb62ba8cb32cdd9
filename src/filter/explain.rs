//! Why a filter matched a notification or not, part by part: what `explain` prints.

use std::fmt::Write;
use std::ops::ControlFlow;

use serde_json::Value;

use super::Filter;
use super::ast::{Expr, Operand, Path};

/// The most selected values shown per path.
const MAX_SHOWN: usize = 5;

/// How a filter, or one part of it, evaluated against one notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// The part, written as filter text.
    pub text: String,
    pub holds: bool,
    /// For a comparison, a regex match or a bare path: each path and the values it selected (as
    /// JSON, at most five), so a failed `$.a == 'x'` shows what `$.a` was.
    pub selected: Vec<(String, Vec<String>)>,
    /// For `||`, `&&` and `not( )`: how each part evaluated.
    pub parts: Vec<Explanation>,
}

impl Filter {
    /// Evaluates every part of the filter (no short cut) and says how each went.
    pub fn explain(&self, notification: &Value) -> Explanation {
        explain(self.expr(), notification)
    }
}

fn explain(expr: &Expr, root: &Value) -> Explanation {
    let parts = match expr {
        Expr::Or(parts) | Expr::And(parts) => parts.iter().map(|p| explain(p, root)).collect(),
        Expr::Not(inner) => vec![explain(inner, root)],
        _ => Vec::new(),
    };
    let paths: Vec<&Path> = match expr {
        Expr::Compare { left, right, .. } => [left, right]
            .into_iter()
            .filter_map(|operand| match operand {
                Operand::Path(path) => Some(path),
                Operand::Literal(_) => None,
            })
            .collect(),
        Expr::Regex { path, .. } | Expr::Exists(path) => vec![path],
        _ => Vec::new(),
    };
    Explanation {
        text: expr.to_string(),
        holds: expr.evaluate(root, root),
        selected: paths
            .into_iter()
            .map(|path| (path.to_string(), selected(path, root)))
            .collect(),
        parts,
    }
}

/// The values `path` selects, as JSON; the last says how many more when there are over five.
fn selected(path: &Path, root: &Value) -> Vec<String> {
    let mut shown = Vec::new();
    let mut more = 0usize;
    let _ = path.visit(root, root, &mut |node| {
        if shown.len() < MAX_SHOWN {
            shown.push(short_json(node));
        } else {
            more += 1;
        }
        ControlFlow::Continue(())
    });
    if more > 0 {
        shown.push(format!("… and {more} more"));
    }
    shown
}

/// A value as compact JSON, at most 200 characters.
fn short_json(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

impl Explanation {
    /// The explanation as indented lines: `✓`/`✗`, the part, then what its paths selected.
    pub fn lines(&self, indent: usize) -> String {
        let mut out = String::new();
        self.write(indent, &mut out);
        out
    }

    fn write(&self, indent: usize, out: &mut String) {
        let pad = " ".repeat(indent);
        let mark = if self.holds { "✓" } else { "✗" };
        let _ = writeln!(out, "{pad}{mark} {}", self.text);
        for (path, values) in &self.selected {
            let shown = if values.is_empty() {
                "selects nothing".to_owned()
            } else {
                format!("is {}", values.join(", "))
            };
            let _ = writeln!(out, "{pad}    {path} {shown}");
        }
        for part in &self.parts {
            part.write(indent + 2, out);
        }
    }
}
