//! Path evaluation: visits the nodes a path selects, one callback per node, stopping on `Break`.

use std::ops::ControlFlow;

use serde_json::Value;

use super::ast::{Path, Root, Segment, Selector};
use super::budget;

/// Called with each selected node; `Break` stops the visit.
pub(super) type Visitor<'f> = dyn FnMut(&Value) -> ControlFlow<()> + 'f;

impl Path {
    /// Calls `visit` with each node the path selects, `$` being `root` and `@` being `current`.
    /// Returns `Break` as soon as `visit` does.
    pub(super) fn visit(
        &self,
        root: &Value,
        current: &Value,
        visit: &mut Visitor,
    ) -> ControlFlow<()> {
        let start = match self.root {
            Root::Document => root,
            Root::Current => current,
        };
        visit_segments(&self.segments, start, root, visit)
    }

    /// Whether the path selects at least one node.
    pub(super) fn selects_any(&self, root: &Value, current: &Value) -> bool {
        self.visit(root, current, &mut |_| ControlFlow::Break(()))
            .is_break()
    }
}

fn visit_segments(
    segments: &[Segment],
    node: &Value,
    root: &Value,
    visit: &mut Visitor,
) -> ControlFlow<()> {
    let Some((segment, rest)) = segments.split_first() else {
        return visit(node);
    };
    let mut next = |child: &Value| visit_segments(rest, child, root, visit);
    if segment.descendant {
        visit_descendants(node, &mut |inner| {
            select(&segment.selectors, inner, root, &mut next)
        })
    } else {
        select(&segment.selectors, node, root, &mut next)
    }
}

/// The node itself, then its descendants depth-first.
fn visit_descendants(node: &Value, visit: &mut Visitor) -> ControlFlow<()> {
    budget::step()?;
    visit(node)?;
    each_child(node, &mut |child| visit_descendants(child, visit))
}

/// Visits array elements, or object member values; nothing for a scalar.
fn each_child(node: &Value, visit: &mut Visitor) -> ControlFlow<()> {
    match node {
        Value::Array(items) => items.iter().try_for_each(|item| {
            budget::step()?;
            visit(item)
        }),
        Value::Object(members) => members.values().try_for_each(|member| {
            budget::step()?;
            visit(member)
        }),
        _ => ControlFlow::Continue(()),
    }
}

/// Visits what each selector picks from `node`, in order.
fn select(
    selectors: &[Selector],
    node: &Value,
    root: &Value,
    visit: &mut Visitor,
) -> ControlFlow<()> {
    for selector in selectors {
        match selector {
            Selector::Name(name) => {
                if let Some(member) = node.as_object().and_then(|members| members.get(name)) {
                    budget::step()?;
                    visit(member)?;
                }
            }
            Selector::Wildcard => each_child(node, visit)?,
            Selector::Index(index) => {
                let items = node.as_array().map_or(&[][..], Vec::as_slice);
                if let Some(item) = resolve_index(*index, items.len()).and_then(|at| items.get(at))
                {
                    budget::step()?;
                    visit(item)?;
                }
            }
            Selector::Slice { start, end, step } => {
                if let Some(items) = node.as_array() {
                    visit_slice(items, *start, *end, step.unwrap_or(1), visit)?;
                }
            }
            Selector::Filter(expr) => each_child(node, &mut |child| {
                if expr.evaluate(root, child) {
                    visit(child)
                } else {
                    ControlFlow::Continue(())
                }
            })?,
        }
    }
    ControlFlow::Continue(())
}

/// The position of `index` in an array of `len` items; negative counts from the end.
fn resolve_index(index: i64, len: usize) -> Option<usize> {
    if index >= 0 {
        usize::try_from(index).ok()
    } else {
        len.checked_sub(usize::try_from(index.unsigned_abs()).ok()?)
    }
}

/// Python slice semantics (as in RFC 9535 §2.3.4.2.2); `step` is not zero.
fn visit_slice(
    items: &[Value],
    start: Option<i64>,
    end: Option<i64>,
    step: i64,
    visit: &mut Visitor,
) -> ControlFlow<()> {
    let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
    let normalize = |index: i64| {
        if index >= 0 {
            index
        } else {
            len.saturating_add(index)
        }
    };
    let mut at_each = |mut index: i64, keep_going: &dyn Fn(i64) -> bool| {
        while keep_going(index) {
            budget::step()?;
            if let Some(item) = usize::try_from(index).ok().and_then(|at| items.get(at)) {
                visit(item)?;
            }
            index = index.saturating_add(step);
        }
        ControlFlow::Continue(())
    };
    if step > 0 {
        let lower = start.map_or(0, normalize).clamp(0, len);
        let upper = end.map_or(len, normalize).clamp(0, len);
        at_each(lower, &|index| index < upper)
    } else {
        let upper = start.map_or(len - 1, normalize).clamp(-1, len - 1);
        let lower = end.map_or(-1, normalize).clamp(-1, len - 1);
        at_each(upper, &|index| index > lower)
    }
}

impl Path {
    /// The nodes the path selects in `root`, in document order, cloned; at most
    /// [`MAX_STEPS`](super::MAX_STEPS) steps are taken, then what was found so far is returned.
    pub fn values(&self, root: &Value) -> Vec<Value> {
        let mut found = Vec::new();
        let _ = super::budget::within(super::MAX_STEPS, || {
            let _ = self.visit(root, root, &mut |node| {
                found.push(node.clone());
                ControlFlow::Continue(())
            });
        });
        found
    }
}
