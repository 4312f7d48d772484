//! `Readiness`: waits until a get (a put) would not block, taking nothing:
//! the queue's `readable` and `writable`, for `wait_objects` and readiness
//! loops.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::base::BaseQueue;
use super::buffer::Buffer;
use super::state::{Side, wake};
use crate::sync::flavor::{Flavor, Local};
use crate::task::observe::{WaitOn, waiting_shared};

/// The future returned by [`BaseQueue::readable`] and
/// [`BaseQueue::writable`], resolving to `()`: ready once a get (a put)
/// would not block, taking nothing. Readiness is a snapshot: another task
/// may take the item (the room) before this one acts, so follow it with
/// `get_nowait` (`put_nowait`) and wait again on `Empty` (`Full`).
/// Dropping it leaves nothing registered; a wake it had received goes to
/// the next watcher.
#[must_use = "futures do nothing unless awaited"]
pub struct Readiness<'a, T, B: Buffer<T>, F: Flavor = Local> {
    queue: &'a BaseQueue<T, B, F>,
    side: Side,
    /// The watcher slot while it waits.
    key: Option<u32>,
}

impl<'a, T, B: Buffer<T>, F: Flavor> Readiness<'a, T, B, F> {
    pub(super) fn new(queue: &'a BaseQueue<T, B, F>, side: Side) -> Self {
        Readiness { queue, side, key: None }
    }

    fn wait_on(&self) -> WaitOn {
        match self.side {
            Side::Read => WaitOn::QueueGet,
            Side::Write => WaitOn::QueuePut,
        }
    }
}

impl<T, B: Buffer<T>, F: Flavor> Future for Readiness<'_, T, B, F> {
    type Output = ();

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let (side, key) = (this.side, &mut this.key);
        // Pending, or ready with the wake to pass on to the next watcher.
        let step = this.queue.step(|state| {
            if let Some(k) = *key {
                if !state.poll_watcher(side, k, cx.waker()) {
                    return Poll::Pending;
                }
                *key = None;
            }
            if state.is_ready(side) {
                // Ready for the next watcher too: pass the wake on.
                return Poll::Ready(state.pass_on(side));
            }
            *key = Some(state.push_watcher(side, cx.waker()));
            Poll::Pending
        });
        match step {
            Poll::Ready(next) => {
                wake(next);
                Poll::Ready(())
            }
            Poll::Pending => {
                waiting_shared(this.wait_on(), F::THREAD_SAFE);
                Poll::Pending
            }
        }
    }
}

impl<T, B: Buffer<T>, F: Flavor> Drop for Readiness<'_, T, B, F> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let side = self.side;
            let next = self.queue.step(|state| state.cancel_watcher(side, key));
            wake(next);
        }
    }
}

impl<T, B: Buffer<T>, F: Flavor> fmt::Debug for Readiness<'_, T, B, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Readiness").field("side", &self.side).field("waiting", &self.key.is_some()).finish()
    }
}
