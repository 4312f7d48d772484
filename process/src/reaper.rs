//! The orphan reaper: children whose `Child` was dropped before they were
//! reaped.
//!
//! A process that exits stays a zombie until its parent waits for it. std
//! leaves that to the caller; here a dropped `Child` hands its `Waiter` to
//! the reaper, which guarantees the wait happens:
//!
//! 1. In a running sprout runtime, the waiter becomes a small green task
//!    (`Orphan`) that waits on the child's pidfd (or `SIGCHLD`) like any
//!    wait, and reaps it the moment it exits. No thread, no polling.
//! 2. Outside a runtime, or when that task is dropped unfinished (its
//!    runtime shut down) or cannot wait (its watch belongs to another
//!    runtime), the std child is *parked* on a process-wide list.
//! 3. Every later `Command::spawn`, in any runtime on any thread, looks at
//!    the parked list: children that have exited are reaped there, and the
//!    others are adopted as `Orphan` tasks by the runtime doing the spawn.
//!
//! So a parked child stays a zombie only until the process spawns again;
//! a process that never spawns again keeps it until the process itself
//! exits (then init reaps it), which is what std does with every dropped
//! child. Checking the empty list costs one relaxed atomic load.
//!
//! An `Orphan` task is a task waiting on I/O: `sprout::wait()` waits for it,
//! that is, for the dropped child to exit. `kill_on_drop(true)` makes that
//! prompt.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::task::{Context, Poll};

use sprout_runtime::Handle;

use super::wait::Waiter;

/// Children parked outside a runtime, unreaped.
static PARKED: Mutex<Vec<std::process::Child>> = Mutex::new(Vec::new());
/// `PARKED.len()`, readable without the lock (a hint: exact under the lock).
static PARKED_LEN: AtomicUsize = AtomicUsize::new(0);
/// `Orphan` tasks alive, in every runtime (for tests: `probe::orphans`).
static ORPHAN_TASKS: AtomicUsize = AtomicUsize::new(0);

/// Takes charge of a dropped child until it is reaped.
pub(crate) fn adopt(mut waiter: Waiter) {
    match waiter.try_wait() {
        // Reaped now; or waitpid refuses (ECHILD: SIGCHLD is ignored and
        // the kernel reaped it already): nothing left to do.
        Ok(Some(_)) | Err(_) => {}
        Ok(None) if in_runtime() => spawn_orphan(waiter),
        Ok(None) => park(waiter),
    }
}

/// Reaps parked children that have exited and hands the rest to the
/// running runtime. Called before each spawn.
pub(crate) fn reap_parked() {
    if PARKED_LEN.load(Ordering::Relaxed) == 0 {
        return;
    }
    let mut parked = PARKED.lock().unwrap_or_else(PoisonError::into_inner);
    parked.retain_mut(|child| matches!(child.try_wait(), Ok(None)));
    if in_runtime() {
        for child in std::mem::take(&mut *parked) {
            match Waiter::new(child, None) {
                Ok(waiter) => spawn_orphan(waiter),
                // No descriptor left for a watch: try again next spawn.
                Err((child, _)) => parked.push(child),
            }
        }
    }
    PARKED_LEN.store(parked.len(), Ordering::Relaxed);
}

/// Orphans not reaped yet: tasks waiting on them plus parked children.
pub(crate) fn pending() -> usize {
    ORPHAN_TASKS.load(Ordering::Relaxed) + PARKED_LEN.load(Ordering::Relaxed)
}

fn in_runtime() -> bool {
    Handle::try_current().is_some()
}

fn spawn_orphan(waiter: Waiter) {
    ORPHAN_TASKS.fetch_add(1, Ordering::Relaxed);
    // Detached: the JoinHandle is dropped.
    drop(sprout_runtime::spawn(Orphan { waiter: Some(waiter) }));
}

/// Parks a child no task can wait for, unless it has exited meanwhile.
fn park(mut waiter: Waiter) {
    if matches!(waiter.try_wait(), Ok(None)) {
        park_std(waiter.into_child());
    }
}

/// Parks a std child (one that could not get a watch at all), unless it
/// has exited meanwhile.
pub(crate) fn park_std(mut child: std::process::Child) {
    if !matches!(child.try_wait(), Ok(None)) {
        return;
    }
    let mut parked = PARKED.lock().unwrap_or_else(PoisonError::into_inner);
    parked.push(child);
    PARKED_LEN.store(parked.len(), Ordering::Relaxed);
}

/// The task that waits for one dropped child.
struct Orphan {
    /// `Some` until the child is reaped or parked.
    waiter: Option<Waiter>,
}

impl Future for Orphan {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Some(waiter) = self.waiter.as_mut() else { return Poll::Ready(()) };
        match waiter.poll_wait(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(_)) => {
                self.waiter = None;
                Poll::Ready(())
            }
            // The watch cannot wait here (another runtime's, say): park.
            Poll::Ready(Err(_)) => {
                park(self.waiter.take().expect("checked above"));
                Poll::Ready(())
            }
        }
    }
}

impl Drop for Orphan {
    fn drop(&mut self) {
        ORPHAN_TASKS.fetch_sub(1, Ordering::Relaxed);
        // Killed unfinished (the runtime is shutting down): park, never
        // spawn again, or shutdown would kill a new task forever.
        if let Some(waiter) = self.waiter.take() {
            park(waiter);
        }
    }
}
