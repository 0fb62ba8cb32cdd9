//! Filter language: IBM Cloud Event Notifications filters, compiled once and matched against notifications.
//!
//! A filter is a boolean expression over a notification (a `serde_json::Value`), for example
//! `$.data.event_properties.region_id == 'us-south' && $.ibmenseverity == 'HIGH'`.
//! [`Filter::parse`] compiles it (paths, literals and regexes included) and
//! [`Filter::matches`] evaluates it without further parsing.
//!
//! # Layout
//!
//! - `ast`: the syntax tree ([`Expr`], [`Operand`], [`Path`], ...), public so that a rule index
//!   can inspect a filter;
//! - `lexer`: text to tokens, each with its column;
//! - `parser`: tokens to expressions (precedence, nesting cap, error messages);
//! - `path_parser`: tokens to JSONPath paths and their bracket selectors;
//! - `select`: visits the nodes a path selects, stopping early when asked;
//! - `eval`: evaluates an expression and compares JSON values without coercion;
//! - `display`: an expression written back as filter text;
//! - `explain`: how each part of a filter evaluated against one notification;
//! - `shared`: one copy per process of the regexes and paths many filters hold alike.
//!
//! # Syntax
//!
//! - **Paths** start at `$` (the notification) or `@` (the current node, only inside a filter
//!   selector). Selectors: `.name`, `.*`, `['name']` / `["name"]`, `[*]`, `[0]`, `[-1]` (from the
//!   end), unions `[0,2]` / `['a','b']`, slices `[start:end:step]` (Python semantics, every part
//!   optional, negative values count from the end, a zero step is an error) and filters
//!   `[?(expr)]`. `..` before a selector (`..name`, `..*`, `..[0]`) applies it to the node and
//!   all its descendants.
//! - **Dot names** start with a letter or `_` and go on with letters, digits, `_` or `-`
//!   (`region_id`, `event-type`). Keywords are ordinary names after a dot (`$.not`). Any other
//!   name is written in brackets: `$['a name']`, `$['a.b']`, `$['0']`.
//! - **Operators**, loosest first: `||`, `&&`, comparisons (`== != < <= > >=` and the regex
//!   match `=~`), then `not( expr )` and `( expr )`. A comparison does not chain.
//! - **Literals**: strings in `'single'` or `"double"` quotes with the escapes
//!   `\\ \' \" \/ \n \t \r \b \f \uXXXX`; JSON numbers (`-1`, `2.5`, `1e3`); `true`, `false`,
//!   `null`. Whitespace is free between tokens, including inside a path. Any other backslash
//!   is kept as written, so regexes read naturally: `$.type =~ '^com\.ibm\.'` and
//!   `'^com\\.ibm\\.'` are the same filter, and `'\d+'` matches digits.
//!
//! # Semantics
//!
//! - A bare path is true when it selects at least one node, whatever its value (`$.*` is true for
//!   every non-empty object, `$` always). A bare `true` / `false` is itself; any other bare
//!   literal is a parse error.
//! - **Existential**: a comparison is true if ANY selected node satisfies it; with paths on both
//!   sides, if any pair does. A path that selects nothing makes every comparison false,
//!   **including `!=`**: "absent or different" is written `not($.x == 'a')`.
//! - **No coercion.** Numbers compare numerically: integers exactly, otherwise as `f64`
//!   (`20 == 20.0`). Strings compare with `==` / `!=` and by byte order for `< <= > >=`.
//!   Booleans, null, arrays and objects only compare with `==` / `!=` (arrays and objects by
//!   deep equality, using the same number rule). Values of different types: `==` is false, `!=`
//!   true, orderings false (`"20" == 20` is false).
//! - `=~` takes a path on the left and a string literal on the right, compiled at parse time as
//!   a `regex` crate pattern (RE2 syntax, inline flags like `(?i)`), matched **unanchored**: use
//!   `^` and `$` to anchor. A non-string node never matches.
//! - A filter selector `[?(expr)]` evaluates `expr` with `@` bound to each element of an array or
//!   each member value of an object, and keeps those for which it is true; `$` inside it is still
//!   the notification. The parentheses are optional (`[?@.age > 20]`).
//! - Brackets may mix names, indices, slices, `*` and filters (`[0,'a',1:]`). Selecting a name
//!   on a non-object, an index on a non-array or an index out of range selects nothing.
//! - Nesting of parentheses, `not( )` and filters is capped at [`MAX_DEPTH`] levels.
//! - **Bounded work.** One evaluation may take [`MAX_STEPS`] steps (a node visited, a pair of
//!   values compared): a filter whose work grows with the square of the event
//!   (`$..[?($..* == 'x')]`) stops there on a large event and does **not match**; the
//!   metric `notification_router_filter_budget_exceeded_total` counts those evaluations.
//! - Error columns count characters from 1; the end of the filter is one past its last
//!   character; an unterminated string points at its opening quote.

mod ast;
mod budget;
mod display;
mod eval;
mod explain;
mod lexer;
mod parser;
mod path_parser;
mod select;
mod shared;
#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

pub use ast::{CompareOp, Expr, Operand, Path, Root, Segment, Selector};
pub use budget::MAX_STEPS;
pub use explain::Explanation;

/// The deepest nesting of parentheses, `not( )` and `[?( )]` filters a filter may have.
pub const MAX_DEPTH: usize = 64;

/// A compiled filter: parsed once, evaluated many times.
#[derive(Debug, Clone)]
pub struct Filter {
    source: String,
    expr: Expr,
}

impl Filter {
    /// Compiles `source`, or says at which column and why it is not a valid filter.
    pub fn parse(source: &str) -> Result<Filter, FilterError> {
        let expr = parser::parse(source)?;
        Ok(Filter {
            source: source.to_owned(),
            expr,
        })
    }

    /// Whether `notification` satisfies the filter. An evaluation that would take more than
    /// [`MAX_STEPS`] steps stops there and does not match; it is counted
    /// (`notification_router_filter_budget_exceeded_total`).
    pub fn matches(&self, notification: &serde_json::Value) -> bool {
        match budget::within(MAX_STEPS, || self.expr.evaluate(notification, notification)) {
            Some(matched) => matched,
            None => {
                crate::telemetry::metrics::global().filter_budget_exceeded();
                tracing::debug!(message = "Filter stopped at its step budget: no match.", filter = %self.source, max_steps = MAX_STEPS);
                false
            }
        }
    }

    /// The text the filter was parsed from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The compiled expression.
    pub fn expr(&self) -> &Expr {
        &self.expr
    }
}

/// Compiles `source` as one EN path from the notification's root (`$.data.region`), for what
/// reads values rather than tests them (a digest's `group_by`).
pub fn parse_path(source: &str) -> Result<Path, FilterError> {
    match parser::parse(source)? {
        Expr::Exists(path) if path.root == Root::Document => Ok(path),
        _ => Err(FilterError::new(
            1,
            "expected one path from the notification's root, such as $.data.region",
        )),
    }
}

impl FromStr for Filter {
    type Err = FilterError;

    fn from_str(source: &str) -> Result<Filter, FilterError> {
        Filter::parse(source)
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// Why a filter does not parse, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct FilterError {
    /// 1-based, in characters.
    pub column: usize,
    /// What is wrong and what would be valid there.
    pub message: String,
}

impl FilterError {
    pub(crate) fn new(column: usize, message: impl Into<String>) -> FilterError {
        FilterError {
            column,
            message: message.into(),
        }
    }
}
