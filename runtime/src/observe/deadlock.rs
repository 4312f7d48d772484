//! The deadlock report: what `run` panics with when the main future waits
//! and nothing can ever wake anything.
//!
//! # What counts as "something can still wake a task"
//!
//! The check runs when the loop is about to wait for good: no task is
//! ready (none queued, none yielded, the main future not woken) and no
//! timer is armed. The loop then looks for anything outside the tasks
//! that could still wake one (`runtime.rs`, `Core::deadlocked`); any of
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
//! wait list, a task's join slot, an internal task handle) or whose source
//! the loop has already ruled out (a timer, a socket). Any other reference
//! (a `Waker` kept by a hand-written future, a thread-safe primitive's
//! wait list, a waker sent to a plain thread, a `FuturesUnordered` inside
//! the task) might be woken from outside, and the task is not reported.
//!
//! So the report never names a program that could still make progress
//! through sprout's own means, at the price of missing some real
//! deadlocks: a task that waits on a thread-safe primitive no other thread
//! holds, or that hid its waker in a structure sprout cannot see, keeps
//! the loop waiting silently, as before. A `Handle` dropped on another
//! thread does not wake the loop, so a deadlock that appears only then is
//! not reported either.

use std::fmt;

use super::dump::Dump;
use crate::task::executor::Executor;
use crate::task::observe::provably_stuck;

/// The report of a deadlock: the main future waits and nothing can ever
/// wake it or any task. What [`run`](crate::run) and
/// [`Runtime::block_on`](crate::Runtime::block_on) panic with, and
/// [`Runtime::try_block_on`](crate::Runtime::try_block_on) returns.
///
/// ```
/// use std::rc::Rc;
/// use sprout_runtime::{Runtime, queue::Queue, spawn};
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
/// assert_eq!(consumer.state(), sprout_runtime::observe::TaskState::Waiting);
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
pub(crate) fn check(executor: &Executor) -> Option<Deadlock> {
    // SAFETY: the root lives as long as the executor.
    if !provably_stuck(unsafe { executor.root().as_ref() }, true) {
        return None;
    }
    // SAFETY: the registry holds a reference to each live task, and
    // `provably_stuck` runs no user code.
    if !executor.all_live(|task| provably_stuck(unsafe { task.as_ref() }, false)) {
        return None;
    }
    Some(Deadlock { dump: Dump::gather(executor, false) })
}
