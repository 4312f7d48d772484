//! `Barrier`: a meeting point for a fixed number of tasks (and threads)
//! (`threading.Barrier`).

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::flavor::{Flavor, Local, LocalState, ThreadSafe};
use super::threadsafe::{block_on, block_on_until};
use super::wait_list::WaitList;
use crate::loom::sync::Mutex;
use crate::task::compact::CompactWaker;
use crate::task::observe::{WaitOn, waiting_shared};

/// Lets `parties` tasks (or threads, in any mix) wait for each other: each
/// [`wait`](Self::wait) blocks until `parties` are waiting, then all of
/// them go on together, and the barrier is ready for the next round. Use
/// it as [`sync::Barrier`](crate::sync::Barrier) or
/// [`sync::threadsafe::Barrier`](crate::sync::threadsafe::Barrier).
///
/// Each waiter learns its arrival index in the round (0 for the first);
/// the last to arrive, which releases the others, is the *leader*, the one
/// to do any once-per-round work. [`abort`](Self::abort) breaks the
/// barrier: every waiting and future `wait` fails with [`BrokenBarrier`]
/// until [`reset`](Self::reset).
///
/// A waiter that is dropped (killed, timed out by an outer `timeout`)
/// withdraws its arrival, so the round still needs `parties` live waiters.
/// [`wait_timeout`](Self::wait_timeout) instead breaks the barrier when it
/// times out, as Python's `wait(timeout)` does.
pub struct Barrier<F: Flavor> {
    parties: usize,
    state: F::Shared<State>,
}

struct State {
    /// Waiters in the current round.
    arrived: Cell<usize>,
    broken: Cell<bool>,
    waiters: RefCell<WaitList<Outcome>>,
}

impl State {
    const fn new(shared: bool) -> State {
        State { arrived: Cell::new(0), broken: Cell::new(false), waiters: RefCell::new(WaitList::new_in(shared)) }
    }

    /// Fails every waiter and starts a fresh round, broken or not; the
    /// wakers go to `woken`, to wake after the step.
    fn fail_waiters(&self, broken: bool, woken: &mut Vec<CompactWaker>) {
        self.arrived.set(0);
        self.broken.set(broken);
        let mut waiters = self.waiters.borrow_mut();
        while let Some((waker, ())) = waiters.notify_one_with(|o| *o = Outcome::Broken) {
            woken.push(waker);
        }
    }
}

/// What a notification tells a waiter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Outcome {
    #[default]
    Waiting,
    Passed(usize),
    Broken,
}

impl Outcome {
    /// What a waiter's slot says: `None` while it still waits.
    fn result(self) -> Option<Result<BarrierWaitResult, BrokenBarrier>> {
        match self {
            Outcome::Waiting => None,
            Outcome::Passed(index) => Some(Ok(BarrierWaitResult { index, leader: false })),
            Outcome::Broken => Some(Err(BrokenBarrier(()))),
        }
    }
}

/// What a barrier's `wait` returns to each waiter of a round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BarrierWaitResult {
    index: usize,
    leader: bool,
}

impl BarrierWaitResult {
    /// Whether this waiter is the round's leader (the last to arrive).
    pub fn is_leader(&self) -> bool {
        self.leader
    }

    /// The waiter's arrival index in the round, from 0 to `parties - 1`
    /// (Python's return value).
    pub fn index(&self) -> usize {
        self.index
    }
}

/// The error of a barrier's `wait` on a broken barrier (Python's
/// `BrokenBarrierError`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BrokenBarrier(pub(crate) ());

impl fmt::Display for BrokenBarrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the barrier is broken")
    }
}

impl std::error::Error for BrokenBarrier {}

/// `Barrier::new(0)` behaves like `Barrier::new(1)`.
const fn at_least_one(parties: usize) -> usize {
    if parties == 0 { 1 } else { parties }
}

impl Barrier<Local> {
    /// A barrier for `parties` tasks. `Barrier::new(0)` behaves like
    /// `Barrier::new(1)`: every wait passes at once.
    pub const fn new(parties: usize) -> Self {
        Barrier { parties: at_least_one(parties), state: LocalState::new(State::new(false)) }
    }
}

impl Barrier<ThreadSafe> {
    crate::loom::const_fn_unless_loom! {
        /// A barrier for `parties` tasks or threads (0 behaves like 1).
        pub const fn new(parties: usize) -> Self {
            Barrier { parties: at_least_one(parties), state: Mutex::new(State::new(true)) }
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
}

impl<F: Flavor> Barrier<F> {
    /// Waits (in a green task) until `parties` are waiting, then returns
    /// for all of them.
    pub fn wait(&self) -> BarrierWait<'_, F> {
        BarrierWait { barrier: self, key: None }
    }

    /// Like [`wait`](Self::wait), but breaks the barrier (for everyone)
    /// if the round is not complete after `timeout`. A round that completes
    /// as the time-out falls has passed: the call returns its result, and
    /// the barrier is not broken.
    pub async fn wait_timeout(&self, timeout: Duration) -> Result<BarrierWaitResult, BrokenBarrier> {
        let mut wait = self.wait();
        match crate::time::timeout(timeout, &mut wait).await {
            Ok(result) => result,
            Err(_) => wait.time_out(),
        }
    }

    /// Breaks the barrier: waiters and later waits fail with
    /// [`BrokenBarrier`], until [`reset`](Self::reset).
    pub fn abort(&self) {
        self.fail_waiters(true);
    }

    /// Returns the barrier to its initial state: waiters now fail with
    /// [`BrokenBarrier`], later waits start a fresh round.
    pub fn reset(&self) {
        self.fail_waiters(false);
    }

    /// Whether the barrier is broken.
    pub fn is_broken(&self) -> bool {
        F::step(&self.state).broken.get()
    }

    /// The number of waiters needed to pass.
    pub fn parties(&self) -> usize {
        self.parties
    }

    /// The number waiting in the current round.
    pub fn n_waiting(&self) -> usize {
        F::step(&self.state).arrived.get()
    }

    fn fail_waiters(&self, broken: bool) {
        let mut woken = Vec::new();
        F::step(&self.state).fail_waiters(broken, &mut woken);
        woken.into_iter().for_each(CompactWaker::wake);
    }
}

impl<F: Flavor> fmt::Debug for Barrier<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = F::step(&self.state);
        f.debug_struct("Barrier")
            .field("parties", &self.parties)
            .field("waiting", &state.arrived.get())
            .field("broken", &state.broken.get())
            .finish()
    }
}

/// The future returned by [`Barrier::wait`]. Dropped before the round
/// completes, it withdraws its arrival.
#[must_use = "futures do nothing unless awaited"]
pub struct BarrierWait<'a, F: Flavor> {
    barrier: &'a Barrier<F>,
    key: Option<u32>,
}

impl<F: Flavor> BarrierWait<'_, F> {
    /// The deadline passed: if the round was released (or failed) as it
    /// fell, that outcome stands; if this waiter was still waiting, it
    /// breaks the barrier, in the same step, so no round can pass without
    /// it in between. (On one thread the round cannot have completed since
    /// the last poll, but the rule is the same.)
    pub(crate) fn time_out(&mut self) -> Result<BarrierWaitResult, BrokenBarrier> {
        let mut woken = Vec::new();
        let result = {
            let state = F::step(&self.barrier.state);
            let released = self.key.take().and_then(|key| state.waiters.borrow_mut().cancel_take(key).1.result());
            released.unwrap_or_else(|| {
                state.fail_waiters(true, &mut woken);
                Err(BrokenBarrier(()))
            })
        };
        woken.into_iter().for_each(CompactWaker::wake);
        result
    }
}

impl<F: Flavor> Future for BarrierWait<'_, F> {
    type Output = Result<BarrierWaitResult, BrokenBarrier>;

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let barrier = self.barrier;
        let state = F::step(&barrier.state);
        if let Some(key) = self.key {
            let outcome = state.waiters.borrow_mut().poll_take(key, cx.waker());
            return match outcome {
                None => {
                    drop(state);
                    waiting_shared(WaitOn::Barrier, F::THREAD_SAFE);
                    Poll::Pending
                }
                Some(outcome) => {
                    drop(state);
                    self.key = None;
                    Poll::Ready(outcome.result().unwrap_or(Err(BrokenBarrier(()))))
                }
            };
        }
        if state.broken.get() {
            return Poll::Ready(Err(BrokenBarrier(())));
        }
        let arrived = state.arrived.get() + 1;
        if arrived < barrier.parties {
            state.arrived.set(arrived);
            let key = state.waiters.borrow_mut().push_with(cx.waker(), Outcome::Waiting);
            drop(state);
            self.key = Some(key);
            waiting_shared(WaitOn::Barrier, F::THREAD_SAFE);
            return Poll::Pending;
        }
        // The last arrival: release the round, numbering in arrival order.
        state.arrived.set(0);
        let mut woken = Vec::with_capacity(barrier.parties - 1);
        {
            let mut waiters = state.waiters.borrow_mut();
            let mut index = 0;
            while let Some((waker, ())) = waiters.notify_one_with(|o| *o = Outcome::Passed(index)) {
                woken.push(waker);
                index += 1;
            }
        }
        drop(state);
        woken.into_iter().for_each(CompactWaker::wake);
        Poll::Ready(Ok(BarrierWaitResult { index: barrier.parties - 1, leader: true }))
    }
}

impl<F: Flavor> Drop for BarrierWait<'_, F> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let state = F::step(&self.barrier.state);
            let (_, outcome) = state.waiters.borrow_mut().cancel_take(key);
            // Still waiting: withdraw. Released or failed: nothing to undo.
            if outcome == Outcome::Waiting {
                state.arrived.set(state.arrived.get() - 1);
            }
        }
    }
}

impl<F: Flavor> fmt::Debug for BarrierWait<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BarrierWait").field("waiting", &self.key.is_some()).finish()
    }
}
