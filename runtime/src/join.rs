//! Waiting for many tasks: `joinall`, `iwait`, `killall`, and `wait`.
//!
//! `joinall` waits for the handles in input order, polling only the first
//! unfinished one, so joining n tasks costs O(n) polls in all. The variants
//! that must notice *any* completion (`count`, `fail_fast`, `timeout`,
//! `iwait`) keep the handles in a `FuturesUnordered`, which polls only the
//! handles that were woken.

use std::borrow::Borrow;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use futures_util::stream::{FuturesUnordered, StreamExt};

use crate::context;
use crate::task::observe::{WaitOn, waiting};
use crate::task::waker_set::WakerKey;
use crate::task::{JoinError, JoinHandle};
use crate::time::{Sleep, poll_wait_timer};

/// Waits for every task and returns their results in input order, like
/// `gevent.joinall`.
///
/// The result can be narrowed with [`JoinAll::timeout`], [`JoinAll::count`]
/// and [`JoinAll::fail_fast`], which return the finished results and the
/// handles still pending.
///
/// ```
/// use std::time::Duration;
/// use sprout::{joinall, run, sleep, spawn};
///
/// run(async {
///     let tasks = (1..=3u64).map(|i| spawn(async move {
///         sleep(Duration::from_millis(4 - i)).await;
///         i * 10
///     }));
///     let results: Vec<u64> = joinall(tasks).await.into_iter().map(Result::unwrap).collect();
///     assert_eq!(results, [10, 20, 30]);
/// });
/// ```
pub fn joinall<T: 'static>(handles: impl IntoIterator<Item = JoinHandle<T>>) -> JoinAll<T> {
    JoinAll { slots: handles.into_iter().map(Slot::Waiting).collect(), next: 0 }
}

enum Slot<T> {
    Waiting(JoinHandle<T>),
    Done(Result<T, JoinError>),
    Taken,
}

/// The future returned by [`joinall`].
#[must_use = "futures do nothing unless awaited"]
pub struct JoinAll<T> {
    slots: Vec<Slot<T>>,
    /// Every slot before this one is `Done`.
    next: usize,
}

// The results are never pinned; only the handles are polled, and they are Unpin.
impl<T> Unpin for JoinAll<T> {}

impl<T: 'static> JoinAll<T> {
    /// Returns after `timeout` at the latest, with the results that
    /// finished and the handles still pending, like `joinall(timeout=...)`.
    pub fn timeout(self, timeout: Duration) -> JoinSome<T> {
        self.into_some().timeout(timeout)
    }

    /// Returns once `n` tasks have finished, like `joinall(count=n)`.
    pub fn count(self, n: usize) -> JoinSome<T> {
        self.into_some().count(n)
    }

    /// Returns at the first task that panics or is killed, like
    /// `joinall(raise_error=True)`.
    ///
    /// Like gevent, this does **not** kill the other tasks: they keep
    /// running, and their handles come back in [`Joined::pending`]. Pass
    /// those to [`killall`] to stop them.
    pub fn fail_fast(self) -> JoinSome<T> {
        self.into_some().fail_fast()
    }

    fn into_some(self) -> JoinSome<T> {
        let mut finished = Vec::new();
        let pending = FuturesUnordered::new();
        for (index, slot) in self.slots.into_iter().enumerate() {
            match slot {
                Slot::Waiting(handle) => pending.push(Indexed { index, handle: Some(handle) }),
                Slot::Done(result) => finished.push((index, result)),
                Slot::Taken => {}
            }
        }
        JoinSome { pending, finished, timeout: None, timer: None, count: None, fail_fast: false, failed: false }
    }
}

impl<T: 'static> Future for JoinAll<T> {
    type Output = Vec<Result<T, JoinError>>;

    #[track_caller]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        while let Some(slot) = this.slots.get_mut(this.next) {
            if let Slot::Waiting(handle) = slot {
                match Pin::new(handle).poll(cx) {
                    Poll::Ready(result) => *slot = Slot::Done(result),
                    Poll::Pending => return Poll::Pending,
                }
            }
            this.next += 1;
        }
        let results = this
            .slots
            .iter_mut()
            .map(|slot| match std::mem::replace(slot, Slot::Taken) {
                Slot::Done(result) => result,
                _ => panic!("JoinAll polled after it returned"),
            })
            .collect();
        Poll::Ready(results)
    }
}

impl<T> fmt::Debug for JoinAll<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinAll").field("tasks", &self.slots.len()).field("joined", &self.next).finish()
    }
}

/// What [`JoinSome`] returns: the results that finished and the handles
/// still pending, each with its index in the input.
#[derive(Debug)]
pub struct Joined<T> {
    /// Finished tasks, in input order.
    pub finished: Vec<(usize, Result<T, JoinError>)>,
    /// Tasks still running, in input order.
    pub pending: Vec<(usize, JoinHandle<T>)>,
}

impl<T> Joined<T> {
    /// The first error among the finished tasks, if any.
    pub fn first_error(&self) -> Option<(usize, &JoinError)> {
        self.finished.iter().find_map(|(i, r)| r.as_ref().err().map(|e| (*i, e)))
    }
}

/// [`joinall`] narrowed by a timeout, a count or fail-fast. The options
/// combine; the first one met ends the wait.
#[must_use = "futures do nothing unless awaited"]
pub struct JoinSome<T> {
    pending: FuturesUnordered<Indexed<T>>,
    finished: Vec<(usize, Result<T, JoinError>)>,
    /// `None`: no time-out of its own (a current deadline still bounds it).
    timeout: Option<Duration>,
    timer: Option<Sleep>,
    count: Option<usize>,
    fail_fast: bool,
    failed: bool,
}

// As for JoinAll: nothing inside is pinned structurally.
impl<T> Unpin for JoinSome<T> {}

impl<T: 'static> JoinSome<T> {
    /// See [`JoinAll::timeout`].
    pub fn timeout(mut self, timeout: Duration) -> JoinSome<T> {
        self.timeout = Some(timeout);
        self.timer = None;
        self
    }

    /// See [`JoinAll::count`].
    pub fn count(mut self, n: usize) -> JoinSome<T> {
        self.count = Some(n);
        self
    }

    /// See [`JoinAll::fail_fast`].
    pub fn fail_fast(mut self) -> JoinSome<T> {
        self.fail_fast = true;
        self.failed = self.finished.iter().any(|(_, r)| r.is_err());
        self
    }

    fn done(&self) -> bool {
        self.pending.is_empty()
            || (self.fail_fast && self.failed)
            || self.count.is_some_and(|n| self.finished.len() >= n)
    }

    fn finish(&mut self) -> Joined<T> {
        let mut finished = std::mem::take(&mut self.finished);
        let mut pending = Vec::new();
        for mut indexed in std::mem::take(&mut self.pending) {
            let mut handle = indexed.handle.take().expect("handle taken twice");
            // Finished but not yet seen (woken after our last poll).
            match handle.try_join() {
                Ok(result) => finished.push((indexed.index, result)),
                Err(_) => pending.push((indexed.index, handle)),
            }
        }
        finished.sort_by_key(|(i, _)| *i);
        pending.sort_by_key(|(i, _)| *i);
        Joined { finished, pending }
    }
}

impl<T: 'static> Future for JoinSome<T> {
    type Output = Joined<T>;

    #[track_caller]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Joined<T>> {
        let this = self.get_mut();
        while !this.done() {
            match this.pending.poll_next_unpin(cx) {
                Poll::Ready(Some((index, result))) => {
                    this.failed |= result.is_err();
                    this.finished.push((index, result));
                }
                Poll::Ready(None) => break,
                Poll::Pending => {
                    // The time-out, or a current deadline (`time::deadline`).
                    if poll_wait_timer(cx, &mut this.timer, this.timeout).is_pending() {
                        return Poll::Pending;
                    }
                    break;
                }
            }
        }
        Poll::Ready(this.finish())
    }
}

impl<T> fmt::Debug for JoinSome<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSome")
            .field("pending", &self.pending.len())
            .field("finished", &self.finished.len())
            .field("count", &self.count)
            .field("fail_fast", &self.fail_fast)
            .finish()
    }
}

/// A handle with its input index.
struct Indexed<T> {
    index: usize,
    /// `None` only after `JoinSome::finish` took it.
    handle: Option<JoinHandle<T>>,
}

impl<T: 'static> Future for Indexed<T> {
    type Output = (usize, Result<T, JoinError>);

    #[track_caller]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let handle = this.handle.as_mut().expect("polled after completion");
        Pin::new(handle).poll(cx).map(|result| (this.index, result))
    }
}

/// Yields `(index, result)` for each task as it finishes, in completion
/// order, like `gevent.iwait`.
///
/// ```
/// use std::time::Duration;
/// use futures_util::StreamExt;
/// use sprout::{iwait, run, sleep, spawn};
///
/// run(async {
///     let tasks = [30u64, 10, 20].map(|ms| spawn(async move {
///         sleep(Duration::from_millis(ms)).await;
///         ms
///     }));
///     let order: Vec<usize> = iwait(tasks).map(|(index, _)| index).collect().await;
///     assert_eq!(order, [1, 2, 0]);
/// });
/// ```
pub fn iwait<T: 'static>(handles: impl IntoIterator<Item = JoinHandle<T>>) -> Iwait<T> {
    Iwait {
        pending: handles
            .into_iter()
            .enumerate()
            .map(|(index, handle)| Indexed { index, handle: Some(handle) })
            .collect(),
    }
}

/// The stream returned by [`iwait`].
#[must_use = "streams do nothing unless polled"]
pub struct Iwait<T> {
    pending: FuturesUnordered<Indexed<T>>,
}

impl<T: 'static> Iwait<T> {
    /// The number of tasks not yet yielded.
    pub fn remaining(&self) -> usize {
        self.pending.len()
    }
}

impl<T: 'static> Stream for Iwait<T> {
    type Item = (usize, Result<T, JoinError>);

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().pending.poll_next_unpin(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.pending.len(), Some(self.pending.len()))
    }
}

impl<T> fmt::Debug for Iwait<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iwait").field("remaining", &self.pending.len()).finish()
    }
}

/// Kills every task, like `gevent.killall`. Each future is dropped on the
/// spot (see [`JoinHandle::kill`]), so they are all dead when this returns,
/// except a task that kills itself, which dies after its current poll.
///
/// ```
/// use std::future::pending;
/// use sprout::{joinall, killall, run, spawn};
///
/// run(async {
///     let tasks: Vec<_> = (0..3).map(|_| spawn(pending::<()>())).collect();
///     killall(&tasks);
///     assert!(joinall(tasks).await.iter().all(|r| r.as_ref().unwrap_err().is_killed()));
/// });
/// ```
pub fn killall<T, H>(handles: impl IntoIterator<Item = H>)
where
    T: 'static,
    H: Borrow<JoinHandle<T>>,
{
    for handle in handles {
        handle.borrow().kill();
    }
}

/// Waits until the loop has nothing left that could wake a task: no ready
/// task, pending timer, socket with a waiter, or blocking job, like
/// `gevent.wait()`.
///
/// Tasks blocked forever (on an event nobody will set) do not keep `wait`
/// waiting; they are dropped when the runtime is. Nor do the timers of the
/// `wait()` futures themselves: `timeout(d, wait())` is gevent's
/// `wait(timeout=d)`, and returns at once when nothing else is left (it
/// checks up to 16 such timers; more armed timers count as work). A read
/// cancelled by a timeout leaves nothing behind either: its future's
/// waiter on the socket is removed when it drops.
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use std::time::Duration;
/// use sprout::{run, sleep, spawn, wait};
///
/// run(async {
///     let done = Rc::new(Cell::new(0));
///     for ms in [3, 1, 2] {
///         let done = done.clone();
///         spawn(async move {
///             sleep(Duration::from_millis(ms)).await;
///             done.set(done.get() + 1);
///         });
///     }
///     wait().await;
///     assert_eq!(done.get(), 3);
/// });
/// ```
pub fn wait() -> Wait {
    Wait { epoch: None, key: None, serial: 0 }
}

/// The future returned by [`wait`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct Wait {
    epoch: Option<u64>,
    /// Its entry in the runtime's idle waiters, while it waits.
    key: Option<WakerKey>,
    /// The runtime `key` belongs to (the future is `Send`: it may be
    /// polled, or dropped, somewhere else).
    serial: u32,
}

impl Future for Wait {
    type Output = ();

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let core = context::expect("sprout::wait");
        let now = core.idle_epoch();
        match self.epoch {
            Some(epoch) if now > epoch => {
                // Woken: the idle turn emptied the set, and the key with it.
                self.key = None;
                Poll::Ready(())
            }
            _ => {
                self.epoch.get_or_insert(now);
                if self.serial != core.serial() {
                    // A key of another runtime names nothing here.
                    self.key = None;
                    self.serial = core.serial();
                }
                core.wait_idle(&mut self.key, cx.waker());
                waiting(WaitOn::Idle);
                Poll::Pending
            }
        }
    }
}

impl Drop for Wait {
    fn drop(&mut self) {
        if self.key.is_none() {
            return;
        }
        // Dropped on its runtime's thread (nearly always): leave the set.
        // Elsewhere the entry stays until that runtime's next idle turn.
        if let Some(core) = context::current().filter(|core| core.serial() == self.serial) {
            core.unwait_idle(&mut self.key);
        }
    }
}
