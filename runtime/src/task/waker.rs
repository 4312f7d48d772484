//! Task wakers: a fast path on the runtime thread, messages from elsewhere.
//!
//! A `Waker` is `Send + Sync`, so it may be cloned, woken or dropped on any
//! thread. The task's state word and its `refs` count are plain `Cell`s that
//! only the runtime thread may touch, so each waker operation first asks
//! "am I on the task's runtime thread, inside its runtime?" (one
//! thread-local load and a pointer compare):
//!
//! - yes: it works on the `Cell`s directly. No atomic instruction at all.
//! - no: it may only change `foreign_refs` (atomic) and post a message to
//!   the runtime's remote queue; the runtime thread does the rest.
//!
//! A waker owns one reference, and its vtable says which kind:
//! `LOCAL_VTABLE` owns one of `refs`, `FOREIGN_VTABLE` one of
//! `foreign_refs`. Clones made on the runtime thread are local; clones made
//! elsewhere are foreign. A foreign thread never frees a task: when its
//! reference might be the last one, it posts a `Release` message instead.
//!
//! Once the runtime has shut down, its mailbox hands every message back
//! (`settle_refused`): a foreign reference that is not the last goes back
//! to the count at once (so a thread that keeps waking a dead runtime's
//! task leaves the count where it was); the last one, or a local one, is
//! leaked with the task's block, whose future is gone already.

use std::ptr::NonNull;
use std::sync::atomic::Ordering;
use std::task::{RawWaker, RawWakerVTable, Waker};

use super::executor::Executor;
use super::header::{Header, foreign_ref_dec, ref_dec};
use super::home::TaskHome;

/// The vtable of wakers that own a runtime-thread (`refs`) reference.
pub(crate) static LOCAL_VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake_local, wake_by_ref, drop_local);

/// The vtable of wakers that own a `foreign_refs` reference.
static FOREIGN_VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake_foreign, wake_by_ref, drop_foreign);

/// A waker for `ptr` that does not own a reference: the poll borrows it.
///
/// # Safety
/// The returned waker must not be dropped (wrap it in `ManuallyDrop`), and
/// the task must outlive it. Clones are ordinary owning wakers.
#[inline]
pub(crate) unsafe fn borrowed(ptr: NonNull<Header>) -> Waker {
    // SAFETY: the vtable functions expect a header pointer; the caller
    // promises not to run `drop`, which would give up a reference it never took.
    unsafe { Waker::from_raw(RawWaker::new(ptr.as_ptr() as *const (), &LOCAL_VTABLE)) }
}

/// The task `waker` wakes, if it is a task waker (of either kind: local
/// or foreign) of a task in `home`. Only reads: the waker keeps the header
/// alive, and `home` never changes.
#[inline]
pub(crate) fn task_in(waker: &Waker, home: NonNull<TaskHome>) -> Option<NonNull<Header>> {
    if !std::ptr::eq(waker.vtable(), &LOCAL_VTABLE) && !std::ptr::eq(waker.vtable(), &FOREIGN_VTABLE) {
        return None;
    }
    let task = NonNull::new(waker.data() as *mut Header)?;
    // SAFETY: a task waker's data is a live header (the waker owns or
    // borrows a reference to it); `home` is immutable after creation.
    let task_heap = unsafe { task.as_ref().home };
    (task_heap == home).then_some(task)
}

/// The executor this header belongs to, if it is the one running on this thread.
#[inline]
fn owner(ptr: *const Header) -> Option<&'static Executor> {
    // SAFETY: `home` is immutable after creation, so reading it is fine
    // from any thread while the waker keeps the header alive.
    let home = unsafe { (*ptr).home };
    Executor::owning(home)
}

unsafe fn clone(data: *const ()) -> RawWaker {
    let ptr = data as *const Header;
    if owner(ptr).is_some() {
        // SAFETY: we are on the runtime thread, so the Cells are ours.
        unsafe { (*ptr).ref_inc() };
        RawWaker::new(data, &LOCAL_VTABLE)
    } else {
        // Relaxed is enough, as for `Arc::clone`: the waker being cloned
        // keeps the task alive, and freeing synchronizes through `Acquire`.
        // SAFETY: `foreign_refs` is atomic; the waker keeps the header alive.
        unsafe { (*ptr).foreign_refs.fetch_add(1, Ordering::Relaxed) };
        RawWaker::new(data, &FOREIGN_VTABLE)
    }
}

unsafe fn wake_by_ref(data: *const ()) {
    let ptr = data as *mut Header;
    // SAFETY: data is a live header pointer (the waker keeps it alive).
    let nn = unsafe { NonNull::new_unchecked(ptr) };
    match owner(ptr) {
        // SAFETY: on the runtime thread; `schedule` takes its own reference.
        Some(executor) => unsafe {
            if executor.schedule(nn) {
                nn.as_ref().ref_inc();
            }
        },
        None => {
            // The message needs a reference of its own: this waker may be
            // gone before the runtime reads the message.
            // SAFETY: atomic field of a live header.
            unsafe { (*ptr).foreign_refs.fetch_add(1, Ordering::Relaxed) };
            if post_wake(SentRef::new(nn, RefKind::Foreign)).is_err() {
                // The runtime has shut down. That reference is never the
                // last: this waker holds its own for the whole call, and
                // only the runtime thread frees. Give it straight back.
                // SAFETY: as above; nothing of the header is touched after.
                unsafe { (*ptr).foreign_refs.fetch_sub(1, Ordering::Release) };
            }
        }
    }
}

unsafe fn wake_local(data: *const ()) {
    // SAFETY: data is a live header pointer owned by this waker.
    let nn = unsafe { NonNull::new_unchecked(data as *mut Header) };
    match owner(nn.as_ptr()) {
        // SAFETY: on the runtime thread. If the queue took the task, the
        // waker's reference becomes the queue's; otherwise we give it up.
        Some(executor) => unsafe {
            if !executor.schedule(nn) {
                ref_dec(nn);
            }
        },
        None => post_wake(SentRef::new(nn, RefKind::Local)).unwrap_or_else(settle_refused),
    }
}

unsafe fn wake_foreign(data: *const ()) {
    // SAFETY: data is a live header pointer owned by this waker.
    let nn = unsafe { NonNull::new_unchecked(data as *mut Header) };
    match owner(nn.as_ptr()) {
        // SAFETY: on the runtime thread; the queue takes a local reference,
        // and the foreign one this waker owned is given up.
        Some(executor) => unsafe {
            if executor.schedule(nn) {
                nn.as_ref().ref_inc();
            }
            foreign_ref_dec(nn);
        },
        None => post_wake(SentRef::new(nn, RefKind::Foreign)).unwrap_or_else(settle_refused),
    }
}

unsafe fn drop_local(data: *const ()) {
    // SAFETY: data is a live header pointer owned by this waker.
    let nn = unsafe { NonNull::new_unchecked(data as *mut Header) };
    match owner(nn.as_ptr()) {
        // SAFETY: on the runtime thread, giving up the waker's own reference.
        Some(_) => unsafe { ref_dec(nn) },
        None => post_release(SentRef::new(nn, RefKind::Local)).unwrap_or_else(settle_refused),
    }
}

unsafe fn drop_foreign(data: *const ()) {
    // SAFETY: data is a live header pointer owned by this waker.
    let nn = unsafe { NonNull::new_unchecked(data as *mut Header) };
    if owner(nn.as_ptr()).is_some() {
        // SAFETY: on the runtime thread, giving up the waker's own reference.
        unsafe { foreign_ref_dec(nn) };
        return;
    }
    // Off the runtime thread: decrement directly unless this might be the
    // last foreign reference; only the runtime thread may free the task.
    // SAFETY: our reference keeps the header alive.
    if unsafe { foreign_dec_unless_last(nn) } {
        return;
    }
    post_release(SentRef::new(nn, RefKind::Foreign)).unwrap_or_else(settle_refused);
}

/// Gives up one foreign reference off the runtime thread, unless it may be
/// the last one; returns whether it did.
///
/// # Safety
/// The caller owns a foreign reference to the live task at `task`; after a
/// `true` it no longer does, and must not touch the header.
unsafe fn foreign_dec_unless_last(task: NonNull<Header>) -> bool {
    // SAFETY: atomic field of a live header (the caller's reference keeps it alive).
    let foreign = unsafe { &(*task.as_ptr()).foreign_refs };
    let mut n = foreign.load(Ordering::Relaxed);
    while n > 1 {
        match foreign.compare_exchange_weak(n, n - 1, Ordering::Release, Ordering::Relaxed) {
            Ok(_) => return true,
            Err(actual) => n = actual,
        }
    }
    false
}

/// Settles a reference that the task's runtime handed back because it has
/// shut down, off that runtime's thread: only the runtime thread frees a
/// task, and it is gone. A foreign reference that is not the last goes
/// back to the count; the last one, or a local one (its count is the
/// runtime thread's), is leaked, and with it the task's block, whose
/// future the shutdown already dropped.
fn settle_refused(sent: SentRef) {
    if sent.kind == RefKind::Foreign {
        // SAFETY: the SentRef owns a foreign reference to a live task.
        let _gave_back = unsafe { foreign_dec_unless_last(sent.task) };
    }
}

/// The mailbox of the task's runtime.
///
/// # Safety
/// The caller owns a reference to the task (which keeps the home, and so
/// the mailbox, alive), and gives it to the message it posts.
unsafe fn mailbox<'a>(task: NonNull<Header>) -> &'a dyn super::home::Mailbox {
    // SAFETY: `home` is immutable, and the home lives while any task
    // allocation points at it (see `home.rs`, the orphan rule).
    unsafe { TaskHome::mailbox_of((*task.as_ptr()).home) }
}

/// Posts a wake to the task's runtime; hands the reference back if that
/// runtime has shut down (the caller settles it).
fn post_wake(sent: SentRef) -> Result<(), SentRef> {
    // SAFETY: the message carries the caller's reference.
    unsafe { mailbox(sent.task) }.post_wake(sent)
}

/// Posts a release to the task's runtime; handed back as `post_wake`'s.
fn post_release(sent: SentRef) -> Result<(), SentRef> {
    // SAFETY: as in `post_wake`.
    unsafe { mailbox(sent.task) }.post_release(sent)
}

/// Which counter a reference belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RefKind {
    /// One of `Header::refs`.
    Local,
    /// One of `Header::foreign_refs`.
    Foreign,
}

/// A reference to a task, sent to its runtime thread in a message: the
/// pointer and the kind of the one reference it carries. Only the runtime
/// thread acts on it ([`release`](Self::release), or scheduling the task).
pub(crate) struct SentRef {
    task: NonNull<Header>,
    kind: RefKind,
}

// SAFETY: a SentRef owns the reference it carries, and only the runtime
// thread dereferences it beyond the immutable and atomic header fields.
unsafe impl Send for SentRef {}

impl SentRef {
    /// Wraps a reference of `kind` that the caller hands over.
    pub(crate) fn new(task: NonNull<Header>, kind: RefKind) -> SentRef {
        SentRef { task, kind }
    }

    /// The task.
    #[inline]
    pub(crate) fn task(&self) -> NonNull<Header> {
        self.task
    }

    /// The kind of the reference carried.
    #[inline]
    pub(crate) fn kind(&self) -> RefKind {
        self.kind
    }

    /// Gives up the carried reference.
    ///
    /// # Safety
    /// On the task's runtime thread.
    pub(crate) unsafe fn release(self) {
        // SAFETY: the SentRef owns a reference of its kind; forwarded.
        unsafe {
            match self.kind {
                RefKind::Local => ref_dec(self.task),
                RefKind::Foreign => foreign_ref_dec(self.task),
            }
        }
    }
}
