//! Syntax tree of a compiled filter: expressions, operands and JSONPath paths.

use std::fmt;
use std::sync::Arc;

use regex::Regex;
use serde_json::Value;

/// A boolean expression. `Or` and `And` are flattened: `a || b || c` is one `Or` of three.
#[derive(Debug, Clone)]
pub enum Expr {
    /// True when any alternative is true (`a || b`); at least two alternatives.
    Or(Vec<Expr>),
    /// True when every part is true (`a && b`); at least two parts.
    And(Vec<Expr>),
    /// `not( expr )`.
    Not(Box<Expr>),
    /// `left op right`: true when any pair of selected values satisfies `op`.
    Compare {
        left: Operand,
        op: CompareOp,
        right: Operand,
    },
    /// `path =~ 'pattern'`: true when any selected string contains a match. Shared: rules with
    /// the same pattern use one compiled regex and its match caches.
    Regex { path: Path, regex: Arc<Regex> },
    /// A bare path: true when it selects at least one node.
    Exists(Path),
    /// A bare `true` or `false`.
    Literal(bool),
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// The nodes a path selects.
    Path(Path),
    /// A string, number, boolean or null literal.
    Literal(Value),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl CompareOp {
    /// The operator as written in a filter.
    pub fn symbol(self) -> &'static str {
        match self {
            CompareOp::Eq => "==",
            CompareOp::Ne => "!=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
        }
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

/// A JSONPath: a root followed by segments applied in turn. The segments are shared: thousands
/// of rules name the same few paths (`$.type`, `$.data.account_id`), and the parser hands out
/// one copy of each path without filter selectors.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    pub root: Root,
    pub segments: Arc<[Segment]>,
}

impl Path {
    /// The member names of a path made only of `$` and `.name` / `['name']` steps, such as
    /// `$.data.event_type` (`["data", "event_type"]`); `None` for any other path.
    pub fn member_names(&self) -> Option<Vec<&str>> {
        if self.root != Root::Document {
            return None;
        }
        self.segments
            .iter()
            .map(|segment| match segment.selectors.as_slice() {
                [Selector::Name(name)] if !segment.descendant => Some(name.as_str()),
                _ => None,
            })
            .collect()
    }
}

/// Where a path starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Root {
    /// `$`: the notification.
    Document,
    /// `@`: the node a filter selector is testing.
    Current,
}

/// One step of a path: `.x`, `[...]`, or with `descendant`, `..x` / `..[...]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// Apply the selectors to the node and all its descendants, not just the node.
    pub descendant: bool,
    /// The union of these selectors' results (a single one except in `[a,b]`).
    pub selectors: Vec<Selector>,
}

/// What a segment picks from a node.
#[derive(Debug, Clone, PartialEq)]
pub enum Selector {
    /// An object member: `.name`, `['name']`.
    Name(String),
    /// Every array element or object member value: `.*`, `[*]`.
    Wildcard,
    /// An array element; negative counts from the end: `[0]`, `[-1]`.
    Index(i64),
    /// Array elements in Python slice order: `[start:end:step]`; `step` is never zero.
    Slice {
        start: Option<i64>,
        end: Option<i64>,
        step: Option<i64>,
    },
    /// Array elements or object member values for which the expression holds: `[?(expr)]`.
    Filter(Box<Expr>),
}

impl PartialEq for Expr {
    /// Structural equality; regexes are equal when their patterns are.
    fn eq(&self, other: &Expr) -> bool {
        match (self, other) {
            (Expr::Or(a), Expr::Or(b)) | (Expr::And(a), Expr::And(b)) => a == b,
            (Expr::Not(a), Expr::Not(b)) => a == b,
            (
                Expr::Compare { left, op, right },
                Expr::Compare {
                    left: l2,
                    op: o2,
                    right: r2,
                },
            ) => left == l2 && op == o2 && right == r2,
            (
                Expr::Regex { path, regex },
                Expr::Regex {
                    path: p2,
                    regex: r2,
                },
            ) => path == p2 && regex.as_str() == r2.as_str(),
            (Expr::Exists(a), Expr::Exists(b)) => a == b,
            (Expr::Literal(a), Expr::Literal(b)) => a == b,
            _ => false,
        }
    }
}
