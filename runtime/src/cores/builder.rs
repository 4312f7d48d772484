//! `Builder`: start a set of cores; `Running`: wait for them or stop them.
//!
//! # How a set starts, runs and stops
//! 1. `spawn` starts one OS thread per core. Each pins itself (if asked),
//!    builds its runtime and posts the runtime's `Handle` to the start
//!    latch (or the error that stopped it).
//! 2. Once every core has reported, the latch holds the `Cores` table and
//!    releases everyone: the threads run their futures, `spawn` returns.
//!    If any core failed to start, nobody runs anything: the others exit
//!    and `spawn` joins them and returns the error.
//! 3. Each core runs `f(core)` inside `block_on`, raced against the set's
//!    stop event. A core whose future returns an error or panics sets the
//!    stop event first, so the others drop their futures at their next
//!    turn instead of running on (or hanging) without it. A core whose
//!    future succeeds keeps its runtime turning (tasks other cores spawned
//!    there still run) until the last core is done, which sets the event.
//! 4. Each thread drops its runtime (killing the tasks left on it), then
//!    posts its exit to the exit queue as its very last act, from a drop
//!    guard, so even a thread that unwinds reports. The joiner takes one
//!    exit per core, then joins the threads, which by then are only
//!    returning from their closures.

use std::future::{Future, poll_fn};
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::Poll;
use std::thread;

use super::affinity;
use super::error::{CoreError, CoreResult, RunResult};
use super::table::{Core, Cores};
use crate::context;
use crate::handle::Handle;
use crate::queue::threadsafe::Queue;
use crate::sync::threadsafe::Event;
use crate::time::virtual_clock::Hold;

/// Settings for a set of cores: how many, pinned or not, and the settings
/// of each core's runtime.
///
/// ```
/// use sprout::{cores, Runtime};
///
/// let ids = cores::Builder::new()
///     .count(2)
///     .runtime(Runtime::builder().tasks_per_turn(64))
///     .run(|core| async move { Ok::<_, std::io::Error>(core.id()) })
///     .unwrap();
/// assert_eq!(ids, [0, 1]);
/// ```
#[derive(Clone, Debug)]
pub struct Builder {
    count: usize,
    pin: bool,
    runtime: crate::Builder,
    name: String,
}

impl Default for Builder {
    fn default() -> Builder {
        Builder::new()
    }
}

impl Builder {
    /// One core per CPU the process may use, unpinned, default runtimes.
    pub fn new() -> Builder {
        Builder { count: 0, pin: false, runtime: crate::Builder::new(), name: "sprout-core".into() }
    }

    /// How many cores (threads, each with its runtime) to start; 0, the
    /// default, means one per CPU the process may use
    /// ([`available`](super::available)).
    pub fn count(mut self, n: usize) -> Builder {
        self.count = n;
        self
    }

    /// Pins core `i` to the `i`-th CPU the process may use (wrapping around
    /// if there are more cores than CPUs), with `sched_setaffinity`.
    /// Default off: the kernel places the threads. Pinning keeps each
    /// core's caches warm and its interrupts predictable on a machine
    /// given to this program; on a shared machine, leave it off. Linux and
    /// FreeBSD (`cpuset_setaffinity`; compiled, not run by CI); macOS, which
    /// has no thread pinning (only affinity hints, ignored on Apple
    /// silicon), and Windows run the cores unpinned: there `pin(true)` does
    /// nothing, so the same program runs everywhere.
    pub fn pin(mut self, on: bool) -> Builder {
        self.pin = on;
        self
    }

    /// The settings of every core's runtime (default
    /// [`Runtime::builder()`](crate::Runtime::builder)). With
    /// [`PanicPolicy::Propagate`](crate::PanicPolicy::Propagate) a task's
    /// unjoined panic fails its core, and so stops the set.
    pub fn runtime(mut self, builder: crate::Builder) -> Builder {
        self.runtime = builder;
        self
    }

    /// The threads' names: `{prefix}-{id}` (default `sprout-core-{id}`),
    /// as panic messages and `top -H` show them.
    pub fn thread_name(mut self, prefix: impl Into<String>) -> Builder {
        self.name = prefix.into();
        self
    }

    /// The number of cores this builder starts.
    pub fn core_count(&self) -> usize {
        if self.count == 0 { super::available() } else { self.count }
    }

    /// Starts the cores, runs `f(core)` on each, and waits for them all:
    /// see [`run`](super::run).
    ///
    /// # Panics
    /// Inside a sprout runtime, whose thread this would block: use
    /// [`spawn`](Self::spawn) and `.await` [`Running::join`] there.
    #[track_caller]
    pub fn run<F, Fut>(self, f: F) -> RunResult<Fut::Output>
    where
        F: Fn(Core) -> Fut + Send + Sync + 'static,
        Fut: Future + 'static,
        Fut::Output: CoreResult,
    {
        if context::current().is_some() {
            panic!(
                "cores::run would block this runtime's thread until every core is done; use cores::Builder::spawn and .await join() instead"
            );
        }
        self.spawn(f)?.join_blocking()
    }

    /// Starts the cores and returns once each is running `f(core)`, with
    /// the [`Running`] set to wait for or stop. Unlike [`run`](Self::run)
    /// it may be called inside a runtime: it blocks only while the threads
    /// build their runtimes (well under a millisecond each).
    ///
    /// # Errors
    /// [`CoreError::Start`] if a thread, a runtime or a pinning failed; the
    /// cores that did start have been stopped and joined.
    pub fn spawn<F, Fut>(self, f: F) -> SpawnResult<Fut::Output>
    where
        F: Fn(Core) -> Fut + Send + Sync + 'static,
        Fut: Future + 'static,
        Fut::Output: CoreResult,
    {
        self.start(None, f)
    }

    /// Starts cores 1 to `count - 1` beside the calling runtime, which is
    /// core 0 of the set: `f(core)` runs on the new cores only, the
    /// [`Cores`] table holds this runtime's handle at index 0, and
    /// [`Core::current`] on this thread returns core 0 for as long as the
    /// [`Running`] set lives (until it is joined or dropped; then the
    /// thread's previous core, if it had one, comes back). Every runtime
    /// of the set then reports the same index everywhere: this is how
    /// server workers number themselves (worker 0 is the runtime that
    /// starts the server). [`Running::join`] returns the values of cores
    /// 1 to `count - 1`.
    ///
    /// ```
    /// use sprout::cores::{self, Core};
    ///
    /// sprout::run(async {
    ///     let running = cores::Builder::new()
    ///         .count(3)
    ///         .spawn_beside(|core| async move { Ok::<_, ()>((core.id(), std::thread::current().name().map(String::from))) })
    ///         .unwrap();
    ///     let me = Core::current().unwrap();
    ///     assert_eq!((me.id(), me.count()), (0, 3));
    ///     let others = running.join().await.unwrap();
    ///     assert_eq!(others, [(1, Some("sprout-core-1".into())), (2, Some("sprout-core-2".into()))]);
    ///     assert!(Core::current().is_none(), "the set is over");
    /// });
    /// ```
    ///
    /// # Errors
    /// As [`spawn`](Self::spawn).
    ///
    /// # Panics
    /// Outside a sprout runtime: there is no core 0 to stand beside.
    #[track_caller]
    pub fn spawn_beside<F, Fut>(self, f: F) -> SpawnResult<Fut::Output>
    where
        F: Fn(Core) -> Fut + Send + Sync + 'static,
        Fut: Future + 'static,
        Fut::Output: CoreResult,
    {
        let Some(lead) = Handle::try_current() else {
            panic!("cores::Builder::spawn_beside: called outside a sprout runtime (the caller's runtime is core 0)")
        };
        self.start(Some(lead), f)
    }

    /// `spawn`, with the caller's runtime as core 0 when `lead` is given.
    fn start<F, Fut>(self, lead: Option<Handle>, f: F) -> SpawnResult<Fut::Output>
    where
        F: Fn(Core) -> Fut + Send + Sync + 'static,
        Fut: Future + 'static,
        Fut::Output: CoreResult,
    {
        let count = self.core_count();
        // The id of the first core this set starts a thread for.
        let first = usize::from(lead.is_some());
        let cpus = if self.pin && affinity::SUPPORTED {
            match affinity::allowed_cpus() {
                Ok(cpus) if !cpus.is_empty() => Some(cpus),
                Ok(_) => return Err(CoreError::Start { core: 0, error: io::Error::other("no CPU is allowed") }),
                Err(error) => return Err(CoreError::Start { core: 0, error }),
            }
        } else {
            None
        };
        let set = Arc::new(Set {
            start: Mutex::new(StartState::new(count, lead)),
            started: Condvar::new(),
            stop: Event::new(),
            count: count - first,
            finished: AtomicUsize::new(0),
            exits: Queue::unbounded(),
        });
        let f = Arc::new(f);
        // Called from a paused test, the cores share its virtual clock; a
        // paused builder gives the set one clock of its own.
        let runtime = self.runtime.for_started_runtimes();
        let mut threads = Vec::with_capacity(count);
        for id in first..count {
            let (shared, f, runtime) = (set.clone(), f.clone(), runtime.clone());
            let cpu = cpus.as_ref().map(|cpus| cpus[id % cpus.len()]);
            let spawned = thread::Builder::new()
                .name(format!("{}-{id}", self.name))
                .spawn(move || core_thread(id, cpu, runtime, &shared, &*f));
            match spawned {
                Ok(thread) => threads.push(thread),
                Err(error) => {
                    // This core and the ones not yet spawned will never report.
                    let mut start = set.lock_start();
                    start.fail(id, error);
                    start.missing -= count - id;
                    drop(start);
                    set.started.notify_all();
                    break;
                }
            }
        }
        let outcome = {
            let start =
                set.started.wait_while(set.lock_start(), |s| s.missing > 0).unwrap_or_else(PoisonError::into_inner);
            match (&start.cores, start.failed.as_ref()) {
                (Some(cores), None) => Ok(cores.clone()),
                _ => Err(()),
            }
        };
        let mut running = Running { set, cores: None, threads, first, _lead: None };
        match outcome {
            Ok(cores) => {
                if first == 1 {
                    running._lead = Some(Core::new(0, cores.clone()).enter());
                }
                running.cores = Some(cores);
                Ok(running)
            }
            Err(()) => {
                let (core, error) = running.set.lock_start().failed.take().expect("a failed start records its error");
                drop(running); // joins the threads, which exit without running anything
                Err(CoreError::Start { core, error })
            }
        }
    }
}

/// What `Builder::spawn` returns for futures with output `O`.
type SpawnResult<O> =
    Result<Running<<O as CoreResult>::Value, <O as CoreResult>::Error>, CoreError<<O as CoreResult>::Error>>;

/// What the threads of one set share.
struct Set<T, E> {
    start: Mutex<StartState>,
    /// Signalled each time a core reports to `start`.
    started: Condvar,
    /// Set to stop every core: by `Running::stop`, by a core that failed,
    /// by `Running`'s drop.
    stop: Event,
    /// How many cores run a future of the set (all but a lead).
    count: usize,
    /// How many cores' futures have finished successfully.
    finished: AtomicUsize,
    /// Each thread's last act: its id and how its core ended.
    exits: Queue<(usize, Result<T, CoreError<E>>)>,
}

impl<T, E> Set<T, E> {
    fn lock_start(&self) -> MutexGuard<'_, StartState> {
        self.start.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The start latch (see the module docs, step 2).
struct StartState {
    handles: Vec<Option<Handle>>,
    /// Cores that have not reported yet.
    missing: usize,
    /// The first core that could not start.
    failed: Option<(usize, io::Error)>,
    /// Every handle, once all cores have started.
    cores: Option<Cores>,
}

impl StartState {
    /// Waiting for every core, or for all but core 0 when the caller's
    /// runtime (`lead`) is core 0.
    fn new(count: usize, lead: Option<Handle>) -> StartState {
        let mut handles = vec![None; count];
        let missing = count - usize::from(lead.is_some());
        if let (Some(lead), Some(slot)) = (lead, handles.first_mut()) {
            *slot = Some(lead);
        }
        let mut start = StartState { handles, missing, failed: None, cores: None };
        if missing == 0 {
            start.build();
        }
        start
    }

    fn fail(&mut self, id: usize, error: io::Error) {
        if self.failed.is_none() {
            self.failed = Some((id, error));
        }
    }

    /// Records core `id`'s start; the last report builds the table.
    fn report(&mut self, id: usize, started: io::Result<Handle>) {
        match started {
            Ok(handle) => self.handles[id] = Some(handle),
            Err(error) => self.fail(id, error),
        }
        self.missing -= 1;
        if self.missing == 0 && self.failed.is_none() {
            self.build();
        }
    }

    /// Builds the table once every handle is in.
    fn build(&mut self) {
        let handles = self.handles.iter_mut().map(|h| h.take().expect("every core reported a handle")).collect();
        self.cores = Some(Cores::new(handles));
    }
}

/// Posts the core's exit when dropped: at the end of the thread, or while
/// it unwinds from a panic outside the caught zones.
struct Exit<'a, T, E> {
    id: usize,
    set: &'a Set<T, E>,
    outcome: Option<Result<T, CoreError<E>>>,
}

impl<T, E> Drop for Exit<'_, T, E> {
    fn drop(&mut self) {
        let outcome = self.outcome.take().unwrap_or_else(|| {
            self.set.stop.set();
            Err(CoreError::Panicked { core: self.id, payload: Box::new("the core's thread unwound") })
        });
        // Unbounded and never closed: the put cannot fail.
        let _ = self.set.exits.put_nowait((self.id, outcome));
    }
}

/// The body of core `id`'s thread (see the module docs).
fn core_thread<F, Fut>(
    id: usize,
    cpu: Option<usize>,
    runtime: crate::Builder,
    set: &Set<<Fut::Output as CoreResult>::Value, <Fut::Output as CoreResult>::Error>,
    f: &F,
) where
    F: Fn(Core) -> Fut,
    Fut: Future,
    Fut::Output: CoreResult,
{
    // Under a shared virtual clock, this thread holds it from here until
    // after its exit is posted (dropped after `exit`), except while its
    // runtime is inside `block_on` and votes for itself: a test awaiting
    // the exit must not see its timeout jump while the core starts or
    // tears down.
    let clock = runtime.hold_clock();
    let mut exit = Exit { id, set, outcome: None };
    let built = match cpu.map_or(Ok(()), affinity::pin_current) {
        Ok(()) => runtime.build(),
        Err(error) => Err(error),
    };
    let (runtime, handle) = match built {
        Ok(rt) => {
            let handle = rt.handle();
            (Some(rt), Ok(handle))
        }
        Err(error) => (None, Err(error)),
    };
    let cores = {
        let mut start = set.lock_start();
        start.report(id, handle);
        set.started.notify_all();
        let start = set.started.wait_while(start, |s| s.missing > 0).unwrap_or_else(PoisonError::into_inner);
        start.cores.clone()
    };
    let (Some(runtime), Some(cores)) = (runtime, cores) else {
        // Some core could not start: nobody runs.
        exit.outcome = Some(Err(CoreError::Stopped { core: id }));
        return;
    };
    let _current = Core::new(id, cores.clone()).enter();
    let ran = catch_unwind(AssertUnwindSafe(|| {
        runtime.block_on(async {
            // Inside, while the future runs: the runtime votes for itself,
            // and the thread holds the clock again before `block_on`
            // returns (the runtime is still busy then).
            let _aside = clock.as_ref().map(Hold::aside);
            let mut stopped = pin!(set.stop.wait());
            let output = {
                let mut work = pin!(f(Core::new(id, cores)));
                poll_fn(|cx| {
                    if let Poll::Ready(output) = work.as_mut().poll(cx) {
                        return Poll::Ready(Some(output));
                    }
                    stopped.as_mut().poll(cx).map(|()| None)
                })
                .await
            };
            let Some(output) = output else { return Err(CoreError::Stopped { core: id }) };
            let result = output.into_result().map_err(|error| CoreError::Failed { core: id, error });
            if result.is_err() {
                // Stop the others before this runtime's tasks are torn down.
                set.stop.set();
            } else if set.finished.fetch_add(1, Ordering::AcqRel) + 1 == set.count {
                // The last core done lets every runtime go.
                set.stop.set();
            } else {
                // Done, but the runtime keeps serving what the other cores
                // spawn here until they are done too.
                stopped.await;
            }
            result
        })
    }));
    let outcome = match ran {
        Ok(outcome) => outcome,
        Err(payload) => {
            set.stop.set();
            Err(CoreError::Panicked { core: id, payload })
        }
    };
    // Kill what is left on this core (destructors run here) before the exit
    // says the core is done.
    if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(runtime))) {
        set.stop.set();
        exit.outcome = Some(Err(CoreError::Panicked { core: id, payload }));
        return;
    }
    exit.outcome = Some(outcome);
}

/// A running set of cores, from [`Builder::spawn`]: wait for every core
/// ([`join`](Self::join), [`join_blocking`](Self::join_blocking)), or ask
/// them all to stop ([`stop`](Self::stop)). Dropping it stops the cores
/// and joins their threads.
///
/// ```
/// use sprout::cores;
///
/// sprout::run(async {
///     // Two more runtimes beside this one, each serving requests forever.
///     let running = cores::Builder::new()
///         .count(2)
///         .spawn(|_core| std::future::pending::<()>())
///         .unwrap();
///     let answer = running.cores().handle(1).spawn(async { 6 * 7 }).await.unwrap();
///     assert_eq!(answer, 42);
///     running.stop();
///     // Each core was stopped before its future finished.
///     assert!(running.join().await.unwrap_err().to_string().contains("stopped"));
/// });
/// ```
pub struct Running<T, E> {
    set: Arc<Set<T, E>>,
    /// `None` only while a failed start is being torn down.
    cores: Option<Cores>,
    threads: Vec<thread::JoinHandle<()>>,
    /// The id of the first core with a thread: 1 when the caller's runtime
    /// is core 0 (`spawn_beside`), else 0.
    first: usize,
    /// The caller's turn as core 0 (`spawn_beside`): `Core::current()` on
    /// its thread until the set is joined or dropped.
    _lead: Option<super::table::Entered>,
}

impl<T, E> Running<T, E> {
    /// Every core's handle.
    pub fn cores(&self) -> &Cores {
        self.cores.as_ref().expect("a running set has its cores")
    }

    /// Asks every core to stop: at its next turn each drops its future and
    /// then its runtime, killing its tasks. Returns at once; join to wait.
    pub fn stop(&self) {
        self.set.stop.set();
    }

    /// Whether every core has finished (successfully or not).
    pub fn is_finished(&self) -> bool {
        self.set.exits.qsize() >= self.threads.len()
    }

    /// Waits, in a green task, for every core to finish, and returns their
    /// values in id order, or the first failure (see [`run`](super::run)).
    pub async fn join(mut self) -> Result<Vec<T>, CoreError<E>> {
        let mut exits = Vec::with_capacity(self.threads.len());
        for _ in 0..self.threads.len() {
            exits.push(self.set.exits.get().await.expect("the exit queue is never closed"));
        }
        // Every thread has posted its exit, its last act: these joins only
        // wait for the threads to return from their closures.
        self.reap();
        collect(exits, self.first)
    }

    /// Waits, blocking this OS thread, for every core to finish; see
    /// [`join`](Self::join).
    ///
    /// # Panics
    /// Inside a sprout runtime: `.await` [`join`](Self::join) there.
    #[track_caller]
    pub fn join_blocking(mut self) -> Result<Vec<T>, CoreError<E>> {
        let mut exits = Vec::with_capacity(self.threads.len());
        for _ in 0..self.threads.len() {
            exits.push(self.set.exits.get_blocking().expect("the exit queue is never closed"));
        }
        self.reap();
        collect(exits, self.first)
    }

    fn reap(&mut self) {
        for thread in self.threads.drain(..) {
            // The thread's outcome was posted already; a panic after that
            // (in a thread-local destructor) has nothing left to report.
            let _ = thread.join();
        }
    }
}

impl<T, E> Drop for Running<T, E> {
    fn drop(&mut self) {
        if !self.threads.is_empty() {
            self.stop();
            self.reap();
        }
    }
}

impl<T, E> std::fmt::Debug for Running<T, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running").field("cores", &self.threads.len()).field("finished", &self.is_finished()).finish()
    }
}

/// The values in id order, or the failure to report: the first real one
/// to arrive (`Stopped` cores are the failure's victims, not its cause),
/// else the lowest stopped core.
/// The exits are those of cores `first..`.
fn collect<T, E>(exits: Vec<(usize, Result<T, CoreError<E>>)>, first: usize) -> Result<Vec<T>, CoreError<E>> {
    let mut values: Vec<Option<T>> = exits.iter().map(|_| None).collect();
    let mut stopped: Option<usize> = None;
    for (id, outcome) in exits {
        match outcome {
            Ok(value) => values[id - first] = Some(value),
            Err(CoreError::Stopped { core }) => stopped = Some(stopped.map_or(core, |s| s.min(core))),
            Err(failure) => return Err(failure),
        }
    }
    if let Some(core) = stopped {
        return Err(CoreError::Stopped { core });
    }
    Ok(values.into_iter().map(|v| v.expect("every core posted an exit")).collect())
}
