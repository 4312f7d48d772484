//! `Join`: waits until every item put has been marked done (`task_done`).
//!
//! Every joiner is woken at once when the count of unfinished items falls
//! to 0, so a joiner dropped after its wake has nothing to pass on.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::base::BaseQueue;
use super::buffer::Buffer;
use crate::sync::flavor::{Flavor, Local};
use crate::task::observe::{WaitOn, waiting_shared};

/// The future returned by [`BaseQueue::join`], resolving to `()`.
#[must_use = "futures do nothing unless awaited"]
pub struct Join<'a, T, B: Buffer<T>, F: Flavor = Local> {
    queue: &'a BaseQueue<T, B, F>,
    /// The wait-list slot while it waits.
    key: Option<u32>,
    done: bool,
}

impl<'a, T, B: Buffer<T>, F: Flavor> Join<'a, T, B, F> {
    pub(super) fn new(queue: &'a BaseQueue<T, B, F>) -> Self {
        Join { queue, key: None, done: false }
    }
}

impl<T, B: Buffer<T>, F: Flavor> Future for Join<'_, T, B, F> {
    type Output = ();

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(());
        }
        let key = &mut this.key;
        let ready = this.queue.step(|state| match *key {
            Some(k) => state.poll_joiner(k, cx.waker()),
            None => {
                *key = state.push_joiner(cx.waker());
                key.is_none()
            }
        });
        if ready {
            this.key = None;
            this.done = true;
            return Poll::Ready(());
        }
        waiting_shared(WaitOn::QueueJoin, F::THREAD_SAFE);
        Poll::Pending
    }
}

impl<T, B: Buffer<T>, F: Flavor> Drop for Join<'_, T, B, F> {
    #[inline]
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.queue.step(|state| state.cancel_joiner(key));
        }
    }
}

impl<T, B: Buffer<T>, F: Flavor> fmt::Debug for Join<'_, T, B, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Join").field("waiting", &self.key.is_some()).finish()
    }
}
