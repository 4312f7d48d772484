//! `Metrics`: a runtime's counters.

use std::fmt;
use std::time::Duration;

use super::Observe;
use crate::reactor::Reactor;
use crate::task::executor::Executor;
use crate::time::driver::TimeDriver;

/// A runtime's counters, from [`metrics`](super::metrics) on its thread or
/// [`Handle::metrics`](crate::Handle::metrics) from another.
///
/// Every counter is a plain `Cell` the runtime thread bumps (no atomic
/// instruction on the hot path); they are read on that thread, so a
/// `Handle` asks it through the mailbox. Counts start at the runtime's
/// creation and never go down.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metrics {
    /// Tasks spawned.
    pub tasks_spawned: u64,
    /// Tasks not finished yet.
    pub tasks_alive: u64,
    /// Tasks finished: returned, panicked or killed.
    pub tasks_finished: u64,
    /// Tasks killed (their future dropped by `kill`, or by the shutdown).
    pub tasks_killed: u64,
    /// Tasks whose poll panicked.
    pub tasks_panicked: u64,
    /// Task polls: tasks taken off the run queue (the main future not
    /// included; a task killed while it was queued counts too).
    pub polls: u64,
    /// Turns of the loop (each polls I/O at most once).
    pub loop_turns: u64,
    /// I/O events received (readiness changes, and wake-ups from other threads).
    pub io_events: u64,
    /// Timers fired.
    pub timers_fired: u64,
    /// Tasks woken from other threads.
    pub remote_wakes: u64,
    /// The longest single poll the blocking monitor saw, to within a
    /// quarter of its threshold; `None` without
    /// [`Builder::warn_blocking`](crate::Builder::warn_blocking).
    pub longest_poll: Option<Duration>,
    /// Tasks in the run queue now.
    pub ready_queue: usize,
    /// Timers armed now.
    pub timers_armed: usize,
    /// Sockets (and other descriptors) registered now.
    pub io_sources: usize,
}

impl Metrics {
    pub(crate) fn gather(observe: &Observe, executor: &Executor) -> Metrics {
        let counts = executor.counts();
        let spawned = executor.spawned();
        let alive = executor.live_tasks() as u64;
        let reactor = Reactor::current();
        Metrics {
            tasks_spawned: spawned,
            tasks_alive: alive,
            tasks_finished: spawned - alive,
            tasks_killed: counts.killed.get(),
            tasks_panicked: counts.panicked.get(),
            polls: counts.polls.get(),
            loop_turns: observe.turns.get(),
            io_events: reactor.map_or(0, Reactor::events_seen),
            timers_fired: observe.timers_fired.get(),
            remote_wakes: observe.remote_wakes.get(),
            longest_poll: observe.shared.longest_poll(),
            ready_queue: executor.queued(),
            timers_armed: TimeDriver::current().map_or(0, TimeDriver::armed),
            io_sources: reactor.map_or(0, Reactor::source_count),
        }
    }
}

impl fmt::Display for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "tasks: {} spawned, {} alive, {} finished ({} killed, {} panicked)",
            self.tasks_spawned, self.tasks_alive, self.tasks_finished, self.tasks_killed, self.tasks_panicked
        )?;
        writeln!(
            f,
            "loop: {} turns, {} polls, {} I/O events, {} timers fired, {} remote wakes",
            self.loop_turns, self.polls, self.io_events, self.timers_fired, self.remote_wakes
        )?;
        write!(
            f,
            "now: {} ready, {} timers armed, {} I/O sources",
            self.ready_queue, self.timers_armed, self.io_sources
        )?;
        if let Some(longest) = self.longest_poll {
            write!(f, "; longest poll seen {}", crate::task::observe::Millis(longest))?;
        }
        writeln!(f)
    }
}
