//! The loop's thread-local: which runtime is running on this thread, for
//! the layers above the loop.
//!
//! `block_on` sets it for its duration (and `Runtime::drop` for the
//! shutdown), together with the slots of the parts the layers below the
//! loop use (`Executor::current`, `TimeDriver::current`,
//! `Reactor::current`; see `scoped.rs`). Code above the loop (`Handle`,
//! `wait`, the blocking pool, the thread-safe primitives' "am I on a
//! runtime thread?" checks) reads this one; code below it never does.

use std::cell::Cell;
use std::ptr;

use crate::runtime::{EventLoop, Parts};
use crate::scoped::{self, Reset};

thread_local! {
    static EVENT_LOOP: Cell<*const EventLoop> = const { Cell::new(ptr::null()) };
}

/// The runtime running on this thread, if any.
///
/// The reference must not outlive the current `block_on` (or shutdown):
/// callers use it within one call and never store it.
#[inline]
pub(crate) fn current<'a>() -> Option<&'a EventLoop> {
    scoped::get(&EVENT_LOOP)
}

/// The running runtime, or a panic naming the operation that needed one.
#[inline]
#[track_caller]
pub(crate) fn expect<'a>(what: &str) -> &'a EventLoop {
    match current() {
        Some(core) => core,
        None => panic!("{what} must be called from inside a sprout runtime (sprout::run or Runtime::block_on)"),
    }
}

/// Marks this thread as running `core` until the guard drops.
pub(crate) struct Enter {
    _parts: Parts,
    _core: Reset<EventLoop>,
}

/// Enters `core` on this thread.
///
/// # Panics
/// If a runtime is already running on this thread: a green task that
/// blocked its own thread on a nested runtime would stall every other task.
#[track_caller]
pub(crate) fn enter(core: &EventLoop) -> Enter {
    if current().is_some() {
        panic!(
            "cannot start a sprout runtime from inside a running one: \
             a nested run would block this thread and every green task on it; \
             .await the future, or spawn it, instead"
        );
    }
    enter_for_shutdown(core)
}

/// Enters `core` even if another runtime is current (used by shutdown,
/// which may run inside a task of another runtime).
pub(crate) fn enter_for_shutdown(core: &EventLoop) -> Enter {
    Enter { _core: scoped::set(&EVENT_LOOP, core), _parts: core.enter_parts() }
}
