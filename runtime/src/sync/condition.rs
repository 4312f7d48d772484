//! `Condition`: wait for a change to state guarded by a lock
//! (`threading.Condition`).

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::lock::{Lock, LockFuture, LockGuard};
use super::wait_list::{Cancelled, WaitList};
use crate::task::compact::CompactWaker;

/// A condition variable over its own [`Lock`]: tasks lock it, check the
/// guarded state, and [`wait`](Self::wait) (which unlocks while waiting and
/// locks again before returning) until another task changes the state and
/// calls [`notify`](Self::notify) or [`notify_all`](Self::notify_all).
///
/// Notifications wake waiters in arrival order and are not remembered: a
/// notify with nobody waiting does nothing, so always check the state
/// under the lock ([`wait_for`](Self::wait_for) does the loop for you). A
/// waiter dropped after it was notified passes the notification on to the
/// next waiter, so `notify(1)` is never lost to a cancelled task.
///
/// ```
/// use std::rc::Rc;
/// use sprout_runtime::{run, spawn, sync::Condition};
///
/// run(async {
///     let cond = Rc::new(Condition::new(Vec::new()));
///     let consumer = spawn({
///         let cond = cond.clone();
///         async move {
///             let mut items = cond.wait_for(cond.lock().await, |items| !items.is_empty()).await;
///             items.pop().unwrap()
///         }
///     });
///     sprout_runtime::yield_now().await; // the consumer starts waiting
///     cond.lock().await.push("cake");
///     cond.notify(1);
///     assert_eq!(consumer.await.unwrap(), "cake");
/// });
/// ```
pub struct Condition<T = ()> {
    lock: Lock<T>,
    waiters: RefCell<WaitList>,
}

impl<T: Default> Default for Condition<T> {
    fn default() -> Condition<T> {
        Condition::new(T::default())
    }
}

impl<T> Condition<T> {
    /// A condition whose lock guards `value`.
    pub const fn new(value: T) -> Condition<T> {
        Condition { lock: Lock::new(value), waiters: RefCell::new(WaitList::new()) }
    }

    /// Takes the condition's lock (Python's `with cond:`).
    pub fn lock(&self) -> LockFuture<'_, T> {
        self.lock.lock()
    }

    /// Takes the lock if it is free now.
    pub fn try_lock(&self) -> Option<LockGuard<'_, T>> {
        self.lock.try_lock()
    }

    /// The condition's lock.
    pub fn get_lock(&self) -> &Lock<T> {
        &self.lock
    }

    /// Unlocks, waits for a notification, locks again and returns the new
    /// guard. Like Python, it may return without the state having changed
    /// the way you hoped: check it (or use [`wait_for`](Self::wait_for)).
    ///
    /// # Panics
    /// If `guard` holds another lock than this condition's.
    pub async fn wait<'a>(&'a self, guard: LockGuard<'a, T>) -> LockGuard<'a, T> {
        self.check(&guard);
        drop(guard);
        // Nothing can run between the unlock and the first poll of
        // `notified` (one thread, no await in between): no notify is missed.
        self.notified().await;
        self.relock(true).await
    }

    /// Like [`wait`](Self::wait), giving up waiting for a notification
    /// after `timeout`. Returns the guard (the lock is always taken again)
    /// and whether it was notified, like Python's `wait(timeout)`.
    ///
    /// # Panics
    /// If `guard` holds another lock than this condition's.
    pub async fn wait_timeout<'a>(&'a self, guard: LockGuard<'a, T>, timeout: Duration) -> (LockGuard<'a, T>, bool) {
        self.check(&guard);
        drop(guard);
        let notified = crate::time::timeout(timeout, self.notified()).await.is_ok();
        (self.relock(notified).await, notified)
    }

    /// Waits until `predicate` holds for the guarded value, checking it
    /// first and after each notification; returns the guard with the
    /// predicate true (Python's `wait_for`).
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

    /// Wakes up to `n` waiting tasks, longest-waiting first. Python
    /// requires the caller to hold the lock; here it is not needed.
    pub fn notify(&self, n: usize) {
        for _ in 0..n {
            // One at a time, each woken after the borrow ends.
            let Some(waker) = self.waiters.borrow_mut().notify_one() else { break };
            waker.wake();
        }
    }

    /// Wakes every waiting task.
    pub fn notify_all(&self) {
        let mut woken = Vec::new();
        self.waiters.borrow_mut().notify_all(&mut woken);
        woken.into_iter().for_each(CompactWaker::wake);
    }

    /// The number of tasks waiting for a notification.
    pub fn waiters(&self) -> usize {
        self.waiters.borrow().len()
    }

    #[track_caller]
    fn check(&self, guard: &LockGuard<'_, T>) {
        assert!(
            std::ptr::eq(LockGuard::lock(guard), &self.lock),
            "Condition::wait: the guard holds another lock than this condition's"
        );
    }

    fn notified(&self) -> Notified<'_, T> {
        Notified { cond: self, key: None }
    }

    /// Locks again after waiting. If it received a notification and is
    /// dropped before it gets the lock, it passes a notification on: the
    /// one it received would otherwise be lost.
    async fn relock(&self, notified: bool) -> LockGuard<'_, T> {
        struct PassOn<'a, T>(&'a Condition<T>, bool);
        impl<T> Drop for PassOn<'_, T> {
            fn drop(&mut self) {
                if self.1 {
                    self.0.notify(1);
                }
            }
        }
        let mut pass_on = PassOn(self, notified);
        let guard = self.lock.lock().await;
        pass_on.1 = false;
        guard
    }
}

impl<T> fmt::Debug for Condition<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition").field("lock", &self.lock).field("waiters", &self.waiters()).finish()
    }
}

/// Waits for one notification; a notification received by a dropped
/// `Notified` goes to the next waiter.
struct Notified<'a, T> {
    cond: &'a Condition<T>,
    key: Option<u32>,
}

impl<T> Future for Notified<'_, T> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut waiters = self.cond.waiters.borrow_mut();
        match self.key {
            Some(key) => {
                if waiters.poll(key, cx.waker()) {
                    drop(waiters);
                    self.key = None;
                    return Poll::Ready(());
                }
                Poll::Pending
            }
            None => {
                let key = waiters.push(cx.waker());
                drop(waiters);
                self.key = Some(key);
                Poll::Pending
            }
        }
    }
}

impl<T> Drop for Notified<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let cancelled = self.cond.waiters.borrow_mut().cancel(key);
            if cancelled == Cancelled::Notified {
                self.cond.notify(1);
            }
        }
    }
}
