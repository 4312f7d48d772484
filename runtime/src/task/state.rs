//! The task's state word.
//!
//! The word lives in a `Cell`: only the runtime thread that owns the task
//! reads or writes it (other threads reach a task through the runtime's
//! remote queue, never through this word). So every transition is a plain
//! load and store, with no atomic read-modify-write on the hot path.
//!
//! ```text
//!  bit  name         set while ...                                  invariant
//!  0    SCHEDULED    a run-queue entry exists, or the task was woken  at most one queue entry per task
//!                    during its own poll and must be requeued after
//!  1    RUNNING      the future is being polled or dropped in place,  no re-entrant poll, drop or kill;
//!                    or the finished task's completion code runs      the output is lent, not takeable
//!  2    COMPLETE     the future is gone, the output slot is filled,   never cleared once set
//!                    and the completion code has run
//!  3    CONSUMED     the output was taken or dropped                  implies COMPLETE
//!  4    JOIN_HANDLE  a JoinHandle exists                              cleared once, by the handle's drop
//!  5    KILL         kill() arrived while RUNNING                     acted on right after the poll
//!  6    GRACEFUL     kill_graceful() was called                       task::killed() resolves
//!  7    ROOT         the block_on pseudo-task: it has no stage         set at creation, never changed
//!  8    HANDLED      a joiner or callback looked at the error          suppresses the unhandled-failure report
//!  9    CHILD        a scope child (or scope body): its scope polls it, set at creation, never changed
//!                    so a wake queues it there, not on the run queue
//!  10-31 HELD        a count, not a flag: references to the task held   counts only what `note_held` added;
//!                    by sprout structures that only this runtime's      wraps (it is compared with `refs`,
//!                    tasks can fire (counted `CompactWaker`s, internal  which it can then never match)
//!                    task handles); see `observe.rs`, "provably stuck"
//! ```
//!
//! Each change is a named method below, and nothing outside this file can
//! write the word (there is no `set` or `unset`). A transition that asks
//! something of its caller returns a `#[must_use]` enum or `bool`, so the
//! caller cannot forget it; the two that ask nothing return nothing
//! ([`State::transition_to_complete`], and [`State::mark_handled`], which
//! only records that someone looked at the result).
//!
//! ```text
//!  transition                   from                       to                          who
//!  transition_to_scheduled      idle / running / root      +SCHEDULED                  wakers, spawn
//!                               / child
//!  transition_root_to_polled    root +SCHEDULED            -SCHEDULED                  the loop, before polling the root
//!  transition_to_running        queued                     -SCHEDULED +RUNNING         harness, before a poll
//!  transition_to_idle           RUNNING                    -RUNNING (kept if KILL)     harness, after a Pending poll
//!  transition_to_killed         idle / queued / RUNNING    +RUNNING or +KILL           kill()
//!  transition_to_graceful       not COMPLETE               +GRACEFUL                   kill_graceful()
//!  transition_to_complete       RUNNING                    -RUNNING -KILL +COMPLETE    harness, after completion code
//!  transition_to_consumed       COMPLETE                   +CONSUMED                   take or drop the output
//!  transition_to_detached       JOIN_HANDLE                -JOIN_HANDLE                the JoinHandle's drop
//!  mark_handled                 any                        +HANDLED                    joiners, callbacks
//!  note_held / note_released    any                        HELD + 1 / HELD - 1         CompactWaker, UntypedHandle
//! ```
//!
//! Every transition keeps the HELD bits as they are.

use std::cell::Cell;

pub(crate) const SCHEDULED: u32 = 1 << 0;
pub(crate) const RUNNING: u32 = 1 << 1;
pub(crate) const COMPLETE: u32 = 1 << 2;
pub(crate) const CONSUMED: u32 = 1 << 3;
pub(crate) const JOIN_HANDLE: u32 = 1 << 4;
pub(crate) const KILL: u32 = 1 << 5;
pub(crate) const GRACEFUL: u32 = 1 << 6;
pub(crate) const ROOT: u32 = 1 << 7;
pub(crate) const HANDLED: u32 = 1 << 8;
pub(crate) const CHILD: u32 = 1 << 9;
/// One unit of the HELD count (bits 10 to 31).
const HELD_ONE: u32 = 1 << 10;
const HELD_SHIFT: u32 = 10;

/// The state word of one task. See the module docs for the bit layout.
pub(crate) struct State(Cell<u32>);

/// What a wake-up asks of the waker.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Wake {
    /// The task was idle: push it onto the run queue (the queue takes a ref).
    Push,
    /// The task is the root future: flag it for the loop.
    Root,
    /// The task is a scope child: queue it on its scope (`child.rs`),
    /// which takes a ref.
    Child,
    /// Already queued, running (it will be requeued after its poll), or complete.
    Nothing,
}

/// What the executor does after a poll returned `Pending`.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum AfterPoll {
    /// Woken during its poll: back onto the run queue, reusing the queue ref.
    Requeue,
    /// Waiting for a wake-up: release the queue ref.
    Idle,
    /// `kill()` arrived during the poll: drop the future now.
    Kill,
}

/// What a `JoinHandle`'s drop leaves to do.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Detach {
    /// The task is complete and its output was never taken: drop it now.
    DiscardOutput,
    /// Running (the completion code discards the output), or already taken.
    Nothing,
}

/// What `kill()` has to do.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Kill {
    /// The task is idle: drop its future on the spot.
    DropNow,
    /// The task is running (it killed itself): the executor drops it after the poll.
    Deferred,
    /// Already complete: killing is harmless.
    Nothing,
}

impl State {
    pub(crate) fn new(bits: u32) -> State {
        State(Cell::new(bits))
    }

    #[cfg(test)]
    fn get(&self) -> u32 {
        self.0.get()
    }

    #[inline]
    pub(crate) fn has(&self, bits: u32) -> bool {
        self.0.get() & bits != 0
    }

    /// A wake-up arrived. A task woken many times is queued once.
    #[inline]
    pub(crate) fn transition_to_scheduled(&self) -> Wake {
        let s = self.0.get();
        if s & (SCHEDULED | COMPLETE) != 0 {
            return Wake::Nothing;
        }
        self.0.set(s | SCHEDULED);
        // One test on the common path: an idle task of the run queue.
        if s & (ROOT | RUNNING | CHILD) == 0 {
            Wake::Push
        } else if s & ROOT != 0 {
            Wake::Root
        } else if s & RUNNING != 0 {
            // Woken by its own poll (yield, or a ready resource): requeued after.
            Wake::Nothing
        } else {
            Wake::Child
        }
    }

    /// The executor popped the task. Returns false if it completed (it was
    /// killed) while it sat in the queue, in which case there is nothing to poll.
    #[inline]
    #[must_use]
    pub(crate) fn transition_to_running(&self) -> bool {
        let s = self.0.get();
        debug_assert!(s & RUNNING == 0, "task polled re-entrantly");
        if s & COMPLETE != 0 {
            self.0.set(s & !SCHEDULED);
            return false;
        }
        self.0.set((s & !SCHEDULED) | RUNNING);
        true
    }

    /// The loop looks at the root pseudo-task: takes its wake, if it was
    /// woken. Returns whether the `block_on` future should be polled.
    #[inline]
    #[must_use]
    pub(crate) fn transition_root_to_polled(&self) -> bool {
        let s = self.0.get();
        debug_assert!(s & ROOT != 0);
        self.0.set(s & !SCHEDULED);
        s & SCHEDULED != 0
    }

    /// The poll returned `Pending`. A task killed during its poll stays
    /// RUNNING: the executor drops its future right away, and RUNNING
    /// guards that drop as it guards a kill's.
    #[inline]
    pub(crate) fn transition_to_idle(&self) -> AfterPoll {
        let s = self.0.get();
        if s & KILL != 0 {
            return AfterPoll::Kill;
        }
        self.0.set(s & !RUNNING);
        if s & SCHEDULED != 0 { AfterPoll::Requeue } else { AfterPoll::Idle }
    }

    /// `kill()` was called.
    pub(crate) fn transition_to_killed(&self) -> Kill {
        let s = self.0.get();
        if s & COMPLETE != 0 {
            Kill::Nothing
        } else if s & RUNNING != 0 {
            self.0.set(s | KILL);
            Kill::Deferred
        } else {
            // RUNNING guards the drop against re-entrant polls and kills.
            self.0.set(s | RUNNING);
            Kill::DropNow
        }
    }

    /// `kill_graceful()` was called. Returns false if the task is complete
    /// or was already asked: then there is nothing to do.
    #[must_use]
    pub(crate) fn transition_to_graceful(&self) -> bool {
        let s = self.0.get();
        if s & (COMPLETE | GRACEFUL) != 0 {
            return false;
        }
        self.0.set(s | GRACEFUL);
        true
    }

    /// The `JoinHandle` is dropped.
    pub(crate) fn transition_to_detached(&self) -> Detach {
        let s = self.0.get() & !JOIN_HANDLE;
        self.0.set(s);
        if s & (COMPLETE | CONSUMED) == COMPLETE { Detach::DiscardOutput } else { Detach::Nothing }
    }

    /// A joiner or a completion callback looked at the result: a panic in
    /// it is handled, and is not reported as unjoined.
    #[inline]
    pub(crate) fn mark_handled(&self) {
        self.0.set(self.0.get() | HANDLED);
    }

    /// Whether the output is there to borrow: complete, and not taken.
    #[inline]
    pub(crate) fn has_output(&self) -> bool {
        self.0.get() & (COMPLETE | CONSUMED) == COMPLETE
    }

    /// The future is gone, the output slot is written, and the completion
    /// code (task-local destructors, callbacks) has run. Until this point
    /// the task stays RUNNING, so its handle cannot take the output that
    /// code borrows.
    #[inline]
    pub(crate) fn transition_to_complete(&self) {
        let s = self.0.get();
        self.0.set((s & !(RUNNING | KILL)) | COMPLETE);
    }

    /// A sprout structure that only this runtime's tasks can fire took a
    /// reference to the task (see the HELD row of the table).
    #[inline]
    pub(crate) fn note_held(&self) {
        self.0.set(self.0.get().wrapping_add(HELD_ONE));
    }

    /// Such a structure gave its reference back.
    #[inline]
    pub(crate) fn note_released(&self) {
        self.0.set(self.0.get().wrapping_sub(HELD_ONE));
    }

    /// The HELD count (modulo 2^23).
    #[inline]
    pub(crate) fn held(&self) -> u32 {
        self.0.get() >> HELD_SHIFT
    }

    /// The output is about to be taken or dropped. Returns false if there is
    /// no output to take (not complete yet, or taken already).
    #[inline]
    #[must_use]
    pub(crate) fn transition_to_consumed(&self) -> bool {
        let s = self.0.get();
        if s & (COMPLETE | CONSUMED) != COMPLETE {
            return false;
        }
        self.0.set(s | CONSUMED);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wake_queues_once() {
        let s = State::new(0);
        assert_eq!(s.transition_to_scheduled(), Wake::Push);
        assert_eq!(s.transition_to_scheduled(), Wake::Nothing);
        assert!(s.transition_to_running());
        assert!(!s.has(SCHEDULED));
    }

    #[test]
    fn wake_during_poll_requeues_after() {
        let s = State::new(0);
        let _ = s.transition_to_scheduled();
        assert!(s.transition_to_running());
        assert_eq!(s.transition_to_scheduled(), Wake::Nothing);
        assert_eq!(s.transition_to_idle(), AfterPoll::Requeue);
        assert!(s.has(SCHEDULED));
    }

    #[test]
    fn idle_without_wake() {
        let s = State::new(0);
        let _ = s.transition_to_scheduled();
        assert!(s.transition_to_running());
        assert_eq!(s.transition_to_idle(), AfterPoll::Idle);
        assert_eq!(s.get() & (RUNNING | SCHEDULED), 0);
    }

    #[test]
    fn kill_while_running_is_deferred() {
        let s = State::new(0);
        let _ = s.transition_to_scheduled();
        assert!(s.transition_to_running());
        assert_eq!(s.transition_to_killed(), Kill::Deferred);
        assert_eq!(s.transition_to_idle(), AfterPoll::Kill);
        // Still RUNNING: the drop that follows is guarded.
        assert!(s.has(RUNNING));
        assert_eq!(s.transition_to_killed(), Kill::Deferred);
        s.transition_to_complete();
        assert_eq!(s.get() & (RUNNING | KILL), 0);
    }

    #[test]
    fn the_held_count_leaves_the_flags_alone() {
        let s = State::new(JOIN_HANDLE);
        s.note_held();
        s.note_held();
        assert_eq!(s.transition_to_scheduled(), Wake::Push);
        assert!(s.transition_to_running());
        assert_eq!(s.transition_to_idle(), AfterPoll::Idle);
        assert_eq!(s.held(), 2);
        s.note_released();
        s.note_released();
        assert_eq!(s.get(), JOIN_HANDLE);
        // Below zero and back: the flags never see a borrow.
        s.note_released();
        assert_eq!(s.get() & (HELD_ONE - 1), JOIN_HANDLE);
        s.note_held();
        assert_eq!(s.get(), JOIN_HANDLE);
    }

    #[test]
    fn root_poll_takes_the_wake() {
        let s = State::new(ROOT);
        assert!(!s.transition_root_to_polled());
        assert_eq!(s.transition_to_scheduled(), Wake::Root);
        assert!(s.transition_root_to_polled());
        assert!(!s.transition_root_to_polled());
    }

    #[test]
    fn graceful_once_and_never_after_completion() {
        let s = State::new(0);
        assert!(s.transition_to_graceful());
        assert!(!s.transition_to_graceful());
        let done = State::new(COMPLETE);
        assert!(!done.transition_to_graceful());
    }

    #[test]
    fn detach_discards_only_an_untaken_output() {
        let s = State::new(JOIN_HANDLE);
        assert_eq!(s.transition_to_detached(), Detach::Nothing);
        let s = State::new(JOIN_HANDLE | COMPLETE);
        assert_eq!(s.transition_to_detached(), Detach::DiscardOutput);
        assert!(!s.has(JOIN_HANDLE));
        let s = State::new(JOIN_HANDLE | COMPLETE | CONSUMED);
        assert_eq!(s.transition_to_detached(), Detach::Nothing);
    }

    #[test]
    fn kill_idle_then_complete() {
        let s = State::new(0);
        assert_eq!(s.transition_to_killed(), Kill::DropNow);
        assert!(s.has(RUNNING));
        s.transition_to_complete();
        assert_eq!(s.transition_to_killed(), Kill::Nothing);
        assert_eq!(s.transition_to_scheduled(), Wake::Nothing);
    }

    #[test]
    fn killed_in_queue_is_skipped() {
        let s = State::new(0);
        let _ = s.transition_to_scheduled();
        assert_eq!(s.transition_to_killed(), Kill::DropNow);
        s.transition_to_complete();
        assert!(!s.transition_to_running());
        assert!(!s.has(SCHEDULED));
    }

    #[test]
    fn a_child_is_queued_on_its_scope_once() {
        let s = State::new(CHILD);
        assert_eq!(s.transition_to_scheduled(), Wake::Child);
        assert_eq!(s.transition_to_scheduled(), Wake::Nothing);
        assert!(s.transition_to_running());
        // Woken during its own poll: requeued after it, as a task is.
        assert_eq!(s.transition_to_scheduled(), Wake::Nothing);
        assert_eq!(s.transition_to_idle(), AfterPoll::Requeue);
        s.note_held();
        assert_eq!(s.held(), 1);
        assert!(s.has(CHILD));
    }

    #[test]
    fn root_wake() {
        let s = State::new(ROOT);
        assert_eq!(s.transition_to_scheduled(), Wake::Root);
        assert_eq!(s.transition_to_scheduled(), Wake::Nothing);
    }

    #[test]
    fn consume_once() {
        let s = State::new(0);
        assert!(!s.transition_to_consumed());
        s.transition_to_complete();
        assert!(s.transition_to_consumed());
        assert!(!s.transition_to_consumed());
    }
}
