//! The task header: the first, type-erased part of every task allocation.

use std::any::Any;
use std::cell::{Cell, UnsafeCell};
use std::fmt;
use std::ptr::NonNull;
use std::sync::atomic::Ordering;

// From the loom shim: `task/loom_models.rs` runs the foreign-reference
// protocol (`waker.rs`) under loom.
use crate::loom::sync::atomic::AtomicU32;
use std::task::{Context, Waker};

use super::alloc::BlockLayout;
use super::compact::CompactWaker;
use super::error::JoinError;
use super::home::TaskHome;
use super::state::State;
use super::waker_set::WakerSet;

/// A unique identifier of a task, for the life of the process.
///
/// The block_on future (the "main" task) has id 0; spawned tasks count up
/// from 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(pub(crate) u64);

impl TaskId {
    /// The id as a number.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// The functions that know the task's concrete future type.
pub(crate) struct Vtable {
    /// Polls the future. On `Ready` or a panic it drops the future in place
    /// and writes the output; returns true then.
    pub(crate) poll: unsafe fn(NonNull<Header>, &mut Context<'_>) -> bool,
    /// Drops the future in place and writes `Err(Killed)`.
    pub(crate) kill: unsafe fn(NonNull<Header>),
    /// Moves the output to `dst`, a `*mut Result<T, JoinError>`.
    pub(crate) read_output: unsafe fn(NonNull<Header>, dst: *mut ()),
    /// Drops the output in place, handing back its error, if it is one.
    pub(crate) drop_output: unsafe fn(NonNull<Header>) -> Option<JoinError>,
    /// Borrows the output as `&Result<T, JoinError>`, seen through `Any`.
    pub(crate) output: unsafe fn(NonNull<Header>) -> *const dyn Any,
    /// The layout of the whole block (header and stage): the task home
    /// takes the block back by it (`dealloc` below). A layout, not a
    /// function: freeing a block needs no code that knows its type.
    pub(crate) block: BlockLayout,
    /// Scope children only (`child.rs`; the scope layer's function for the
    /// child's output type): whether the finished child failed, leaving
    /// the output in place.
    pub(crate) failed: unsafe fn(NonNull<Header>) -> bool,
    /// Scope children only: takes the finished child's output, writing
    /// what the scope makes of it (`Option<scope::Failure>`) to `dst`.
    pub(crate) take_failure: unsafe fn(NonNull<Header>, dst: *mut ()),
}

/// A completion callback, type-erased: it receives `&Result<T, JoinError>`
/// as `&dyn Any` and downcasts it.
pub(crate) type Callback = Box<dyn FnOnce(&dyn Any)>;

/// Rarely used per-task data, allocated on first use so that the common
/// task stays one small allocation.
#[derive(Default)]
pub(crate) struct Extras {
    /// The name given by `task::Builder::name`.
    pub(crate) name: Option<Box<str>>,
    /// Completion callbacks (`on_done`, `on_ok`, `on_err`), run once with
    /// the output. They may hold `!Send` values, so they are dropped on the
    /// runtime thread at completion.
    pub(crate) callbacks: Vec<Callback>,
    /// `task_local!` values, keyed by the address of their `LocalKey`.
    pub(crate) locals: Vec<(usize, std::rc::Rc<dyn Any>)>,
    /// Wakers of pending `task::killed()` futures.
    pub(crate) kill_wakers: WakerSet,
    /// Wakers woken when the task completes (graceful-kill watchdogs, pools).
    pub(crate) done_wakers: WakerSet,
    /// Where the output goes instead of being dropped when no `JoinHandle`
    /// takes it (a collecting `pool::Group`'s `join_next`): given the task
    /// once CONSUMED is set, it moves the output out (`JoinHandle::set_sink`).
    pub(crate) sink: Option<Sink>,
    /// The task's `tracing` span (`span.rs`): entered while it is polled,
    /// dropped when it completes.
    #[cfg(feature = "tracing")]
    pub(crate) span: Option<tracing::Span>,
}

/// See [`Extras::sink`].
pub(crate) type Sink = Box<dyn FnOnce(NonNull<Header>)>;

/// The header that starts every task allocation (and the root pseudo-task).
///
/// Who may touch which field:
/// - `vtable`, `home` and `id` never change after creation; any thread
///   may read them.
/// - `foreign_refs` is atomic; any thread may change it (see `waker.rs`).
/// - everything else is owned by the runtime thread and lives in `Cell`s:
///   other threads never read or write it.
///
/// Hot fields come first. The layout is 56 bytes on 64-bit targets.
///
/// Only `join_waker` and `extras` need dropping, and [`dealloc`] drops
/// them by hand (a new field that needs it must be dropped there too).
#[repr(C)]
pub(crate) struct Header {
    pub(crate) state: State,
    /// References held on the runtime thread: the registry (while the task
    /// is alive), a run-queue entry, the JoinHandle, and local wakers.
    pub(crate) refs: Cell<u32>,
    pub(crate) vtable: &'static Vtable,
    /// The runtime's task home: where the block goes back, and the
    /// mailbox foreign paths post to. It outlives the runtime while any
    /// task allocation points at it (`home.rs`, the orphan rule).
    pub(crate) home: NonNull<TaskHome>,
    /// References held by wakers cloned on other threads, and by messages
    /// in flight on the runtime's mailbox.
    pub(crate) foreign_refs: AtomicU32,
    /// The task's slot in the runtime's registry of live tasks.
    pub(crate) slot: Cell<u32>,
    pub(crate) id: TaskId,
    /// The JoinHandle's waker, woken at completion.
    pub(crate) join_waker: Cell<Option<CompactWaker>>,
    /// Allocated on first use; see [`Extras`].
    pub(crate) extras: UnsafeCell<Option<Box<Extras>>>,
}

impl Header {
    pub(crate) fn new(state: u32, refs: u32, vtable: &'static Vtable, home: NonNull<TaskHome>, id: u64) -> Header {
        Header {
            state: State::new(state),
            refs: Cell::new(refs),
            vtable,
            home,
            foreign_refs: AtomicU32::new(0),
            slot: Cell::new(u32::MAX),
            id: TaskId(id),
            join_waker: Cell::new(None),
            extras: UnsafeCell::new(None),
        }
    }

    /// Takes one more runtime-thread reference.
    #[inline]
    pub(crate) fn ref_inc(&self) {
        let n = self.refs.get();
        if n == u32::MAX {
            // Four billion wakers on one task: a leak in the program. Aborting
            // is what `Arc` does on overflow too.
            std::process::abort();
        }
        self.refs.set(n + 1);
    }

    /// Keeps `waker` as the joiner's, woken at completion (a `JoinHandle`'s
    /// or a scope `ChildHandle`'s wait). Counted: only the task's own
    /// completion fires it (`compact.rs`).
    #[inline]
    pub(crate) fn set_joiner(&self, waker: &Waker) {
        let joiner = match self.join_waker.take() {
            Some(mut w) => {
                w.update(waker, true);
                w
            }
            None => CompactWaker::counted(waker),
        };
        self.join_waker.set(Some(joiner));
    }

    /// Whether a joiner's waker is kept (no waker is made to tell).
    #[inline]
    pub(crate) fn has_joiner(&self) -> bool {
        // SAFETY: runtime thread only (see `Header`); nothing borrows the
        // cell's content across this read, which copies no waker.
        unsafe { (*self.join_waker.as_ptr()).is_some() }
    }

    /// Runs `f` with the extras, allocating them if needed.
    ///
    /// `f` must not call user code: that code could re-enter and borrow the
    /// extras a second time.
    pub(crate) fn with_extras<R>(&self, f: impl FnOnce(&mut Extras) -> R) -> R {
        // SAFETY: the extras are only touched on the runtime thread (the
        // header is reached through !Send handles or owner-checked wakers),
        // and by the contract above no second borrow can start while `f` runs.
        let slot = unsafe { &mut *self.extras.get() };
        f(slot.get_or_insert_with(Default::default))
    }

    /// Whether the extras were ever allocated.
    #[inline]
    pub(crate) fn has_extras(&self) -> bool {
        // SAFETY: as in `with_extras`; this only reads the pointer.
        unsafe { (*self.extras.get()).is_some() }
    }

    /// Like `with_extras`, but does nothing if they were never allocated.
    pub(crate) fn with_extras_if_any<R>(&self, f: impl FnOnce(&mut Extras) -> R) -> Option<R> {
        // SAFETY: as in `with_extras`.
        let slot = unsafe { &mut *self.extras.get() };
        slot.as_deref_mut().map(f)
    }

    /// The task's name, if it was given one.
    pub(crate) fn name(&self) -> Option<&str> {
        // SAFETY: the name is written once, at spawn, before any reference to
        // it exists, and the box lives until the header is freed. Later
        // borrows of the extras never touch the name's heap buffer.
        let extras = unsafe { &*self.extras.get() };
        extras.as_ref().and_then(|e| e.name.as_deref())
    }
}

/// Frees the allocation once no reference of either kind is left.
///
/// # Safety
/// `ptr` is a live header, the call is on its runtime thread, and the
/// caller owns the runtime-thread reference it gives up.
#[inline]
pub(crate) unsafe fn ref_dec(ptr: NonNull<Header>) {
    // SAFETY: the caller's reference keeps the header alive.
    let header = unsafe { ptr.as_ref() };
    let n = header.refs.get() - 1;
    header.refs.set(n);
    if n == 0 && header.foreign_refs.load(Ordering::Acquire) == 0 {
        // SAFETY: no reference of either kind is left; see `dealloc`.
        unsafe { dealloc(ptr) }
    }
}

/// Gives up one foreign reference on the runtime thread.
///
/// # Safety
/// As `ref_dec`, for a foreign reference.
pub(crate) unsafe fn foreign_ref_dec(ptr: NonNull<Header>) {
    // SAFETY: the caller's reference keeps the header alive.
    let header = unsafe { ptr.as_ref() };
    let prev = header.foreign_refs.fetch_sub(1, Ordering::AcqRel);
    if prev == 1 && header.refs.get() == 0 {
        // SAFETY: that was the last reference of either kind.
        unsafe { dealloc(ptr) }
    }
}

/// Drops what the header owns and gives the block back to its home.
///
/// # Safety
/// No reference of either kind is left, the call is on the runtime thread,
/// and the stage holds no live value (the runtime drops the future or the
/// output before the last reference goes).
unsafe fn dealloc(ptr: NonNull<Header>) {
    // SAFETY: the header is live until the home takes the block back below.
    let header = unsafe { ptr.as_ref() };
    let (home, block) = (header.home, header.vtable.block);
    // The header's only fields with a destructor (see `Header`): both are
    // usually empty by now (completion and the handle took the joiner's
    // waker), so they are tested here and dropped out of line. The stage
    // is `ManuallyDrop` and already empty.
    if header.has_extras() || header.has_joiner() {
        drop_fields(header);
    }
    // SAFETY: every block (the root's too) came from this home with this
    // layout, and nothing uses it any more; the home is alive.
    unsafe { home.as_ref().dealloc(ptr.cast(), block) };
    // Last: this may free an orphaned home.
    // SAFETY: the home outlives its allocations; this is its thread.
    unsafe { TaskHome::note_dealloc(home) };
}

/// Drops a freed task's extras (a named task, or one with callbacks) and
/// its joiner's waker (a handle that waited, then was dropped unjoined).
#[cold]
#[inline(never)]
fn drop_fields(header: &Header) {
    // SAFETY: no reference to the task is left, so nothing borrows the extras.
    drop(unsafe { (*header.extras.get()).take() });
    drop(header.join_waker.take());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_small() {
        // The per-task memory goals depend on this; see docs/benchmarks.md.
        assert_eq!(std::mem::size_of::<Header>(), 56);
    }
}
