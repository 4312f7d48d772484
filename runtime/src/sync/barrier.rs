//! `Barrier`: a meeting point for a fixed number of tasks (`threading.Barrier`).

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::wait_list::WaitList;
use crate::task::compact::CompactWaker;

/// Lets `parties` tasks wait for each other: each [`wait`](Self::wait)
/// blocks until `parties` tasks are waiting, then all of them go on
/// together, and the barrier is ready for the next round.
///
/// Each task learns its arrival index in the round (0 for the first); the
/// last to arrive, which releases the others, is the *leader*, the one to
/// do any once-per-round work. [`abort`](Self::abort) breaks the barrier:
/// every waiting and future `wait` fails with [`BrokenBarrier`] until
/// [`reset`](Self::reset).
///
/// A waiting task that is dropped (killed, timed out by an outer
/// `timeout`) withdraws its arrival, so the round still needs `parties`
/// live tasks. [`wait_timeout`](Self::wait_timeout) instead breaks the
/// barrier when it times out, as Python's `wait(timeout)` does.
///
/// ```
/// use std::rc::Rc;
/// use sprout_runtime::{joinall, run, spawn, sync::Barrier};
///
/// run(async {
///     let barrier = Rc::new(Barrier::new(3));
///     let tasks = (0..3).map(|_| {
///         let barrier = barrier.clone();
///         spawn(async move { barrier.wait().await.unwrap().is_leader() })
///     });
///     let leaders = joinall(tasks).await.into_iter().filter(|r| *r.as_ref().unwrap()).count();
///     assert_eq!(leaders, 1);
/// });
/// ```
pub struct Barrier {
    parties: usize,
    /// Tasks waiting in the current round.
    arrived: Cell<usize>,
    broken: Cell<bool>,
    waiters: RefCell<WaitList<Outcome>>,
}

/// What a notification tells a waiter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Outcome {
    #[default]
    Waiting,
    Passed(usize),
    Broken,
}

/// What [`Barrier::wait`] returns to each task of a round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BarrierWaitResult {
    pub(crate) index: usize,
    pub(crate) leader: bool,
}

impl BarrierWaitResult {
    /// Whether this task is the round's leader (the last to arrive).
    pub fn is_leader(&self) -> bool {
        self.leader
    }

    /// The task's arrival index in the round, from 0 to `parties - 1`
    /// (Python's return value).
    pub fn index(&self) -> usize {
        self.index
    }
}

/// The error of [`Barrier::wait`] on a broken barrier (Python's
/// `BrokenBarrierError`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BrokenBarrier(pub(crate) ());

impl fmt::Display for BrokenBarrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the barrier is broken")
    }
}

impl std::error::Error for BrokenBarrier {}

impl Barrier {
    /// A barrier for `parties` tasks. `Barrier::new(0)` behaves like
    /// `Barrier::new(1)`: every wait passes at once.
    pub const fn new(parties: usize) -> Barrier {
        Barrier {
            parties: if parties == 0 { 1 } else { parties },
            arrived: Cell::new(0),
            broken: Cell::new(false),
            waiters: RefCell::new(WaitList::new()),
        }
    }

    /// Waits until `parties` tasks are waiting, then returns for all of them.
    pub fn wait(&self) -> BarrierWait<'_> {
        BarrierWait { barrier: self, key: None }
    }

    /// Like [`wait`](Self::wait), but breaks the barrier (for every task)
    /// if the round is not complete after `timeout`. A round that completes
    /// as the time-out falls has passed: the call returns its result.
    pub async fn wait_timeout(&self, timeout: Duration) -> Result<BarrierWaitResult, BrokenBarrier> {
        let mut wait = self.wait();
        match crate::time::timeout(timeout, &mut wait).await {
            Ok(result) => result,
            Err(_) => wait.time_out(),
        }
    }

    /// Breaks the barrier: waiting tasks and later waits fail with
    /// [`BrokenBarrier`], until [`reset`](Self::reset).
    pub fn abort(&self) {
        self.broken.set(true);
        self.fail_waiters();
    }

    /// Returns the barrier to its initial state: tasks waiting now fail
    /// with [`BrokenBarrier`], later waits start a fresh round.
    pub fn reset(&self) {
        self.fail_waiters();
        self.broken.set(false);
    }

    /// Whether the barrier is broken.
    pub fn is_broken(&self) -> bool {
        self.broken.get()
    }

    /// The number of tasks needed to pass.
    pub fn parties(&self) -> usize {
        self.parties
    }

    /// The number of tasks waiting in the current round.
    pub fn n_waiting(&self) -> usize {
        self.arrived.get()
    }

    fn fail_waiters(&self) {
        self.arrived.set(0);
        let mut woken = Vec::new();
        {
            let mut waiters = self.waiters.borrow_mut();
            while let Some((waker, ())) = waiters.notify_one_with(|o| *o = Outcome::Broken) {
                woken.push(waker);
            }
        }
        woken.into_iter().for_each(CompactWaker::wake);
    }

    /// The last arrival: release the round, numbering the waiters in arrival order.
    fn trip(&self) -> BarrierWaitResult {
        self.arrived.set(0);
        let mut woken = Vec::with_capacity(self.parties - 1);
        {
            let mut waiters = self.waiters.borrow_mut();
            let mut index = 0;
            while let Some((waker, ())) = waiters.notify_one_with(|o| *o = Outcome::Passed(index)) {
                woken.push(waker);
                index += 1;
            }
        }
        woken.into_iter().for_each(CompactWaker::wake);
        BarrierWaitResult { index: self.parties - 1, leader: true }
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier")
            .field("parties", &self.parties)
            .field("waiting", &self.n_waiting())
            .field("broken", &self.is_broken())
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
    /// The deadline passed. On one thread the round cannot have completed
    /// since this wait was last polled ([`timeout`](crate::timeout) polls it
    /// first), but the rule is the thread-safe barrier's: a released or
    /// failed round's outcome stands; a waiter still waiting breaks the
    /// barrier.
    fn time_out(&mut self) -> Result<BarrierWaitResult, BrokenBarrier> {
        let outcome = match self.key.take() {
            Some(key) => self.barrier.waiters.borrow_mut().cancel_take(key).1,
            None => Outcome::Waiting,
        };
        match outcome {
            Outcome::Passed(index) => Ok(BarrierWaitResult { index, leader: false }),
            Outcome::Broken => Err(BrokenBarrier(())),
            Outcome::Waiting => {
                self.barrier.abort();
                Err(BrokenBarrier(()))
            }
        }
    }
}

impl Future for BarrierWait<'_> {
    type Output = Result<BarrierWaitResult, BrokenBarrier>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let barrier = self.barrier;
        if let Some(key) = self.key {
            let outcome = barrier.waiters.borrow_mut().poll_take(key, cx.waker());
            return match outcome {
                None => Poll::Pending,
                Some(outcome) => {
                    self.key = None;
                    match outcome {
                        Outcome::Passed(index) => Poll::Ready(Ok(BarrierWaitResult { index, leader: false })),
                        Outcome::Broken | Outcome::Waiting => Poll::Ready(Err(BrokenBarrier(()))),
                    }
                }
            };
        }
        if barrier.broken.get() {
            return Poll::Ready(Err(BrokenBarrier(())));
        }
        let arrived = barrier.arrived.get() + 1;
        if arrived == barrier.parties {
            return Poll::Ready(Ok(barrier.trip()));
        }
        barrier.arrived.set(arrived);
        self.key = Some(barrier.waiters.borrow_mut().push_with(cx.waker(), Outcome::Waiting));
        Poll::Pending
    }
}

impl Drop for BarrierWait<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let (_, outcome) = self.barrier.waiters.borrow_mut().cancel_take(key);
            // Still waiting: withdraw. Released or failed: nothing to undo.
            if outcome == Outcome::Waiting {
                self.barrier.arrived.set(self.barrier.arrived.get() - 1);
            }
        }
    }
}

impl fmt::Debug for BarrierWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BarrierWait").field("waiting", &self.key.is_some()).finish()
    }
}
