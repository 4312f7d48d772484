//! `AsyncResult`: a value or an error, delivered once, that any number of
//! tasks (and threads) wait for (`gevent.event.AsyncResult`).

use std::cell::RefCell;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::flavor::{Flavor, Local, LocalState, ThreadSafe};
use super::threadsafe::{block_on, block_on_timeout};
use super::wait_list::{Cancelled, WaitList};
use super::withdraw::{self, Withdraw};
use crate::loom::sync::Mutex;
use crate::task::compact::CompactWaker;
use crate::task::observe::{WaitOn, waiting_shared};
use crate::time::Elapsed;

/// A result that one task (or thread) [`set`](Self::set)s and any number
/// wait for: a one-shot future with many readers, each of which gets a
/// clone. Use it as [`sync::AsyncResult`](crate::sync::AsyncResult) or
/// [`sync::threadsafe::AsyncResult`](crate::sync::threadsafe::AsyncResult).
///
/// `&AsyncResult` is itself a future: `(&result).await` is
/// `result.get().await`.
pub struct AsyncResult<T, E, F: Flavor> {
    state: F::Shared<State<T, E>>,
}

struct State<T, E> {
    result: RefCell<Option<Result<T, E>>>,
    waiters: RefCell<WaitList>,
}

impl<T, E> State<T, E> {
    const fn new(shared: bool) -> Self {
        State { result: RefCell::new(None), waiters: RefCell::new(WaitList::new_in(shared)) }
    }
}

impl<T, E, F: Flavor> Default for AsyncResult<T, E, F> {
    fn default() -> Self {
        AsyncResult { state: F::share(State::new(F::THREAD_SAFE)) }
    }
}

impl<T, E> AsyncResult<T, E, Local> {
    /// An empty result, not ready.
    pub const fn new() -> Self {
        AsyncResult { state: LocalState::new(State::new(false)) }
    }
}

impl<T, E> AsyncResult<T, E, ThreadSafe> {
    crate::loom::const_fn_unless_loom! {
        /// An empty result, not ready.
        pub const fn new() -> Self {
            AsyncResult { state: Mutex::new(State::new(true)) }
        }
    }

    /// Blocks this OS thread until a result is stored.
    ///
    /// # Panics
    /// Inside a sprout runtime.
    #[track_caller]
    pub fn wait_blocking(&self) {
        block_on("AsyncResult::wait_blocking", self.wait());
    }

    /// Blocks this OS thread up to `timeout`; returns whether it is ready.
    ///
    /// # Panics
    /// Inside a sprout runtime.
    #[track_caller]
    pub fn wait_blocking_timeout(&self, timeout: Duration) -> bool {
        block_on_timeout("AsyncResult::wait_blocking_timeout", self.wait(), timeout).is_some()
    }
}

impl<T: Clone, E: Clone> AsyncResult<T, E, ThreadSafe> {
    /// Blocks this OS thread until the result is stored; returns a clone.
    ///
    /// # Panics
    /// Inside a sprout runtime.
    #[track_caller]
    pub fn get_blocking(&self) -> Result<T, E> {
        block_on("AsyncResult::get_blocking", self.get())
    }

    /// Blocks this OS thread up to `timeout` for the result.
    ///
    /// # Panics
    /// Inside a sprout runtime.
    #[track_caller]
    pub fn get_blocking_timeout(&self, timeout: Duration) -> Option<Result<T, E>> {
        block_on_timeout("AsyncResult::get_blocking_timeout", self.get(), timeout)
    }
}

impl<T, E, F: Flavor> AsyncResult<T, E, F> {
    /// Stores the result (`Ok` for gevent's `set`, `Err` for
    /// `set_exception`) and wakes every waiter. As in gevent, setting it
    /// again replaces the stored result; waiters already woken read the new one.
    pub fn set(&self, result: Result<T, E>) {
        let mut woken = Vec::new();
        let replaced = {
            let state = F::step(&self.state);
            state.waiters.borrow_mut().notify_all(&mut woken);
            state.result.borrow_mut().replace(result)
        };
        // Dropped after the step: its destructor may use this AsyncResult.
        drop(replaced);
        woken.into_iter().for_each(CompactWaker::wake);
    }

    /// Whether a result is stored.
    pub fn ready(&self) -> bool {
        F::step(&self.state).result.borrow().is_some()
    }

    /// Whether an `Ok` result is stored.
    pub fn successful(&self) -> bool {
        matches!(*F::step(&self.state).result.borrow(), Some(Ok(_)))
    }

    /// Waits (in a green task) until a result is stored (gevent's
    /// `wait()`), without reading it.
    pub fn wait(&self) -> AsyncResultReady<'_, T, E, F> {
        AsyncResultReady { cell: self, key: None }
    }

    /// Waits up to `timeout` in a green task; returns whether the result is
    /// ready (a `set` that lands as the time-out falls counts).
    pub async fn wait_timeout(&self, timeout: Duration) -> bool {
        withdraw::timeout(timeout, self.wait()).await.is_ok()
    }

    /// Moves the result out, leaving the `AsyncResult` empty (not ready).
    pub fn take(&self) -> Option<Result<T, E>> {
        F::step(&self.state).result.borrow_mut().take()
    }

    /// The number of tasks (and threads) waiting.
    pub fn waiters(&self) -> usize {
        F::step(&self.state).waiters.borrow().len()
    }
}

impl<T: Clone, E: Clone, F: Flavor> AsyncResult<T, E, F> {
    /// Waits (in a green task) for the result and returns a clone of it
    /// (gevent's `get()`, which returns the value or raises the exception).
    pub fn get(&self) -> AsyncResultGet<'_, T, E, F> {
        AsyncResultGet { ready: self.wait() }
    }

    /// Waits up to `timeout` in a green task for the result (gevent's
    /// `get(timeout=...)`; a `set` that lands as the time-out falls counts).
    pub async fn get_timeout(&self, timeout: Duration) -> Result<Result<T, E>, Elapsed> {
        withdraw::timeout(timeout, self.get()).await
    }

    /// The result if it is ready (gevent's `get(block=False)`).
    pub fn try_get(&self) -> Option<Result<T, E>> {
        F::step(&self.state).result.borrow().clone()
    }

    /// The value, if an `Ok` result is stored (gevent's `value`).
    pub fn value(&self) -> Option<T> {
        F::step(&self.state).result.borrow().as_ref().and_then(|r| r.as_ref().ok().cloned())
    }

    /// The error, if an `Err` result is stored (gevent's `exception`).
    pub fn error(&self) -> Option<E> {
        F::step(&self.state).result.borrow().as_ref().and_then(|r| r.as_ref().err().cloned())
    }
}

impl<T, E, F: Flavor> fmt::Debug for AsyncResult<T, E, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = F::step(&self.state);
        let status = match *state.result.borrow() {
            None => "pending",
            Some(Ok(_)) => "ok",
            Some(Err(_)) => "err",
        };
        f.debug_struct("AsyncResult").field("state", &status).field("waiters", &state.waiters.borrow().len()).finish()
    }
}

impl<'a, T: Clone, E: Clone, F: Flavor> IntoFuture for &'a AsyncResult<T, E, F> {
    type Output = Result<T, E>;
    type IntoFuture = AsyncResultGet<'a, T, E, F>;

    fn into_future(self) -> AsyncResultGet<'a, T, E, F> {
        self.get()
    }
}

/// The future returned by [`AsyncResult::wait`].
#[must_use = "futures do nothing unless awaited"]
pub struct AsyncResultReady<'a, T, E, F: Flavor> {
    cell: &'a AsyncResult<T, E, F>,
    key: Option<u32>,
}

impl<T, E, F: Flavor> Future for AsyncResultReady<'_, T, E, F> {
    type Output = ();

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let state = F::step(&self.cell.state);
        let mut waiters = state.waiters.borrow_mut();
        if let Some(key) = self.key {
            if waiters.poll(key, cx.waker()) {
                drop(waiters);
                drop(state);
                self.key = None;
                return Poll::Ready(());
            }
            drop(waiters);
            drop(state);
            waiting_shared(WaitOn::AsyncResult, F::THREAD_SAFE);
            return Poll::Pending;
        }
        if state.result.borrow().is_some() {
            return Poll::Ready(());
        }
        let key = waiters.push(cx.waker());
        drop(waiters);
        drop(state);
        self.key = Some(key);
        waiting_shared(WaitOn::AsyncResult, F::THREAD_SAFE);
        Poll::Pending
    }
}

impl<T, E, F: Flavor> Withdraw for AsyncResultReady<'_, T, E, F> {
    fn withdraw(&mut self) -> Option<()> {
        let key = self.key.take()?;
        let cancelled = F::step(&self.cell.state).waiters.borrow_mut().cancel(key);
        (cancelled == Cancelled::Notified).then_some(())
    }
}

impl<T, E, F: Flavor> Drop for AsyncResultReady<'_, T, E, F> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            // Every waiter is notified at once: nothing to pass on.
            let _ = F::step(&self.cell.state).waiters.borrow_mut().cancel(key);
        }
    }
}

impl<T, E, F: Flavor> fmt::Debug for AsyncResultReady<'_, T, E, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncResultReady").field("waiting", &self.key.is_some()).finish()
    }
}

/// The future returned by [`AsyncResult::get`].
#[must_use = "futures do nothing unless awaited"]
pub struct AsyncResultGet<'a, T, E, F: Flavor> {
    ready: AsyncResultReady<'a, T, E, F>,
}

impl<T: Clone, E: Clone, F: Flavor> Future for AsyncResultGet<'_, T, E, F> {
    type Output = Result<T, E>;

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T, E>> {
        loop {
            if Pin::new(&mut self.ready).poll(cx).is_pending() {
                return Poll::Pending;
            }
            // Woken by `set`, but `take` may have emptied it since: wait again.
            if let Some(result) = self.ready.cell.try_get() {
                return Poll::Ready(result);
            }
        }
    }
}

impl<T: Clone, E: Clone, F: Flavor> Withdraw for AsyncResultGet<'_, T, E, F> {
    fn withdraw(&mut self) -> Option<Result<T, E>> {
        // Set as the time-out fell: the result, unless `take` emptied it since.
        self.ready.withdraw()?;
        self.ready.cell.try_get()
    }
}

impl<T, E, F: Flavor> fmt::Debug for AsyncResultGet<'_, T, E, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncResultGet").field("waiting", &self.ready.key.is_some()).finish()
    }
}
