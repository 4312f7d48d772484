//! Scope children: task blocks that their scope polls, not the executor.
//!
//! A child of `sprout::scope` (the public side is `scope/`) is a task block
//! like any other (`raw.rs`): a header, then its future and output sharing
//! space, in the runtime's task home. It keeps the task's wakers (local and
//! foreign paths, `waker.rs`), its reference counts, its state word and its
//! place in the deadlock accounting (`observe.rs`, "provably stuck"). What
//! differs is where it goes when woken: its state word has CHILD, so a wake
//! (`Executor::schedule`) queues it on its scope's [`Children`] instead of
//! the run queue, and wakes the task that polls the scope. Only that poll
//! (`scope/future.rs`) takes children off the queue and polls them.
//!
//! ```text
//!  ChildTask<F>  (one heap block, #[repr(C)])
//!  +-------------------+----------------+----------------------------------+
//!  | Header (56 bytes) | Link (8 bytes) | Stage<F>: future | output        |
//!  +-------------------+----------------+----------------------------------+
//! ```
//!
//! The link is only the scope's address: what the scope layer needs per
//! output type (its failure check) is in the header's vtable, and the
//! observer keeps a child's record by the child's address, so that a
//! child costs a task's memory plus 8 bytes (a trivial one fits the same
//! 80-byte block as a task: docs/benchmarks.md, "Scope children").
//!
//! Ground rules:
//! - A child is not in the executor's registry: the runtime never polls,
//!   kills or drops it. Its [`Children`] does, on behalf of the scope.
//! - **No child outlives its `Children`.** Dropping a `Children` drops every
//!   child future it still holds (and the scope body's), and gives back
//!   every reference it keeps. So a child that is not COMPLETE always has a
//!   live `Children`, and [`enqueue`] (reached only for a child that is not
//!   COMPLETE, see `state.rs`) may follow the link. A leaked `Children` is
//!   never freed, so the link stays valid then too; its children are simply
//!   never polled again.
//! - References to a child: its scope's live set (until it completes), a
//!   ready-queue entry (while queued), its handle, and its wakers, as a
//!   task's are held by the registry, the run queue, the `JoinHandle` and
//!   wakers. The body has no handle and is not in the live set: the
//!   `Children` holds it itself.
//! - Everything here runs on the runtime thread (`Children` is `!Send`),
//!   and no `RefCell` borrow spans user code: a poll, a future's drop and a
//!   waker's wake all happen with the borrows released.

use std::cell::{Cell, RefCell, UnsafeCell};
use std::collections::VecDeque;
use std::future::Future;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::panic::Location;
use std::ptr::NonNull;
use std::rc::Rc;
use std::task::{Context, Waker};

use slab::Slab;

use super::alloc::BlockLayout;
use super::compact::CompactWaker;
use super::error::JoinError;
use super::executor::Executor;
use super::header::{Header, TaskId, Vtable, ref_dec};
use super::home::TaskHome;
use super::raw::{self, Stage};
use super::registry::Registry;
use super::span;
use super::state::{AfterPoll, CHILD, JOIN_HANDLE, Kill, SCHEDULED};
use super::waker;

#[repr(C)]
struct ChildTask<F: Future> {
    header: Header,
    link: Link,
    stage: UnsafeCell<Stage<F>>,
}

/// What a child block holds beyond a task's header, found from the header
/// by [`link`] without knowing the future's type.
#[repr(C)]
pub(crate) struct Link {
    /// The scope's children: where a wake queues the child.
    children: NonNull<Children>,
}

// The link sits right after the header in every `ChildTask<F>`.
const _: () = assert!(size_of::<Header>().is_multiple_of(align_of::<Link>()));
// A freed block's link is never dropped (`header::dealloc` frees blocks
// by their layout alone).
const _: () = assert!(!std::mem::needs_drop::<Link>());

/// The link of the child block whose header is `task`.
///
/// # Safety
/// `task` is a live child block (its state has CHILD).
#[inline]
pub(crate) unsafe fn link<'a>(task: NonNull<Header>) -> &'a Link {
    // SAFETY: `ChildTask` is #[repr(C)] with the header first and the link
    // right after it (the assertion above), and the pointer came from the
    // block's allocation, so it may reach past the header.
    unsafe { &*task.as_ptr().cast::<u8>().add(size_of::<Header>()).cast::<Link>() }
}

/// The output of the child block `task`, whose future type is `F`, in place.
///
/// # Safety
/// `task` came from [`Children::spawn`] with this `F` and is COMPLETE and
/// not CONSUMED; the pointer is used only while that holds.
pub(crate) unsafe fn output<F: Future>(task: NonNull<Header>) -> *mut Result<F::Output, JoinError> {
    // SAFETY: by the caller's promise.
    unsafe { raw::output_of_stage(stage::<F>(task)) }
}

/// # Safety
/// `task` came from `allocate::<F>` and is live.
unsafe fn stage<F: Future>(task: NonNull<Header>) -> *mut Stage<F> {
    // SAFETY: by the caller's promise, the block is a ChildTask<F>.
    unsafe { task.cast::<ChildTask<F>>().as_ref().stage.get() }
}

/// The header vtable of a child whose future is `F`, with the scope
/// layer's `failed` and `take_failure` for its output type (a `const fn`,
/// so the scope layer makes it a static in an inline `const`). The output
/// is never borrowed as `dyn Any` (children have no completion callbacks).
pub(crate) const fn vtable<F: Future>(
    failed: unsafe fn(NonNull<Header>) -> bool,
    take_failure: unsafe fn(NonNull<Header>, *mut ()),
) -> Vtable {
    Vtable {
        poll: poll::<F>,
        kill: kill::<F>,
        read_output: read_output::<F>,
        drop_output: drop_output::<F>,
        output: raw::never_output,
        block: BlockLayout::of::<ChildTask<F>>(),
        failed,
        take_failure,
    }
}

/// # Safety
/// As `raw::poll_stage`.
#[inline]
unsafe fn poll<F: Future>(task: NonNull<Header>, cx: &mut Context<'_>) -> bool {
    // A child's panic is its scope's to report, not a task panic: not counted.
    // SAFETY: forwarded; the block is a ChildTask<F>.
    unsafe { raw::poll_stage(stage::<F>(task), cx, JoinError::panicked) }
}

/// # Safety
/// As `raw::kill_stage`.
unsafe fn kill<F: Future>(task: NonNull<Header>) {
    // SAFETY: forwarded; the block is a ChildTask<F>.
    unsafe { raw::kill_stage(stage::<F>(task)) }
}

/// # Safety
/// As `raw::read_stage`.
unsafe fn read_output<F: Future>(task: NonNull<Header>, dst: *mut ()) {
    // SAFETY: forwarded; the block is a ChildTask<F>.
    unsafe { raw::read_stage(stage::<F>(task), dst) }
}

/// # Safety
/// As `raw::drop_stage_output`.
unsafe fn drop_output<F: Future>(task: NonNull<Header>) -> Option<JoinError> {
    // SAFETY: forwarded; the block is a ChildTask<F>.
    unsafe { raw::drop_stage_output(stage::<F>(task)) }
}

/// Queues a woken child on its scope and wakes the task that polls the
/// scope, if it waits (`Executor::schedule`, for `Wake::Child`). The queue
/// takes a reference: the caller hands over one or takes one for it.
///
/// # Safety
/// `task` is a live child block that is not COMPLETE (so its `Children`
/// is live: see the module docs), on its runtime thread.
// Out of line: `Executor::schedule`, on every task's wake path, stays
// small enough to inline (it cost a yield 12 instructions otherwise).
#[inline(never)]
pub(crate) unsafe fn enqueue(task: NonNull<Header>) {
    // SAFETY: by the caller's promise and the rule that no child outlives
    // its Children.
    let children = unsafe { link(task).children.as_ref() };
    children.ready.borrow_mut().push_back(task);
    children.wake_parent();
}

/// What [`Children::run`] did with a child taken off the ready queue.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Ran {
    /// It had completed (killed while queued): nothing was polled, and the
    /// queue's reference is given back.
    Stale,
    /// It waits (or was requeued); the queue's reference went with it.
    Pending,
    /// Its future is gone (returned, panicked, or killed during the poll)
    /// and its output is written; it is still RUNNING. The caller finishes
    /// it ([`Children::finish`]) and gives back the queue's reference.
    Done,
}

/// One scope's children: its ready queue, its live set and the waker of
/// the task that polls it. Owned by the scope (at a fixed address, see
/// [`register`](Children::register)); see the module docs.
pub(crate) struct Children {
    /// Woken children, in FIFO order; each entry owns a reference.
    ready: RefCell<VecDeque<NonNull<Header>>>,
    /// Children that have not completed; each slot owns a reference, and
    /// the child's header `slot` is its index here.
    live: RefCell<Registry>,
    /// The waker of the task that polls the scope, stored when its poll
    /// returns `Pending` with nothing ready, and taken (to wake it) by the
    /// first child woken after that. Counted: only children fire it, and
    /// the deadlock check accounts for them (`observe/deadlock.rs`).
    parent: Cell<Option<CompactWaker>>,
    /// Who polls the scope: the task, or the child whose poll runs it (a
    /// nested scope). For the task dump.
    parent_id: Cell<TaskId>,
    /// The scope body's block, while it is alive; the `Children` owns a
    /// reference to it.
    body: Cell<Option<NonNull<Header>>>,
    home: NonNull<TaskHome>,
    /// Where the dump and the deadlock check find this scope, once registered.
    list: Rc<ScopeList>,
    slot: Cell<Option<usize>>,
    /// `!Send`: children live on this thread, and `parent` is counted.
    _not_send: PhantomData<*const ()>,
}

impl Children {
    /// No children yet, on the running runtime.
    pub(crate) fn new(executor: &Executor) -> Children {
        Children {
            ready: RefCell::new(VecDeque::new()),
            live: RefCell::new(Registry::new()),
            parent: Cell::new(None),
            parent_id: Cell::new(TaskId(0)),
            body: Cell::new(None),
            home: executor.home(),
            list: executor.scopes().clone(),
            slot: Cell::new(None),
            _not_send: PhantomData,
        }
    }

    /// Lists the scope for the task dump and the deadlock check. Call it
    /// once the `Children` is at the address it keeps until it is dropped
    /// (the scope state's heap block).
    pub(crate) fn register(&self) {
        if self.slot.get().is_none() {
            self.slot.set(Some(self.list.scopes.borrow_mut().insert(NonNull::from(self))));
        }
    }

    /// Whether `executor` is the runtime these children live in.
    pub(crate) fn belongs_to(&self, executor: &Executor) -> bool {
        executor.home() == self.home
    }

    /// The number of children that have not completed.
    pub(crate) fn len(&self) -> usize {
        self.live.borrow().len()
    }

    /// Whether a child (or the body) waits in the ready queue.
    pub(crate) fn has_ready(&self) -> bool {
        !self.ready.borrow().is_empty()
    }

    /// Creates a child for `future`, queued to run, and returns its header
    /// with a reference for its handle. `vtable` is [`vtable::<F>`], made
    /// by the scope layer; `at` is the spawn site.
    ///
    /// It does not wake the task polling the scope: children are spawned
    /// only by the body and the children, inside that poll (or their drops,
    /// when spawning is refused).
    #[inline]
    pub(crate) fn spawn<F: Future>(
        &self,
        executor: &Executor,
        future: F,
        vtable: &'static Vtable,
        name: Option<Box<str>>,
        at: &'static Location<'static>,
    ) -> NonNull<Header> {
        let id = executor.next_child_id();
        // Three references: the live set's, the ready queue's, the handle's.
        let task = self.allocate(future, CHILD | SCHEDULED | JOIN_HANDLE, 3, id, vtable);
        // SAFETY: freshly allocated, owned by this thread.
        let header = unsafe { task.as_ref() };
        if name.is_some() {
            header.with_extras(|e| e.name = name);
        }
        span::attach(header, at);
        header.slot.set(self.live.borrow_mut().insert(task));
        if let Some(observer) = executor.observer() {
            observer.child_spawned(task.as_ptr().addr(), at);
        }
        self.ready.borrow_mut().push_back(task);
        task
    }

    /// Creates a child that never runs (spawned after a cancel): its future
    /// is dropped here and its output is `Err(Killed)`. Returns it with the
    /// handle's reference, its only one.
    pub(crate) fn spawn_cancelled<F: Future>(
        &self,
        executor: &Executor,
        future: F,
        vtable: &'static Vtable,
    ) -> NonNull<Header> {
        let id = executor.next_child_id();
        let task = self.allocate(future, CHILD | JOIN_HANDLE, 1, id, vtable);
        // SAFETY: freshly allocated, owned by this thread, idle.
        let header = unsafe { task.as_ref() };
        let kill: Kill = header.state.transition_to_killed();
        debug_assert_eq!(kill, Kill::DropNow);
        // SAFETY: RUNNING is set (DropNow), the future is live; the handle's
        // reference keeps the block alive.
        unsafe { (header.vtable.kill)(task) };
        header.state.transition_to_complete();
        task
    }

    /// Makes `future` the scope body: a child block that the scope polls
    /// like its children, but that is in no live set and has no handle.
    pub(crate) fn spawn_body<F: Future>(&self, future: F) {
        debug_assert!(self.body.get().is_none());
        // Two references: the `Children`'s own and the ready queue's. The
        // body never shows under its own id, so it takes none.
        let vtable = const { &vtable::<F>(raw::not_a_child, raw::not_a_child_take) };
        let task = self.allocate(future, CHILD | SCHEDULED, 2, 0, vtable);
        self.body.set(Some(task));
        self.ready.borrow_mut().push_back(task);
    }

    /// The scope body's block, while it is alive.
    pub(crate) fn body(&self) -> Option<NonNull<Header>> {
        self.body.get()
    }

    #[inline]
    fn allocate<F: Future>(
        &self,
        future: F,
        state: u32,
        refs: u32,
        id: u64,
        vtable: &'static Vtable,
    ) -> NonNull<Header> {
        // SAFETY: this is the home's runtime thread (`Children` is `!Send`,
        // and the scope checks it is polled in the runtime it started in).
        let block = unsafe { self.home.as_ref().alloc(const { BlockLayout::of::<ChildTask<F>>() }) };
        let slot = block.cast::<ChildTask<F>>().as_ptr();
        let link = Link { children: NonNull::from(self) };
        // SAFETY: a fresh block with the size and alignment of a
        // ChildTask<F>; each field is written once, in place.
        unsafe {
            std::ptr::addr_of_mut!((*slot).header).write(Header::new(state, refs, vtable, self.home, id));
            std::ptr::addr_of_mut!((*slot).link).write(link);
            std::ptr::addr_of_mut!((*slot).stage).write(UnsafeCell::new(Stage::new(future)));
        }
        block.cast()
    }

    /// Takes the next ready child (or the body) off the queue, with the
    /// queue's reference.
    #[inline]
    pub(crate) fn pop(&self) -> Option<NonNull<Header>> {
        self.ready.borrow_mut().pop_front()
    }

    /// Polls a child (or the body) taken off the queue (see [`Ran`]). A
    /// child's waits go to its own record; the body's to the record of
    /// whoever polls the scope, as it runs as part of that poll.
    ///
    /// # Safety
    /// `task` came from [`pop`](Self::pop) of this `Children`, with the
    /// queue's reference.
    #[inline]
    pub(crate) unsafe fn run(&self, executor: &Executor, task: NonNull<Header>) -> Ran {
        // SAFETY: the queue's reference keeps the header alive.
        let header = unsafe { task.as_ref() };
        if !header.state.transition_to_running() {
            // SAFETY: giving up the queue's reference.
            unsafe { ref_dec(task) };
            return Ran::Stale;
        }
        // The body runs as whoever polls the scope; a child as itself.
        let is_body = self.body.get() == Some(task);
        let observer = executor.observer().filter(|_| !is_body);
        let outer_record = observer.map(|o| o.child_poll_starts(task.as_ptr().addr()));
        let outer_child = if is_body { None } else { Some(executor.set_running_child(Some(task))) };
        // SAFETY: the queue's reference keeps the task alive for the poll;
        // the borrowed waker is never dropped.
        let waker = ManuallyDrop::new(unsafe { waker::borrowed(task) });
        let mut cx = Context::from_waker(&waker);
        // Inside the child's span, if it has one (feature `tracing`).
        // SAFETY: RUNNING is set, so the stage is ours to poll.
        let done = span::in_span(header, || unsafe { (header.vtable.poll)(task, &mut cx) });
        if let Some(outer) = outer_child {
            executor.set_running_child(outer);
        }
        if let (Some(observer), Some(outer)) = (observer, outer_record) {
            observer.child_poll_ends(outer);
        }
        if done {
            return Ran::Done;
        }
        match header.state.transition_to_idle() {
            AfterPoll::Requeue => {
                // The queue's reference moves to the new entry.
                self.ready.borrow_mut().push_back(task);
                Ran::Pending
            }
            AfterPoll::Idle => {
                // SAFETY: giving up the queue's reference.
                unsafe { ref_dec(task) };
                Ran::Pending
            }
            AfterPoll::Kill => {
                // Cancelled during its own poll: RUNNING is still set.
                // SAFETY: the future is live and RUNNING guards it.
                span::in_span(header, || unsafe { (header.vtable.kill)(task) });
                Ran::Done
            }
        }
    }

    /// Drops the future of a child (or the body) that has not completed,
    /// now if it is idle or queued; if it is running (it cancels itself),
    /// right after its poll (`Ran::Done`). Returns true if it was dropped
    /// here: the caller then [`finish`](Self::finish)es it.
    ///
    /// # Safety
    /// `task` is a live child block of this `Children`; the caller holds a
    /// reference to it.
    pub(crate) unsafe fn kill(&self, task: NonNull<Header>) -> bool {
        // SAFETY: by the caller's promise.
        let header = unsafe { task.as_ref() };
        match header.state.transition_to_killed() {
            Kill::DropNow => {
                // SAFETY: RUNNING is set by the transition; the future is live.
                span::in_span(header, || unsafe { (header.vtable.kill)(task) });
                true
            }
            Kill::Deferred | Kill::Nothing => false,
        }
    }

    /// Completes a child (or the body) whose output is written and which
    /// is still RUNNING: it leaves the live set or the body slot (whose
    /// reference the caller now holds, and gives back), becomes COMPLETE,
    /// and its joiner is woken. `executor`: the running one, if this is
    /// inside the children's runtime (for the observer's records).
    ///
    /// # Safety
    /// As [`kill`](Self::kill), and the output is written (`Ran::Done`, or
    /// `kill` returned true).
    #[inline]
    pub(crate) unsafe fn finish(&self, executor: Option<&Executor>, task: NonNull<Header>) {
        // SAFETY: by the caller's promise.
        let header = unsafe { task.as_ref() };
        if self.body.get() == Some(task) {
            self.body.set(None);
        } else {
            self.live.borrow_mut().remove(header.slot.get());
            if let Some(observer) = executor.and_then(Executor::observer) {
                observer.child_done(task.as_ptr().addr());
            }
        }
        // The child's span (feature `tracing`) closes: it is complete.
        span::close_after(header, || ());
        header.state.transition_to_complete();
        if let Some(joiner) = header.join_waker.take() {
            joiner.wake();
        }
    }

    /// The children that have not completed, each with a reference the
    /// caller gives back (for a cancel: their drops may spawn or end others).
    pub(crate) fn live_children(&self) -> Vec<NonNull<Header>> {
        let live = self.live.borrow().snapshot();
        for task in &live {
            // SAFETY: the live set holds a reference to each.
            unsafe { task.as_ref().ref_inc() };
        }
        live
    }

    // --- The task that polls the scope ---

    /// Keeps the waker of the task that polls the scope, for the next child
    /// woken (the poll returns `Pending` with nothing ready).
    pub(crate) fn wait_for_children(&self, waker: &Waker) {
        let mut slot = self.parent.take();
        match &mut slot {
            Some(w) => w.update(waker, true),
            None => slot = Some(CompactWaker::counted(waker)),
        }
        self.parent.set(slot);
    }

    /// Wakes the task that polls the scope, if it waits for its children.
    /// Called after a child or the body is queued, and by a cancel.
    #[inline]
    pub(crate) fn wake_parent(&self) {
        if let Some(parent) = self.parent.take() {
            parent.wake();
        }
    }

    /// The scope is being polled by `parent` (a task, or the child whose
    /// poll runs it): forgets the stored waker, for the poll's own.
    pub(crate) fn polled(&self, parent: TaskId) {
        drop(self.parent.take());
        self.parent_id.set(parent);
    }

    /// Who polls the scope (the task dump).
    pub(crate) fn parent_id(&self) -> TaskId {
        self.parent_id.get()
    }

    /// Whether `f` holds for each child that has not completed (the dump;
    /// `f` must not run user code).
    pub(crate) fn for_each_child(&self, f: impl FnMut(NonNull<Header>) -> bool) -> bool {
        self.live.borrow().all(f)
    }

    /// Whether `f` holds for the body, if it is alive, and each child (the
    /// deadlock check; `f` must not run user code).
    pub(crate) fn all_blocks(&self, mut f: impl FnMut(NonNull<Header>) -> bool) -> bool {
        self.body.get().is_none_or(&mut f) && self.for_each_child(f)
    }
}

impl Drop for Children {
    /// The rule the soundness of scopes rests on: no child outlives its
    /// `Children`. The scope normally ends every child first; this drops
    /// whatever is left (a scope whose poll panicked midway, or one dropped
    /// outside its runtime, on this thread), then gives back every reference.
    fn drop(&mut self) {
        drop(self.parent.take());
        self.drop_all(Executor::owning(self.home));
        let queued: Vec<_> = self.ready.borrow_mut().drain(..).collect();
        for task in queued {
            // SAFETY: each queue entry owns a reference; this is the home's thread.
            unsafe { ref_dec(task) };
        }
        if let Some(slot) = self.slot.take() {
            self.list.scopes.borrow_mut().remove(slot);
        }
    }
}

impl Children {
    /// Drops the future of every child, then the body's, and finishes them
    /// (a cancel, the scope's drop). Only between polls of the children.
    /// `executor`: the running one, if this is inside the children's runtime.
    pub(crate) fn drop_all(&self, executor: Option<&Executor>) {
        // A drop may spawn more (a destructor that spawns into the scope,
        // if the scope let it): go until none is left.
        loop {
            let live = self.live_children();
            if live.is_empty() {
                break;
            }
            for task in live {
                // SAFETY: `live_children` took a reference to each.
                unsafe { self.kill_and_finish(executor, task) };
            }
        }
        if let Some(body) = self.body.get() {
            // SAFETY: the `Children`'s own reference keeps it alive; one
            // more for the call, as `live_children` takes.
            unsafe {
                body.as_ref().ref_inc();
                self.kill_and_finish(executor, body);
            }
        }
    }

    /// Drops a child's (or the body's) future if it is not running (else
    /// it is dropped right after its poll: `Ran::Done`), finishes it, drops
    /// its output unless a handle will take it, and gives back the live
    /// set's (or body slot's) reference and the caller's.
    ///
    /// # Safety
    /// As [`kill`](Self::kill); the caller hands over its reference.
    pub(crate) unsafe fn kill_and_finish(&self, executor: Option<&Executor>, task: NonNull<Header>) {
        // SAFETY: forwarded from the caller.
        unsafe {
            if self.kill(task) {
                self.finish(executor, task);
                discard(task);
                ref_dec(task);
            }
            ref_dec(task);
        }
    }
}

/// Drops a finished child's output nobody will take. The scope layer
/// decides first whether it was a failure to report.
///
/// # Safety
/// `task` is a COMPLETE child block the caller holds a reference to.
pub(crate) unsafe fn discard(task: NonNull<Header>) {
    // SAFETY: by the caller's promise.
    let header = unsafe { task.as_ref() };
    if header.state.has(JOIN_HANDLE) || !header.state.transition_to_consumed() {
        return;
    }
    // SAFETY: the output is live and now marked consumed.
    drop(unsafe { (header.vtable.drop_output)(task) });
}

/// The scopes of one runtime, for the task dump and the deadlock check.
/// Shared (`Rc`) between the executor and each registered `Children`, so a
/// scope always unregisters from the list it joined.
#[derive(Default)]
pub(crate) struct ScopeList {
    scopes: RefCell<Slab<NonNull<Children>>>,
}

impl ScopeList {
    /// Calls `f` with each registered scope's children while `f` returns
    /// true; `f` must not run user code.
    pub(crate) fn all(&self, mut f: impl FnMut(&Children) -> bool) -> bool {
        // SAFETY: a `Children` stays registered only while it is alive (its
        // drop unregisters it) or leaked (never freed).
        self.scopes.borrow().iter().all(|(_, children)| f(unsafe { children.as_ref() }))
    }
}
