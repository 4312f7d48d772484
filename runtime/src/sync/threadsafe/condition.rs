//! The thread-safe `Condition`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use super::lock::{Lock, LockFuture, LockGuard};
use super::{block_on, block_on_until, lock};
use crate::loom::sync::Mutex;
use crate::sync::wait_list::{Cancelled, WaitList};

/// A condition variable over its own thread-safe [`Lock`], for green tasks
/// and OS threads alike; see [`crate::sync::Condition`] for the contract.
///
/// A waiter registers before it unlocks, so a `notify` from another thread
/// in between is not lost.
///
/// ```
/// use std::sync::Arc;
/// use sprout_runtime::{run, sync::threadsafe::Condition};
///
/// let cond = Arc::new(Condition::new(Vec::new()));
/// let producer = std::thread::spawn({
///     let cond = cond.clone();
///     move || {
///         cond.lock_blocking().push("cake");
///         cond.notify_all();
///     }
/// });
/// let got = run(async {
///     let mut items = cond.wait_for(cond.lock().await, |items| !items.is_empty()).await;
///     items.pop().unwrap()
/// });
/// producer.join().unwrap();
/// assert_eq!(got, "cake");
/// ```
pub struct Condition<T> {
    lock: Lock<T>,
    waiters: Mutex<WaitList>,
}

impl<T: Default> Default for Condition<T> {
    fn default() -> Condition<T> {
        Condition::new(T::default())
    }
}

impl<T> Condition<T> {
    crate::loom::const_fn_unless_loom! {
        /// A condition whose lock guards `value`.
        pub const fn new(value: T) -> Condition<T> {
            Condition { lock: Lock::new(value), waiters: Mutex::new(WaitList::new()) }
        }
    }

    /// Takes the condition's lock in a green task.
    pub fn lock(&self) -> LockFuture<'_, T> {
        self.lock.lock()
    }

    /// Takes the condition's lock, blocking this OS thread.
    ///
    /// # Panics
    /// Inside a sprout runtime.
    #[track_caller]
    pub fn lock_blocking(&self) -> LockGuard<'_, T> {
        self.lock.lock_blocking()
    }

    /// Takes the lock if it is free now.
    pub fn try_lock(&self) -> Option<LockGuard<'_, T>> {
        self.lock.try_lock()
    }

    /// The condition's lock.
    pub fn get_lock(&self) -> &Lock<T> {
        &self.lock
    }

    /// Unlocks, waits (in a green task) for a notification, locks again.
    ///
    /// # Panics
    /// If `guard` holds another lock than this condition's.
    pub async fn wait<'a>(&'a self, guard: LockGuard<'a, T>) -> LockGuard<'a, T> {
        let mut notified = self.register(guard);
        (&mut notified).await;
        self.relock(notified).await
    }

    /// Like [`wait`](Self::wait), giving up waiting for a notification
    /// after `timeout`; returns the guard (the lock is always taken again)
    /// and whether it was notified (a notification that lands as the
    /// time-out falls counts).
    ///
    /// # Panics
    /// If `guard` holds another lock than this condition's.
    pub async fn wait_timeout<'a>(&'a self, guard: LockGuard<'a, T>, timeout: Duration) -> (LockGuard<'a, T>, bool) {
        let mut notified = self.register(guard);
        let _ = crate::time::timeout(timeout, &mut notified).await;
        let got = notified.leave();
        (self.relock(notified).await, got)
    }

    /// Waits in a green task until `predicate` holds for the guarded value.
    ///
    /// # Panics
    /// If `guard` holds another lock than this condition's.
    pub async fn wait_for<'a>(
        &'a self,
        mut guard: LockGuard<'a, T>,
        mut predicate: impl FnMut(&mut T) -> bool,
    ) -> LockGuard<'a, T> {
        while !predicate(&mut guard) {
            guard = self.wait(guard).await;
        }
        guard
    }

    /// Unlocks, blocks this OS thread until notified, locks again.
    ///
    /// # Panics
    /// Inside a sprout runtime, or if `guard` holds another lock.
    #[track_caller]
    pub fn wait_blocking<'a>(&'a self, guard: LockGuard<'a, T>) -> LockGuard<'a, T> {
        block_on("Condition::wait_blocking", self.wait(guard))
    }

    /// Like [`wait_blocking`](Self::wait_blocking), giving up waiting for a
    /// notification after `timeout`; returns whether it was notified.
    ///
    /// # Panics
    /// Inside a sprout runtime, or if `guard` holds another lock.
    #[track_caller]
    pub fn wait_blocking_timeout<'a>(&'a self, guard: LockGuard<'a, T>, timeout: Duration) -> (LockGuard<'a, T>, bool) {
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
        mut guard: LockGuard<'a, T>,
        mut predicate: impl FnMut(&mut T) -> bool,
    ) -> LockGuard<'a, T> {
        while !predicate(&mut guard) {
            guard = self.wait_blocking(guard);
        }
        guard
    }

    /// Wakes up to `n` waiters (tasks or threads), longest-waiting first.
    pub fn notify(&self, n: usize) {
        for _ in 0..n {
            let Some(waker) = lock(&self.waiters).notify_one() else { break };
            waker.wake();
        }
    }

    /// Wakes every waiter.
    pub fn notify_all(&self) {
        let mut woken = Vec::new();
        lock(&self.waiters).notify_all(&mut woken);
        woken.into_iter().for_each(|w| w.wake());
    }

    /// The number of tasks and threads waiting for a notification.
    pub fn waiters(&self) -> usize {
        lock(&self.waiters).len()
    }

    /// Joins the waiters, *then* unlocks: a notify from another thread in
    /// between finds us registered. The real waker comes with the first poll.
    #[track_caller]
    fn register<'a>(&'a self, guard: LockGuard<'a, T>) -> Notified<'a, T> {
        assert!(
            std::ptr::eq(guard.lock, &self.lock),
            "Condition::wait: the guard holds another lock than this condition's"
        );
        let key = lock(&self.waiters).push(Waker::noop());
        drop(guard);
        Notified { cond: self, key: Some(key), notified: false }
    }

    /// Locks again. A waiter that was notified and is dropped before it
    /// gets the lock passes a notification on.
    async fn relock<'a>(&'a self, mut notified: Notified<'a, T>) -> LockGuard<'a, T> {
        // Leaving the line now (if still in it) is not a cancellation.
        let _ = notified.leave();
        let pass_on = PassOn(self, notified.notified);
        let guard = self.lock.lock().await;
        std::mem::forget(pass_on);
        guard
    }
}

impl<T> fmt::Debug for Condition<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition").field("lock", &self.lock).field("waiters", &self.waiters()).finish()
    }
}

struct PassOn<'a, T>(&'a Condition<T>, bool);

impl<T> Drop for PassOn<'_, T> {
    fn drop(&mut self) {
        if self.1 {
            self.0.notify(1);
        }
    }
}

/// One registered wait for a notification.
struct Notified<'a, T> {
    cond: &'a Condition<T>,
    key: Option<u32>,
    notified: bool,
}

impl<T> Notified<'_, T> {
    /// Stops waiting without passing anything on (a time-out); a
    /// notification that arrived meanwhile counts as received. Returns
    /// whether it was notified.
    fn leave(&mut self) -> bool {
        if let Some(key) = self.key.take() {
            let cancelled = lock(&self.cond.waiters).cancel(key);
            self.notified |= cancelled == Cancelled::Notified;
        }
        self.notified
    }
}

impl<T> Future for Notified<'_, T> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Some(key) = self.key else { return Poll::Ready(()) };
        if lock(&self.cond.waiters).poll(key, cx.waker()) {
            self.key = None;
            self.notified = true;
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

impl<T> Drop for Notified<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let cancelled = lock(&self.cond.waiters).cancel(key);
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

    use super::Condition;

    /// A notification that lands between the waiter's last look and its
    /// deadline was received: `wait_timeout` reports it (it used to say
    /// "not notified" and swallow it).
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
