//! `CompactWaker`: a `Waker` in one word.
//!
//! Timer entries, wait lists and join slots each hold a waker, and with a
//! million sleeping tasks every byte counts. Almost every waker they see is
//! a sprout task waker, whose vtable is known; for those the data pointer
//! alone is enough to rebuild the `Waker`. Any other waker is boxed.
//!
//! ```text
//!  bit 0 = 0: the word is a task header pointer owning one local-kind reference
//!  bit 0 = 1: the word is a Box<Waker> pointer, with the tag bit set
//! ```

use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::task::{RawWaker, Waker};

use super::waker::LOCAL_VTABLE;

/// A `Waker` stored in one pointer-sized word (see the module docs).
pub(crate) struct CompactWaker(NonNull<()>);

const BOXED: usize = 1;

impl CompactWaker {
    /// Clones `waker` into compact form.
    #[inline]
    pub(crate) fn new(waker: &Waker) -> CompactWaker {
        let owned = waker.clone();
        if std::ptr::eq(owned.vtable(), &LOCAL_VTABLE) {
            let owned = ManuallyDrop::new(owned);
            // Task headers are at least 8-aligned, so bit 0 is free for the tag.
            let data = owned.data() as *mut ();
            debug_assert_eq!(data as usize & BOXED, 0);
            // SAFETY: a task waker's data pointer is a non-null header pointer.
            CompactWaker(unsafe { NonNull::new_unchecked(data) })
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

    /// Whether waking `self` would wake the same task as `other`.
    #[inline]
    pub(crate) fn will_wake(&self, other: &Waker) -> bool {
        let word = self.0.as_ptr();
        if word.addr() & BOXED == 0 {
            std::ptr::eq(other.vtable(), &LOCAL_VTABLE) && std::ptr::eq(other.data(), word)
        } else {
            // SAFETY: tagged words are Box<Waker> pointers we own.
            let boxed = unsafe { &*word.map_addr(|a| a & !BOXED).cast::<Waker>() };
            boxed.will_wake(other)
        }
    }

    /// The data address of the waker: an identity, as `Waker::data` gives.
    pub(crate) fn data_addr(&self) -> usize {
        let word = self.0.as_ptr();
        if word.addr() & BOXED == 0 {
            word.addr()
        } else {
            // SAFETY: tagged words are Box<Waker> pointers we own.
            let boxed = unsafe { &*word.map_addr(|a| a & !BOXED).cast::<Waker>() };
            boxed.data().addr()
        }
    }

    /// Replaces the stored waker with `waker` unless both wake the same task.
    #[inline]
    pub(crate) fn update(&mut self, waker: &Waker) {
        if !self.will_wake(waker) {
            *self = CompactWaker::new(waker);
        }
    }

    /// Moves the waker out. Call it at most once, on a `ManuallyDrop` self.
    fn take(&self) -> Waker {
        let word = self.0.as_ptr();
        if word.addr() & BOXED == 0 {
            // SAFETY: untagged words came from a LOCAL_VTABLE waker whose
            // reference we own; rebuilding it hands that reference back.
            unsafe { Waker::from_raw(RawWaker::new(word, &LOCAL_VTABLE)) }
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
