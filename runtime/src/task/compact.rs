//! `CompactWaker`: a `Waker` in one word.
//!
//! Timer entries, wait lists and join slots each hold a waker, and with a
//! million sleeping tasks every byte counts. Almost every waker they see is
//! a sprout task waker, whose vtable is known; for those the data pointer
//! alone is enough to rebuild the `Waker`. Any other waker is boxed.
//!
//! ```text
//!  bits 1-0 = 00: a task header pointer owning one local-kind reference,
//!                 counted in the task's HELD count
//!  bits 1-0 = 10: the same, not counted (a `shared` waker)
//!  bits 1-0 = 01: a Box<Waker> pointer, with the tag bit set
//! ```
//!
//! The HELD count (`state.rs`) is how the deadlock check knows where each
//! reference to a waiting task is (`observe.rs`, "provably stuck"): a
//! counted waker sits in a structure of this runtime that only its own
//! tasks can fire (a timer, a socket's waiters and a local primitive's wait
//! list are counted; the loop checks timers and sockets itself). A waker in
//! a thread-safe primitive's list may be fired from another thread, and
//! taken there, where the task's `Cell`s must not be touched: those are
//! made with `CompactWaker::make(waker, true)` and never counted.

use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::task::{RawWaker, Waker};

use super::header::Header;
use super::waker::LOCAL_VTABLE;

/// A `Waker` stored in one pointer-sized word (see the module docs).
pub(crate) struct CompactWaker(NonNull<()>);

const BOXED: usize = 1;
const SHARED: usize = 2;
const TAGS: usize = BOXED | SHARED;

impl CompactWaker {
    /// Clones `waker` into compact form, counted in its task's HELD count
    /// (for structures only this runtime's tasks can fire).
    #[inline]
    pub(crate) fn new(waker: &Waker) -> CompactWaker {
        CompactWaker::make(waker, false)
    }

    /// [`new`](Self::new), or (`shared`) not counted: for thread-safe
    /// structures, whose wakers other threads may fire and drop.
    #[inline]
    pub(crate) fn make(waker: &Waker, shared: bool) -> CompactWaker {
        let owned = waker.clone();
        if std::ptr::eq(owned.vtable(), &LOCAL_VTABLE) {
            let owned = ManuallyDrop::new(owned);
            // Task headers are at least 8-aligned, so bits 0 and 1 are free for the tags.
            let data = owned.data() as *mut ();
            debug_assert_eq!(data as usize & TAGS, 0);
            let word = if shared {
                data.map_addr(|a| a | SHARED)
            } else {
                // SAFETY: a local-kind clone is made only on the task's
                // runtime thread (`waker.rs`, `clone`), which owns the state
                // word; the reference just taken keeps the header alive.
                unsafe { (*data.cast::<Header>()).state.note_held() };
                data
            };
            // SAFETY: a task waker's data pointer is a non-null header pointer.
            CompactWaker(unsafe { NonNull::new_unchecked(word) })
        } else {
            let boxed = Box::into_raw(Box::new(owned));
            let tagged = boxed.map_addr(|a| a | BOXED).cast::<()>();
            // SAFETY: a Box pointer is non-null, and setting bit 0 keeps it so.
            CompactWaker(unsafe { NonNull::new_unchecked(tagged) })
        }
    }

    /// Rebuilds the `Waker`, giving up the compact form.
    #[inline]
    pub(crate) fn into_waker(self) -> Waker {
        let this = ManuallyDrop::new(self);
        this.take()
    }

    /// Wakes the task, consuming the waker.
    #[inline]
    pub(crate) fn wake(self) {
        self.into_waker().wake();
    }

    /// The boxed waker, if this is one.
    #[inline]
    fn boxed(&self) -> Option<&Waker> {
        let word = self.0.as_ptr();
        // SAFETY: tagged words are Box<Waker> pointers we own.
        (word.addr() & BOXED != 0).then(|| unsafe { &*word.map_addr(|a| a & !BOXED).cast::<Waker>() })
    }

    /// Whether waking `self` would wake the same task as `other`.
    #[inline]
    pub(crate) fn will_wake(&self, other: &Waker) -> bool {
        match self.boxed() {
            None => {
                let task = self.0.as_ptr().map_addr(|a| a & !SHARED);
                std::ptr::eq(other.vtable(), &LOCAL_VTABLE) && std::ptr::eq(other.data(), task)
            }
            Some(boxed) => boxed.will_wake(other),
        }
    }

    /// The data address of the waker: an identity, as `Waker::data` gives.
    pub(crate) fn data_addr(&self) -> usize {
        match self.boxed() {
            None => self.0.as_ptr().addr() & !SHARED,
            Some(boxed) => boxed.data().addr(),
        }
    }

    /// Replaces the stored waker with `waker` unless both wake the same
    /// task. The new one is counted ([`new`](Self::new)).
    #[inline]
    pub(crate) fn update(&mut self, waker: &Waker) {
        self.update_in(waker, false);
    }

    /// [`update`](Self::update), the new waker made as [`make`](Self::make)
    /// makes it: `shared` for a thread-safe structure.
    #[inline]
    pub(crate) fn update_in(&mut self, waker: &Waker, shared: bool) {
        if !self.will_wake(waker) {
            *self = CompactWaker::make(waker, shared);
        }
    }

    /// Moves the waker out. Call it at most once, on a `ManuallyDrop` self.
    #[inline]
    fn take(&self) -> Waker {
        let word = self.0.as_ptr();
        if word.addr() & TAGS == 0 {
            // SAFETY: untagged words are counted task wakers: they live in
            // structures of the task's runtime thread, which owns the state
            // word, and our reference keeps the header alive.
            unsafe { (*word.cast::<Header>()).state.note_released() };
            // SAFETY: untagged words came from a LOCAL_VTABLE waker whose
            // reference we own; rebuilding it hands that reference back.
            unsafe { Waker::from_raw(RawWaker::new(word, &LOCAL_VTABLE)) }
        } else if word.addr() & BOXED == 0 {
            // SAFETY: as above, for a shared (uncounted) task waker.
            unsafe { Waker::from_raw(RawWaker::new(word.map_addr(|a| a & !SHARED), &LOCAL_VTABLE)) }
        } else {
            // SAFETY: tagged words are Box<Waker> pointers we own.
            *unsafe { Box::from_raw(word.map_addr(|a| a & !BOXED).cast::<Waker>()) }
        }
    }
}

impl Drop for CompactWaker {
    fn drop(&mut self) {
        drop(self.take());
    }
}

// SAFETY: a CompactWaker is a Waker in another shape, and Waker is Send + Sync.
unsafe impl Send for CompactWaker {}
// SAFETY: as above; `&CompactWaker` only offers `will_wake`.
unsafe impl Sync for CompactWaker {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn foreign_wakers_are_boxed_and_work() {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let mut compact = CompactWaker::new(&waker);
        assert_eq!(Arc::strong_count(&count), 3);
        // Same waker or a fresh clone (`will_wake` is best effort): one ref either way.
        compact.update(&waker);
        assert_eq!(Arc::strong_count(&count), 3);
        compact.wake();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert_eq!(Arc::strong_count(&count), 2);
        drop(CompactWaker::new(&waker));
        assert_eq!(Arc::strong_count(&count), 2);
    }

    #[test]
    fn one_word() {
        assert_eq!(std::mem::size_of::<Option<CompactWaker>>(), 8);
    }
}
