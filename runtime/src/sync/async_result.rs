//! `AsyncResult`: a value or an error, delivered once, that any number of
//! tasks wait for (`gevent.event.AsyncResult`).

use std::cell::RefCell;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::wait_list::WaitList;
use crate::task::compact::CompactWaker;
use crate::time::Elapsed;

/// A result that one task [`set`](Self::set)s and any number of tasks
/// wait for, like gevent's `AsyncResult`: a one-shot future with many
/// readers. Each reader gets a clone of the result.
///
/// `&AsyncResult` is itself a future: `(&result).await` is
/// `result.get().await`.
///
/// ```
/// use std::rc::Rc;
/// use std::time::Duration;
/// use sprout_runtime::{run, sleep, spawn, sync::AsyncResult};
///
/// run(async {
///     let answer: Rc<AsyncResult<u32, String>> = Rc::new(AsyncResult::new());
///     spawn({
///         let answer = answer.clone();
///         async move {
///             sleep(Duration::from_millis(2)).await;
///             answer.set(Ok(42));
///         }
///     });
///     assert!(!answer.ready());
///     assert_eq!(answer.get().await, Ok(42));
///     assert!(answer.successful());
///     assert_eq!(answer.get_timeout(Duration::ZERO).await, Ok(Ok(42))); // ready: no wait
/// });
/// ```
pub struct AsyncResult<T, E> {
    result: RefCell<Option<Result<T, E>>>,
    waiters: RefCell<WaitList>,
}

impl<T, E> Default for AsyncResult<T, E> {
    fn default() -> Self {
        AsyncResult::new()
    }
}

impl<T, E> AsyncResult<T, E> {
    /// An empty result, not ready.
    pub const fn new() -> AsyncResult<T, E> {
        AsyncResult { result: RefCell::new(None), waiters: RefCell::new(WaitList::new()) }
    }

    /// Stores the result (`Ok` for gevent's `set`, `Err` for
    /// `set_exception`) and wakes every waiter. As in gevent, setting it
    /// again replaces the stored result; tasks already woken read the new one.
    pub fn set(&self, result: Result<T, E>) {
        let replaced = self.result.borrow_mut().replace(result);
        // Dropped outside the borrow: its destructor may use this AsyncResult.
        drop(replaced);
        let mut woken = Vec::new();
        self.waiters.borrow_mut().notify_all(&mut woken);
        woken.into_iter().for_each(CompactWaker::wake);
    }

    /// Whether a result is stored.
    pub fn ready(&self) -> bool {
        self.result.borrow().is_some()
    }

    /// Whether an `Ok` result is stored.
    pub fn successful(&self) -> bool {
        matches!(*self.result.borrow(), Some(Ok(_)))
    }

    /// Waits until a result is stored (gevent's `wait()`), without reading it.
    pub fn wait(&self) -> Ready<'_, T, E> {
        Ready { cell: self, key: None }
    }

    /// Waits up to `timeout`; returns whether the result is ready.
    pub async fn wait_timeout(&self, timeout: Duration) -> bool {
        crate::time::timeout(timeout, self.wait()).await.is_ok()
    }

    /// Moves the result out, leaving the `AsyncResult` empty (not ready).
    pub fn take(&self) -> Option<Result<T, E>> {
        self.result.borrow_mut().take()
    }

    /// The number of tasks waiting.
    pub fn waiters(&self) -> usize {
        self.waiters.borrow().len()
    }
}

impl<T: Clone, E: Clone> AsyncResult<T, E> {
    /// Waits for the result and returns a clone of it (gevent's `get()`,
    /// which returns the value or raises the exception).
    pub fn get(&self) -> Get<'_, T, E> {
        Get { ready: self.wait() }
    }

    /// Waits up to `timeout` for the result (gevent's `get(timeout=...)`).
    pub async fn get_timeout(&self, timeout: Duration) -> Result<Result<T, E>, Elapsed> {
        crate::time::timeout(timeout, self.get()).await
    }

    /// The result if it is ready (gevent's `get(block=False)`).
    pub fn try_get(&self) -> Option<Result<T, E>> {
        self.result.borrow().clone()
    }

    /// The value, if an `Ok` result is stored (gevent's `value`).
    pub fn value(&self) -> Option<T> {
        self.result.borrow().as_ref().and_then(|r| r.as_ref().ok().cloned())
    }

    /// The error, if an `Err` result is stored (gevent's `exception`).
    pub fn error(&self) -> Option<E> {
        self.result.borrow().as_ref().and_then(|r| r.as_ref().err().cloned())
    }
}

impl<T, E> fmt::Debug for AsyncResult<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match *self.result.borrow() {
            None => "pending",
            Some(Ok(_)) => "ok",
            Some(Err(_)) => "err",
        };
        f.debug_struct("AsyncResult").field("state", &state).field("waiters", &self.waiters()).finish()
    }
}

impl<'a, T: Clone, E: Clone> IntoFuture for &'a AsyncResult<T, E> {
    type Output = Result<T, E>;
    type IntoFuture = Get<'a, T, E>;

    fn into_future(self) -> Get<'a, T, E> {
        self.get()
    }
}

/// The future returned by [`AsyncResult::wait`].
#[must_use = "futures do nothing unless awaited"]
pub struct Ready<'a, T, E> {
    cell: &'a AsyncResult<T, E>,
    key: Option<u32>,
}

impl<T, E> Future for Ready<'_, T, E> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let cell = self.cell;
        let mut waiters = cell.waiters.borrow_mut();
        if let Some(key) = self.key {
            if waiters.poll(key, cx.waker()) {
                drop(waiters);
                self.key = None;
                return Poll::Ready(());
            }
            return Poll::Pending;
        }
        if cell.ready() {
            return Poll::Ready(());
        }
        let key = waiters.push(cx.waker());
        drop(waiters);
        self.key = Some(key);
        Poll::Pending
    }
}

impl<T, E> Drop for Ready<'_, T, E> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            // Every waiter is notified at once: nothing to pass on.
            let _ = self.cell.waiters.borrow_mut().cancel(key);
        }
    }
}

impl<T, E> fmt::Debug for Ready<'_, T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ready").field("waiting", &self.key.is_some()).finish()
    }
}

/// The future returned by [`AsyncResult::get`].
#[must_use = "futures do nothing unless awaited"]
pub struct Get<'a, T, E> {
    ready: Ready<'a, T, E>,
}

impl<T: Clone, E: Clone> Future for Get<'_, T, E> {
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

impl<T, E> fmt::Debug for Get<'_, T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Get").field("waiting", &self.ready.key.is_some()).finish()
    }
}
