//! The registry of live tasks, so that shutdown can drop every future.
//!
//! A task that waits on nothing reachable (a lost waker, an event nobody
//! sets) would otherwise never be dropped. The registry is a slab of header
//! pointers, one word per slot; a vacant slot holds the next free index,
//! tagged in bit 0 (headers are 8-aligned, so real pointers have it clear).

use std::ptr::NonNull;

use super::header::Header;

const VACANT: usize = 1;
const NONE: usize = usize::MAX >> 1;

pub(crate) struct Registry {
    /// Header pointers, or tagged free-list links (pointers without
    /// provenance, so that real pointers keep theirs for Miri).
    slots: Vec<*mut Header>,
    free: usize,
    live: usize,
}

impl Registry {
    pub(crate) fn new() -> Registry {
        Registry { slots: Vec::new(), free: NONE, live: 0 }
    }

    /// Adds a task and returns its slot.
    #[inline]
    pub(crate) fn insert(&mut self, task: NonNull<Header>) -> u32 {
        let word = task.as_ptr();
        debug_assert_eq!(word.addr() & VACANT, 0);
        self.live += 1;
        if self.free != NONE {
            let slot = self.free;
            self.free = self.slots[slot].addr() >> 1;
            self.slots[slot] = word;
            slot as u32
        } else {
            self.slots.push(word);
            (self.slots.len() - 1) as u32
        }
    }

    /// Removes the task in `slot`.
    #[inline]
    pub(crate) fn remove(&mut self, slot: u32) {
        let slot = slot as usize;
        debug_assert_eq!(self.slots[slot].addr() & VACANT, 0, "registry slot freed twice");
        self.slots[slot] = std::ptr::without_provenance_mut((self.free << 1) | VACANT);
        self.free = slot;
        self.live -= 1;
    }

    /// The number of live tasks.
    pub(crate) fn len(&self) -> usize {
        self.live
    }

    /// Whether `f` holds for every live task (stops at the first that fails).
    pub(crate) fn all(&self, mut f: impl FnMut(NonNull<Header>) -> bool) -> bool {
        self.slots
            .iter()
            .filter(|w| w.addr() & VACANT == 0)
            // SAFETY: occupied slots hold non-null header pointers.
            .all(|&w| f(unsafe { NonNull::new_unchecked(w) }))
    }

    /// The live tasks, in slot order.
    pub(crate) fn snapshot(&self) -> Vec<NonNull<Header>> {
        self.slots
            .iter()
            .filter(|w| w.addr() & VACANT == 0)
            // SAFETY: occupied slots hold non-null header pointers.
            .map(|&w| unsafe { NonNull::new_unchecked(w) })
            .collect()
    }
}
