//! The thread-safe `Barrier`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::{block_on, block_on_until, lock};
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
    /// A barrier for `parties` tasks or threads (0 behaves like 1).
    pub const fn new(parties: usize) -> Barrier {
        Barrier {
            parties: if parties == 0 { 1 } else { parties },
            state: Mutex::new(State { arrived: 0, broken: false, waiters: WaitList::new() }),
        }
    }

    /// Waits in a green task until `parties` are waiting.
    pub fn wait(&self) -> BarrierWait<'_> {
        BarrierWait { barrier: self, key: None }
    }

    /// Like [`wait`](Self::wait), breaking the barrier on time-out.
    pub async fn wait_timeout(&self, timeout: Duration) -> Result<BarrierWaitResult, BrokenBarrier> {
        match crate::time::timeout(timeout, self.wait()).await {
            Ok(result) => result,
            Err(_) => {
                self.abort();
                Err(BrokenBarrier(()))
            }
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
            Err(wait) => {
                // Released in the meantime? Then that result stands.
                if let Some(result) = wait.finish() {
                    return result;
                }
                self.abort();
                Err(BrokenBarrier(()))
            }
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
        {
            let mut state = lock(&self.state);
            state.arrived = 0;
            state.broken = broken;
            while let Some((waker, ())) = state.waiters.notify_one_with(|o| *o = Outcome::Broken) {
                woken.push(waker);
            }
        }
        woken.into_iter().for_each(CompactWaker::wake);
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
        match state.waiters.cancel_take(key).1 {
            Outcome::Waiting => {
                state.arrived -= 1;
                None
            }
            Outcome::Passed(index) => Some(Ok(BarrierWaitResult { index, leader: false })),
            Outcome::Broken => Some(Err(BrokenBarrier(()))),
        }
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
