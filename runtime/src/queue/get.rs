//! `Get` and `Items`: a get that waits for an item, once or as a stream.
//!
//! A get that finds the queue empty waits in the getters' list; a put
//! hands its item straight into the first getter's slot and wakes it. A
//! getter dropped after it was handed an item gives the item to the next
//! getter, or back to the front of the buffer, so nothing is lost.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

use super::base::BaseQueue;
use super::buffer::Buffer;
use super::error::{Closed, GetError};
use super::state::wake;
use crate::sync::flavor::{Flavor, Local};
use crate::sync::withdraw::Withdraw;
use crate::task::coop;
use crate::task::observe::{WaitOn, waiting_shared};

impl<T, B: Buffer<T>, F: Flavor> BaseQueue<T, B, F> {
    /// The body of `Get::poll` and `Items::poll_next`: `key` is the
    /// getter's wait-list slot while it waits.
    #[inline]
    #[track_caller]
    fn poll_get(&self, key: &mut Option<u32>, cx: &mut Context<'_>) -> Poll<Result<T, Closed>> {
        if let Some(k) = *key {
            match self.step(|state| state.poll_getter(k, cx.waker())) {
                None => {
                    waiting_shared(WaitOn::QueueGet, F::THREAD_SAFE);
                    return Poll::Pending;
                }
                Some(Some(item)) => {
                    *key = None;
                    return Poll::Ready(Ok(item));
                }
                // Woken by `close`: drain, or see Closed, below.
                Some(None) => *key = None,
            }
        }
        if coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        let mut passed = None;
        let got = self.step(|state| {
            let got = state.try_get();
            if let Err(GetError::Empty) = got {
                let (k, w) = state.push_getter(cx.waker());
                *key = Some(k);
                passed = w;
            }
            got
        });
        match got {
            Ok((item, w)) => {
                wake(w);
                Poll::Ready(Ok(item))
            }
            Err(GetError::Closed) => Poll::Ready(Err(Closed(()))),
            Err(GetError::Empty) => {
                // A readiness watcher the new getter took a wake from.
                wake(passed);
                waiting_shared(WaitOn::QueueGet, F::THREAD_SAFE);
                Poll::Pending
            }
        }
    }

    /// A `Get` or `Items` dropped while waiting: an item it had been handed
    /// goes to the next getter, or back into the buffer.
    ///
    /// Not inlined: it keeps the futures' `Drop`s a test of the key, which
    /// then inline into every caller (inlined, this path cost every get
    /// 12 instructions in the `queue_unbounded` benchmark).
    #[inline(never)]
    fn cancel_get(&self, key: u32) {
        let w = self.step(|state| state.cancel_getter(key));
        wake(w);
    }
}

/// A getter's place in line: its queue and, while it waits, its wait-list
/// slot. Dropped while waiting, it leaves the line; an item it had been
/// handed goes on. The one body of [`Get`] and [`Items`].
struct Getter<'a, T, B: Buffer<T>, F: Flavor> {
    queue: &'a BaseQueue<T, B, F>,
    key: Option<u32>,
}

impl<T, B: Buffer<T>, F: Flavor> Getter<'_, T, B, F> {
    #[inline]
    #[track_caller]
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, Closed>> {
        self.queue.poll_get(&mut self.key, cx)
    }
}

impl<T, B: Buffer<T>, F: Flavor> Drop for Getter<'_, T, B, F> {
    #[inline]
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.queue.cancel_get(key);
        }
    }
}

/// The future returned by [`BaseQueue::get`], resolving to `Result<T, Closed>`.
/// Dropped after it was handed an item, it gives the item to the next
/// getter (or back to the queue).
#[must_use = "futures do nothing unless awaited"]
pub struct Get<'a, T, B: Buffer<T>, F: Flavor = Local>(Getter<'a, T, B, F>);

impl<'a, T, B: Buffer<T>, F: Flavor> Get<'a, T, B, F> {
    pub(super) fn new(queue: &'a BaseQueue<T, B, F>) -> Self {
        Get(Getter { queue, key: None })
    }
}

impl<T, B: Buffer<T>, F: Flavor> Future for Get<'_, T, B, F> {
    type Output = Result<T, Closed>;

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.poll(cx)
    }
}

impl<T, B: Buffer<T>, F: Flavor> Withdraw for Get<'_, T, B, F> {
    fn withdraw(&mut self) -> Option<Result<T, Closed>> {
        let key = self.0.key.take()?;
        let got = self.0.queue.step(|state| match state.leave_getter(key)? {
            Some(item) => Some(Ok((item, None))),
            // Woken by `close`: drain what is left, or see Closed.
            None => Some(state.try_get().map_err(|_| Closed(()))),
        })?;
        Some(got.map(|(item, w)| {
            wake(w);
            item
        }))
    }
}

impl<T, B: Buffer<T>, F: Flavor> fmt::Debug for Get<'_, T, B, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Get").field("waiting", &self.0.key.is_some()).finish()
    }
}

/// The stream returned by [`BaseQueue::stream`]: a `Stream` of `T`, one
/// `get` per item, ending once the queue is closed and drained.
#[must_use = "streams do nothing unless polled"]
pub struct Items<'a, T, B: Buffer<T>, F: Flavor = Local>(Getter<'a, T, B, F>);

impl<'a, T, B: Buffer<T>, F: Flavor> Items<'a, T, B, F> {
    pub(super) fn new(queue: &'a BaseQueue<T, B, F>) -> Self {
        Items(Getter { queue, key: None })
    }
}

impl<T, B: Buffer<T>, F: Flavor> Stream for Items<'_, T, B, F> {
    type Item = T;

    #[track_caller]
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.0.poll(cx).map(Result::ok)
    }
}

impl<T, B: Buffer<T>, F: Flavor> fmt::Debug for Items<'_, T, B, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Items").field("waiting", &self.0.key.is_some()).finish()
    }
}
