//! sprout's runtime: green tasks on a single-threaded mio reactor.
//!
//! This crate holds the executor, the reactor, the timers, the task API
//! and the coordination primitives. Most programs use it through the
//! `sprout` facade crate, which re-exports everything here.
//!
//! - [`run`], [`Runtime`], [`Builder`]: start a runtime on this thread.
//! - [`spawn`], [`spawn_later`], [`JoinHandle`], [`task`]: green tasks.
//! - [`joinall`], [`iwait`], [`killall`], [`wait`]: wait for many tasks;
//!   [`wait_any`], [`wait_objects`], [`iwait_objects`]: for anything
//!   [`Waitable`] (tasks, events, results, tokens, queue and socket readiness).
//! - [`scope()`], [`mod@scope`]: structured concurrency: child tasks that end with their
//!   block and may borrow from it.
//! - [`sleep`], [`timeout`], [`interval`], [`yield_now`]: time and switching;
//!   [`deadline`], [`current_deadline`]: deadlines that bound every wait beneath them.
//! - [`CancelToken`]: ask running work to stop.
//! - [`Handle`]: reach the runtime from other threads.
//! - [`cores`]: one runtime per core (thread-per-core), handles, a cross-core channel.
//! - [`io`]: readiness-based I/O, the layer sockets are built on.
//! - [`blocking`]: run blocking or CPU-bound work on a thread pool.
//! - [`pool`]: groups and pools of green tasks, map and imap over them.
//! - [`fs`]: files and directories, on the blocking pool.
//! - [`sync`]: events and friends.
//! - [`queue`]: Queue, LifoQueue, PriorityQueue, Channel, for tasks and threads.
//! - [`observe`]: task dumps, the blocking detector, deadlock reports, metrics.
//! - [`testing`], [`time::pause`], [`Builder::seed`]: deterministic tests
//!   (virtual time, seeded schedules).
//!
//! ```
//! use std::time::Duration;
//! use sprout::{joinall, run, sleep, spawn};
//!
//! let total = run(async {
//!     let tasks = (1..=3).map(|i| spawn(async move {
//!         sleep(Duration::from_millis(i)).await;
//!         i
//!     }));
//!     joinall(tasks).await.into_iter().map(Result::unwrap).sum::<u64>()
//! });
//! assert_eq!(total, 6);
//! ```

#![warn(missing_docs)]

pub mod blocking;
mod builder;
mod context;
pub mod cores;
#[cfg(test)]
mod counting_waker;
pub mod fs;
pub mod generic;
mod handle;
pub mod io;
mod join;
// Shared with the thread-safe primitives' models, which use all of it.
#[allow(unused_macros, unused_imports)]
mod loom;
pub mod observe;
mod park;
pub mod pool;
pub mod queue;
mod reactor;
mod remote;
mod report;
mod runtime;
pub mod scope;
mod scoped;
#[cfg(unix)]
pub mod signal;
pub mod sync;
pub mod task;
pub mod testing;
pub mod time;
mod waitable;

pub use blocking::spawn_blocking;
pub use builder::Builder;
pub use handle::{Handle, RemoteJoinHandle, RuntimeGone};
pub use join::{Iwait, JoinAll, JoinSome, Joined, Wait, iwait, joinall, killall, wait};
pub use observe::{dump, metrics};
pub use runtime::Runtime;
pub use scope::scope;
pub use sync::CancelToken;
pub use task::coop;
pub use task::harness::PanicPolicy;
pub use task::{JoinError, JoinHandle, TaskId, TaskInfo, TryJoinError, current, spawn, yield_now};
pub use time::{
    Deadline, Elapsed, Interval, Sleep, current_deadline, deadline, deadline_after, interval, sleep, sleep_until,
    spawn_later, timeout,
};
pub use waitable::{
    IwaitObjects, MakeFuture, ReadyFuture, WaitAny, WaitObjects, Waitable, iwait_objects, wait_any, wait_objects,
};

use std::future::Future;

/// Runs `future` on a new runtime on this thread, with every task it
/// spawns, and returns its output. Tasks still alive when it completes are
/// dropped (their destructors run).
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use std::time::Duration;
/// use sprout::{run, sleep, spawn};
///
/// let dropped = Rc::new(Cell::new(false));
/// let answer = run({
///     let dropped = dropped.clone();
///     async move {
///         // Never joined, still asleep when `run` returns: dropped then.
///         let guard = scopeguard(dropped);
///         spawn(async move {
///             let _guard = guard;
///             sleep(Duration::from_secs(3600)).await;
///         });
///         sleep(Duration::from_millis(1)).await;
///         42
///     }
/// });
/// assert_eq!(answer, 42);
/// assert!(dropped.get(), "the sleeping task was dropped when run returned");
///
/// // Sets the flag when dropped.
/// struct Guard(Rc<Cell<bool>>);
/// impl Drop for Guard {
///     fn drop(&mut self) {
///         self.0.set(true);
///     }
/// }
/// fn scopeguard(flag: Rc<Cell<bool>>) -> Guard {
///     Guard(flag)
/// }
/// ```
///
/// # Panics
/// Inside a running sprout runtime (nesting would block every task on the
/// thread), if the runtime cannot be created (no epoll or eventfd left),
/// or if `future` panics.
#[track_caller]
pub fn run<F: Future>(future: F) -> F::Output {
    let runtime = match Runtime::new() {
        Ok(rt) => rt,
        Err(e) => panic!("sprout::run: cannot create the runtime: {e}"),
    };
    runtime.block_on(future)
}

/// What the `sprout` facade's macros expand to, and what sprout's own
/// crates' reports need of `tracing` (`report.rs`, feature `tracing`).
/// Not part of the stable API.
#[doc(hidden)]
pub mod __private {
    use std::task::Poll;

    #[cfg(feature = "tracing")]
    pub use crate::report::__private::*;

    /// What one `select!` branch's poll gave.
    #[derive(Debug)]
    pub enum Branch<T> {
        /// It completed with a value that matches its pattern.
        Ready(T),
        /// Still pending.
        Pending,
        /// Disabled: by its guard, or by a value that missed its pattern.
        Off,
    }

    /// One poll of a `select!`: polls the `branches` in turn (from a
    /// pseudo-random one, or from the first if `biased`) until one is
    /// ready. `Ready(None)` once every branch is disabled.
    #[inline]
    pub fn select_poll<T>(branches: usize, biased: bool, mut poll: impl FnMut(usize) -> Branch<T>) -> Poll<Option<T>> {
        let start = if biased { 0 } else { select_start(branches) };
        let mut pending = false;
        for k in 0..branches {
            let i = if k < branches - start { start + k } else { start + k - branches };
            match poll(i) {
                Branch::Ready(out) => return Poll::Ready(Some(out)),
                Branch::Pending => pending = true,
                Branch::Off => {}
            }
        }
        if pending { Poll::Pending } else { Poll::Ready(None) }
    }

    /// `select!`'s first branch to poll, of `branches` (at least one): a
    /// pseudo-random pick, from the runtime's seeded generator when it has
    /// one (`Builder::seed`), so seeded schedules stay deterministic.
    #[inline]
    pub fn select_start(branches: usize) -> usize {
        if branches <= 1 {
            return 0;
        }
        match crate::task::executor::Executor::current() {
            Some(executor) => executor.pick(branches),
            None => crate::task::order::pick_outside(branches),
        }
    }
}

/// sprout-net's readiness plumbing: a source's registration, its raw
/// readiness, the waiters that futures keep and forget
/// (`io/registration.rs` has the rules). Not part of the API: the `sprout`
/// facade does not re-export it; users have [`io::IoSource`].
#[doc(hidden)]
pub mod __net {
    pub use crate::io::registration::{Ready, Registration, WaitMark, Waiter};
    pub use crate::io::source::SourceRegistration;
    pub use crate::reactor::scheduled_io::Direction;
}

/// Test and benchmark probes. Not part of the stable API.
#[doc(hidden)]
pub mod probe {
    /// The number of unfinished tasks on the running runtime.
    pub fn live_tasks() -> usize {
        crate::task::executor::Executor::current().map_or(0, |executor| executor.live_tasks())
    }

    /// The number of armed timers on the running runtime.
    pub fn pending_timers() -> usize {
        crate::time::driver::TimeDriver::current().map_or(0, |time| time.armed())
    }

    /// The number of I/O sources registered with the running runtime's reactor.
    pub fn io_sources() -> usize {
        crate::reactor::Reactor::current().map_or(0, |reactor| reactor.source_count())
    }
}
