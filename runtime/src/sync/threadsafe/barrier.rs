//! The thread-safe `Barrier`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::{block_on, block_on_until, lock};
use crate::loom::sync::Mutex;
use crate::sync::barrier::Outcome;
use crate::sync::wait_list::WaitList;
use crate::sync::{BarrierWaitResult, BrokenBarrier};
use crate::task::compact::CompactWaker;

/// A meeting point for `parties` green tasks and OS threads, in any mix;
/// see [`crate::sync::Barrier`] for the contract (leader, indices, abort,
/// reset, withdrawal of a dropped waiter).
///
/// ```
/// use std::sync::Arc;
/// use sprout_runtime::{run, spawn, sync::threadsafe::Barrier};
///
/// let barrier = Arc::new(Barrier::new(3));
/// let threads: Vec<_> = (0..2)
///     .map(|_| {
///         let barrier = barrier.clone();
///         std::thread::spawn(move || barrier.wait_blocking().unwrap().index())
///     })
///     .collect();
/// let task_index = run(async { barrier.wait().await.unwrap().index() });
/// let mut indices: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
/// indices.push(task_index);
/// indices.sort();
/// assert_eq!(indices, [0, 1, 2]);
/// ```
pub struct Barrier {
    parties: usize,
    state: Mutex<State>,
}

struct State {
    arrived: usize,
    broken: bool,
    waiters: WaitList<Outcome>,
}

impl Barrier {
    crate::loom::const_fn_unless_loom! {
        /// A barrier for `parties` tasks or threads (0 behaves like 1).
        pub const fn new(parties: usize) -> Barrier {
            Barrier {
                parties: if parties == 0 { 1 } else { parties },
                state: Mutex::new(State { arrived: 0, broken: false, waiters: WaitList::new() }),
            }
        }
    }

    /// Waits in a green task until `parties` are waiting.
    pub fn wait(&self) -> BarrierWait<'_> {
        BarrierWait { barrier: self, key: None }
    }

    /// Like [`wait`](Self::wait), breaking the barrier on time-out. A
    /// round that completes as the time-out falls has passed: the call
    /// returns its result, and the barrier is not broken.
    pub async fn wait_timeout(&self, timeout: Duration) -> Result<BarrierWaitResult, BrokenBarrier> {
        let mut wait = self.wait();
        match crate::time::timeout(timeout, &mut wait).await {
            Ok(result) => result,
            Err(_) => wait.time_out(),
        }
    }

    /// Blocks this OS thread until `parties` are waiting.
    ///
    /// # Panics
    /// Inside a sprout runtime.
    #[track_caller]
    pub fn wait_blocking(&self) -> Result<BarrierWaitResult, BrokenBarrier> {
        block_on("Barrier::wait_blocking", self.wait())
    }

    /// Like [`wait_blocking`](Self::wait_blocking), breaking the barrier on
    /// time-out (Python's `wait(timeout)`).
    ///
    /// # Panics
    /// Inside a sprout runtime.
    #[track_caller]
    pub fn wait_blocking_timeout(&self, timeout: Duration) -> Result<BarrierWaitResult, BrokenBarrier> {
        let mut wait = self.wait();
        match block_on_until("Barrier::wait_blocking_timeout", &mut wait, Instant::now().checked_add(timeout)) {
            Ok(result) => result,
            Err(wait) => wait.time_out(),
        }
    }

    /// Breaks the barrier for every waiting and later `wait`, until `reset`.
    pub fn abort(&self) {
        self.fail_waiters(true);
    }

    /// Fails the waiting tasks and threads and starts a fresh round.
    pub fn reset(&self) {
        self.fail_waiters(false);
    }

    /// Whether the barrier is broken.
    pub fn is_broken(&self) -> bool {
        lock(&self.state).broken
    }

    /// The number of tasks and threads needed to pass.
    pub fn parties(&self) -> usize {
        self.parties
    }

    /// The number waiting in the current round.
    pub fn n_waiting(&self) -> usize {
        lock(&self.state).arrived
    }

    fn fail_waiters(&self, broken: bool) {
        let mut woken = Vec::new();
        fail_waiters(&mut lock(&self.state), broken, &mut woken);
        woken.into_iter().for_each(CompactWaker::wake);
    }
}

/// Fails every waiter and starts a fresh round, broken or not; the wakers
/// go to `woken`, to wake once the lock is released.
fn fail_waiters(state: &mut State, broken: bool, woken: &mut Vec<CompactWaker>) {
    state.arrived = 0;
    state.broken = broken;
    while let Some((waker, ())) = state.waiters.notify_one_with(|o| *o = Outcome::Broken) {
        woken.push(waker);
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.state);
        f.debug_struct("Barrier")
            .field("parties", &self.parties)
            .field("waiting", &state.arrived)
            .field("broken", &state.broken)
            .finish()
    }
}

/// The future returned by [`Barrier::wait`]. Dropped before the round
/// completes, it withdraws its arrival.
#[must_use = "futures do nothing unless awaited"]
pub struct BarrierWait<'a> {
    barrier: &'a Barrier,
    key: Option<u32>,
}

impl BarrierWait<'_> {
    /// Leaves the line: the outcome if it had been released or failed,
    /// `None` if it was still waiting (and has now withdrawn).
    fn finish(&mut self) -> Option<Result<BarrierWaitResult, BrokenBarrier>> {
        let key = self.key.take()?;
        let mut state = lock(&self.barrier.state);
        outcome(state.waiters.cancel_take(key).1).or_else(|| {
            state.arrived -= 1;
            None
        })
    }

    /// The deadline passed: if the round was released (or failed) as it
    /// fell, that outcome stands; if this waiter was still waiting, it
    /// breaks the barrier, in the same step, so no round can pass without
    /// it in between.
    pub(crate) fn time_out(&mut self) -> Result<BarrierWaitResult, BrokenBarrier> {
        let mut woken = Vec::new();
        let result = {
            let mut state = lock(&self.barrier.state);
            let released = self.key.take().and_then(|key| outcome(state.waiters.cancel_take(key).1));
            released.unwrap_or_else(|| {
                fail_waiters(&mut state, true, &mut woken);
                Err(BrokenBarrier(()))
            })
        };
        woken.into_iter().for_each(CompactWaker::wake);
        result
    }
}

/// What a waiter's slot says: `None` while it still waits.
fn outcome(outcome: Outcome) -> Option<Result<BarrierWaitResult, BrokenBarrier>> {
    match outcome {
        Outcome::Waiting => None,
        Outcome::Passed(index) => Some(Ok(BarrierWaitResult { index, leader: false })),
        Outcome::Broken => Some(Err(BrokenBarrier(()))),
    }
}

impl Future for BarrierWait<'_> {
    type Output = Result<BarrierWaitResult, BrokenBarrier>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let barrier = self.barrier;
        let mut state = lock(&barrier.state);
        if let Some(key) = self.key {
            return match state.waiters.poll_take(key, cx.waker()) {
                None => Poll::Pending,
                Some(outcome) => {
                    drop(state);
                    self.key = None;
                    Poll::Ready(match outcome {
                        Outcome::Passed(index) => Ok(BarrierWaitResult { index, leader: false }),
                        Outcome::Broken | Outcome::Waiting => Err(BrokenBarrier(())),
                    })
                }
            };
        }
        if state.broken {
            return Poll::Ready(Err(BrokenBarrier(())));
        }
        state.arrived += 1;
        if state.arrived < barrier.parties {
            let key = state.waiters.push_with(cx.waker(), Outcome::Waiting);
            drop(state);
            self.key = Some(key);
            return Poll::Pending;
        }
        // The last arrival: release the round, numbering in arrival order.
        state.arrived = 0;
        let mut woken = Vec::with_capacity(barrier.parties - 1);
        let mut index = 0;
        while let Some((waker, ())) = state.waiters.notify_one_with(|o| *o = Outcome::Passed(index)) {
            woken.push(waker);
            index += 1;
        }
        drop(state);
        woken.into_iter().for_each(CompactWaker::wake);
        Poll::Ready(Ok(BarrierWaitResult { index: barrier.parties - 1, leader: true }))
    }
}

impl Drop for BarrierWait<'_> {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

impl fmt::Debug for BarrierWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BarrierWait").field("waiting", &self.key.is_some()).finish()
    }
}
