//! Evaluation: expressions over a notification, with existential comparisons and no coercion.

use std::cmp::Ordering;
use std::ops::ControlFlow;

use serde_json::{Number, Value};

use super::ast::{CompareOp, Expr, Operand};
use super::budget::step;
use super::select::Visitor;

impl Expr {
    /// Whether the expression holds, `$` being `root` and `@` being `current`.
    pub(super) fn evaluate(&self, root: &Value, current: &Value) -> bool {
        match self {
            Expr::Or(parts) => parts.iter().any(|part| part.evaluate(root, current)),
            Expr::And(parts) => parts.iter().all(|part| part.evaluate(root, current)),
            Expr::Not(inner) => !inner.evaluate(root, current),
            Expr::Literal(value) => *value,
            Expr::Exists(path) => path.selects_any(root, current),
            Expr::Regex { path, regex } => path
                .visit(root, current, &mut |node| match node {
                    Value::String(text) if regex.is_match(text) => ControlFlow::Break(()),
                    _ => ControlFlow::Continue(()),
                })
                .is_break(),
            Expr::Compare { left, op, right } => left
                .visit(root, current, &mut |a| {
                    right.visit(root, current, &mut |b| {
                        step()?;
                        if op.holds(a, b) {
                            ControlFlow::Break(())
                        } else {
                            ControlFlow::Continue(())
                        }
                    })
                })
                .is_break(),
        }
    }
}

impl Operand {
    /// Calls `visit` with the literal, or with each node the path selects.
    fn visit(&self, root: &Value, current: &Value, visit: &mut Visitor) -> ControlFlow<()> {
        match self {
            Operand::Path(path) => path.visit(root, current, visit),
            Operand::Literal(value) => visit(value),
        }
    }
}

impl CompareOp {
    /// Whether `left op right` holds for two single values.
    pub fn holds(self, left: &Value, right: &Value) -> bool {
        match self {
            CompareOp::Eq => json_eq(left, right),
            CompareOp::Ne => !json_eq(left, right),
            CompareOp::Lt => json_order(left, right) == Some(Ordering::Less),
            CompareOp::Le => json_order(left, right).is_some_and(Ordering::is_le),
            CompareOp::Gt => json_order(left, right) == Some(Ordering::Greater),
            CompareOp::Ge => json_order(left, right).is_some_and(Ordering::is_ge),
        }
    }
}

/// Deep equality; numbers by value (`20 == 20.0`), values of different types never equal.
fn json_eq(left: &Value, right: &Value) -> bool {
    if step().is_break() {
        return false;
    }
    match (left, right) {
        (Value::Number(a), Value::Number(b)) => compare_numbers(a, b) == Some(Ordering::Equal),
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| json_eq(x, y))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(key, x)| b.get(key).is_some_and(|y| json_eq(x, y)))
        }
        (Value::String(a), Value::String(b)) => a == b,
        (Value::Bool(a), Value::Bool(b)) => a == b,
        (Value::Null, Value::Null) => true,
        _ => false,
    }
}

/// The order of two numbers or two strings (by bytes); `None` for anything else.
fn json_order(left: &Value, right: &Value) -> Option<Ordering> {
    match (left, right) {
        (Value::Number(a), Value::Number(b)) => compare_numbers(a, b),
        (Value::String(a), Value::String(b)) => Some(a.as_bytes().cmp(b.as_bytes())),
        _ => None,
    }
}

/// Integers compare exactly, anything else as `f64`.
fn compare_numbers(a: &Number, b: &Number) -> Option<Ordering> {
    match (as_integer(a), as_integer(b)) {
        (Some(a), Some(b)) => Some(a.cmp(&b)),
        _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

fn as_integer(number: &Number) -> Option<i128> {
    number
        .as_i64()
        .map(i128::from)
        .or_else(|| number.as_u64().map(i128::from))
}
