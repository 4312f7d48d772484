//! `Put` and `PutTimeout`: a put that waits for room.
//!
//! A put that finds no room parks its item in its wait-list slot; a get
//! that makes room moves it into the buffer (or, for a channel, takes it
//! straight from the slot) and wakes the putter, whose put has then
//! happened. Dropped while waiting, a put takes its item back out of the
//! slot and drops it after the step (`T::drop` may use the queue).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::base::BaseQueue;
use super::buffer::Buffer;
use super::error::{Closed, PutError};
use super::state::wake;
use crate::sync::flavor::{Flavor, Local};
use crate::task::coop;
use crate::task::observe::{WaitOn, waiting_shared};
use crate::time::{Sleep, poll_wait_timer};

/// The future returned by [`BaseQueue::put`], resolving to `Result<(), Closed<T>>`.
#[must_use = "futures do nothing unless awaited"]
pub struct Put<'a, T, B: Buffer<T>, F: Flavor = Local> {
    queue: &'a BaseQueue<T, B, F>,
    /// The item until it is handed over or parked in the wait list.
    item: Option<T>,
    /// The wait-list slot while the item is parked there.
    key: Option<u32>,
}

// Nothing is pinned: the item moves freely until it is handed over.
impl<T, B: Buffer<T>, F: Flavor> Unpin for Put<'_, T, B, F> {}

impl<'a, T, B: Buffer<T>, F: Flavor> Put<'a, T, B, F> {
    pub(super) fn new(queue: &'a BaseQueue<T, B, F>, item: T) -> Self {
        Put { queue, item: Some(item), key: None }
    }

    /// Stops the put and returns the item, unless it was already taken.
    pub(crate) fn take_back(&mut self) -> Option<T> {
        match self.key.take() {
            Some(key) => self.queue.step(|state| state.cancel_putter(key)),
            None => self.item.take(),
        }
    }

    /// The deadline passed: stops the put and hands the item back in
    /// [`PutError::Full`], or succeeds if a getter took it meanwhile.
    pub(crate) fn time_out(&mut self) -> Result<(), PutError<T>> {
        self.take_back().map_or(Ok(()), |item| Err(PutError::Full(item)))
    }
}

impl<T, B: Buffer<T>, F: Flavor> Future for Put<'_, T, B, F> {
    type Output = Result<(), Closed<T>>;

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if let Some(key) = this.key {
            return match this.queue.step(|state| state.poll_putter(key, cx.waker())) {
                None => {
                    waiting_shared(WaitOn::QueuePut, F::THREAD_SAFE);
                    Poll::Pending
                }
                Some(result) => {
                    this.key = None;
                    Poll::Ready(result.map_err(Closed))
                }
            };
        }
        if coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        let item = this.item.take().expect("Put polled after completion");
        let key = &mut this.key;
        let mut passed = None;
        let put = this.queue.step(|state| match state.try_put(item) {
            Ok(w) => Poll::Ready(Ok(w)),
            Err(PutError::Closed(item)) => Poll::Ready(Err(Closed(item))),
            Err(PutError::Full(item)) => {
                let (k, w) = state.push_putter(cx.waker(), item);
                *key = Some(k);
                passed = w;
                Poll::Pending
            }
        });
        match put {
            Poll::Ready(put) => Poll::Ready(put.map(wake)),
            Poll::Pending => {
                // A readiness watcher the new putter took a wake from.
                wake(passed);
                waiting_shared(WaitOn::QueuePut, F::THREAD_SAFE);
                Poll::Pending
            }
        }
    }
}

impl<T, B: Buffer<T>, F: Flavor> Drop for Put<'_, T, B, F> {
    #[inline]
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            // Dropped after the step: `T::drop` may use the queue.
            let item = self.queue.step(|state| state.cancel_putter(key));
            drop(item);
        }
    }
}

impl<T, B: Buffer<T>, F: Flavor> fmt::Debug for Put<'_, T, B, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Put").field("waiting", &self.key.is_some()).finish()
    }
}

/// The future returned by [`BaseQueue::put_timeout`], resolving to `Result<(), PutError<T>>`.
#[must_use = "futures do nothing unless awaited"]
pub struct PutTimeout<'a, T, B: Buffer<T>, F: Flavor = Local> {
    put: Put<'a, T, B, F>,
    timeout: Duration,
    /// Armed at the first wait, under the current deadline (`time::deadline`).
    timer: Option<Sleep>,
}

impl<'a, T, B: Buffer<T>, F: Flavor> PutTimeout<'a, T, B, F> {
    pub(super) fn new(put: Put<'a, T, B, F>, timeout: Duration) -> Self {
        PutTimeout { put, timeout, timer: None }
    }
}

impl<T, B: Buffer<T>, F: Flavor> Future for PutTimeout<'_, T, B, F> {
    type Output = Result<(), PutError<T>>;

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if let Poll::Ready(result) = Pin::new(&mut this.put).poll(cx) {
            return Poll::Ready(result.map_err(PutError::from));
        }
        if poll_wait_timer(cx, &mut this.timer, Some(this.timeout)).is_pending() {
            return Poll::Pending;
        }
        Poll::Ready(this.put.time_out())
    }
}

impl<T, B: Buffer<T>, F: Flavor> fmt::Debug for PutTimeout<'_, T, B, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PutTimeout")
            .field("put", &self.put)
            .field("deadline", &self.timer.as_ref().map(Sleep::deadline))
            .finish()
    }
}
