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
//! budget (`task::coop`): a task that is always ready yields after its
//! budget, exactly as a `yield_now` does, and the loop polls I/O at least
//! every `tasks_per_turn` polls.
//!
//! This file holds the turn, the handling of messages from other threads
//! and the shutdown. The work of each step is done by one part the loop
//! owns: the executor (`task/executor.rs`, steps 1, 2 and 6), the mailbox
//! (`remote/mailbox.rs`, step 3), the reactor (`reactor/mod.rs`, step 4) and
//! the time driver (`time/driver.rs`, step 5); none of them imports this
//! file (see "Layers" in docs/architecture.md).
//!
//! User code (polls, destructors, callbacks, wakers, posted closures) runs
//! with no borrow of the loop's state held and with a counted reference to
//! every task touched after it; see "User code under a borrow" in
//! docs/architecture.md for the rule and the sites.
//! A task that loops without ever awaiting anything still blocks the whole
//! thread, as a greenlet that never switches does in gevent.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::io;
use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, Location, catch_unwind};
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crate::builder::Builder;
use crate::context;
use crate::handle::Handle;
use crate::observe::{Deadlock, Observe};
use crate::reactor::Reactor;
use crate::remote::directory::{self, Unregister};
use crate::remote::mailbox::{Message, Remote};
use crate::task::compact::CompactWaker;
use crate::task::error::JoinError;
use crate::task::executor::Executor;
use crate::task::waker_set::{WakerKey, WakerSet};
use crate::time::driver::TimeDriver;

/// A single-threaded runtime: an executor of green tasks, a mio reactor and
/// a timing wheel, all on the thread that created it.
///
/// Most programs call [`run`](crate::run), which builds one with the
/// default settings. `Runtime` is `!Send`: its tasks need not be `Send`,
/// so it must stay on its thread.
///
/// ```
/// use sprout::{Runtime, spawn};
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
    core: Box<EventLoop>,
    _not_send: PhantomData<*const ()>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").field("serial", &self.core.serial).finish_non_exhaustive()
    }
}

/// The loop's state: the three parts it drives, the mailbox, and what only
/// the loop itself needs. Everything is owned by the runtime thread, so it
/// uses `Cell`s and short `RefCell` borrows that never span user code.
///
/// The parts are reached by the code below them through their own
/// thread-local slots (`Executor::current`, `TimeDriver::current`,
/// `Reactor::current`), never through this struct; the layers above the
/// loop (`Handle`, `wait`, `blocking`) reach it through `context.rs` and
/// the few methods at the end of this file.
pub(crate) struct EventLoop {
    /// Tasks: the run queue, the harness, the task home (`task/executor.rs`).
    executor: Executor,
    /// Timers (`time/driver.rs`).
    time: TimeDriver,
    /// I/O readiness (`reactor/mod.rs`).
    reactor: Reactor,
    /// Messages from other threads (`remote/mailbox.rs`).
    remote: Arc<Remote>,
    /// Identifies this runtime to timers, I/O registrations and blocking
    /// work, which hold it instead of a pointer so that they can be `Send`.
    serial: u32,
    /// Wakers of `sprout::wait()` futures.
    idle_waiters: RefCell<WakerSet>,
    /// Bumped each time the loop finds nothing left to wait for.
    idle_epoch: Cell<u64>,
    /// Work in flight on other threads that will wake a task (blocking pool
    /// jobs): while non-zero the loop is not idle.
    keepalive: Cell<usize>,
    /// Set by the shutdown once the wheel and the reactor are emptied:
    /// later `Unregister` messages have nothing to act on.
    shut: Cell<bool>,
    /// Reused buffers, so a turn allocates nothing.
    wake_buf: RefCell<Vec<CompactWaker>>,
    messages: RefCell<VecDeque<Message>>,
    /// Counters, the blocking monitor, the deadlock check (`observe/`).
    observe: Observe,
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
        let serial = next_serial();
        let (reactor, mio_waker) = Reactor::new(config.events_per_turn, serial)?;
        let remote = Arc::new(Remote::new(mio_waker));
        let (observe, observer) = Observe::new(&config.observe, serial);
        let mut core = EventLoop {
            executor: Executor::new(remote.clone(), config.tasks_per_turn, config.ops_per_poll, config.panic_policy),
            time: TimeDriver::new(serial, config.start_paused, config.auto_advance, config.clock, remote.rouser()),
            reactor,
            remote,
            serial,
            idle_waiters: RefCell::new(WakerSet::new()),
            idle_epoch: Cell::new(0),
            keepalive: Cell::new(0),
            shut: Cell::new(false),
            wake_buf: RefCell::new(Vec::new()),
            messages: RefCell::new(VecDeque::new()),
            observe,
        };
        if let Some(observer) = observer {
            core.executor.set_observer(observer);
        }
        core.observe.set_own_remote_refs(&core.remote);
        if let Some(seed) = config.seed {
            core.executor.seed_order(seed);
        }
        directory::insert(core.serial, &core.remote);
        Ok(Runtime { core: Box::new(core), _not_send: PhantomData })
    }

    /// Runs `future` to completion on this thread, together with every
    /// spawned task, and returns its output.
    ///
    /// # Panics
    /// If called from inside a running sprout runtime (a nested run would
    /// block every green task on this thread), if `future` panics, or, with
    /// [`PanicPolicy::Propagate`](crate::PanicPolicy::Propagate), if a task
    /// panics and nobody joins it; and with the report of a
    /// [`Deadlock`] if the future waits and nothing can ever wake it or any
    /// task (see [`try_block_on`](Self::try_block_on)).
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        match self.try_block_on(future) {
            Ok(output) => output,
            Err(deadlock) => {
                deadlock.report();
                panic!("{deadlock}")
            }
        }
    }

    /// [`block_on`](Self::block_on), returning a [`Deadlock`] instead of
    /// panicking when `future` waits and nothing can ever wake it or any
    /// task: every task waits on another task or on a primitive only a
    /// task could release, and no timer, socket, `Handle`, waker held by
    /// another thread or blocking job is left. The future is dropped; the
    /// tasks stay (and are killed when the runtime is dropped). See
    /// `docs/debugging.md`, "Deadlock reports", for what counts.
    ///
    /// ```
    /// use std::rc::Rc;
    /// use sprout::{Runtime, sync::Lock, spawn, yield_now};
    ///
    /// let rt = Runtime::new().unwrap();
    /// let (a, b) = (Rc::new(Lock::new(())), Rc::new(Lock::new(())));
    /// let err = rt.try_block_on(async move {
    ///     let t1 = spawn({
    ///         let (a, b) = (a.clone(), b.clone());
    ///         async move {
    ///             let _a = a.lock().await;
    ///             yield_now().await;
    ///             let _b = b.lock().await;
    ///         }
    ///     });
    ///     let t2 = spawn(async move {
    ///         let _b = b.lock().await;
    ///         yield_now().await;
    ///         let _a = a.lock().await;
    ///     });
    ///     t1.await.unwrap();
    ///     t2.await.unwrap();
    /// });
    /// assert_eq!(err.unwrap_err().dump().tasks().len(), 3);
    /// ```
    ///
    /// # Panics
    /// As `block_on`, but not for a deadlock.
    #[track_caller]
    pub fn try_block_on<F: Future>(&self, future: F) -> Result<F::Output, Deadlock> {
        let core = &*self.core;
        let _enter = context::enter(core);
        // A virtual clock shared with other runtimes counts this one busy
        // until it waits, and away once `block_on` returns.
        let _running = core.time.clock().running();
        core.observe.block_on_starts(&core.executor, Location::caller());
        let mut future = pin!(future);
        // SAFETY: the waker is used only within this call, while the
        // executor lives, and never dropped; clones own their references.
        let waker = unsafe { core.executor.root_waker() };
        let mut cx = Context::from_waker(&waker);
        core.executor.wake_root();
        loop {
            // 1. The main future, if it was woken.
            if core.executor.begin_root_poll() {
                if let Some(deadlock) = core.observe.take_deadlock() {
                    return Err(deadlock);
                }
                if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                    return Ok(output);
                }
            }
            // 2. A batch of tasks.
            core.executor.run_batch();
            core.executor.raise_failure();
            // 3 to 6.
            core.turn();
        }
    }

    /// A handle that spawns onto this runtime from any thread.
    pub fn handle(&self) -> Handle {
        Handle::new(self.core.remote.clone(), self.core.observe.shared().clone())
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.core.shutdown();
    }
}

impl EventLoop {
    /// Steps 3 to 6 of the loop (see the module docs).
    fn turn(&self) {
        self.observe.turn_starts();
        // 3. Messages from other threads.
        if self.remote.has_messages() {
            self.drain_remote();
        }
        // 4. How long the poll may block: not at all if a task is ready,
        // else until the next timer (or forever, if none).
        let mut timeout =
            if self.executor.is_busy() { Some(Duration::ZERO) } else { self.time.until_next().map(blocking_timeout) };
        // Whether a paused clock's idle vote follows the poll (`before_waiting`).
        let mut vote = false;
        if timeout != Some(Duration::ZERO) {
            (timeout, vote) = self.before_waiting(timeout);
        }
        // With no sources, a zero-timeout poll could only report the
        // cross-thread waker, whose flag we just read: skip the syscall.
        let must_poll = timeout != Some(Duration::ZERO) || self.reactor.has_sources();
        let timers_armed = self.time.armed() > 0;
        if must_poll || timers_armed || vote {
            let mut wake = std::mem::take(&mut *self.wake_buf.borrow_mut());
            // 4. Poll I/O.
            if must_poll && self.reactor.turn(timeout, &mut wake) {
                self.drain_remote();
            }
            // 5. Fire due timers; a paused clock may first jump to the next
            // deadline if this runtime is idle (auto-advance).
            if timers_armed || vote {
                let before = wake.len();
                if vote || self.time.is_paused() {
                    self.paused_timers(&mut wake, vote);
                } else {
                    self.time.fire_due(&mut wake);
                }
                self.observe.timers_fired(wake.len() - before);
            }
            if !wake.is_empty() {
                // What this wakes will run: a virtual clock shared with other
                // runtimes must not jump meanwhile.
                self.time.clock().withdraw();
                for waker in wake.drain(..) {
                    waker.wake();
                }
            }
            *self.wake_buf.borrow_mut() = wake;
        }
        // 6. Tasks that yielded go behind everything I/O and timers just woke.
        if self.executor.has_deferred() {
            self.executor.wake_deferred();
        }
    }

    /// Step 4 for a loop that may wait (nothing is ready): the idle wake of
    /// `sprout::wait()` futures, a paused clock's timeout, the deadlock
    /// check, the blocking monitor's idle mark. Returns the timeout, zero
    /// if it woke anything or a paused clock may jump, and whether step 5
    /// casts this runtime's idle vote (see `may_jump`). Kept out of `turn`,
    /// so that a busy loop pays nothing for it.
    #[inline(never)]
    fn before_waiting(&self, mut timeout: Option<Duration>) -> (Option<Duration>, bool) {
        if !self.idle_waiters.borrow().is_empty() && self.is_idle() {
            // gevent.wait(): the loop has nothing left to wait for.
            self.idle_epoch.set(self.idle_epoch.get() + 1);
            let waiters = self.idle_waiters.borrow_mut().take();
            waiters.wake();
            return (Some(Duration::ZERO), false);
        }
        if self.time.is_paused() {
            // Virtual time: waiting does not move a paused clock, so the
            // poll must not block until a deadline (see `may_jump`). Either
            // it polls without blocking and votes, or it waits for I/O, a
            // message, or another runtime sharing the clock.
            if self.may_jump() && self.time.clock().plan_vote() {
                return (Some(Duration::ZERO), true);
            }
            timeout = None;
        }
        if timeout.is_none() {
            // Nothing ready, and no timer, or a paused clock that will not
            // jump: unless something outside the tasks can wake one, this
            // wait would never end. A task waiting on a timer is never
            // counted stuck (`observe/deadlock.rs`), so a paused clock that
            // another task's `time::advance` could still move is no
            // deadlock. The report goes to `block_on` through the main
            // future's wake.
            if let Some(deadlock) = self.deadlocked() {
                self.observe.set_deadlock(deadlock);
                self.executor.wake_root();
                return (Some(Duration::ZERO), false);
            }
        }
        self.observe.loop_waits(&self.executor);
        (timeout, false)
    }

    /// The deadlock report, if nothing outside the tasks can wake one (no
    /// blocking job, message, socket waiter, `wait()` future, `Handle`) and
    /// every task and the main future wait only on one another; called
    /// when nothing is ready and no timer is armed (or a paused clock will
    /// not jump). See `observe/deadlock.rs`.
    fn deadlocked(&self) -> Option<Deadlock> {
        if self.keepalive.get() > 0
            || self.remote.has_messages()
            || !self.idle_waiters.borrow().is_empty()
            || self.reactor.has_any_waiters()
        {
            return None;
        }
        // A paused clock that only `time::advance` moves: its timers fire
        // only if some task advances it (`observe/deadlock.rs`). A task of
        // another runtime sharing the clock may: then they are not stuck.
        let frozen = self.time.is_paused() && !self.time.auto_advance() && !self.time.clock().is_shared();
        self.observe.deadlock(&self.executor, &self.remote, || {
            let mut timers = HashMap::new();
            if frozen {
                self.time.sleepers(|task, _| *timers.entry(task).or_insert(0) += 1);
            }
            timers
        })
    }

    /// Step 5 with a paused clock: fires the timers that are due (another
    /// runtime sharing the clock, or `time::advance`, may have moved it),
    /// then, if step 4 planned it (`vote`) and this runtime is idle (the
    /// poll woke nothing, no task is ready), casts its idle vote, which
    /// jumps the clock to the next deadline if every runtime sharing it is
    /// idle too; then fires again.
    #[cold]
    fn paused_timers(&self, wake: &mut Vec<CompactWaker>, vote: bool) {
        self.time.fire_due(wake);
        if !vote {
            return;
        }
        let clock = self.time.clock();
        if wake.is_empty() && !self.executor.is_busy() && !self.remote.has_messages() && self.may_jump() {
            if clock.vote(self.time.next_deadline()) {
                self.time.fire_due(wake);
            }
        } else {
            clock.drop_plan();
        }
    }

    /// Whether a paused clock may jump to the next deadline: auto-advance
    /// is on and no blocking-pool job is in flight. Step 4 then polls with
    /// a zero timeout and step 5 votes (see `paused_timers`), or, when the
    /// vote it cast already stands, waits with no timeout (waiting does not
    /// bring a paused deadline closer) for I/O, a message, or another
    /// runtime sharing the clock.
    ///
    /// The rule for jumping, tokio's: jump only where the loop would
    /// otherwise block. The poll then takes no time; if it wakes a task (I/O,
    /// a message), that task runs first, and the jump waits for a later turn
    /// where nothing was woken. So a socket that another task of this
    /// runtime wrote to is read before a timeout can fire, while data still
    /// to come from another thread or process may lose against a jumped
    /// timeout. A blocking-pool job in flight (`keepalive`) holds the jump
    /// off: the poll waits for its result, as it would with no timer at all
    /// (tokio does the same for `spawn_blocking`). With auto-advance off,
    /// the poll waits for I/O or a wake-up only; `time::advance` moves the
    /// clock.
    ///
    /// With several runtimes on one virtual clock (a paused test's server
    /// workers, `cores`), the rule holds for all of them together: the
    /// clock jumps only when every one of them is idle, each after a poll
    /// that began once the last of them went idle, and one that is woken
    /// withdraws its vote before it runs anything (`withdraw` in `turn`
    /// and `drain_remote`). The protocol is in `time/virtual_clock.rs`.
    #[cold]
    fn may_jump(&self) -> bool {
        self.time.auto_advance() && self.keepalive.get() == 0
    }

    /// Whether nothing is left that could ever wake a task: no ready task,
    /// timer, I/O waiter, message or blocking job.
    fn is_idle(&self) -> bool {
        !self.executor.is_busy()
            && self.time.only_idle_timers(&self.idle_waiters.borrow())
            && self.keepalive.get() == 0
            && !self.remote.has_messages()
            && !self.reactor.has_waiters()
    }

    /// Handles every message other threads posted.
    fn drain_remote(&self) {
        let mut messages = std::mem::take(&mut *self.messages.borrow_mut());
        self.remote.drain(&mut messages);
        if !messages.is_empty() {
            // They may run or wake tasks: a shared virtual clock must not
            // jump meanwhile.
            self.time.clock().withdraw();
        }
        for message in messages.drain(..) {
            self.handle_message(message);
        }
        *self.messages.borrow_mut() = messages;
    }

    /// Kill passes until one drops no future, then the run queue's
    /// references and the yielded tasks' wakers go (shutdown).
    fn kill_everything(&self) {
        while self.executor.kill_all() {}
        self.executor.clear_queues();
    }

    fn handle_message(&self, message: Message) {
        match message {
            Message::Wake(sent) => {
                self.observe.remote_wake();
                // SAFETY: the message owns a reference to a task of this
                // runtime, and we are its thread.
                unsafe { self.executor.wake_sent(sent) }
            }
            // SAFETY: as above.
            Message::Release(sent) => unsafe { sent.release() },
            Message::Run(f) => {
                self.observe.closure_starts(&self.executor);
                if let Err(payload) = catch_unwind(AssertUnwindSafe(f)) {
                    let err = JoinError::panicked(payload);
                    crate::__report!(
                        event: ERROR(
                            target: "sprout::runtime",
                            error = %err,
                            "a closure posted to the runtime from another thread failed"
                        ),
                        stderr: "sprout: a closure posted to the runtime from another thread failed: {err}",
                    );
                }
            }
            Message::Unregister(what) => self.unregister(what),
        }
    }

    /// Forgets a timer, socket record or waiter whose owner was dropped
    /// where this runtime was not running (see `remote/directory.rs`).
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

    /// Kills every task and releases everything that holds a waker, then
    /// frees or orphans the task home. Every step is bounded whatever other
    /// threads do ("Shutdown is bounded" in docs/architecture.md): the
    /// mailbox is read exactly twice, and the kill passes repeat only while
    /// code on this thread spawns.
    ///
    /// The mailbox's half is `Remote::shut_down`, which calls back for the
    /// rest:
    ///
    /// 1. `begin_shutdown` refuses later closures and hands over everything
    ///    queued so far. The closures in it (`Handle::spawn`, `Handle::call`)
    ///    were accepted, so they run, and what they spawn is killed with the
    ///    rest: a `Handle::spawn` joiner gets `Killed`, never a task nobody
    ///    will kill.
    /// 2. Kill passes, until one drops no future (destructors and those
    ///    closures may spawn; no other thread can any more).
    /// 3. Every waker the runtime holds is dropped: run queue, idle waiters,
    ///    wheel, reactor.
    /// 4. `close` hands over what other threads posted meanwhile (wakes,
    ///    releases, unregisters: their references are released here) and
    ///    hands every later message back to its poster. The mailbox is read
    ///    a bounded number of times, never "until empty": threads that keep
    ///    waking a task would keep it from ever being empty, and the drop
    ///    would never return.
    /// 5. Kill passes again, for whatever that last batch's releases ran
    ///    (a freed task's extras are dropped, and a destructor may spawn).
    fn shutdown(&self) {
        let _enter = context::enter_for_shutdown(self);
        self.remote.shut_down(
            // Steps 1 and 4.
            |message| self.handle_message(message),
            || {
                // 2.
                self.kill_everything();
                // 3. Dropped after the borrow: a waker's drop may free a
                // task whose `wait()` future then leaves the set.
                let idle_waiters = self.idle_waiters.borrow_mut().take();
                drop(idle_waiters);
                self.shut.set(true);
                self.time.clear();
                self.reactor.clear_all();
            },
        );
        // 5.
        self.kill_everything();
        directory::remove(self.serial);
        // SAFETY: the last use of the executor.
        let left = unsafe { self.executor.release() };
        if left > 0 && cfg!(debug_assertions) && std::env::var_os("SPROUT_DEBUG_LEAKS").is_some() {
            eprintln!("sprout: {left} task allocations outlive their runtime");
        }
    }

    // --- What `context.rs` offers the layers above the loop ---

    /// Points every part's thread-local slot at this runtime (`context::enter`).
    pub(crate) fn enter_parts(&self) -> Parts {
        Parts {
            _executor: self.executor.enter(),
            _time: self.time.enter(),
            _reactor: self.reactor.enter(),
            _observe: self.observe.enter(&self.executor),
        }
    }

    /// The mailbox (`Handle`, blocking work's way home).
    pub(crate) fn remote(&self) -> &Arc<Remote> {
        &self.remote
    }

    /// This runtime's serial (see the field).
    pub(crate) fn serial(&self) -> u32 {
        self.serial
    }

    /// What `Handle`s keep of the observation part.
    pub(crate) fn observe_shared(&self) -> &Arc<crate::observe::Shared> {
        self.observe.shared()
    }

    /// Counts work on another thread that will wake a task.
    pub(crate) fn keepalive_inc(&self) {
        self.keepalive.set(self.keepalive.get() + 1);
    }

    pub(crate) fn keepalive_dec(&self) {
        self.keepalive.set(self.keepalive.get() - 1);
    }

    /// How many times the loop has found nothing left to wait for.
    pub(crate) fn idle_epoch(&self) -> u64 {
        self.idle_epoch.get()
    }

    /// Registers (or re-registers) a `sprout::wait()` future under `key`.
    pub(crate) fn wait_idle(&self, key: &mut Option<WakerKey>, waker: &Waker) {
        self.idle_waiters.borrow_mut().register(key, waker);
    }

    /// A `sprout::wait()` future leaves before the loop went idle.
    pub(crate) fn unwait_idle(&self, key: &mut Option<WakerKey>) {
        let waker = self.idle_waiters.borrow_mut().remove(key);
        drop(waker);
    }
}

/// The guards that keep a runtime's parts current on this thread.
pub(crate) struct Parts {
    _executor: crate::scoped::Reset<Executor>,
    _time: crate::scoped::Reset<TimeDriver>,
    _reactor: crate::scoped::Reset<Reactor>,
    _observe: crate::observe::Entered,
}

/// How long one blocking `epoll_wait` may wait for a timer `remaining` away.
///
/// The kernel lets `epoll_wait` return later than asked, by its timer
/// slack: 0.1% of the timeout for a normal thread (0.5% when niced), at
/// least the thread's `timer_slack_ns` (50 us) and at most 100 ms. One
/// 4-second wait came back up to 4 ms late, 5 with mio's rounding up to
/// whole milliseconds. So a long wait ends early, by more
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
