//! Pools of green tasks: `gevent.pool` and the green half of
//! `multiprocessing.Pool`.
//!
//! - [`Group`]: a set of tasks to join, map over and kill together
//!   (`gevent.pool.Group`); collecting ([`Group::collecting`]), also
//!   tokio's `JoinSet`: [`join_next`](Group::join_next) gives each result
//!   as its task finishes.
//! - [`Pool`]: a group of which at most `size` tasks run at once
//!   (`gevent.pool.Pool`, `multiprocessing.Pool`): `spawn` waits for a free
//!   slot, and `map` / `imap` / `imap_unordered` read their iterator only as
//!   slots free up.
//! - [`Imap`], [`ImapUnordered`]: the result streams.
//! - [`StarFn`]: what `starmap` calls.
//!
//! For blocking calls and CPU-bound work, which must leave the runtime
//! thread, see [`blocking::ThreadPool`](crate::blocking::ThreadPool).
//!
//! # Contract
//! - Results: every item of `map`, `imap` and `imap_unordered` yields
//!   exactly one `Result<T, JoinError>`. A panic in a task is caught and
//!   comes back as [`JoinError::Panicked`](crate::JoinError) to whoever
//!   collects that result; the pool and the other tasks go on. A task
//!   killed (by `kill`, `terminate` or shutdown) yields `JoinError::Killed`.
//! - Memory: a `Pool`'s streams hold at most `size` items in flight, so an
//!   endless iterator runs in constant memory. A `Group` has no size: its
//!   streams start every item at once.
//! - Fairness: slots go to waiters in arrival order; a freed slot is handed
//!   to the longest waiter, never to a newcomer.
//! - Cancellation: every wait is cancellation-safe. Dropping a `spawn` that
//!   waits gives up its place; a slot it had just been handed goes to the
//!   next in line. Dropping a stream (or a `map` future) kills the items it
//!   started.
//! - Closing: after `close` (or `terminate`) no new work starts: `spawn`,
//!   `apply_async` and unstarted map items resolve to `Killed` at once.
//!   What was already accepted runs to the end unless killed.
//! - Everything here lives on the runtime thread: `Group` and `Pool` are
//!   `!Send` handles (an `Rc` inside), cheap to clone.
//!
//! # Scheduling hazard
//! A member that waits for more work in its own full pool waits forever:
//! the slot it needs is its own. Gevent's pools share the hazard.
//!
//! ```
//! use std::time::Duration;
//! use futures_util::StreamExt;
//! use sprout::{pool::Pool, run, sleep};
//!
//! run(async {
//!     let pool = Pool::new(3);
//!     // Completion order: the short waits come first.
//!     let mut done = pool.imap_unordered(|ms: u64| async move {
//!         sleep(Duration::from_millis(ms)).await;
//!         ms
//!     }, [30, 10, 20]);
//!     let mut order = Vec::new();
//!     while let Some(ms) = done.next().await {
//!         order.push(ms.unwrap());
//!     }
//!     assert_eq!(order, [10, 20, 30]);
//! });
//! ```

mod bounded;
mod group;
mod map;
mod members;
mod results;
mod set;
mod slots;
mod star;

pub use bounded::Pool;
pub use group::Group;
pub use map::{Imap, ImapUnordered};
pub use members::{Bounded, Join, Limit, Members, Unbounded};
pub use results::{Collect, JoinNext, Mode, Untyped};
pub use star::StarFn;

#[cfg(test)]
mod tests;
