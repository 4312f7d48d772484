//! The harness: runs one task's poll, completes it, kills it, and applies
//! the panic policy to failures nobody joined.
//!
//! A task's life, as the harness sees it (the state word's transitions are
//! in `state.rs`, the block in `raw.rs`):
//!
//! ```text
//!  spawn ──> queued ──run──> RUNNING ──Pending──> idle ──wake──> queued ...
//!                              │  └──Ready / panic──> complete ──> (output taken or discarded)
//!                              └──kill during the poll──> drop_future ──> complete
//!  idle or queued ──kill──> drop_future ──> complete
//! ```
//!
//! Every function here may run user code (polls, destructors, completion
//! callbacks, wakers): each holds a counted reference to the task across
//! it, no borrow of the executor's state, and re-reads the state after it
//! (see "User code under a borrow" in docs/architecture.md).

use std::any::Any;
use std::cell::RefCell;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::ptr::NonNull;
use std::task::Context;

use super::error::JoinError;
use super::executor::Executor;
use super::header::{Header, TaskId, ref_dec};
use super::observe::Observer;
use super::span;
use super::state::{AfterPoll, COMPLETE, HANDLED, JOIN_HANDLE, Kill, RUNNING};
use super::waker;

/// What happens to a task's panic that nobody joins.
///
/// A panic is "joined" when a `JoinHandle` takes the result, or an
/// `on_err` / `on_done` callback sees it. Otherwise it is reported when the
/// task finishes (if its handle was already dropped) or when its handle is
/// dropped unjoined.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PanicPolicy {
    /// Print one line to stderr with the task's name, as gevent prints a
    /// dead greenlet's traceback, and go on.
    #[default]
    Log,
    /// Re-raise the panic from `block_on` / `run`, after the current batch.
    Propagate,
    /// Print the line, then abort the process.
    Abort,
}

/// The harness of one runtime's tasks. See the module docs.
pub(crate) struct Harness {
    policy: PanicPolicy,
    /// A panic to re-raise from `block_on` (`PanicPolicy::Propagate`).
    failure: RefCell<Option<Box<dyn Any + Send>>>,
}

impl Harness {
    pub(crate) fn new(policy: PanicPolicy) -> Harness {
        Harness { policy, failure: RefCell::new(None) }
    }

    /// Polls one task popped from the run queue, consuming the queue's reference.
    ///
    /// # Safety
    /// `task` is live, belongs to `executor`, and the caller hands over a
    /// reference.
    #[inline(always)]
    pub(super) unsafe fn run(&self, executor: &Executor, task: NonNull<Header>, observer: Option<&Observer>) {
        // SAFETY: the caller's reference keeps the header alive.
        let header = unsafe { task.as_ref() };
        if !header.state.transition_to_running() {
            // Killed while it waited in the queue.
            // SAFETY: giving up the queue's reference.
            unsafe { ref_dec(task) };
            return;
        }
        let root = executor.set_current(task);
        executor.begin_poll(header, observer);
        // SAFETY: the queue's reference keeps the task alive for the poll;
        // the borrowed waker is never dropped.
        let waker = std::mem::ManuallyDrop::new(unsafe { waker::borrowed(task) });
        let mut cx = Context::from_waker(&waker);
        // Inside the task's span, if it has one (feature `tracing`).
        // SAFETY: RUNNING is set, so the stage is ours to poll.
        let done = span::in_span(header, || unsafe { (header.vtable.poll)(task, &mut cx) });
        executor.set_current(root);
        if done {
            self.complete(executor, task);
            // SAFETY: giving up the queue's reference.
            unsafe { ref_dec(task) };
            return;
        }
        match header.state.transition_to_idle() {
            // The queue's reference moves to the new entry.
            AfterPoll::Requeue => executor.push(task),
            // SAFETY: giving up the queue's reference.
            AfterPoll::Idle => unsafe { ref_dec(task) },
            // `kill()` arrived during the poll: RUNNING is still set, and
            // guards the drop.
            AfterPoll::Kill => {
                self.drop_future(executor, task);
                // SAFETY: giving up the queue's reference.
                unsafe { ref_dec(task) };
            }
        }
    }

    /// `JoinHandle::kill` and friends: drop the future now, unless the task
    /// is running (then right after its poll) or already complete. Returns
    /// whether the future was dropped now.
    pub(super) fn kill(&self, executor: &Executor, task: NonNull<Header>) -> bool {
        // SAFETY: the caller holds a reference; we are the runtime thread.
        let header = unsafe { task.as_ref() };
        match header.state.transition_to_killed() {
            Kill::DropNow => {
                self.drop_future(executor, task);
                true
            }
            Kill::Deferred | Kill::Nothing => false,
        }
    }

    /// Drops a task's future in place (RUNNING is set) and completes it as killed.
    fn drop_future(&self, executor: &Executor, task: NonNull<Header>) {
        // SAFETY: the caller holds a reference and RUNNING is set.
        let header = unsafe { task.as_ref() };
        let counts = executor.counts();
        counts.killed.set(counts.killed.get() + 1);
        // Destructors run as the task itself, so they see its task-locals.
        let prev = executor.set_current(task);
        // SAFETY: RUNNING guards the stage; the future is live.
        span::in_span(header, || unsafe { (header.vtable.kill)(task) });
        executor.set_current(prev);
        self.complete(executor, task);
    }

    /// The future is gone and the output written: run the task's completion
    /// code (task-local destructors, callbacks), then mark it complete, wake
    /// the joiner and let go of the registry's reference.
    ///
    /// User code runs here while the runtime lends it the output, so the
    /// task stays RUNNING (not COMPLETE) until that code is done: to its
    /// `JoinHandle` it is still running, so the handle can neither take nor
    /// drop the output (see "User code under a borrow" in
    /// docs/architecture.md). Nothing read before user code is trusted after it.
    #[inline]
    fn complete(&self, executor: &Executor, task: NonNull<Header>) {
        // SAFETY: the caller holds a reference; we are the runtime thread.
        let header = unsafe { task.as_ref() };
        executor.unregister(header.slot.get());
        // Most tasks never allocate extras: they take this short path, with
        // everything rarer out of line. (Only completion code could
        // allocate extras here, and it runs only for tasks that have them.)
        if header.has_extras() {
            return self.complete_with_extras(task);
        }
        header.state.transition_to_complete();
        if let Some(joiner) = header.join_waker.take() {
            joiner.wake();
        }
        // Re-read: the waker above may have run user code that dropped the handle.
        if !header.state.has(JOIN_HANDLE) {
            self.discard_output(task);
        }
        // SAFETY: giving up the registry's reference.
        unsafe { ref_dec(task) };
    }

    /// [`complete`](Self::complete) for a task with extras: its completion
    /// code runs first, and the wakers of `done_wakers` after the joiner's.
    #[cold]
    #[inline(never)]
    fn complete_with_extras(&self, task: NonNull<Header>) {
        // SAFETY: the caller holds a reference; we are the runtime thread.
        let header = unsafe { task.as_ref() };
        // In the task's span, which closes after.
        span::close_after(header, || self.run_completion_code(task));
        header.state.transition_to_complete();
        if let Some(joiner) = header.join_waker.take() {
            joiner.wake();
        }
        let wakers = header.with_extras(|e| e.done_wakers.take());
        wakers.wake();
        // Re-read: a waker above may have run user code that dropped the handle.
        if !header.state.has(JOIN_HANDLE) {
            self.discard_output(task);
        }
        // SAFETY: giving up the registry's reference.
        unsafe { ref_dec(task) };
    }

    /// Drops the task-local values, then runs the completion callbacks with
    /// the output, until neither is left (a callback may register another).
    #[cold]
    fn run_completion_code(&self, task: NonNull<Header>) {
        // SAFETY: the caller holds a reference; we are the runtime thread.
        let header = unsafe { task.as_ref() };
        debug_assert!(header.state.has(RUNNING) && !header.state.has(COMPLETE));
        loop {
            // Taken out first: no borrow of the extras is held while user code runs.
            let Some((callbacks, locals)) =
                header.with_extras_if_any(|e| (std::mem::take(&mut e.callbacks), std::mem::take(&mut e.locals)))
            else {
                return;
            };
            if callbacks.is_empty() && locals.is_empty() {
                return;
            }
            // Task-local values die with the task, after its future.
            if !locals.is_empty() {
                let _ = catch_unwind(AssertUnwindSafe(move || drop(locals)));
            }
            if !callbacks.is_empty() {
                header.state.mark_handled();
            }
            for callback in callbacks {
                // SAFETY: the output is live and stays so while the callback
                // runs: RUNNING is set and COMPLETE is not, so neither the
                // handle (`take_output`, its drop) nor `discard_output` will
                // touch it, and the callback only gets a shared borrow.
                let output = unsafe { &*(header.vtable.output)(task) };
                if let Err(payload) = catch_unwind(AssertUnwindSafe(|| callback(output))) {
                    report(Unjoined::task(header), &JoinError::panicked(payload), "a completion callback of task");
                }
            }
        }
    }

    /// Drops a finished task's output nobody will take, applying the panic
    /// policy to an unhandled panic.
    #[inline]
    pub(super) fn discard_output(&self, task: NonNull<Header>) {
        if let Some(err) = drop_output(task) {
            // SAFETY: the caller holds a reference; we are the runtime thread.
            self.failed(unsafe { task.as_ref() }, err);
        }
    }

    /// Applies the panic policy to a failure nobody joined.
    fn failed(&self, header: &Header, err: JoinError) {
        self.failed_as(Unjoined::task(header), err);
    }

    /// [`failed`](Self::failed), for a task known by its id (a result a
    /// collecting group kept, and nobody read).
    pub(super) fn failed_as(&self, who: Unjoined<'_>, err: JoinError) {
        match self.policy {
            PanicPolicy::Log => report(who, &err, "task"),
            PanicPolicy::Abort => {
                report(who, &err, "task");
                // A `tracing` subscriber may write on another thread, which
                // the abort stops: the line goes to stderr too.
                #[cfg(feature = "tracing")]
                if crate::report::__private::has_subscriber() {
                    eprintln!("sprout: task {who} failed and nobody joined it: {err}; aborting");
                }
                std::process::abort();
            }
            PanicPolicy::Propagate => {
                let mut failure = self.failure.borrow_mut();
                if failure.is_none() {
                    *failure = err.try_into_panic().ok();
                }
            }
        }
    }

    /// Re-raises a propagated panic from `block_on`. Called after every
    /// batch: only a runtime that propagates panics looks further.
    #[inline]
    pub(super) fn raise_failure(&self) {
        if self.policy == PanicPolicy::Propagate {
            self.raise_propagated();
        }
    }

    #[inline(never)]
    fn raise_propagated(&self) {
        let failure = self.failure.borrow_mut().take();
        if let Some(payload) = failure {
            resume_unwind(payload);
        }
    }
}

/// Drops a finished task's output, once: returns the error of an unhandled
/// panic, which the caller reports. Nothing if the output was already taken
/// or dropped. An output with a sink (`Extras::sink`) goes there instead.
///
/// Also for a handle dropped where its runtime is not running
/// (`JoinHandle::drop`): nobody is left to propagate to, so the caller logs.
#[inline]
pub(crate) fn drop_output(task: NonNull<Header>) -> Option<JoinError> {
    // SAFETY: the caller holds a reference; we are the runtime thread.
    let header = unsafe { task.as_ref() };
    if !header.state.transition_to_consumed() {
        return None;
    }
    if header.has_extras()
        && let Some(sink) = header.with_extras(|e| e.sink.take())
    {
        // The sink's owner reads the result (and reports a panic it
        // never hands out): handled here.
        header.state.mark_handled();
        sink(task);
        return None;
    }
    // SAFETY: the output is live and we just marked it consumed.
    let err = unsafe { (header.vtable.drop_output)(task) }?;
    (err.is_panic() && !header.state.has(HANDLED)).then_some(err)
}

/// The task whose failure nobody joined, as the report names it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Unjoined<'a> {
    pub(crate) id: TaskId,
    pub(crate) name: Option<&'a str>,
    /// Said after the task: why nobody joined it, if it is not the usual.
    pub(crate) note: &'static str,
}

impl Unjoined<'_> {
    /// The task whose header this is.
    pub(crate) fn task(header: &Header) -> Unjoined<'_> {
        Unjoined { id: header.id, name: header.name(), note: "" }
    }
}

impl fmt::Display for Unjoined<'_> {
    /// `'name' (#id)`, or `#id`, then the note.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name {
            Some(name) => write!(f, "'{name}' ({}){}", self.id, self.note),
            None => write!(f, "{}{}", self.id, self.note),
        }
    }
}

/// Reports a failure nobody joined: one line on stderr, or with the
/// `tracing` feature an ERROR event of target `sprout::task` with the
/// fields `task.id`, `task.name` and `error` (see `report.rs`).
pub(crate) fn report(who: Unjoined<'_>, err: &JoinError, what: &str) {
    crate::__report!(
        event: ERROR(
            target: "sprout::task",
            task.id = who.id.as_u64(),
            task.name = who.name,
            error = %err,
            "{what} failed and nobody joined it{}",
            who.note
        ),
        stderr: "sprout: {what} {who} failed and nobody joined it: {err}",
    );
}
