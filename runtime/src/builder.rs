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
}
