//! `Builder`: the runtime's settings.

use std::io;

use crate::runtime::Runtime;
use crate::task::harness::PanicPolicy;

/// Settings for a [`Runtime`].
///
/// ```
/// use sprout_runtime::{Runtime, PanicPolicy};
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
    // Deterministic testing (docs/debugging.md).
    pub(crate) start_paused: bool,
    pub(crate) auto_advance: bool,
    pub(crate) seed: Option<u64>,
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
            start_paused: false,
            auto_advance: true,
            seed: None,
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

    // --- Deterministic testing (docs/debugging.md) ---

    /// Starts the runtime with its clock paused (default false): virtual
    /// time, as if [`time::pause`](crate::time::pause) were its first call.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sprout_runtime::{Runtime, sleep, time};
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
    /// use sprout_runtime::{Runtime, sleep, spawn, time};
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
    /// use sprout_runtime::{Runtime, spawn};
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
}
