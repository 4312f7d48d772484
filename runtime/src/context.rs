//! The thread-local pointer to the runtime running on this thread.
//!
//! `block_on` sets it for its duration (and `Runtime::drop` for the
//! shutdown), so that `spawn`, `sleep` and the waker fast path find the
//! runtime without carrying a handle. It is a plain `Cell` with a `const`
//! initializer: reading it is one thread-local load, and it is usable even
//! while thread-locals are being destroyed.

use std::cell::Cell;
use std::ptr::{self, NonNull};

use crate::runtime::Core;
use crate::scoped::Reset;
use crate::task::heap::TaskHeap;
use crate::time::driver::TimeDriver;

thread_local! {
    static CORE: Cell<*const Core> = const { Cell::new(ptr::null()) };
}

/// The runtime running on this thread, if any.
///
/// The reference must not outlive the current `block_on` (or shutdown):
/// callers use it within one call and never store it.
#[inline]
pub(crate) fn current<'a>() -> Option<&'a Core> {
    let core = CORE.with(Cell::get);
    // SAFETY: the pointer is set only while the Core it points to is alive
    // (see `Enter`), and the Core is only touched from this thread.
    unsafe { core.as_ref() }
}

/// The running runtime, or a panic naming the operation that needed one.
#[inline]
#[track_caller]
pub(crate) fn expect<'a>(what: &str) -> &'a Core {
    match current() {
        Some(core) => core,
        None => panic!("{what} must be called from inside a sprout runtime (sprout::run or Runtime::block_on)"),
    }
}

/// The running runtime, if it is the one that owns `heap`'s tasks.
#[inline]
pub(crate) fn core_if_owner<'a>(heap: NonNull<TaskHeap>) -> Option<&'a Core> {
    current().filter(|core| core.heap() == heap)
}

/// Marks this thread as running `core` until the guard drops.
pub(crate) struct Enter {
    prev: *const Core,
    _time: Reset<TimeDriver>,
}

/// Enters `core` on this thread.
///
/// # Panics
/// If a runtime is already running on this thread: a green task that
/// blocked its own thread on a nested runtime would stall every other task.
#[track_caller]
pub(crate) fn enter(core: &Core) -> Enter {
    let prev = CORE.with(Cell::get);
    if !prev.is_null() {
        panic!(
            "cannot start a sprout runtime from inside a running one: \
             a nested run would block this thread and every green task on it; \
             .await the future, or spawn it, instead"
        );
    }
    CORE.with(|c| c.set(core));
    Enter { prev, _time: core.time().enter() }
}

/// Enters `core` even if another runtime is current (used by shutdown,
/// which may run inside a task of another runtime).
pub(crate) fn enter_for_shutdown(core: &Core) -> Enter {
    let prev = CORE.with(|c| c.replace(core));
    Enter { prev, _time: core.time().enter() }
}

impl Drop for Enter {
    fn drop(&mut self) {
        CORE.with(|c| c.set(self.prev));
    }
}
