//! `Builder`: the runtime's settings.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use crate::observe::{self, BlockingReport};
use crate::runtime::Runtime;
use crate::task::harness::PanicPolicy;
use crate::time::virtual_clock::{Hold, VirtualClock};

/// Settings for a [`Runtime`].
///
/// ```
/// use sprout::{Runtime, PanicPolicy};
///
/// let rt = Runtime::builder()
///     .events_per_turn(256)
///     .tasks_per_turn(32)
///     .on_unjoined_panic(PanicPolicy::Propagate)
///     .build()
///     .unwrap();
/// assert_eq!(rt.block_on(async { 6 * 7 }), 42);
/// ```
#[derive(Clone, Debug)]
pub struct Builder {
    pub(crate) events_per_turn: usize,
    pub(crate) tasks_per_turn: u32,
    pub(crate) ops_per_poll: u32,
    pub(crate) panic_policy: PanicPolicy,
    /// Observation: records, blocking detector, dump on signal, deadlocks.
    pub(crate) observe: observe::Config,
    // Deterministic testing (docs/debugging.md).
    pub(crate) start_paused: bool,
    pub(crate) auto_advance: bool,
    pub(crate) seed: Option<u64>,
    /// The virtual clock to share, for a runtime started from a paused one
    /// ([`for_started_runtimes`](Self::for_started_runtimes)).
    pub(crate) clock: Option<Arc<VirtualClock>>,
}

impl Default for Builder {
    fn default() -> Builder {
        Builder::new()
    }
}

impl Builder {
    /// The default settings.
    pub fn new() -> Builder {
        Builder {
            // One epoll_wait takes up to this many events. 1024 covers a busy
            // server's turn; more would only lengthen the turn.
            events_per_turn: 1024,
            // Tasks polled between two I/O polls. Large enough to amortise
            // the epoll_wait, small enough that I/O is seen every few tens of
            // microseconds while tasks stay busy.
            tasks_per_turn: 128,
            // Operations on sprout resources (socket reads, queue gets...) a
            // task may complete in one poll before it must yield: tokio's 128.
            ops_per_poll: 128,
            panic_policy: PanicPolicy::Log,
            observe: observe::Config::default(),
            start_paused: false,
            auto_advance: true,
            seed: None,
            clock: None,
        }
    }

    /// How many I/O events one `epoll_wait` may return (default 1024).
    pub fn events_per_turn(mut self, n: usize) -> Builder {
        self.events_per_turn = n.max(1);
        self
    }

    /// How many tasks run between two I/O polls (default 128). A task that
    /// is always ready cannot starve I/O and timers for longer than this.
    pub fn tasks_per_turn(mut self, n: u32) -> Builder {
        self.tasks_per_turn = n.max(1);
        self
    }

    /// How many ready operations on sprout resources (socket reads and
    /// writes, queue gets...) a task may complete in one poll before they
    /// start returning `Pending` to make it yield (default 128).
    pub fn ops_per_poll(mut self, n: u32) -> Builder {
        self.ops_per_poll = n.max(1);
        self
    }

    /// What to do with a panic that nobody joins (default [`PanicPolicy::Log`]).
    pub fn on_unjoined_panic(mut self, policy: PanicPolicy) -> Builder {
        self.panic_policy = policy;
        self
    }

    /// Creates the runtime: an epoll instance and an eventfd for wake-ups
    /// from other threads.
    pub fn build(self) -> io::Result<Runtime> {
        Runtime::from_builder(self)
    }

    // --- Observability (docs/debugging.md) ---

    /// Whether the runtime keeps a record of each task: where it was
    /// spawned, when, how many polls, and what its last poll waits on and
    /// where. Task dumps and deadlock reports show them. On by default in
    /// debug builds (`debug_assertions`), off in release builds, where it
    /// costs a clock reading per spawn and a few stores per poll (see
    /// [`observe`](crate::observe)).
    ///
    /// ```
    /// use sprout::{Runtime, observe, spawn, sleep};
    /// use std::time::Duration;
    ///
    /// let rt = Runtime::builder().observe(true).build().unwrap();
    /// rt.block_on(async {
    ///     let sleeper = spawn(sleep(Duration::from_secs(60)));
    ///     sprout::yield_now().await;
    ///     let dump = observe::dump();
    ///     let task = &dump.tasks()[1];
    ///     assert_eq!(task.polls(), Some(1));
    ///     assert_eq!(task.waits_on().unwrap().name(), "sleep");
    ///     sleeper.kill();
    /// });
    /// ```
    pub fn observe(mut self, on: bool) -> Builder {
        self.observe.records = on;
        self
    }

    /// Starts a monitor thread that reports any single poll that holds the
    /// runtime thread longer than `threshold` (a CPU loop, a blocking
    /// call): once while it lasts, naming the task, its name and spawn
    /// site, the `.await` it resumed from and (on Linux) the thread's
    /// stack down to the blocking call, and once when it returns, with the
    /// total. Like gevent's `monitor_thread` with `max_blocking_time`.
    /// Reports go to stderr, or to [`on_blocking`](Self::on_blocking). Off
    /// by default; on, it costs two stores per poll, and no clock reading
    /// on the runtime thread. The stack is taken with a `SIGURG` sent to
    /// the runtime thread, once per reported poll (`docs/debugging.md`,
    /// "Finding a blocking task", says what that means for a program's
    /// own signal handlers and blocking calls).
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use std::time::Duration;
    /// use sprout::{Runtime, task};
    ///
    /// let reports = Arc::new(Mutex::new(Vec::new()));
    /// let rt = Runtime::builder()
    ///     .warn_blocking(Duration::from_millis(20))
    ///     .on_blocking({
    ///         let reports = reports.clone();
    ///         move |r| reports.lock().unwrap().push(r.blocker().name().map(String::from))
    ///     })
    ///     .build()
    ///     .unwrap();
    /// rt.block_on(async {
    ///     task::Builder::new().name("cruncher").spawn(async {
    ///         std::thread::sleep(Duration::from_millis(200)); // blocks the thread
    ///     }).await.unwrap();
    /// });
    /// drop(rt);
    /// assert!(reports.lock().unwrap().contains(&Some("cruncher".to_owned())));
    /// ```
    pub fn warn_blocking(mut self, threshold: Duration) -> Builder {
        self.observe.warn_blocking = Some(threshold.max(Duration::from_millis(1)));
        self
    }

    /// Where the blocking detector's reports go, instead of stderr. `f`
    /// runs on a thread of the monitor's, which symbolizes the stack
    /// first, one report at a time and in order. Has an effect only with
    /// [`warn_blocking`](Self::warn_blocking).
    pub fn on_blocking(mut self, f: impl Fn(&BlockingReport) + Send + Sync + 'static) -> Builder {
        self.observe.on_blocking = Some(Arc::new(f));
        self
    }

    /// Prints the task dump to stderr each time the process receives
    /// `SIGUSR1` (`kill -USR1 <pid>`), like gevent's `print_run_info` on a
    /// signal. The handler only sets a flag; the loop builds and prints the
    /// dump between two polls (if a task holds the thread, a line says so
    /// instead). Turns [`observe`](Self::observe) on. Unix only: elsewhere
    /// (Windows) the runtime prints one line saying it cannot listen, and
    /// `Handle::dump` is the way to get the dump.
    pub fn dump_on_signal(mut self) -> Builder {
        self.observe.dump_on_signal = true;
        self
    }

    /// Whether `run` and `block_on` panic (and `try_block_on` returns
    /// [`Deadlock`](crate::observe::Deadlock)) when the main future waits
    /// and nothing can ever wake it or any task. On by default; the check
    /// only runs when the loop would otherwise wait forever.
    pub fn detect_deadlocks(mut self, on: bool) -> Builder {
        self.observe.deadlocks = on;
        self
    }

    // --- Deterministic testing (docs/debugging.md) ---

    /// Starts the runtime with its clock paused (default false): virtual
    /// time, as if [`time::pause`](crate::time::pause) were its first call.
    /// The runtimes it starts (the cores of [`cores`](crate::cores), and so
    /// the workers of a server's `workers(n)`) share its clock, and the
    /// clock jumps only when all of them are idle (docs/debugging.md,
    /// "Testing with virtual time").
    ///
    /// ```
    /// use std::time::Duration;
    /// use sprout::{Runtime, sleep, time};
    ///
    /// let rt = Runtime::builder().start_paused(true).build().unwrap();
    /// let took = std::time::Instant::now();
    /// rt.block_on(async {
    ///     let start = time::now();
    ///     sleep(Duration::from_secs(86_400)).await;
    ///     assert!(time::now() - start >= Duration::from_secs(86_400));
    /// });
    /// assert!(took.elapsed() < Duration::from_secs(5)); // a day, in microseconds
    /// ```
    pub fn start_paused(mut self, paused: bool) -> Builder {
        self.start_paused = paused;
        self
    }

    /// Whether a paused clock jumps to the next timer's deadline when every
    /// task waits (default true). With `false`, paused time moves only
    /// through [`time::advance`](crate::time::advance): a test then steps
    /// through time itself, and a test whose every task waits on a timer
    /// waits for good (nothing else will move the clock).
    ///
    /// ```
    /// use std::time::Duration;
    /// use sprout::{Runtime, sleep, spawn, time};
    ///
    /// let rt = Runtime::builder().start_paused(true).auto_advance(false).build().unwrap();
    /// rt.block_on(async {
    ///     let timer = spawn(sleep(Duration::from_secs(5)));
    ///     time::advance(Duration::from_secs(4)).await;
    ///     assert!(!timer.is_finished());
    ///     time::advance(Duration::from_secs(1)).await;
    ///     assert!(timer.is_finished());
    /// });
    /// ```
    pub fn auto_advance(mut self, on: bool) -> Builder {
        self.auto_advance = on;
        self
    }

    /// Runs ready tasks in a pseudo-random order fixed by `seed`, instead
    /// of first come, first served: the same seed replays the same
    /// interleaving (default: none, FIFO). For tests that look for races;
    /// see [`testing::check_seeds`](crate::testing::check_seeds) and
    /// docs/debugging.md ("Seeded schedules") for what the seed controls.
    ///
    /// ```
    /// use std::cell::RefCell;
    /// use std::rc::Rc;
    /// use sprout::{Runtime, spawn};
    ///
    /// let order = |seed| {
    ///     let rt = Runtime::builder().seed(seed).build().unwrap();
    ///     rt.block_on(async {
    ///         let log = Rc::new(RefCell::new(Vec::new()));
    ///         let tasks: Vec<_> = (0..8).map(|i| {
    ///             let log = log.clone();
    ///             spawn(async move { log.borrow_mut().push(i) })
    ///         }).collect();
    ///         for t in tasks { t.await.unwrap(); }
    ///         log.take()
    ///     })
    /// };
    /// assert_eq!(order(7), order(7)); // the same seed, the same order
    /// ```
    pub fn seed(mut self, seed: u64) -> Builder {
        self.seed = Some(seed);
        self
    }

    /// These settings for runtimes that the running one starts (the cores
    /// of `cores/`, and through them every server's `workers(n)`): they
    /// share the running runtime's clock if it is virtual (a paused test),
    /// whatever these settings say; else, if these settings start paused,
    /// one new virtual clock between them. Issue 18, bug 9: a worker on
    /// its own real clock never saw the test's virtual time pass. See "One
    /// clock for every runtime of a paused test" in docs/architecture.md.
    pub(crate) fn for_started_runtimes(&self) -> Builder {
        let mut builder = self.clone();
        builder.clock = self.clock.clone().or_else(crate::time::current_virtual_clock).or_else(|| {
            self.start_paused.then(|| VirtualClock::new(std::time::Instant::now(), true, self.auto_advance))
        });
        builder
    }

    /// Holds the virtual clock these settings share, if any, until dropped:
    /// for a thread that starts a runtime from them and works on after its
    /// `block_on` (see `VirtualClock::hold`).
    pub(crate) fn hold_clock(&self) -> Option<Hold> {
        self.clock.as_ref().map(VirtualClock::hold)
    }
}
