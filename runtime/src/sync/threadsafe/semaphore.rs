//! The thread-safe `Semaphore` (and bounded semaphore).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::{block_on, block_on_timeout, lock};
use crate::loom::sync::Mutex;
use crate::sched::coop;
use crate::sync::ReleaseError;
use crate::sync::wait_list::{Cancelled, WaitList};
use crate::sync::withdraw::{self, Withdraw};
use crate::time::Elapsed;

/// A thread-safe counter of permits, shared by green tasks and OS threads;
/// see [`crate::sync::Semaphore`]. With [`Semaphore::bounded`], a release
/// beyond the initial count is an error (`BoundedSemaphore`).
///
/// ```
/// use std::sync::Arc;
/// use sprout_runtime::{run, sync::threadsafe::Semaphore};
///
/// run(async {
///     let slots = Arc::new(Semaphore::new(1));
///     let held = slots.acquire().await;
///     let thread = std::thread::spawn({
///         let slots = slots.clone();
///         move || slots.acquire_blocking().forget() // waits for the task's permit
///     });
///     drop(held);
///     thread.join().unwrap();
///     assert_eq!(slots.available_permits(), 0);
/// });
/// ```
pub struct Semaphore {
    state: Mutex<SemState>,
    /// `Some(n)`: a bounded semaphore that never holds more than `n` permits.
    bound: Option<usize>,
}

struct SemState {
    permits: usize,
    /// Non-empty only while `permits` is 0 (releases hand off).
    waiters: WaitList,
}

impl Semaphore {
    crate::loom::const_fn_unless_loom! {
        /// A semaphore with `permits` permits.
        pub const fn new(permits: usize) -> Semaphore {
            Semaphore { state: Mutex::new(SemState { permits, waiters: WaitList::new() }), bound: None }
        }
    }

    crate::loom::const_fn_unless_loom! {
        /// A bounded semaphore (`threading.BoundedSemaphore`): `permits` is
        /// also the most it may hold.
        pub const fn bounded(permits: usize) -> Semaphore {
            Semaphore { state: Mutex::new(SemState { permits, waiters: WaitList::new() }), bound: Some(permits) }
        }
    }

    /// Takes a permit, waiting (in a green task) while none is free.
    pub fn acquire(&self) -> SemAcquire<'_> {
        SemAcquire { sem: self, key: None }
    }

    /// Takes a permit, waiting at most `timeout` in a green task. A permit
    /// handed over as the time-out falls is taken: the call succeeds.
    pub async fn acquire_timeout(&self, timeout: Duration) -> Result<SemGuard<'_>, Elapsed> {
        withdraw::timeout(timeout, self.acquire()).await
    }

    /// Takes a permit if one is free now.
    pub fn try_acquire(&self) -> Option<SemGuard<'_>> {
        let mut state = lock(&self.state);
        if state.permits == 0 {
            return None;
        }
        state.permits -= 1;
        Some(SemGuard { sem: self })
    }

    /// Blocks this OS thread until it takes a permit.
    ///
    /// # Panics
    /// Inside a sprout runtime.
    #[track_caller]
    pub fn acquire_blocking(&self) -> SemGuard<'_> {
        block_on("Semaphore::acquire_blocking", self.acquire())
    }

    /// Blocks this OS thread at most `timeout` for a permit. A permit
    /// handed over as the time-out falls is taken.
    ///
    /// # Panics
    /// Inside a sprout runtime.
    #[track_caller]
    pub fn acquire_blocking_timeout(&self, timeout: Duration) -> Option<SemGuard<'_>> {
        block_on_timeout("Semaphore::acquire_blocking_timeout", self.acquire(), timeout)
    }

    /// Adds a permit, handing it to the first waiter if any. For a bounded
    /// semaphore, fails (changing nothing) if every permit is already free.
    pub fn release(&self) -> Result<(), ReleaseError> {
        let waker = {
            let mut state = lock(&self.state);
            if self.bound.is_some_and(|bound| state.permits >= bound) {
                return Err(ReleaseError(()));
            }
            match state.waiters.notify_one() {
                Some(waker) => waker,
                None => {
                    state.permits += 1;
                    return Ok(());
                }
            }
        };
        waker.wake();
        Ok(())
    }

    /// The number of free permits.
    pub fn available_permits(&self) -> usize {
        lock(&self.state).permits
    }

    /// The number of tasks and threads waiting.
    pub fn waiters(&self) -> usize {
        lock(&self.state).waiters.len()
    }

    /// A guard's (or a dropped waiter's) permit comes back; for a bounded
    /// semaphore already full (it was given back by hand), nothing does.
    fn give_back(&self) {
        let handed = {
            let mut state = lock(&self.state);
            let handed = state.waiters.notify_one();
            if handed.is_none() && self.bound.is_none_or(|bound| state.permits < bound) {
                state.permits += 1;
            }
            handed
        };
        if let Some(waker) = handed {
            waker.wake();
        }
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.state);
        f.debug_struct("Semaphore")
            .field("permits", &state.permits)
            .field("bound", &self.bound)
            .field("waiters", &state.waiters.len())
            .finish()
    }
}

/// The future returned by [`Semaphore::acquire`]. Dropping it stops the
/// wait; a permit it had been handed goes to the next waiter.
#[must_use = "futures do nothing unless awaited"]
pub struct SemAcquire<'a> {
    sem: &'a Semaphore,
    key: Option<u32>,
}

impl<'a> Future for SemAcquire<'a> {
    type Output = SemGuard<'a>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<SemGuard<'a>> {
        let sem = self.sem;
        if let Some(key) = self.key {
            if lock(&sem.state).waiters.poll(key, cx.waker()) {
                self.key = None;
                return Poll::Ready(SemGuard { sem });
            }
            return Poll::Pending;
        }
        if coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        let mut state = lock(&sem.state);
        if state.permits > 0 {
            state.permits -= 1;
            return Poll::Ready(SemGuard { sem });
        }
        let key = state.waiters.push(cx.waker());
        drop(state);
        self.key = Some(key);
        Poll::Pending
    }
}

impl Withdraw for SemAcquire<'_> {
    fn withdraw(&mut self) -> Option<Self::Output> {
        let key = self.key.take()?;
        let cancelled = lock(&self.sem.state).waiters.cancel(key);
        // Handed a permit: it is ours. (`then`, not `then_some`: a guard
        // built eagerly and dropped would give a permit back.)
        (cancelled == Cancelled::Notified).then(|| SemGuard { sem: self.sem })
    }
}

impl Drop for SemAcquire<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let cancelled = lock(&self.sem.state).waiters.cancel(key);
            if cancelled == Cancelled::Notified {
                self.sem.give_back();
            }
        }
    }
}

impl fmt::Debug for SemAcquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemAcquire").field("waiting", &self.key.is_some()).finish()
    }
}

/// A permit of a thread-safe [`Semaphore`]; dropping it gives it back.
#[must_use = "dropping the guard releases the permit at once"]
pub struct SemGuard<'a> {
    sem: &'a Semaphore,
}

impl SemGuard<'_> {
    /// Keeps the permit taken; give it back later with [`Semaphore::release`].
    pub fn forget(self) {
        std::mem::forget(self);
    }
}

impl Drop for SemGuard<'_> {
    fn drop(&mut self) {
        self.sem.give_back();
    }
}

impl fmt::Debug for SemGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemGuard").finish_non_exhaustive()
    }
}
