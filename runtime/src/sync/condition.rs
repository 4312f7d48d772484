//! `Condition`: wait for a change to state guarded by a lock
//! (`threading.Condition`).

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use super::flavor::{Flavor, Local, LocalState, ThreadSafe};
use super::lock::{Lock, LockFuture, LockGuard};
use super::threadsafe::{block_on, block_on_until};
use super::wait_list::{Cancelled, WaitList};
use crate::loom::sync::Mutex;
use crate::task::compact::CompactWaker;
use crate::task::observe::{WaitOn, waiting_shared};

/// A condition variable over its own [`Lock`]: tasks (and threads) lock
/// it, check the guarded state, and [`wait`](Self::wait) (which unlocks
/// while waiting and locks again before returning) until another changes
/// the state and calls [`notify`](Self::notify) or
/// [`notify_all`](Self::notify_all). Use it as
/// [`sync::Condition`](crate::sync::Condition) or
/// [`sync::threadsafe::Condition`](crate::sync::threadsafe::Condition).
///
/// Notifications wake waiters in arrival order and are not remembered: a
/// notify with nobody waiting does nothing, so always check the state
/// under the lock ([`wait_for`](Self::wait_for) does the loop for you). A
/// waiter dropped after it was notified passes the notification on to the
/// next waiter, so `notify(1)` is never lost to a cancelled task. A waiter
/// joins the line before it unlocks, so a `notify` from another thread in
/// between is not lost either.
pub struct Condition<T, F: Flavor> {
    lock: Lock<T, F>,
    waiters: F::Shared<RefCell<WaitList>>,
}

impl<T: Default, F: Flavor> Default for Condition<T, F> {
    fn default() -> Self {
        Condition { lock: Lock::default(), waiters: F::share(RefCell::new(WaitList::new_in(F::THREAD_SAFE))) }
    }
}

impl<T> Condition<T, Local> {
    /// A condition whose lock guards `value`.
    pub const fn new(value: T) -> Self {
        Condition { lock: Lock::<T, Local>::new(value), waiters: LocalState::new(RefCell::new(WaitList::new())) }
    }
}

impl<T> Condition<T, ThreadSafe> {
    crate::loom::const_fn_unless_loom! {
        /// A condition whose lock guards `value`.
        pub const fn new(value: T) -> Self {
            Condition { lock: Lock::<T, ThreadSafe>::new(value), waiters: Mutex::new(RefCell::new(WaitList::new_in(true))) }
        }
    }

    /// Takes the condition's lock, blocking this OS thread.
    ///
    /// # Panics
    /// Inside a sprout runtime.
    #[track_caller]
    pub fn lock_blocking(&self) -> LockGuard<'_, T, ThreadSafe> {
        self.lock.lock_blocking()
    }

    /// Unlocks, blocks this OS thread until notified, locks again.
    ///
    /// # Panics
    /// Inside a sprout runtime, or if `guard` holds another lock.
    #[track_caller]
    pub fn wait_blocking<'a>(&'a self, guard: LockGuard<'a, T, ThreadSafe>) -> LockGuard<'a, T, ThreadSafe> {
        block_on("Condition::wait_blocking", self.wait(guard))
    }

    /// Like [`wait_blocking`](Self::wait_blocking), giving up waiting for a
    /// notification after `timeout`; returns whether it was notified.
    ///
    /// # Panics
    /// Inside a sprout runtime, or if `guard` holds another lock.
    #[track_caller]
    pub fn wait_blocking_timeout<'a>(
        &'a self,
        guard: LockGuard<'a, T, ThreadSafe>,
        timeout: Duration,
    ) -> (LockGuard<'a, T, ThreadSafe>, bool) {
        let mut notified = self.register(guard);
        let _ = block_on_until("Condition::wait_blocking_timeout", &mut notified, Instant::now().checked_add(timeout));
        let got = notified.leave();
        (block_on("Condition::wait_blocking_timeout", self.relock(notified)), got)
    }

    /// Blocks this OS thread until `predicate` holds for the guarded value.
    ///
    /// # Panics
    /// Inside a sprout runtime, or if `guard` holds another lock.
    #[track_caller]
    pub fn wait_for_blocking<'a>(
        &'a self,
        mut guard: LockGuard<'a, T, ThreadSafe>,
        mut predicate: impl FnMut(&mut T) -> bool,
    ) -> LockGuard<'a, T, ThreadSafe> {
        while !predicate(&mut guard) {
            guard = self.wait_blocking(guard);
        }
        guard
    }
}

impl<T, F: Flavor> Condition<T, F> {
    /// Takes the condition's lock in a green task (Python's `with cond:`).
    pub fn lock(&self) -> LockFuture<'_, T, F> {
        self.lock.lock()
    }

    /// Takes the lock if it is free now.
    pub fn try_lock(&self) -> Option<LockGuard<'_, T, F>> {
        self.lock.try_lock()
    }

    /// The condition's lock.
    pub fn get_lock(&self) -> &Lock<T, F> {
        &self.lock
    }

    /// Unlocks, waits (in a green task) for a notification, locks again
    /// and returns the new guard. Like Python, it may return without the
    /// state having changed the way you hoped: check it (or use
    /// [`wait_for`](Self::wait_for)).
    ///
    /// # Panics
    /// If `guard` holds another lock than this condition's.
    pub async fn wait<'a>(&'a self, guard: LockGuard<'a, T, F>) -> LockGuard<'a, T, F> {
        let mut notified = self.register(guard);
        (&mut notified).await;
        self.relock(notified).await
    }

    /// Like [`wait`](Self::wait), giving up waiting for a notification
    /// after `timeout`. Returns the guard (the lock is always taken again)
    /// and whether it was notified, like Python's `wait(timeout)` (a
    /// notification that lands as the time-out falls counts).
    ///
    /// # Panics
    /// If `guard` holds another lock than this condition's.
    pub async fn wait_timeout<'a>(
        &'a self,
        guard: LockGuard<'a, T, F>,
        timeout: Duration,
    ) -> (LockGuard<'a, T, F>, bool) {
        let mut notified = self.register(guard);
        let _ = crate::time::timeout(timeout, &mut notified).await;
        let got = notified.leave();
        (self.relock(notified).await, got)
    }

    /// Waits in a green task until `predicate` holds for the guarded value,
    /// checking it first and after each notification; returns the guard
    /// with the predicate true (Python's `wait_for`).
    ///
    /// # Panics
    /// If `guard` holds another lock than this condition's.
    pub async fn wait_for<'a>(
        &'a self,
        mut guard: LockGuard<'a, T, F>,
        mut predicate: impl FnMut(&mut T) -> bool,
    ) -> LockGuard<'a, T, F> {
        while !predicate(&mut guard) {
            guard = self.wait(guard).await;
        }
        guard
    }

    /// Wakes up to `n` waiters, longest-waiting first. Python requires the
    /// caller to hold the lock; here it is not needed.
    pub fn notify(&self, n: usize) {
        for _ in 0..n {
            // One at a time, each woken after its step.
            let Some(waker) = F::step(&self.waiters).borrow_mut().notify_one() else { break };
            waker.wake();
        }
    }

    /// Wakes every waiter.
    pub fn notify_all(&self) {
        let mut woken = Vec::new();
        F::step(&self.waiters).borrow_mut().notify_all(&mut woken);
        woken.into_iter().for_each(CompactWaker::wake);
    }

    /// The number of tasks (and threads) waiting for a notification.
    pub fn waiters(&self) -> usize {
        F::step(&self.waiters).borrow().len()
    }

    /// Joins the waiters, *then* unlocks: a notify from another thread in
    /// between finds us registered. The real waker comes with the first poll.
    #[track_caller]
    fn register<'a>(&'a self, guard: LockGuard<'a, T, F>) -> Notified<'a, T, F> {
        assert!(
            std::ptr::eq(guard.lock, &self.lock),
            "Condition::wait: the guard holds another lock than this condition's"
        );
        let key = F::step(&self.waiters).borrow_mut().push(Waker::noop());
        drop(guard);
        Notified { cond: self, key: Some(key), notified: false }
    }

    /// Locks again. A waiter that was notified and is dropped before it
    /// gets the lock passes a notification on: the one it received would
    /// otherwise be lost.
    async fn relock<'a>(&'a self, mut notified: Notified<'a, T, F>) -> LockGuard<'a, T, F> {
        // Leaving the line now (if still in it) is not a cancellation.
        let _ = notified.leave();
        let pass_on = PassOn(self, notified.notified);
        let guard = self.lock.lock().await;
        std::mem::forget(pass_on);
        guard
    }
}

impl<T, F: Flavor> fmt::Debug for Condition<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition").field("lock", &self.lock).field("waiters", &self.waiters()).finish()
    }
}

/// Passes a received notification on if dropped (see `relock`).
struct PassOn<'a, T, F: Flavor>(&'a Condition<T, F>, bool);

impl<T, F: Flavor> Drop for PassOn<'_, T, F> {
    fn drop(&mut self) {
        if self.1 {
            self.0.notify(1);
        }
    }
}

/// One registered wait for a notification; a notification received by a
/// dropped `Notified` goes to the next waiter.
struct Notified<'a, T, F: Flavor> {
    cond: &'a Condition<T, F>,
    key: Option<u32>,
    notified: bool,
}

impl<T, F: Flavor> Notified<'_, T, F> {
    /// Stops waiting without passing anything on (a time-out); a
    /// notification that arrived meanwhile counts as received. Returns
    /// whether it was notified.
    fn leave(&mut self) -> bool {
        if let Some(key) = self.key.take() {
            let cancelled = F::step(&self.cond.waiters).borrow_mut().cancel(key);
            self.notified |= cancelled == Cancelled::Notified;
        }
        self.notified
    }
}

impl<T, F: Flavor> Future for Notified<'_, T, F> {
    type Output = ();

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Some(key) = self.key else { return Poll::Ready(()) };
        if F::step(&self.cond.waiters).borrow_mut().poll(key, cx.waker()) {
            self.key = None;
            self.notified = true;
            return Poll::Ready(());
        }
        waiting_shared(WaitOn::Condition, F::THREAD_SAFE);
        Poll::Pending
    }
}

impl<T, F: Flavor> Drop for Notified<'_, T, F> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let cancelled = F::step(&self.cond.waiters).borrow_mut().cancel(key);
            if cancelled == Cancelled::Notified {
                self.cond.notify(1);
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Waker};

    use crate::sync::threadsafe::Condition;

    /// A notification that lands between the waiter's last look and its
    /// deadline was received: `wait_timeout` reports it, never "not
    /// notified" for a notification it took.
    #[test]
    fn notification_at_the_deadline_counts() {
        let cond = Condition::new(());
        let mut notified = cond.register(cond.try_lock().unwrap());
        let poll = Pin::new(&mut notified).poll(&mut Context::from_waker(Waker::noop()));
        assert!(poll.is_pending());
        cond.notify(1);
        assert!(notified.leave(), "notified before the deadline was seen");
        // Not notified: the deadline says so.
        let mut alone = cond.register(cond.try_lock().unwrap());
        assert!(!alone.leave());
        assert_eq!(cond.waiters(), 0);
    }
}
