//! `TaskHome`: where one runtime's task blocks live, and what keeps them
//! valid after the runtime is gone.
//!
//! Every task header points here (`Header::home`). The home holds:
//!
//! - the block allocator (`alloc.rs`);
//! - the count of live task allocations (the root pseudo-task included);
//! - the runtime's [`Mailbox`], through which a task's foreign paths (a
//!   waker woken or dropped on another thread, a kill from outside the
//!   runtime) reach the runtime thread.
//!
//! The pointer also identifies the runtime: a waker is on its task's
//! runtime thread, inside its runtime, exactly when the running executor's
//! home is the task's (`task/waker.rs`).
//!
//! # The orphan rule
//!
//! A task block may outlive its runtime (a `JoinHandle` or a waker kept
//! after the runtime is dropped), and it still points here: to free its
//! block, to count it, and to find the mailbox. So when the runtime drops,
//! [`TaskHome::release`] frees the home only if no block is left;
//! otherwise it marks the home *orphaned*, and the last block's
//! [`TaskHome::note_dealloc`] frees it. Blocks are allocated and freed
//! only on the runtime's thread (tasks are freed only there, see
//! `waker.rs`), so the counts are plain `Cell`s and the home is freed on
//! that thread too. The loom models in `task/loom_models.rs` run this
//! under every interleaving of foreign wakers; Miri runs it in the tests.

use std::cell::Cell;
use std::ptr::NonNull;
use std::sync::Arc;

use super::alloc::{BlockLayout, Blocks};
use super::waker::SentRef;

/// How a task's foreign paths reach its runtime thread: the runtime's
/// cross-thread mailbox (`remote/mailbox.rs`), seen from the task layer.
///
/// Each call happens off the runtime thread (or outside its runtime) while
/// the caller holds what keeps the mailbox alive; the implementation must
/// touch nothing after handing the message over (see "Foreign-thread paths
/// touch only what they keep alive" in docs/architecture.md).
pub(crate) trait Mailbox: Send + Sync {
    /// Asks the runtime thread to schedule the task, then give up `task`'s
    /// reference. Hands the reference back once the runtime has read its
    /// last messages (it has shut down): the caller settles it
    /// (`waker.rs`, `settle_refused`).
    fn post_wake(&self, task: SentRef) -> Result<(), SentRef>;
    /// Asks the runtime thread to give up `task`'s reference; handed back
    /// as `post_wake`'s.
    fn post_release(&self, task: SentRef) -> Result<(), SentRef>;
    /// Asks the runtime thread to run `f`; hands it back if the runtime is
    /// shutting down or gone.
    fn post_run(&self, f: Box<dyn FnOnce() + Send>) -> Result<(), Box<dyn FnOnce() + Send>>;
}

/// One runtime's task home. See the module docs.
pub(crate) struct TaskHome {
    blocks: Blocks,
    /// Task allocations (and the root header) that point here.
    live: Cell<usize>,
    /// The runtime was dropped while allocations remained: the last
    /// `note_dealloc` frees the home.
    orphaned: Cell<bool>,
    mailbox: Arc<dyn Mailbox>,
}

// SAFETY: other threads reach a home only through the headers of tasks
// they hold a reference to, and only read `mailbox`, which never changes.
// Everything else (the blocks, the counts) is touched on the runtime
// thread alone, and the home is freed there.
unsafe impl Sync for TaskHome {}
// SAFETY: as above.
unsafe impl Send for TaskHome {}

impl TaskHome {
    /// A new, empty home whose tasks post to `mailbox`. The runtime owns
    /// it until [`release`](Self::release).
    pub(crate) fn new(mailbox: Arc<dyn Mailbox>) -> NonNull<TaskHome> {
        let home =
            Box::new(TaskHome { blocks: Blocks::new(), live: Cell::new(0), orphaned: Cell::new(false), mailbox });
        NonNull::from(Box::leak(home))
    }

    /// The mailbox of the home at `home`, from any thread.
    ///
    /// # Safety
    /// `home` is live for `'a` (the caller holds a reference to a task of it).
    #[inline]
    pub(crate) unsafe fn mailbox_of<'a>(home: NonNull<TaskHome>) -> &'a dyn Mailbox {
        // SAFETY: by the caller's promise; `mailbox` never changes.
        unsafe { &*(*home.as_ptr()).mailbox }
    }

    /// Allocates a task block for `block`, and counts it.
    ///
    /// # Safety
    /// Called on the runtime thread that owns the home.
    #[inline]
    pub(crate) unsafe fn alloc(&self, block: BlockLayout) -> NonNull<u8> {
        self.note_alloc();
        // SAFETY: forwarded from the caller.
        unsafe { self.blocks.alloc(block) }
    }

    /// Returns a block to the home. The count drops in
    /// [`note_dealloc`](Self::note_dealloc), once the block is gone.
    ///
    /// # Safety
    /// As `Blocks::dealloc`.
    #[inline]
    pub(crate) unsafe fn dealloc(&self, ptr: NonNull<u8>, block: BlockLayout) {
        // SAFETY: forwarded from the caller.
        unsafe { self.blocks.dealloc(ptr, block) }
    }

    /// Counts an allocation made elsewhere that points here (the root
    /// header). Runtime thread only.
    #[inline]
    pub(crate) fn note_alloc(&self) {
        self.live.set(self.live.get() + 1);
    }

    /// Counts a freed allocation, and frees an orphaned home with its last
    /// block.
    ///
    /// # Safety
    /// `home` is live (it is while any allocation points at it), this is
    /// its runtime's thread, and the allocation is already freed.
    #[inline]
    pub(crate) unsafe fn note_dealloc(home: NonNull<TaskHome>) {
        // SAFETY: by the caller's promise.
        let this = unsafe { home.as_ref() };
        let n = this.live.get() - 1;
        this.live.set(n);
        if n == 0 && this.orphaned.get() {
            // SAFETY: the runtime gave the home up (`release`) and this was
            // the last allocation: nothing points here any more.
            unsafe { free_orphan(home) };
        }
    }

    /// Called when the runtime is dropped: frees the home if no
    /// allocation is left, else leaves it to the last one (see the module
    /// docs). Returns the number left.
    ///
    /// # Safety
    /// `home` came from [`new`](Self::new), this is its runtime's thread,
    /// and the runtime never touches it again.
    pub(crate) unsafe fn release(home: NonNull<TaskHome>) -> usize {
        // SAFETY: by the caller's promise.
        let this = unsafe { home.as_ref() };
        let left = this.live.get();
        if left == 0 {
            // SAFETY: nothing points here, and the runtime lets go.
            drop(unsafe { Box::from_raw(home.as_ptr()) });
        } else {
            this.orphaned.set(true);
        }
        left
    }
}

/// Frees an orphaned home with its last block (see the module docs): out
/// of line, as it happens at most once per runtime.
///
/// # Safety
/// The runtime released the home and no allocation points at it any more.
#[cold]
#[inline(never)]
unsafe fn free_orphan(home: NonNull<TaskHome>) {
    // SAFETY: by the caller's promise; the home came from `Box::leak` in `new`.
    drop(unsafe { Box::from_raw(home.as_ptr()) });
}

#[cfg(test)]
mod tests {
    use super::*;

    struct NoMailbox;
    impl Mailbox for NoMailbox {
        fn post_wake(&self, task: SentRef) -> Result<(), SentRef> {
            Err(task)
        }
        fn post_release(&self, task: SentRef) -> Result<(), SentRef> {
            Err(task)
        }
        fn post_run(&self, f: Box<dyn FnOnce() + Send>) -> Result<(), Box<dyn FnOnce() + Send>> {
            Err(f)
        }
    }

    /// The orphan rule: released with a block left, the home lives until
    /// that block's `note_dealloc`, which frees it (Miri checks the frees).
    #[test]
    fn an_orphaned_home_goes_with_its_last_block() {
        let mailbox = Arc::new(NoMailbox);
        let home = TaskHome::new(mailbox.clone());
        let layout = BlockLayout::new(std::alloc::Layout::from_size_align(64, 8).unwrap());
        // SAFETY: single-threaded test: this thread owns the home.
        unsafe {
            let a = home.as_ref().alloc(layout);
            let b = home.as_ref().alloc(layout);
            home.as_ref().dealloc(a, layout);
            TaskHome::note_dealloc(home);
            assert_eq!(TaskHome::release(home), 1);
            assert_eq!(Arc::strong_count(&mailbox), 2, "freed while a block was live");
            home.as_ref().dealloc(b, layout);
            TaskHome::note_dealloc(home);
        }
        assert_eq!(Arc::strong_count(&mailbox), 1, "the orphaned home was not freed");
        // SAFETY: as above; an empty home is freed at once.
        assert_eq!(unsafe { TaskHome::release(TaskHome::new(mailbox.clone())) }, 0);
        assert_eq!(Arc::strong_count(&mailbox), 1);
    }
}
