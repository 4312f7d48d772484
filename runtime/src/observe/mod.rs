//! Seeing inside a runtime: what its tasks are doing, which one blocks the
//! thread, whether it is deadlocked, and how busy it is.
//!
//! - [`dump`] / [`Handle::dump`](crate::Handle::dump): the live tasks, with
//!   their state, spawn site, what each waits on and where, age and polls
//!   ([`Dump`], `Display`able as a table, like gevent's `print_run_info`).
//!   [`Builder::dump_on_signal`](crate::Builder::dump_on_signal) prints it
//!   on `SIGUSR1`.
//! - [`Builder::warn_blocking`](crate::Builder::warn_blocking): a monitor
//!   thread reports a poll that holds the thread too long
//!   ([`BlockingReport`], to stderr or to
//!   [`Builder::on_blocking`](crate::Builder::on_blocking)), like gevent's
//!   `monitor_thread` and `max_blocking_time`: the task, the `.await` it
//!   resumed from, and the thread's [`Stack`], which a signal to the
//!   runtime thread records (`capture.rs`) and the monitor symbolizes
//!   (`stack.rs`).
//! - [`Deadlock`]: what `run` panics with (and
//!   [`Runtime::try_block_on`](crate::Runtime::try_block_on) returns) when
//!   the main future waits and nothing can ever wake anything; gevent's
//!   `LoopExit`, with the reason.
//! - [`metrics`] / [`Handle::metrics`](crate::Handle::metrics): counters
//!   ([`Metrics`]).
//!
//! # What is recorded, and what it costs
//!
//! Spawn sites, ages, poll counts and wait sites are kept only when the
//! runtime *observes* its tasks: [`Builder::observe`](crate::Builder::observe),
//! on by default in debug builds (`debug_assertions`) and off in release
//! builds, where a dump lists ids, names and states only. Observing costs
//! a clock reading per spawn and a few plain stores per poll; off, the
//! cost is a pointer test per poll and per spawn, and one thread-local
//! load each time a sprout primitive makes a task wait. The counters of
//! [`Metrics`] are always kept: plain `Cell` increments on the runtime
//! thread. The blocking detector adds two stores per poll while it runs
//! (the watch word, and the site the poll resumed from).
//! `docs/benchmarks.md` ("Observability") has the instruction counts.
//!
//! Where this hooks into the loop: the executor's poll and spawn
//! (`task/executor.rs`), the primitives' `Pending` paths
//! (`task/observe.rs`, `waiting`), and the loop's turn (`runtime.rs`: the
//! counters, the monitor's idle mark, the deadlock check where the loop
//! would otherwise wait for good). See `docs/debugging.md`.

mod capture;
mod deadlock;
mod dump;
mod metrics;
mod monitor;
#[cfg(unix)]
mod signal;
// No SIGUSR1 off Unix: `dump_on_signal` says so and does nothing.
#[cfg(not(unix))]
#[path = "signal_unsupported.rs"]
mod signal;
mod stack;

#[cfg(test)]
mod tests;

use std::cell::Cell;
use std::collections::HashMap;
use std::fmt;
use std::panic::Location;
use std::ptr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub use crate::task::observe::WaitOn;
pub use deadlock::Deadlock;
pub use dump::{Dump, TaskDump, TaskState};
pub use metrics::Metrics;
pub use monitor::{Blocker, BlockingReport};
pub use stack::{Stack, StackFrame};

use crate::remote::mailbox::{Message, Remote};
use crate::scoped::{self, Reset};
use crate::task::executor::Executor;
use crate::task::observe::{IDLE, Observer, Watch};

thread_local! {
    /// The observation part of the runtime running on this thread.
    static CURRENT: Cell<*const Observe> = const { Cell::new(ptr::null()) };
}

/// How long [`Handle::dump`](crate::Handle::dump) and
/// [`Handle::metrics`](crate::Handle::metrics) wait for the runtime thread.
pub const ANSWER_WITHIN: Duration = Duration::from_secs(1);

/// The live tasks of the runtime running on this thread. See [`Dump`].
///
/// ```
/// use sprout::{observe, run, spawn, sync::Event};
/// use std::rc::Rc;
///
/// run(async {
///     let event = Rc::new(Event::new());
///     let waiter = spawn({
///         let event = event.clone();
///         async move { event.wait().await }
///     });
///     sprout::yield_now().await;
///     let dump = observe::dump();
///     assert_eq!(dump.tasks().len(), 2); // main and the waiter
///     println!("{dump}");
///     event.set();
///     waiter.await.unwrap();
/// });
/// ```
///
/// # Panics
/// Outside a sprout runtime.
#[track_caller]
pub fn dump() -> Dump {
    Dump::gather(Executor::expect("sprout::observe::dump"), true)
}

/// The counters of the runtime running on this thread. See [`Metrics`].
///
/// ```
/// use sprout::{observe, run, spawn};
///
/// run(async {
///     spawn(async {}).await.unwrap();
///     let m = observe::metrics();
///     assert_eq!(m.tasks_spawned, 1);
///     assert_eq!(m.tasks_finished, 1);
///     assert!(m.polls >= 1);
/// });
/// ```
///
/// # Panics
/// Outside a sprout runtime.
#[track_caller]
pub fn metrics() -> Metrics {
    Metrics::gather(Observe::expect("sprout::observe::metrics"), Executor::expect("sprout::observe::metrics"))
}

/// Whether the runtime running on this thread observes its tasks: keeps
/// records ([`Builder::observe`](crate::Builder::observe), on by default
/// in debug builds) or runs the blocking detector
/// ([`Builder::warn_blocking`](crate::Builder::warn_blocking)). `false`
/// outside a runtime. For work only reports need: sprout's servers name
/// each connection task after its peer only then, which saves a
/// release build an allocation per connection.
///
/// ```
/// use sprout::{Runtime, observe};
///
/// let rt = Runtime::builder().observe(false).build().unwrap();
/// assert!(!rt.block_on(async { observe::is_observing() }));
/// let rt = Runtime::builder().observe(false).warn_blocking(std::time::Duration::from_secs(1)).build().unwrap();
/// assert!(rt.block_on(async { observe::is_observing() }));
/// ```
pub fn is_observing() -> bool {
    Executor::current().is_some_and(|executor| executor.observer().is_some())
}

/// Why [`Handle::dump`](crate::Handle::dump) or
/// [`Handle::metrics`](crate::Handle::metrics) got no answer.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum ObserveError {
    /// The runtime has shut down.
    Gone,
    /// The runtime thread did not answer within `waited`: it is stuck in a
    /// poll (named when the blocking detector runs), or outside `block_on`.
    NoAnswer {
        /// How long the caller waited.
        waited: Duration,
        /// What the runtime thread was running, if the blocking detector
        /// ([`Builder::warn_blocking`](crate::Builder::warn_blocking)) runs
        /// and saw it in a poll.
        running: Option<Blocker>,
    },
}

impl fmt::Display for ObserveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObserveError::Gone => f.write_str("the sprout runtime has shut down"),
            ObserveError::NoAnswer { waited, running: Some(blocker) } => write!(
                f,
                "the sprout runtime did not answer within {}: its thread is busy in one poll of {blocker}",
                crate::task::observe::Millis(*waited)
            ),
            ObserveError::NoAnswer { waited, running: None } => write!(
                f,
                "the sprout runtime did not answer within {} (its thread is blocked, or not inside block_on; \
                 Builder::warn_blocking names the task that blocks it)",
                crate::task::observe::Millis(*waited)
            ),
        }
    }
}

impl std::error::Error for ObserveError {}

/// The blocking detector's callback: see [`Builder::on_blocking`](crate::Builder::on_blocking).
pub(crate) type Hook = Arc<dyn Fn(&BlockingReport) + Send + Sync>;

/// The blocking detector's hook without `on_blocking`: the report on
/// stderr, or with the `tracing` feature as an event
/// ([`BlockingReport::report`]). The reports are made on the monitor's
/// threads, so the event goes to the subscriber that was in effect where
/// the runtime was built (one set for that thread only, with
/// `tracing::subscriber::set_default`, included), or else to the global one.
fn default_hook() -> Hook {
    #[cfg(feature = "tracing")]
    if let Some(dispatch) = crate::report::__private::current_dispatch() {
        return Arc::new(move |report: &BlockingReport| {
            tracing::dispatcher::with_default(&dispatch, || report.report());
        });
    }
    Arc::new(BlockingReport::report)
}

/// The observation settings of a [`Builder`](crate::Builder).
#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) records: bool,
    pub(crate) warn_blocking: Option<Duration>,
    pub(crate) on_blocking: Option<Hook>,
    pub(crate) dump_on_signal: bool,
    pub(crate) deadlocks: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            records: cfg!(debug_assertions),
            warn_blocking: None,
            on_blocking: None,
            dump_on_signal: false,
            deadlocks: true,
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("records", &self.records)
            .field("warn_blocking", &self.warn_blocking)
            .field("on_blocking", &self.on_blocking.as_ref().map(|_| "Fn(&BlockingReport)"))
            .field("dump_on_signal", &self.dump_on_signal)
            .field("deadlocks", &self.deadlocks)
            .finish()
    }
}

/// What a [`Handle`](crate::Handle) keeps of the runtime's observation:
/// the serial (to spot a call from the runtime's own thread) and the
/// monitor's view (to name the task that keeps the thread from answering).
pub(crate) struct Shared {
    serial: u32,
    watch: Option<Arc<Watch>>,
    /// The longest poll the monitor saw, in nanoseconds.
    longest_poll: AtomicU64,
    /// The thread inside `block_on`, for the monitor to signal (only
    /// written when the monitor runs).
    thread: capture::ThreadSlot,
}

impl Shared {
    /// What the monitor sees running on the runtime thread now, if it runs.
    fn running(&self) -> Option<Blocker> {
        let watch = self.watch.as_ref()?;
        watch.culprit(watch.word()).map(Blocker::from)
    }

    /// The longest poll the monitor saw, if it runs.
    fn longest_poll(&self) -> Option<Duration> {
        self.watch.as_ref().map(|_| Duration::from_nanos(self.longest_poll.load(Ordering::Relaxed)))
    }
}

/// One runtime's observation part: the loop's counters, the monitor
/// thread, the signal listener, and the deadlock check. Owned by the loop
/// (`runtime.rs`), which calls the methods below from its turn; found by
/// `metrics()` through its thread-local slot.
pub(crate) struct Observe {
    turns: Cell<u64>,
    timers_fired: Cell<u64>,
    /// A deadlock found by the loop, for `block_on` to return at the main
    /// future's next wake.
    deadlock: std::cell::RefCell<Option<Deadlock>>,
    remote_wakes: Cell<u64>,
    shared: Arc<Shared>,
    deadlocks: bool,
    /// References to the mailbox the runtime holds itself (the loop's and
    /// the task home's); any more means a `Handle` or a blocking job.
    own_remote_refs: Cell<usize>,
    // Dropping these joins the monitor thread and stops the dumps. Neither
    // borrows the fields above (the monitor holds its own `Arc<Shared>`,
    // the dump list a `Weak`), so their place among the fields is free.
    _monitor: Option<monitor::Monitor>,
    _signal: Option<signal::Listening>,
}

impl Observe {
    /// The part for a runtime built with `config`, and the observer its
    /// executor should take, if any.
    pub(crate) fn new(config: &crate::observe::Config, serial: u32) -> (Observe, Option<Observer>) {
        let records = config.records || config.dump_on_signal;
        let watch = config.warn_blocking.map(|_| Arc::new(Watch::new()));
        let shared = Arc::new(Shared {
            serial,
            watch: watch.clone(),
            longest_poll: AtomicU64::new(0),
            thread: capture::ThreadSlot::default(),
        });
        let monitor = config.warn_blocking.and_then(|threshold| {
            let hook = config.on_blocking.clone().unwrap_or_else(default_hook);
            monitor::Monitor::start(shared.clone(), threshold, hook)
        });
        let signal = config.dump_on_signal.then(|| signal::listen(serial, &shared)).flatten();
        let observer = (records || watch.is_some()).then(|| Observer::new(records, watch));
        let observe = Observe {
            turns: Cell::new(0),
            timers_fired: Cell::new(0),
            deadlock: std::cell::RefCell::new(None),
            remote_wakes: Cell::new(0),
            shared,
            deadlocks: config.deadlocks,
            own_remote_refs: Cell::new(usize::MAX),
            _monitor: monitor,
            _signal: signal,
        };
        (observe, observer)
    }

    /// The part of the runtime running on this thread.
    pub(crate) fn current<'a>() -> Option<&'a Observe> {
        scoped::get(&CURRENT)
    }

    #[track_caller]
    fn expect<'a>(what: &str) -> &'a Observe {
        match Observe::current() {
            Some(observe) => observe,
            None => panic!("{what} must be called from inside a sprout runtime (sprout::run or Runtime::block_on)"),
        }
    }

    /// Points this part's slot, and the task observer's, at this runtime
    /// (the loop's `enter`).
    pub(crate) fn enter(&self, executor: &Executor) -> Entered {
        let watched = self.shared.watch.is_some().then(|| self.shared.clone());
        if let Some(shared) = &watched {
            shared.thread.enter();
        }
        Entered {
            _observe: scoped::set(&CURRENT, self),
            _observer: executor.observer().and_then(Observer::enter),
            watched,
        }
    }

    /// What `Handle`s keep.
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// The mailbox's own references, counted once the runtime is built.
    pub(crate) fn set_own_remote_refs(&self, remote: &Arc<Remote>) {
        self.own_remote_refs.set(Arc::strong_count(remote));
    }

    // --- The loop's calls ---

    /// `block_on` starts: `at` is its caller, the main future's "spawn site".
    pub(crate) fn block_on_starts(&self, executor: &Executor, at: &'static Location<'static>) {
        if let Some(observer) = executor.observer() {
            observer.main_site(at);
        }
    }

    /// Keeps a deadlock report for `block_on` (see `take_deadlock`).
    pub(crate) fn set_deadlock(&self, deadlock: Deadlock) {
        *self.deadlock.borrow_mut() = Some(deadlock);
    }

    /// The deadlock report the loop found, if any: `block_on` looks when
    /// the main future is woken, which the loop does with the report.
    #[inline]
    pub(crate) fn take_deadlock(&self) -> Option<Deadlock> {
        self.deadlock.borrow_mut().take()
    }

    /// A loop turn starts.
    #[inline]
    pub(crate) fn turn_starts(&self) {
        self.turns.set(self.turns.get() + 1);
    }

    /// The loop fired `n` timers.
    #[inline]
    pub(crate) fn timers_fired(&self, n: usize) {
        self.timers_fired.set(self.timers_fired.get() + n as u64);
    }

    /// Another thread woke a task.
    #[inline]
    pub(crate) fn remote_wake(&self) {
        self.remote_wakes.set(self.remote_wakes.get() + 1);
    }

    /// The loop runs a closure posted from another thread.
    #[inline]
    pub(crate) fn closure_starts(&self, executor: &Executor) {
        if let Some(observer) = executor.observer() {
            observer.closure_starts();
        }
    }

    /// The loop is about to wait for events: no poll runs.
    #[inline]
    pub(crate) fn loop_waits(&self, executor: &Executor) {
        if let Some(observer) = executor.observer() {
            observer.loop_waits();
        }
    }

    /// The deadlock check, for a loop about to wait with nothing ready and
    /// no timer armed, once it has found no wake-up source of its own
    /// (`remote` is the mailbox: a reference beyond the runtime's own is a
    /// `Handle` or a blocking job). Returns the report if every task and
    /// the main future can be woken only by one another (see `deadlock.rs`).
    ///
    /// `frozen_timers`: see `deadlock::check`.
    pub(crate) fn deadlock(
        &self,
        executor: &Executor,
        remote: &Arc<Remote>,
        frozen_timers: impl FnOnce() -> HashMap<usize, u32>,
    ) -> Option<Deadlock> {
        if !self.deadlocks || Arc::strong_count(remote) > self.own_remote_refs.get() {
            return None;
        }
        deadlock::check(executor, &frozen_timers())
    }
}

/// The guards of the observation slots (see `Observe::enter`).
pub(crate) struct Entered {
    _observe: Reset<Observe>,
    _observer: Option<Reset<Observer>>,
    /// When the blocking detector runs: its watch is marked idle when
    /// `block_on` (or the shutdown) leaves, since the thread runs no poll
    /// of this runtime until the next `block_on` and the monitor must not
    /// blame the last one; and the thread stops being the one the monitor
    /// may signal (it may exit once it has left).
    watched: Option<Arc<Shared>>,
}

impl Drop for Entered {
    fn drop(&mut self) {
        if let Some(shared) = &self.watched {
            if let Some(watch) = &shared.watch {
                watch.store(IDLE);
            }
            shared.thread.leave();
        }
    }
}

/// Runs `f` on the runtime thread of `remote` and waits up to `wait` for
/// its answer (`Handle::dump`, `Handle::metrics`, the dump on a signal).
/// On that thread itself, runs `f` at once.
pub(crate) fn ask<T: Send + 'static>(
    remote: &Remote,
    shared: &Shared,
    wait: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ObserveError> {
    if Observe::current().is_some_and(|o| o.shared.serial == shared.serial) {
        return Ok(f());
    }
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let question = Box::new(move || {
        let _ = tx.send(f());
    });
    remote.post(Message::Run(question)).map_err(|_| ObserveError::Gone)?;
    match rx.recv_timeout(wait) {
        Ok(answer) => Ok(answer),
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            Err(ObserveError::NoAnswer { waited: wait, running: shared.running() })
        }
        // The closure was dropped unrun: the runtime shut down.
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Err(ObserveError::Gone),
    }
}

/// The dump as the loop builds it for another thread (the main future is
/// not running then).
pub(crate) fn dump_for_handle() -> Dump {
    Dump::gather(Executor::expect("Handle::dump"), false)
}
