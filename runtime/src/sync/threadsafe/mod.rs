//! Thread-safe [`Event`], [`AsyncResult`], [`Lock`], [`RLock`],
//! [`Semaphore`], [`Condition`] and [`Barrier`]: shared by green tasks
//! (async calls) and plain OS threads (blocking calls).
//!
//! They have the API of their runtime-local namesakes in [`crate::sync`],
//! plus `*_blocking` methods for threads, and are shared with an `Arc`.
//! Inside they are a `std::sync::Mutex` over the same wait list, holding
//! plain `Waker`s: waking a green task from a thread posts to its
//! runtime's cross-thread queue. The thread-safe queues are in
//! [`crate::queue::threadsafe`].
//!
//! ```
//! use std::sync::Arc;
//! use sprout_runtime::{run, sync::threadsafe::Event};
//!
//! run(async {
//!     let db_ready = Arc::new(Event::new());
//!     let checker = std::thread::spawn({
//!         let db_ready = db_ready.clone();
//!         move || db_ready.set() // a plain thread sets it...
//!     });
//!     db_ready.wait().await; // ...a green task waits without blocking the loop
//!     checker.join().unwrap();
//! });
//! ```
//!
//! # Blocking calls
//! The `*_blocking` methods park the calling OS thread. Called from inside
//! a sprout runtime they would stall every green task on that thread, so
//! they **panic** there, with a message saying to `.await` the async
//! method instead.

use std::future::Future;
use std::sync::PoisonError;
use std::time::{Duration, Instant};

use super::withdraw::Withdraw;
use crate::loom::sync::{Mutex, MutexGuard};

mod async_result;
mod barrier;
mod condition;
mod event;
mod lock;
mod rlock;
mod semaphore;

#[cfg(all(test, loom))]
mod loom_models;

pub use async_result::{AsyncResult, AsyncResultGet, AsyncResultReady};
pub use barrier::{Barrier, BarrierWait};
pub use condition::Condition;
pub use event::{Event, EventWait};
pub use lock::{Lock, LockFuture, LockGuard};
pub use rlock::{RLock, RLockFuture, RLockGuard};
pub use semaphore::{SemAcquire, SemGuard, Semaphore};

/// Panics if called on a runtime thread, naming the blocking call.
#[track_caller]
fn forbid_in_runtime(what: &str) {
    if crate::context::current().is_some() {
        panic!(
            "{what} called inside a sprout runtime: it would block this thread and every green task on it; \
             .await the async method instead"
        );
    }
}

/// Parks this OS thread until `future` completes.
#[cfg(not(loom))]
#[track_caller]
pub(crate) fn block_on<F: Future>(what: &str, future: F) -> F::Output {
    forbid_in_runtime(what);
    crate::park::block_on(future)
}

/// Parks this OS thread until `future` completes or `deadline` passes
/// (`None`: never); on time-out hands the future back.
#[cfg(not(loom))]
#[track_caller]
pub(crate) fn block_on_until<F: Future + Unpin>(
    what: &str,
    future: F,
    deadline: Option<Instant>,
) -> Result<F::Output, F> {
    forbid_in_runtime(what);
    crate::park::block_on_until(future, deadline)
}

/// Under loom: parks this model thread until `future` completes (loom's
/// waker unparks it, as `crate::park`'s does a real thread).
#[cfg(loom)]
#[track_caller]
pub(crate) fn block_on<F: Future>(what: &str, future: F) -> F::Output {
    forbid_in_runtime(what);
    ::loom::future::block_on(future)
}

/// Under loom, time does not pass: the deadline is modelled as passing
/// right after the first poll, which leaves the widest window for a grant
/// to race it.
#[cfg(loom)]
#[track_caller]
pub(crate) fn block_on_until<F: Future + Unpin>(
    what: &str,
    mut future: F,
    _deadline: Option<Instant>,
) -> Result<F::Output, F> {
    forbid_in_runtime(what);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match std::pin::Pin::new(&mut future).poll(&mut cx) {
        std::task::Poll::Ready(output) => Ok(output),
        std::task::Poll::Pending => Err(future),
    }
}

/// Parks this OS thread until `wait` completes or `timeout` passes; at the
/// deadline a grant that raced it wins (see [`Withdraw`]).
#[track_caller]
pub(crate) fn block_on_timeout<W: Withdraw>(what: &str, mut wait: W, timeout: Duration) -> Option<W::Output> {
    match block_on_until(what, &mut wait, Instant::now().checked_add(timeout)) {
        Ok(output) => Some(output),
        Err(wait) => wait.withdraw(),
    }
}

/// Locks a primitive's state.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // No user code runs under these locks: a poisoned one is still consistent.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
