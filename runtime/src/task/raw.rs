//! The task allocation: header, then the future and its output sharing space.
//!
//! ```text
//!  Task<F>  (one heap block, #[repr(C)])
//!  +-------------------+------------------------------------------------+
//!  | Header (56 bytes) | Stage<F>: union { future F | output Result<T, JoinError> } |
//!  +-------------------+------------------------------------------------+
//! ```
//!
//! Which union field is live follows the state word: the future until
//! COMPLETE, then the output until CONSUMED, then nothing. Only the
//! functions in this file (and, for scope children, `child.rs`, whose
//! blocks end with the same stage) know `F`; everything else goes through
//! the header's vtable.

use std::any::Any;
use std::cell::UnsafeCell;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll};

use super::alloc::BlockLayout;
use super::error::JoinError;
use super::header::{Header, Vtable};
use super::home::TaskHome;

#[repr(C)]
struct Task<F: Future> {
    header: Header,
    stage: UnsafeCell<Stage<F>>,
}

/// The future, then its output, in one place: a task's (here) and a scope
/// child's (`child.rs`) block both end with one. The `*_stage` functions
/// below are the only code that touches it.
pub(super) union Stage<F: Future> {
    future: ManuallyDrop<F>,
    output: ManuallyDrop<Result<F::Output, JoinError>>,
}

impl<F: Future> Stage<F> {
    /// A stage holding `future`.
    #[inline(always)]
    pub(super) fn new(future: F) -> Stage<F> {
        Stage { future: ManuallyDrop::new(future) }
    }
}

/// Allocates a task for `future` and returns its header.
pub(crate) fn allocate<F>(future: F, state: u32, refs: u32, home: NonNull<TaskHome>, id: u64) -> NonNull<Header>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let vtable: &'static Vtable = const {
        &Vtable {
            poll: poll::<F>,
            kill: kill::<F>,
            read_output: read_output::<F>,
            drop_output: drop_output::<F>,
            output: output::<F>,
            block: BlockLayout::of::<Task<F>>(),
            failed: not_a_child,
            take_failure: not_a_child_take,
        }
    };
    // SAFETY: `spawn` runs on the runtime thread, which owns the home; the
    // home is alive (the runtime holds it).
    let block = unsafe { home.as_ref().alloc(vtable.block) };
    let slot = block.cast::<Task<F>>().as_ptr();
    // Written in place: a future can be large, and building a whole `Task`
    // first would copy it through the stack.
    // SAFETY: `slot` is a fresh block with the size and alignment of a
    // `Task<F>`; each field is written exactly once.
    unsafe {
        std::ptr::addr_of_mut!((*slot).header).write(Header::new(state, refs, vtable, home, id));
        std::ptr::addr_of_mut!((*slot).stage).write(UnsafeCell::new(Stage::new(future)));
    }
    // The header is the first field of a #[repr(C)] struct, so the pointers
    // are interchangeable.
    block.cast()
}

/// The stage of the task behind `ptr`.
///
/// # Safety
/// `ptr` came from `allocate::<F>` and is live.
unsafe fn stage<F: Future>(ptr: NonNull<Header>) -> *mut Stage<F> {
    // SAFETY: by the caller's promise, ptr points at a Task<F>.
    unsafe { ptr.cast::<Task<F>>().as_ref().stage.get() }
}

/// Drops the future in place. A panic in a destructor is swallowed: the
/// task is finishing anyway and the runtime must go on.
///
/// # Safety
/// The future is live, and nothing else borrows it.
unsafe fn drop_future<F: Future>(stage: *mut Stage<F>) {
    // SAFETY: by the caller's promise; the union field is the live one.
    let _ = catch_unwind(AssertUnwindSafe(|| unsafe { ManuallyDrop::drop(&mut (*stage).future) }));
}

/// Polls the future in `stage`. On `Ready` or a panic (made into an error
/// by `panicked`) it drops the future in place, writes the output and
/// returns true.
///
/// # Safety
/// The future is live, pinned in its block, and nothing else touches the
/// stage (RUNNING is set by the caller), on the runtime thread.
#[inline(always)]
pub(super) unsafe fn poll_stage<F: Future>(
    stage: *mut Stage<F>,
    cx: &mut Context<'_>,
    panicked: fn(Box<dyn Any + Send>) -> JoinError,
) -> bool {
    // SAFETY: the future lives in the heap block and is never moved until
    // it is dropped in place: pinned.
    let future = unsafe { Pin::new_unchecked(&mut *(*stage).future) };
    let output = match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
        Ok(Poll::Pending) => return false,
        Ok(Poll::Ready(value)) => Ok(value),
        Err(payload) => Err(panicked(payload)),
    };
    // SAFETY: the future is still live (a panicking poll leaves it in place).
    unsafe { drop_future(stage) };
    // SAFETY: the future is gone, the output field is free to write.
    unsafe { (*stage).output = ManuallyDrop::new(output) };
    true
}

/// Drops the future in `stage` and writes `Err(Killed)`.
///
/// # Safety
/// As [`poll_stage`].
pub(super) unsafe fn kill_stage<F: Future>(stage: *mut Stage<F>) {
    // SAFETY: by the caller's promise.
    unsafe {
        drop_future(stage);
        (*stage).output = ManuallyDrop::new(Err(JoinError::Killed));
    }
}

/// Moves the output of `stage` to `dst`.
///
/// # Safety
/// The output is live and the caller just set CONSUMED; `dst` points at a
/// `Result<F::Output, JoinError>` slot of the caller's.
pub(super) unsafe fn read_stage<F: Future>(stage: *mut Stage<F>, dst: *mut ()) {
    // SAFETY: by the caller's promise; CONSUMED stops a second read.
    unsafe {
        let value = ManuallyDrop::take(&mut (*stage).output);
        dst.cast::<Result<F::Output, JoinError>>().write(value);
    }
}

/// Drops the output of `stage` in place, handing back its error, if it is one.
///
/// # Safety
/// As [`read_stage`], without `dst`.
pub(super) unsafe fn drop_stage_output<F: Future>(stage: *mut Stage<F>) -> Option<JoinError> {
    // SAFETY: by the caller's promise.
    let output = unsafe { ManuallyDrop::take(&mut (*stage).output) };
    match output {
        Ok(value) => {
            let _ = catch_unwind(AssertUnwindSafe(move || drop(value)));
            None
        }
        Err(e) => Some(e),
    }
}

/// The output of `stage`, in place.
///
/// # Safety
/// The stage holds its output (the future is gone), and the pointer is
/// used only while it does.
pub(super) unsafe fn output_of_stage<F: Future>(stage: *mut Stage<F>) -> *mut Result<F::Output, JoinError> {
    // SAFETY: by the caller's promise; no reference is made.
    unsafe { std::ptr::addr_of_mut!((*stage).output).cast() }
}

/// # Safety
/// The future is live (RUNNING is set by the caller), on the runtime thread.
unsafe fn poll<F: Future>(ptr: NonNull<Header>, cx: &mut Context<'_>) -> bool {
    // SAFETY: ptr came from allocate::<F>; RUNNING keeps anyone else from
    // touching the stage while we poll it.
    unsafe { poll_stage(stage::<F>(ptr), cx, super::executor::panicked) }
}

/// # Safety
/// The future is live, RUNNING is set by the caller, on the runtime thread.
unsafe fn kill<F: Future>(ptr: NonNull<Header>) {
    // SAFETY: as in `poll`.
    unsafe { kill_stage(stage::<F>(ptr)) }
}

/// # Safety
/// The output is live and the caller just set CONSUMED; `dst` points at a
/// `Result<T, JoinError>` slot of the caller's.
unsafe fn read_output<F: Future>(ptr: NonNull<Header>, dst: *mut ()) {
    // SAFETY: by the caller's promise.
    unsafe { read_stage(stage::<F>(ptr), dst) }
}

/// # Safety
/// As `read_output`, without `dst`.
unsafe fn drop_output<F: Future>(ptr: NonNull<Header>) -> Option<JoinError> {
    // SAFETY: by the caller's promise.
    unsafe { drop_stage_output(stage::<F>(ptr)) }
}

/// # Safety
/// The output is live (COMPLETE and not CONSUMED) and stays so while the
/// returned pointer is used.
unsafe fn output<F>(ptr: NonNull<Header>) -> *const dyn Any
where
    F: Future,
    F::Output: 'static,
{
    // SAFETY: by the caller's promise.
    let output: &Result<F::Output, JoinError> = unsafe { &(*stage::<F>(ptr)).output };
    output as &dyn Any
}

/// Allocates the root pseudo-task that stands for the block_on future: a
/// bare header whose wakers set its SCHEDULED bit for the loop to see. A
/// block of the task home like any task's, so that every header is freed
/// the same way.
pub(crate) fn allocate_root(home: NonNull<TaskHome>) -> NonNull<Header> {
    static ROOT_VTABLE: Vtable = Vtable {
        poll: never_poll,
        kill: never_kill,
        read_output: never_read,
        drop_output: never_drop_output,
        output: never_output,
        block: BlockLayout::of::<Header>(),
        failed: not_a_child,
        take_failure: not_a_child_take,
    };
    let header = Header::new(super::state::ROOT | super::state::JOIN_HANDLE, 1, &ROOT_VTABLE, home, 0);
    // SAFETY: the runtime creating its root is on the home's thread, and
    // the home is alive.
    let block = unsafe { home.as_ref().alloc(ROOT_VTABLE.block) }.cast::<Header>();
    // SAFETY: a fresh block with the size and alignment of a `Header`.
    unsafe { block.as_ptr().write(header) };
    block
}

// The root has no stage: the runtime never calls these for it (the ROOT bit
// routes around them). They exist to fill the vtable.
unsafe fn never_poll(_: NonNull<Header>, _: &mut Context<'_>) -> bool {
    unreachable!("the root task is polled by block_on")
}
unsafe fn never_kill(_: NonNull<Header>) {
    unreachable!("the root task cannot be killed")
}
unsafe fn never_read(_: NonNull<Header>, _: *mut ()) {
    unreachable!("the root task has no output slot")
}
unsafe fn never_drop_output(_: NonNull<Header>) -> Option<JoinError> {
    unreachable!("the root task has no output slot")
}
pub(super) unsafe fn never_output(_: NonNull<Header>) -> *const dyn Any {
    unreachable!("the root task has no output slot")
}
// Tasks are not scope children: the scope layer never calls these for them.
pub(super) unsafe fn not_a_child(_: NonNull<Header>) -> bool {
    unreachable!("only a scope child has a failure to check")
}
pub(super) unsafe fn not_a_child_take(_: NonNull<Header>, _: *mut ()) {
    unreachable!("only a scope child has a failure to take")
}
