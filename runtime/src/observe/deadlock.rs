//! The deadlock report: what `run` panics with when the main future waits
//! and nothing can ever wake anything.
//!
//! # What counts as "something can still wake a task"
//!
//! The check runs when the loop is about to wait for good: no task is
//! ready (none queued, none yielded, the main future not woken) and no
//! timer is armed. The loop then looks for anything outside the tasks
//! that could still wake one (`runtime.rs`, `EventLoop::deadlocked`); any of
//! these makes it wait as before, and report nothing:
//!
//! - a blocking-pool job in flight (`spawn_blocking`, files, DNS);
//! - a message posted from another thread and not yet handled;
//! - a socket (or any registered descriptor: signals, child processes)
//!   with a task waiting on it, including a waiter left by a cancelled
//!   read ("parked");
//! - a `sprout::wait()` future (the loop wakes it instead);
//! - a reference to the runtime's mailbox beyond its own: a live
//!   [`Handle`](crate::Handle) anywhere, or a blocking job's way home.
//!
//! Then every task, and the main future, must be *provably stuck*
//! (`task/observe.rs`): not running or queued, no foreign reference (a
//! waker cloned on another thread, or a wake or release on its way
//! through the mailbox), and every runtime-thread reference accounted
//! for: the registry's, the `JoinHandle`'s, and one per waker held by a
//! structure that only this runtime's tasks can fire (a local primitive's
//! wait list, a task's join slot, an internal task handle, a scope waiting
//! for its children). The children of every scope (`sprout::scope`) and
//! their bodies must be stuck by the same test, their scope's live set
//! and handle standing for the registry and the `JoinHandle`: they are
//! what wakes a task waiting on its scope. Any other reference
//! (a `Waker` kept by a hand-written future, a thread-safe primitive's
//! wait list, a waker sent to a plain thread, a `FuturesUnordered` inside
//! the task) might be woken from outside, and the task is not reported.
//!
//! Timers: unpaused, the check runs only with no timer armed. With a
//! paused clock and auto-advance, the loop jumps to the next timer
//! instead of waiting. With a paused clock and `auto_advance(false)`, only
//! `time::advance` (or `resume`) moves the clock, and only a task can call
//! it (a closure from a `Handle` needs a live `Handle`, which rules the
//! report out): a task's wakers in the timer wheel then count as
//! accounted for, and the report names the timers ("sleep (5 s left)").
//! If any task is not stuck, it might advance the clock, and nothing is
//! reported.
//!
//! So the report never names a program that could still make progress
//! through sprout's own means, at the price of missing some real
//! deadlocks: a task that waits on a thread-safe primitive no other thread
//! holds, or that hid its waker in a structure sprout cannot see, keeps
//! the loop waiting silently, as before. A `Handle` dropped on another
//! thread does not wake the loop, so a deadlock that appears only then is
//! not reported either.

use std::collections::HashMap;
use std::fmt;
use std::ptr::NonNull;

use super::dump::Dump;
use crate::task::executor::Executor;
use crate::task::header::Header;
use crate::task::observe::provably_stuck;

/// The report of a deadlock: the main future waits and nothing can ever
/// wake it or any task. What [`run`](crate::run) and
/// [`Runtime::block_on`](crate::Runtime::block_on) panic with, and
/// [`Runtime::try_block_on`](crate::Runtime::try_block_on) returns.
///
/// ```
/// use std::rc::Rc;
/// use sprout::{Runtime, queue::Queue, spawn};
///
/// let rt = Runtime::new().unwrap();
/// let err = rt
///     .try_block_on(async {
///         let q: Rc<Queue<u32>> = Rc::new(Queue::new(0));
///         let consumer = spawn(async move { q.get().await });
///         consumer.await
///     })
///     .unwrap_err();
/// let consumer = &err.dump().tasks()[1];
/// assert_eq!(consumer.state(), sprout::observe::TaskState::Waiting);
/// println!("{err}");
/// ```
///
/// See the module docs of `observe/deadlock.rs` (and `docs/debugging.md`,
/// "Deadlock reports") for what counts as something that can still wake
/// a task: the check errs on the side of silence.
#[derive(Clone, Debug)]
pub struct Deadlock {
    dump: Dump,
}

impl Deadlock {
    /// The tasks, all waiting, with what each waits on.
    pub fn dump(&self) -> &Dump {
        &self.dump
    }

    /// What `block_on` does before it panics with the report: with the
    /// `tracing` feature, an ERROR event of target `sprout::deadlock` with
    /// the number of tasks and the report (`tasks`, `report`), so that it
    /// reaches the program's logs; without it, nothing (the panic's
    /// message is the report). `try_block_on` hands the report back
    /// instead, and sends no event.
    pub(crate) fn report(&self) {
        crate::__report!(event: ERROR(
            target: "sprout::deadlock",
            tasks = self.dump.tasks().len(),
            report = %self,
            "deadlock: the main future waits, and nothing can ever wake it or any task"
        ));
    }
}

impl fmt::Display for Deadlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "sprout: deadlock: the main future waits, and nothing can ever wake it or any task \
             (no task ready, no timer, no socket waiter, no Handle, no waker on another thread, \
             no blocking job); each task waits on another or on a primitive only a task could release:"
        )?;
        write!(f, "{}", self.dump)
    }
}

impl std::error::Error for Deadlock {}

/// The report, if the main future and every task are provably stuck.
/// `frozen_timers` holds, by task header address, the number of wakers
/// each task has in timers that can never fire (a paused clock without
/// auto-advance; empty otherwise).
pub(crate) fn check(executor: &Executor, frozen_timers: &HashMap<usize, u32>) -> Option<Deadlock> {
    let also_held = |task: NonNull<Header>| frozen_timers.get(&task.as_ptr().addr()).copied().unwrap_or(0);
    let root = executor.root();
    // SAFETY: the root lives as long as the executor.
    if !provably_stuck(unsafe { root.as_ref() }, true, also_held(root)) {
        return None;
    }
    // SAFETY: the registry holds a reference to each live task, and
    // `provably_stuck` runs no user code.
    if !executor.all_live(|task| provably_stuck(unsafe { task.as_ref() }, false, also_held(task))) {
        return None;
    }
    // Scope children and bodies: a task waiting on its scope is woken by
    // them alone (the scope's counted waker), so they must be stuck too.
    let stuck = |task: NonNull<Header>| {
        // SAFETY: a scope holds a reference to its body and each live
        // child, and `provably_stuck` runs no user code.
        provably_stuck(unsafe { task.as_ref() }, false, also_held(task))
    };
    if !executor.scopes().all(|scope| scope.all_blocks(stuck)) {
        return None;
    }
    Some(Deadlock { dump: Dump::gather(executor, false) })
}
