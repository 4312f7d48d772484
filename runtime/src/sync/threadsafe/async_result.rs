//! The thread-safe `AsyncResult`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::{block_on, block_on_timeout, lock};
use crate::loom::sync::Mutex;
use crate::sync::wait_list::{Cancelled, WaitList};
use crate::sync::withdraw::{self, Withdraw};
use crate::task::compact::CompactWaker;
use crate::time::Elapsed;

/// A result set once (by a thread or a task) and awaited by any number of
/// green tasks and threads; see [`crate::sync::AsyncResult`]. The usual
/// bridge from work on an OS thread back to a green task.
///
/// ```
/// use std::sync::Arc;
/// use sprout_runtime::{run, sync::threadsafe::AsyncResult};
///
/// run(async {
///     let page: Arc<AsyncResult<usize, String>> = Arc::new(AsyncResult::new());
///     std::thread::spawn({
///         let page = page.clone();
///         move || page.set(Ok("<html>…</html>".len())) // "downloaded" on a thread
///     });
///     assert!(page.get().await.unwrap() > 0);
/// });
/// ```
pub struct AsyncResult<T, E> {
    state: Mutex<State<T, E>>,
}

struct State<T, E> {
    result: Option<Result<T, E>>,
    waiters: WaitList,
}

impl<T, E> Default for AsyncResult<T, E> {
    fn default() -> Self {
        AsyncResult::new()
    }
}

impl<T, E> AsyncResult<T, E> {
    crate::loom::const_fn_unless_loom! {
        /// An empty result, not ready.
        pub const fn new() -> AsyncResult<T, E> {
            AsyncResult { state: Mutex::new(State { result: None, waiters: WaitList::new() }) }
        }
    }

    /// Stores the result and wakes every waiter (a second `set` replaces it).
    pub fn set(&self, result: Result<T, E>) {
        let mut woken = Vec::new();
        let old = {
            let mut state = lock(&self.state);
            state.waiters.notify_all(&mut woken);
            state.result.replace(result)
        };
        // A replaced result is dropped outside the lock.
        drop(old);
        woken.into_iter().for_each(CompactWaker::wake);
    }

    /// Whether a result is stored.
    pub fn ready(&self) -> bool {
        lock(&self.state).result.is_some()
    }

    /// Whether an `Ok` result is stored.
    pub fn successful(&self) -> bool {
        matches!(lock(&self.state).result, Some(Ok(_)))
    }

    /// Moves the result out, leaving it empty.
    pub fn take(&self) -> Option<Result<T, E>> {
        lock(&self.state).result.take()
    }

    /// Waits in a green task until a result is stored.
    pub fn wait(&self) -> AsyncResultReady<'_, T, E> {
        AsyncResultReady { cell: self, key: None }
    }

    /// Waits up to `timeout` in a green task; returns whether it is ready
    /// (a `set` that lands as the time-out falls counts).
    pub async fn wait_timeout(&self, timeout: Duration) -> bool {
        withdraw::timeout(timeout, self.wait()).await.is_ok()
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

    /// The number of tasks and threads waiting.
    pub fn waiters(&self) -> usize {
        lock(&self.state).waiters.len()
    }
}

impl<T: Clone, E: Clone> AsyncResult<T, E> {
    /// Waits in a green task and returns a clone of the result.
    pub fn get(&self) -> AsyncResultGet<'_, T, E> {
        AsyncResultGet { ready: self.wait() }
    }

    /// Waits up to `timeout` in a green task for the result (a `set` that
    /// lands as the time-out falls counts).
    pub async fn get_timeout(&self, timeout: Duration) -> Result<Result<T, E>, Elapsed> {
        withdraw::timeout(timeout, self.get()).await
    }

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

    /// The result if it is ready.
    pub fn try_get(&self) -> Option<Result<T, E>> {
        lock(&self.state).result.clone()
    }

    /// The value, if an `Ok` result is stored.
    pub fn value(&self) -> Option<T> {
        lock(&self.state).result.as_ref().and_then(|r| r.as_ref().ok().cloned())
    }

    /// The error, if an `Err` result is stored.
    pub fn error(&self) -> Option<E> {
        lock(&self.state).result.as_ref().and_then(|r| r.as_ref().err().cloned())
    }
}

impl<T, E> fmt::Debug for AsyncResult<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.state);
        let status = match state.result {
            None => "pending",
            Some(Ok(_)) => "ok",
            Some(Err(_)) => "err",
        };
        f.debug_struct("AsyncResult").field("state", &status).field("waiters", &state.waiters.len()).finish()
    }
}

/// The future returned by [`AsyncResult::wait`].
#[must_use = "futures do nothing unless awaited"]
pub struct AsyncResultReady<'a, T, E> {
    cell: &'a AsyncResult<T, E>,
    key: Option<u32>,
}

impl<T, E> Future for AsyncResultReady<'_, T, E> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = lock(&self.cell.state);
        if let Some(key) = self.key {
            if state.waiters.poll(key, cx.waker()) {
                drop(state);
                self.key = None;
                return Poll::Ready(());
            }
            return Poll::Pending;
        }
        if state.result.is_some() {
            return Poll::Ready(());
        }
        let key = state.waiters.push(cx.waker());
        drop(state);
        self.key = Some(key);
        Poll::Pending
    }
}

impl<T, E> Withdraw for AsyncResultReady<'_, T, E> {
    fn withdraw(&mut self) -> Option<()> {
        let key = self.key.take()?;
        let cancelled = lock(&self.cell.state).waiters.cancel(key);
        (cancelled == Cancelled::Notified).then_some(())
    }
}

impl<T, E> Drop for AsyncResultReady<'_, T, E> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            // Every waiter is notified at once: nothing to pass on.
            let _ = lock(&self.cell.state).waiters.cancel(key);
        }
    }
}

impl<T, E> fmt::Debug for AsyncResultReady<'_, T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncResultReady").field("waiting", &self.key.is_some()).finish()
    }
}

/// The future returned by [`AsyncResult::get`].
#[must_use = "futures do nothing unless awaited"]
pub struct AsyncResultGet<'a, T, E> {
    ready: AsyncResultReady<'a, T, E>,
}

impl<T: Clone, E: Clone> Future for AsyncResultGet<'_, T, E> {
    type Output = Result<T, E>;

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

impl<T: Clone, E: Clone> Withdraw for AsyncResultGet<'_, T, E> {
    fn withdraw(&mut self) -> Option<Result<T, E>> {
        // Set as the time-out fell: the result, unless `take` emptied it since.
        self.ready.withdraw()?;
        self.ready.cell.try_get()
    }
}

impl<T, E> fmt::Debug for AsyncResultGet<'_, T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncResultGet").field("waiting", &self.ready.key.is_some()).finish()
    }
}
