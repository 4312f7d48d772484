//! `Runtime` and `block_on`: the loop that runs green tasks.
//!
//! One turn of the loop:
//!
//! 1. poll the `block_on` future if it was woken;
//! 2. run up to `tasks_per_turn` tasks from the FIFO run queue;
//! 3. read messages from other threads, if their flags say there are any;
//! 4. poll I/O: without blocking if any task is ready, else blocking until
//!    the next timer deadline (or an event, or a wake-up from another thread);
//! 5. fire due timers;
//! 6. requeue the tasks that called `yield_now` (or spent their operation
//!    budget, or slept zero) during this turn, so they come back only after
//!    I/O and timers had their chance.
//!
//! Fairness follows from steps 2 and 6 together with the per-poll operation
//! budget (`sched::coop`): a task that is always ready yields after its
//! budget, exactly as a `yield_now` does, and the loop polls I/O at least
//! every `tasks_per_turn` polls.
//!
//! User code (polls, destructors, callbacks, wakers, posted closures) runs
//! with no borrow of the loop's state held and with a counted reference to
//! every task touched after it; see "User code under a borrow" in
//! docs/architecture.md for the rule and the sites.
//! A task that loops without ever awaiting anything still blocks the whole
//! thread, as a greenlet that never switches does in gevent.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::pin;
use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::builder::{Builder, PanicPolicy};
use crate::context;
use crate::handle::Handle;
use crate::reactor::Reactor;
use crate::sched::directory::{self, Unregister};
use crate::sched::remote::{Message, Remote};
use crate::task::compact::CompactWaker;
use crate::task::error::JoinError;
use crate::task::header::{Header, foreign_ref_dec, ref_dec};
use crate::task::heap::TaskHeap;
use crate::task::registry::Registry;
use crate::task::state::{AfterPoll, COMPLETE, HANDLED, JOIN_HANDLE, Kill, RUNNING, SCHEDULED};
use crate::task::waker::RefKind;
use crate::task::{JoinHandle, raw, waker};
use crate::time::driver::TimeDriver;

/// A single-threaded runtime: an executor of green tasks, a mio reactor and
/// a timing wheel, all on the thread that created it.
///
/// Most programs call [`run`](crate::run), which builds one with the
/// default settings. `Runtime` is `!Send`: its tasks need not be `Send`,
/// so it must stay on its thread.
///
/// ```
/// use sprout_runtime::{Runtime, spawn};
///
/// let rt = Runtime::new().unwrap();
/// let answer = rt.block_on(async {
///     let task = spawn(async { 21 });
///     task.await.unwrap() * 2
/// });
/// assert_eq!(answer, 42);
/// ```
///
/// Tasks outlive one `block_on` call: they keep running in the next one,
/// and are killed (their futures dropped, destructors run) when the
/// `Runtime` is dropped.
pub struct Runtime {
    core: Box<Core>,
    _not_send: PhantomData<*const ()>,
}

/// The loop's state. Everything is owned by the runtime thread, so it uses
/// `Cell`s and short `RefCell` borrows that never span user code.
pub(crate) struct Core {
    remote: Arc<Remote>,
    /// The task heap, given up (freed or orphaned) at the end of the shutdown.
    heap: NonNull<TaskHeap>,
    /// Identifies this runtime to timers and I/O registrations, which hold
    /// it instead of a pointer so that they can be `Send`.
    pub(crate) serial: u32,
    config: Builder,
    run_queue: RefCell<VecDeque<NonNull<Header>>>,
    /// Wakers of tasks that called `yield_now`, spent their budget or slept
    /// zero this turn.
    deferred: RefCell<Vec<Waker>>,
    registry: RefCell<Registry>,
    time: TimeDriver,
    pub(crate) reactor: Reactor,
    /// The `block_on` future's pseudo-task; its SCHEDULED bit means "woken".
    root: NonNull<Header>,
    /// The task being polled, or `root`.
    current: Cell<NonNull<Header>>,
    next_id: Cell<u64>,
    /// Operations left in the current poll's budget (see `sched::coop`).
    pub(crate) budget: Cell<u32>,
    /// A panic to re-raise from `block_on` (`PanicPolicy::Propagate`).
    failure: RefCell<Option<Box<dyn Any + Send>>>,
    /// Wakers of `sprout::wait()` futures.
    idle_waiters: RefCell<Vec<Waker>>,
    /// Bumped each time the loop finds nothing left to wait for.
    pub(crate) idle_epoch: Cell<u64>,
    /// Work in flight on other threads that will wake a task (blocking pool
    /// jobs): while non-zero the loop is not idle.
    keepalive: Cell<usize>,
    /// Set by the shutdown once the wheel and the reactor are emptied:
    /// later `Unregister` messages have nothing to act on.
    shut: Cell<bool>,
    /// Reused buffers, so a turn allocates nothing.
    wake_buf: RefCell<Vec<CompactWaker>>,
    deferred_buf: RefCell<Vec<Waker>>,
    messages: RefCell<VecDeque<Message>>,
}

static NEXT_SERIAL: AtomicU32 = AtomicU32::new(1);

/// A serial for a new runtime: never 0 and never one of the values at the
/// top of the range that `Sleep` uses as state markers (after four billion
/// runtimes the counter wraps past them).
fn next_serial() -> u32 {
    loop {
        let serial = NEXT_SERIAL.fetch_add(1, Ordering::Relaxed);
        if serial != 0 && serial < u32::MAX - 15 {
            return serial;
        }
    }
}

impl Runtime {
    /// A runtime with the default settings.
    pub fn new() -> io::Result<Runtime> {
        Builder::new().build()
    }

    /// Settings for a new runtime.
    pub fn builder() -> Builder {
        Builder::new()
    }

    pub(crate) fn from_builder(config: Builder) -> io::Result<Runtime> {
        let (reactor, mio_waker) = Reactor::new(config.events_per_turn)?;
        let remote = Arc::new(Remote::new(mio_waker));
        let heap = TaskHeap::new(remote.clone());
        let root = raw::allocate_root(heap);
        let serial = next_serial();
        let core = Core {
            remote,
            heap,
            serial,
            run_queue: RefCell::new(VecDeque::new()),
            deferred: RefCell::new(Vec::new()),
            registry: RefCell::new(Registry::new()),
            time: TimeDriver::new(serial),
            reactor,
            root,
            current: Cell::new(root),
            next_id: Cell::new(1),
            budget: Cell::new(config.ops_per_poll),
            failure: RefCell::new(None),
            idle_waiters: RefCell::new(Vec::new()),
            idle_epoch: Cell::new(0),
            keepalive: Cell::new(0),
            shut: Cell::new(false),
            wake_buf: RefCell::new(Vec::new()),
            deferred_buf: RefCell::new(Vec::new()),
            messages: RefCell::new(VecDeque::new()),
            config,
        };
        directory::insert(core.serial, &core.remote);
        Ok(Runtime { core: Box::new(core), _not_send: PhantomData })
    }

    /// Runs `future` to completion on this thread, together with every
    /// spawned task, and returns its output.
    ///
    /// # Panics
    /// If called from inside a running sprout runtime (a nested run would
    /// block every green task on this thread), if `future` panics, or, with
    /// [`PanicPolicy::Propagate`], if a task panics and nobody joins it.
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let core = &*self.core;
        let _enter = context::enter(core);
        let mut future = pin!(future);
        let root = core.root;
        // SAFETY: the root header lives as long as the Core; the borrowed
        // waker is never dropped, and clones of it own their references.
        let waker = ManuallyDrop::new(unsafe { waker::borrowed(root) });
        let mut cx = Context::from_waker(&waker);
        // SAFETY: the root header is live; we are its runtime thread.
        let root_state = unsafe { &root.as_ref().state };
        root_state.set(SCHEDULED);
        loop {
            if root_state.has(SCHEDULED) {
                root_state.unset(SCHEDULED);
                core.budget.set(core.config.ops_per_poll);
                if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                    return output;
                }
            }
            core.run_batch();
            core.raise_failure();
            core.turn();
        }
    }

    /// A handle that spawns onto this runtime from any thread.
    pub fn handle(&self) -> Handle {
        Handle::new(self.core.remote.clone())
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.core.shutdown();
    }
}

impl Core {
    /// The task heap, which also identifies this runtime to its tasks.
    #[inline]
    pub(crate) fn heap(&self) -> NonNull<TaskHeap> {
        self.heap
    }

    pub(crate) fn remote(&self) -> &Arc<Remote> {
        &self.remote
    }

    /// The task being polled (the root pseudo-task outside task polls).
    #[inline]
    pub(crate) fn current_task(&self) -> NonNull<Header> {
        self.current.get()
    }

    pub(crate) fn is_root(&self, task: NonNull<Header>) -> bool {
        task == self.root
    }

    /// Appends a task to the run queue. The caller hands over a reference.
    #[inline]
    pub(crate) fn push_task(&self, task: NonNull<Header>) {
        self.run_queue.borrow_mut().push_back(task);
    }

    /// Creates a task for `future`, queued to run.
    pub(crate) fn spawn<F>(&self, future: F, name: Option<Box<str>>) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        // Three references: the registry's, the run queue's and the handle's.
        let task = raw::allocate(future, SCHEDULED | JOIN_HANDLE, 3, self.heap, id);
        // SAFETY: freshly allocated, owned by this thread.
        let header = unsafe { task.as_ref() };
        if name.is_some() {
            header.with_extras(|e| e.name = name);
        }
        header.slot.set(self.registry.borrow_mut().insert(task));
        self.push_task(task);
        // SAFETY: the handle takes the third reference; F::Output matches.
        unsafe { JoinHandle::from_raw(task) }
    }

    /// Runs up to `tasks_per_turn` tasks.
    fn run_batch(&self) {
        for _ in 0..self.config.tasks_per_turn {
            let Some(task) = self.run_queue.borrow_mut().pop_front() else { break };
            // SAFETY: the queue entry owns a reference to a task of this runtime.
            unsafe { self.run_task(task) };
        }
    }

    /// Polls one task popped from the run queue, consuming the queue's reference.
    ///
    /// # Safety
    /// `task` is live, belongs to this runtime, and the caller owns a reference.
    #[inline]
    unsafe fn run_task(&self, task: NonNull<Header>) {
        // SAFETY: the caller's reference keeps the header alive.
        let header = unsafe { task.as_ref() };
        if !header.state.transition_to_running() {
            // Killed while it waited in the queue.
            // SAFETY: giving up the queue's reference.
            unsafe { ref_dec(task) };
            return;
        }
        self.current.set(task);
        self.budget.set(self.config.ops_per_poll);
        // SAFETY: the queue's reference keeps the task alive for the poll;
        // the borrowed waker is never dropped.
        let waker = ManuallyDrop::new(unsafe { waker::borrowed(task) });
        let mut cx = Context::from_waker(&waker);
        // SAFETY: RUNNING is set, so the stage is ours to poll.
        let done = unsafe { (header.vtable.poll)(task, &mut cx) };
        self.current.set(self.root);
        if done {
            self.complete(task);
            // SAFETY: giving up the queue's reference.
            unsafe { ref_dec(task) };
            return;
        }
        match header.state.transition_to_idle() {
            // The queue's reference moves to the new entry.
            AfterPoll::Requeue => self.push_task(task),
            // SAFETY: giving up the queue's reference.
            AfterPoll::Idle => unsafe { ref_dec(task) },
            AfterPoll::Kill => {
                header.state.set(RUNNING);
                self.drop_future(task);
                // SAFETY: giving up the queue's reference.
                unsafe { ref_dec(task) };
            }
        }
    }

    /// `JoinHandle::kill` and friends: drop the future now, unless the task
    /// is running (then right after its poll) or already complete.
    pub(crate) fn kill(&self, task: NonNull<Header>) {
        // SAFETY: the caller holds a reference; we are the runtime thread.
        let header = unsafe { task.as_ref() };
        match header.state.transition_to_killed() {
            Kill::DropNow => self.drop_future(task),
            Kill::Deferred | Kill::Nothing => {}
        }
    }

    /// Drops a task's future in place (RUNNING is set) and completes it as killed.
    fn drop_future(&self, task: NonNull<Header>) {
        // SAFETY: the caller holds a reference and has set RUNNING.
        let header = unsafe { task.as_ref() };
        // Destructors run as the task itself, so they see its task-locals.
        let prev = self.current.replace(task);
        // SAFETY: RUNNING guards the stage; the future is live.
        unsafe { (header.vtable.kill)(task) };
        self.current.set(prev);
        self.complete(task);
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
    fn complete(&self, task: NonNull<Header>) {
        // SAFETY: the caller holds a reference; we are the runtime thread.
        let header = unsafe { task.as_ref() };
        self.registry.borrow_mut().remove(header.slot.get());
        // Most tasks never allocate extras: skip the whole block for them.
        // (Only completion code could allocate them here, and it runs only
        // for tasks that have them.)
        let has_extras = header.has_extras();
        if has_extras {
            self.run_completion_code(task);
        }
        header.state.transition_to_complete();
        if let Some(joiner) = header.join_waker.take() {
            joiner.wake();
        }
        if has_extras {
            let wakers = header.with_extras(|e| std::mem::take(&mut e.done_wakers));
            wakers.into_iter().for_each(Waker::wake);
        }
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
                header.state.set(HANDLED);
            }
            for callback in callbacks {
                // SAFETY: the output is live and stays so while the callback
                // runs: RUNNING is set and COMPLETE is not, so neither the
                // handle (`take_output`, its drop) nor `discard_output` will
                // touch it, and the callback only gets a shared borrow.
                let output = unsafe { &*(header.vtable.output)(task) };
                if let Err(payload) = catch_unwind(AssertUnwindSafe(|| callback(output))) {
                    self.report(header, &JoinError::panicked(payload), "a completion callback of task");
                }
            }
        }
    }

    /// Drops a finished task's output nobody will take, reporting an
    /// unhandled panic.
    pub(crate) fn discard_output(&self, task: NonNull<Header>) {
        // SAFETY: the caller holds a reference; we are the runtime thread.
        let header = unsafe { task.as_ref() };
        if !header.state.transition_to_consumed() {
            return;
        }
        // SAFETY: the output is live and we just marked it consumed.
        if let Some(err) = unsafe { (header.vtable.drop_output)(task) } {
            if err.is_panic() && !header.state.has(HANDLED) {
                self.failed(header, err);
            }
        }
    }

    /// Applies the panic policy to a failure nobody joined.
    fn failed(&self, header: &Header, err: JoinError) {
        match self.config.panic_policy {
            PanicPolicy::Log => self.report(header, &err, "task"),
            PanicPolicy::Abort => {
                self.report(header, &err, "task");
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

    fn report(&self, header: &Header, err: &JoinError, what: &str) {
        eprintln!("sprout: {what} {} failed and nobody joined it: {err}", header.label());
    }

    /// Re-raises a propagated panic from `block_on`.
    fn raise_failure(&self) {
        let failure = self.failure.borrow_mut().take();
        if let Some(payload) = failure {
            resume_unwind(payload);
        }
    }

    /// Whether anything is ready to run without waiting.
    fn is_busy(&self) -> bool {
        // SAFETY: the root header lives as long as the Core.
        let root_woken = unsafe { self.root.as_ref().state.has(SCHEDULED) };
        root_woken || !self.run_queue.borrow().is_empty() || !self.deferred.borrow().is_empty()
    }

    /// Whether nothing is left that could ever wake a task: no ready task,
    /// timer, I/O waiter, message or blocking job.
    fn is_idle(&self) -> bool {
        !self.is_busy()
            && self.time.only_idle_timers(&self.idle_waiters.borrow())
            && self.keepalive.get() == 0
            && !self.remote.has_messages()
            && !self.reactor.has_waiters()
    }

    /// Steps 3 to 6 of the loop (see the module docs).
    fn turn(&self) {
        if self.remote.has_messages() {
            self.drain_remote();
        }
        let mut timeout = if self.is_busy() {
            Some(Duration::ZERO)
        } else {
            let next = self.time.next_deadline();
            next.map(|deadline| blocking_timeout(deadline.saturating_duration_since(Instant::now())))
        };
        if timeout != Some(Duration::ZERO) && !self.idle_waiters.borrow().is_empty() && self.is_idle() {
            // gevent.wait(): the loop has nothing left to wait for.
            self.idle_epoch.set(self.idle_epoch.get() + 1);
            let waiters = std::mem::take(&mut *self.idle_waiters.borrow_mut());
            waiters.into_iter().for_each(Waker::wake);
            timeout = Some(Duration::ZERO);
        }
        // With no sources, a zero-timeout poll could only report the
        // cross-thread waker, whose flag we just read: skip the syscall.
        let must_poll = timeout != Some(Duration::ZERO) || self.reactor.has_sources();
        let timers_armed = self.time.armed() > 0;
        if must_poll || timers_armed {
            let mut wake = std::mem::take(&mut *self.wake_buf.borrow_mut());
            if must_poll && self.reactor.turn(timeout, &mut wake) {
                self.drain_remote();
            }
            if timers_armed {
                self.time.fire_due(Instant::now(), &mut wake);
            }
            for waker in wake.drain(..) {
                waker.wake();
            }
            *self.wake_buf.borrow_mut() = wake;
        }
        // Tasks that yielded go behind everything I/O and timers just woke.
        if !self.deferred.borrow().is_empty() {
            self.requeue_deferred();
        }
    }

    /// Wakes the tasks that called `yield_now` during this turn.
    fn requeue_deferred(&self) {
        // Swap in the spare buffer: waking may run a foreign waker that
        // yields again, and that must land in the next turn's list.
        let mut deferred = std::mem::take(&mut *self.deferred_buf.borrow_mut());
        std::mem::swap(&mut deferred, &mut *self.deferred.borrow_mut());
        for waker in deferred.drain(..) {
            waker.wake();
        }
        *self.deferred_buf.borrow_mut() = deferred;
    }

    /// Handles every message other threads posted.
    fn drain_remote(&self) {
        let mut messages = std::mem::take(&mut *self.messages.borrow_mut());
        self.remote.drain(&mut messages);
        for message in messages.drain(..) {
            self.handle_message(message);
        }
        *self.messages.borrow_mut() = messages;
    }

    fn handle_message(&self, message: Message) {
        match message {
            Message::Wake(sent) => {
                // SAFETY: the message owns a reference to a task of this
                // runtime, and we are its thread.
                unsafe {
                    let task = sent.task();
                    let queued = waker::schedule(self, task);
                    match (queued, sent.kind()) {
                        // The message's local reference becomes the queue's.
                        (true, RefKind::Local) => {}
                        (true, RefKind::Foreign) => {
                            task.as_ref().ref_inc();
                            foreign_ref_dec(task);
                        }
                        (false, _) => sent.release(),
                    }
                }
            }
            // SAFETY: as above.
            Message::Release(sent) => unsafe { sent.release() },
            Message::Run(f) => {
                if let Err(payload) = catch_unwind(AssertUnwindSafe(f)) {
                    let err = JoinError::panicked(payload);
                    eprintln!("sprout: a closure posted to the runtime from another thread failed: {err}");
                }
            }
            Message::Unregister(what) => self.unregister(what),
        }
    }

    /// Forgets a timer, socket record or waiter whose owner was dropped
    /// where this runtime was not running (see `sched/directory.rs`).
    fn unregister(&self, what: Unregister) {
        if self.shut.get() {
            // The wheel and the reactor were already emptied.
            return;
        }
        // Each record is dropped after its borrow ends: dropping a waker
        // may free a task.
        match what {
            Unregister::Timer(key) => self.time.cancel(key),
            Unregister::Io(io) => {
                let record = self.reactor.release(io);
                drop(record);
            }
            Unregister::Waiter(io, dir, key) => {
                let duplicate = self.reactor.park_waiter(io, dir, key);
                drop(duplicate);
            }
        }
    }

    /// Defers a `yield_now` (or a spent budget, or a zero sleep) until after
    /// the next I/O poll.
    pub(crate) fn defer(&self, waker: &Waker) {
        self.deferred.borrow_mut().push(waker.clone());
    }

    /// Registers a `sprout::wait()` future.
    pub(crate) fn wait_idle(&self, waker: &Waker) {
        let mut waiters = self.idle_waiters.borrow_mut();
        if !waiters.iter().any(|w| w.will_wake(waker)) {
            waiters.push(waker.clone());
        }
    }

    /// Counts work on another thread that will wake a task.
    pub(crate) fn keepalive_inc(&self) {
        self.keepalive.set(self.keepalive.get() + 1);
    }

    pub(crate) fn keepalive_dec(&self) {
        self.keepalive.set(self.keepalive.get() - 1);
    }

    /// The number of live (unfinished) tasks.
    pub(crate) fn live_tasks(&self) -> usize {
        self.registry.borrow().len()
    }

    /// The time driver (for the probes).
    pub(crate) fn time(&self) -> &TimeDriver {
        &self.time
    }

    /// Kills every task and releases everything that holds a waker, then
    /// frees or orphans the remote queue.
    ///
    /// Closures other threads posted before this point (`Handle::spawn`,
    /// `Handle::call`) were accepted, so they run, inside the kill loop,
    /// and whatever they spawn is killed with the rest: a `Handle::spawn`
    /// joiner gets `Killed`, never a task nobody will kill (issue 8, bug 3).
    /// From the first line on, new closures are refused, so the loop ends.
    fn shutdown(&self) {
        let _enter = context::enter_for_shutdown(self);
        self.remote.refuse_closures();
        loop {
            // Accepted closures may spawn, and destructors may spawn: kill those too.
            self.drain_remote();
            let live = self.registry.borrow().snapshot();
            if live.is_empty() {
                if self.remote.has_messages() {
                    continue;
                }
                break;
            }
            for task in live {
                // SAFETY: registered tasks are live; hold a reference while
                // killing so completion cannot free the header under us.
                unsafe {
                    let header = task.as_ref();
                    if header.state.has(COMPLETE) {
                        continue;
                    }
                    header.ref_inc();
                    self.kill(task);
                    ref_dec(task);
                }
            }
        }
        let queued: Vec<_> = self.run_queue.borrow_mut().drain(..).collect();
        for task in queued {
            // SAFETY: each queue entry owns a reference.
            unsafe { ref_dec(task) };
        }
        drop(std::mem::take(&mut *self.deferred.borrow_mut()));
        drop(std::mem::take(&mut *self.idle_waiters.borrow_mut()));
        self.shut.set(true);
        self.time.clear();
        self.reactor.clear_all();
        self.drain_remote();
        // Only wakes and releases are left: closures are refused by now.
        for message in self.remote.close() {
            self.handle_message(message);
        }
        directory::remove(self.serial);
        // SAFETY: the Core's own reference to the root.
        unsafe { ref_dec(self.root) };
        // SAFETY: the Core's heap, given up once, on its thread.
        let left = unsafe { TaskHeap::release(self.heap) };
        if left > 0 && cfg!(debug_assertions) && std::env::var_os("SPROUT_DEBUG_LEAKS").is_some() {
            eprintln!("sprout: {left} task allocations outlive their runtime");
        }
    }
}

/// How long one blocking `epoll_wait` may wait for a timer `remaining` away.
///
/// The kernel lets `epoll_wait` return later than asked, by its timer
/// slack: 0.1% of the timeout for a normal thread (0.5% when niced), at
/// least the thread's `timer_slack_ns` (50 us) and at most 100 ms. One
/// 4-second wait came back up to 4 ms late, 5 with mio's rounding up to
/// whole milliseconds (issue 8, bug 11). So a long wait ends early, by more
/// than any slack it can carry, and the next turn waits the short rest,
/// whose slack is a few microseconds: one extra wake-up per long wait.
/// What remains is mio's rounding up to the millisecond and the tick's
/// rounding of the deadline: a timer fires within about 2 ms of its
/// deadline, plus the loop's latency, at any length.
fn blocking_timeout(remaining: Duration) -> Duration {
    /// Waits this short are taken whole: their slack is at most 80 us.
    const WHOLE: Duration = Duration::from_millis(16);
    if remaining <= WHOLE {
        return remaining;
    }
    // 1/128 is more than 0.5%; 101 ms is more than the 100 ms cap; the
    // extra millisecond covers the rounding up to whole milliseconds.
    let margin = (remaining / 128).min(Duration::from_millis(101)) + Duration::from_millis(1);
    remaining - margin
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kernel's worst timer slack for a wait of `t` (see `blocking_timeout`).
    fn worst_slack(t: Duration) -> Duration {
        (t / 200).clamp(Duration::from_micros(50), Duration::from_millis(100))
    }

    /// mio rounds a timeout up to whole milliseconds.
    fn rounded_up(t: Duration) -> Duration {
        Duration::from_millis(t.as_nanos().div_ceil(1_000_000) as u64)
    }

    /// Issue 8, bug 11: a long wait carried its slack past the deadline (a
    /// timer 4 s away fired up to 5 ms late). Every wait now ends before the
    /// deadline even with the worst slack, and the last one is short.
    #[test]
    fn long_waits_end_before_the_deadline_despite_the_slack() {
        let mut t = Duration::from_micros(300);
        while t < Duration::from_secs(86_400 * 400) {
            let wait = blocking_timeout(t);
            assert!(wait <= t);
            if wait < t {
                let latest = rounded_up(wait) + worst_slack(rounded_up(wait));
                assert!(latest < t, "a wait for a timer {t:?} away may end at {latest:?}");
            } else {
                // Taken whole: short enough that its slack is negligible.
                assert!(worst_slack(rounded_up(t)) <= Duration::from_micros(85), "{t:?}");
            }
            t = t * 3 / 2;
        }
    }
}
