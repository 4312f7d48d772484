//! Scoped thread-local pointers: how code running inside a runtime finds
//! the part of it that it needs, without carrying a handle.
//!
//! Each part that such code reaches declares its own slot: the task
//! executor (`task/executor.rs`), the time driver (`time/driver.rs`), the
//! reactor (`reactor/mod.rs`), and the loop itself for the layers above it
//! (`context.rs`). `block_on` (and the shutdown) sets every slot for its
//! duration with [`set`], and the returned guard puts the previous pointer
//! back. A slot is a plain `Cell` with a `const` initializer: reading one is
//! one thread-local load, and it is usable even while thread-locals are
//! being destroyed.
//!
//! This module is the bottom of the runtime: it names no other part.

use std::cell::Cell;
use std::thread::LocalKey;

/// A thread-local slot holding a pointer to a `T`, or null.
pub(crate) type Slot<T> = LocalKey<Cell<*const T>>;

/// The value the slot points to, if it is set on this thread.
///
/// The reference must not outlive the scope that set the slot (the current
/// `block_on` or shutdown): callers use it within one call and never store it.
#[inline(always)]
pub(crate) fn get<'a, T>(slot: &'static Slot<T>) -> Option<&'a T> {
    let ptr = slot.with(Cell::get);
    // SAFETY: a slot is set only by `set`, whose guard resets it before the
    // value it points to can go away (the parts live as long as the loop's
    // `EventLoop`, which outlives every `block_on` and the shutdown); the value
    // is only ever touched from this thread.
    unsafe { ptr.as_ref() }
}

/// Points `slot` at `value` until the guard drops.
///
/// The caller keeps `value` alive, and in place, until then.
pub(crate) fn set<T>(slot: &'static Slot<T>, value: &T) -> Reset<T> {
    let prev = slot.with(|cell| cell.replace(value));
    Reset { slot, prev }
}

/// Puts a slot's previous pointer back on drop.
#[must_use = "the slot is reset when the guard drops"]
pub(crate) struct Reset<T: 'static> {
    slot: &'static Slot<T>,
    prev: *const T,
}

impl<T> Drop for Reset<T> {
    fn drop(&mut self) {
        self.slot.with(|cell| cell.set(self.prev));
    }
}
