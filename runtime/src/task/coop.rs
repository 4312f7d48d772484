//! The per-poll operation budget: cooperative scheduling for ready resources.
//!
//! A task reading from a socket that always has data, or draining a queue
//! that is never empty, never sees `Pending` and so would never yield. Each
//! operation on a sprout resource therefore spends one unit of the task's
//! budget (`Builder::ops_per_poll`, 128 by default, reset at every poll);
//! when it runs out, the next operation returns `Pending` and the task is
//! requeued exactly as [`yield_now`](crate::yield_now) requeues it: after
//! the loop's next I/O poll, behind the tasks that yielded. A task that
//! spent its budget so never waits less than one that yielded politely: were
//! it requeued into the same turn's run queue, a greedy task would get a
//! hundred turns for each of a polite one's.
//!
//! Authors of new resources call [`poll_proceed`] at the top of their
//! `poll_*` functions.

use std::task::{Context, Poll};

use crate::task::executor::Executor;

/// Spends one unit of the running task's budget, or yields if it is spent.
///
/// Outside a sprout runtime the budget is unlimited.
///
/// ```
/// use std::task::{Context, Poll};
/// use sprout::task::coop;
///
/// fn poll_next_item(cx: &mut Context<'_>, items: &mut Vec<u32>) -> Poll<Option<u32>> {
///     if coop::poll_proceed(cx).is_pending() {
///         return Poll::Pending;
///     }
///     Poll::Ready(items.pop())
/// }
/// # let _ = poll_next_item;
/// ```
#[inline]
pub fn poll_proceed(cx: &mut Context<'_>) -> Poll<()> {
    let Some(executor) = Executor::current() else { return Poll::Ready(()) };
    if executor.spend_budget() {
        return Poll::Ready(());
    }
    // The same deferred path as yield_now: after the next I/O poll.
    executor.defer(cx.waker());
    Poll::Pending
}

/// Whether the running task still has budget left (without spending any).
pub fn has_budget_remaining() -> bool {
    Executor::current().is_none_or(Executor::has_budget)
}
