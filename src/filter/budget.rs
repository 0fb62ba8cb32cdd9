//! The work one evaluation may do: a step budget, charged for every node a path visits and
//! every pair of values compared, so that a filter such as `$..[?($..* == 'x')]`, whose work is
//! the square of the event's size, stops at [`MAX_STEPS`] instead of holding a partition.

use std::cell::Cell;
use std::ops::ControlFlow;

/// Steps one [`Filter::matches`](super::Filter::matches) may take: far above what a filter
/// linear in the event's size takes on the largest event (`kafka.max_message_bytes`, 256 KiB by
/// default, is at most some 65,000 nodes), and a few milliseconds of work.
pub const MAX_STEPS: u64 = 1_000_000;

thread_local! {
    /// Steps left in this thread's evaluation; unlimited outside one.
    static LEFT: Cell<u64> = const { Cell::new(u64::MAX) };
}

/// Charges one step: `Break` once the budget is spent, which stops every visit in progress.
pub(super) fn step() -> ControlFlow<()> {
    LEFT.with(|left| match left.get() {
        0 => ControlFlow::Break(()),
        n => {
            left.set(n - 1);
            ControlFlow::Continue(())
        }
    })
}

/// Runs `evaluate` with `steps` to spend: its result, or `None` when it ran out (its result is
/// then meaningless: visits were cut short).
pub(super) fn within<T>(steps: u64, evaluate: impl FnOnce() -> T) -> Option<T> {
    let outer = LEFT.with(|left| left.replace(steps));
    let result = evaluate();
    let left = LEFT.with(|left| left.replace(outer));
    (left > 0).then_some(result)
}
