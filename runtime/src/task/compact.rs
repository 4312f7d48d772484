//! `CompactWaker`: a `Waker` in one word.
//!
//! Timer entries, wait lists and join slots each hold a waker, and with a
//! million sleeping tasks every byte counts. Almost every waker they see is
//! a sprout task waker, whose vtable is known; for those the data pointer
//! alone is enough to rebuild the `Waker`. Any other waker is boxed.
//!
//! ```text
//!  bits 1-0 = 00: a task header pointer owning one local-kind reference
//!  bits 1-0 = 10: the same, counted in the task's HELD count
//!  bits 1-0 = 01: a Box<Waker> pointer, with the tag bit set
//! ```
//!
//! The HELD count (`state.rs`) is how the deadlock check knows where each
//! reference to a waiting task is (`observe.rs`, "provably stuck"). A
//! *counted* waker ([`CompactWaker::counted`]) sits in a structure of this
//! runtime that only its own tasks can fire: a runtime-local primitive's
//! wait list, a task's join slot. Timers and sockets are fired by the
//! clock and the kernel, and a thread-safe primitive's list by any
//! thread, so their wakers ([`CompactWaker::new`]) are not counted; a
//! thread-safe list's may also be taken on another thread, where the
//! task's `Cell`s must not be touched. Timers and sockets keep the plain
//! path they had before the count existed.

use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::task::{RawWaker, Waker};

use super::header::Header;
use super::waker::LOCAL_VTABLE;

/// A `Waker` stored in one pointer-sized word (see the module docs).
pub(crate) struct CompactWaker(NonNull<()>);

const BOXED: usize = 1;
const COUNTED: usize = 2;
const TAGS: usize = BOXED | COUNTED;

impl CompactWaker {
    /// Clones `waker` into compact form.
    #[inline]
    pub(crate) fn new(waker: &Waker) -> CompactWaker {
        CompactWaker::make(waker, false)
    }

    /// Clones `waker` into compact form, counted in its task's HELD count:
    /// for structures only this runtime's tasks can fire (see the module docs).
    /// Taking or dropping it touches the task's `Cell`s with no thread
    /// check, so the structure holding it must be `!Send` (the runtime-local
    /// primitives and queues carry a marker for that; `JoinHandle` is `!Send`).
    #[inline]
    pub(crate) fn counted(waker: &Waker) -> CompactWaker {
        CompactWaker::make(waker, true)
    }

    /// [`counted`](Self::counted) if `counted`, else [`new`](Self::new).
    #[inline]
    pub(crate) fn make(waker: &Waker, counted: bool) -> CompactWaker {
        let owned = waker.clone();
        if std::ptr::eq(owned.vtable(), &LOCAL_VTABLE) {
            let owned = ManuallyDrop::new(owned);
            // Task headers are at least 8-aligned, so bits 0 and 1 are free for the tags.
            let data = owned.data() as *mut ();
            debug_assert_eq!(data as usize & TAGS, 0);
            let word = if counted {
                // SAFETY: a local-kind clone is made only on the task's
                // runtime thread (`waker.rs`, `clone`), which owns the state
                // word; the reference just taken keeps the header alive.
                unsafe { (*data.cast::<Header>()).state.note_held() };
                data.map_addr(|a| a | COUNTED)
            } else {
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

    /// The compact form of a local-kind waker of `task`, from the
    /// reference the caller took for it (no `Waker` is made).
    ///
    /// # Safety
    /// The caller owns a runtime-thread reference to the live task `task`
    /// and hands it over.
    #[inline]
    pub(crate) unsafe fn from_task(task: NonNull<Header>) -> CompactWaker {
        debug_assert_eq!(task.as_ptr().addr() & TAGS, 0);
        CompactWaker(task.cast())
    }

    /// The task this waker wakes, with the reference it owned, if it is an
    /// uncounted task waker (made by [`new`](Self::new) or
    /// [`from_task`](Self::from_task)); otherwise the `Waker`. For a waker
    /// that can only be a task of the running executor's, which then
    /// schedules the task itself instead of going through the `Waker`.
    #[inline]
    pub(crate) fn into_task(self) -> Result<NonNull<Header>, Waker> {
        let word = self.0;
        if word.as_ptr().addr() & TAGS == 0 {
            std::mem::forget(self);
            Ok(word.cast())
        } else {
            Err(self.into_waker())
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
                let task = self.0.as_ptr().map_addr(|a| a & !COUNTED);
                std::ptr::eq(other.vtable(), &LOCAL_VTABLE) && std::ptr::eq(other.data(), task)
            }
            Some(boxed) => boxed.will_wake(other),
        }
    }

    /// The data address of the waker: an identity, as `Waker::data` gives.
    pub(crate) fn data_addr(&self) -> usize {
        match self.boxed() {
            None => self.0.as_ptr().addr() & !COUNTED,
            Some(boxed) => boxed.data().addr(),
        }
    }

    /// Replaces the stored waker with `waker` unless both wake the same
    /// task, made as [`make`](Self::make) makes it.
    #[inline]
    pub(crate) fn update(&mut self, waker: &Waker, counted: bool) {
        if !self.will_wake(waker) {
            *self = CompactWaker::make(waker, counted);
        }
    }

    /// The task this waker wakes, if it is a task waker (for the dump's
    /// look at timers and sockets). An identity: never dereferenced by the caller.
    pub(crate) fn task_addr(&self) -> Option<usize> {
        let word = self.0.as_ptr().addr();
        (word & BOXED == 0).then_some(word & !COUNTED)
    }

    /// Moves the waker out. Call it at most once, on a `ManuallyDrop` self.
    #[inline]
    fn take(&self) -> Waker {
        let word = self.0.as_ptr();
        if word.addr() & TAGS == 0 {
            // SAFETY: untagged words came from a LOCAL_VTABLE waker whose
            // reference we own; rebuilding it hands that reference back.
            unsafe { Waker::from_raw(RawWaker::new(word, &LOCAL_VTABLE)) }
        } else if word.addr() & BOXED == 0 {
            let task = word.map_addr(|a| a & !COUNTED);
            // SAFETY: counted words live only in structures of the task's
            // runtime thread, which owns the state word; our reference
            // keeps the header alive.
            unsafe { (*task.cast::<Header>()).state.note_released() };
            // SAFETY: as for untagged words.
            unsafe { Waker::from_raw(RawWaker::new(task, &LOCAL_VTABLE)) }
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
    use crate::counting_waker::counting_waker;
    use std::sync::Arc;

    #[test]
    fn foreign_wakers_are_boxed_and_work() {
        let (count, waker) = counting_waker();
        let mut compact = CompactWaker::new(&waker);
        assert_eq!(Arc::strong_count(&count), 3);
        // Same waker or a fresh clone (`will_wake` is best effort): one ref either way.
        compact.update(&waker, false);
        assert_eq!(Arc::strong_count(&count), 3);
        compact.wake();
        assert_eq!(count.get(), 1);
        assert_eq!(Arc::strong_count(&count), 2);
        drop(CompactWaker::new(&waker));
        assert_eq!(Arc::strong_count(&count), 2);
    }

    #[test]
    fn one_word() {
        assert_eq!(std::mem::size_of::<Option<CompactWaker>>(), 8);
    }
}
