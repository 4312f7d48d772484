//! The queues' async API, written once for both kinds of `BaseQueue`.
//!
//! The runtime-local queue keeps its [`State`] in a `RefCell`, the
//! thread-safe one in a `Mutex`; everything else is the same code. Each
//! queue names that cell by implementing [`Queue`] (the cell lends the
//! state through [`Locked`], the trait the sync primitives use for the
//! same job); the futures ([`Put`], [`PutTimeout`], [`Get`], [`Items`],
//! [`Join`]) and the functions below work on any [`Queue`]. The public
//! methods that call them, and the futures' aliases under their usual
//! names (`queue::Put<'a, T, B>` is `Put<'a, queue::BaseQueue<T, B>>`), are
//! written once too, in `front.rs`'s `queue_front!`, which each queue module
//! expands beside its `BaseQueue`.
//!
//! Every function here takes the state, changes it, lets it go, and only
//! then wakes whom the change woke: no waker runs under the borrow or the
//! lock, and neither does the drop of an item a dropped `Put` takes back.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;

use super::buffer::Buffer;
use super::error::{Closed, GetError, PutError, TaskDoneError};
pub(crate) use super::state::Side;
use super::state::{State, wake};
use crate::sync::flavor::Locked;
use crate::sync::withdraw::{self, Withdraw};
use crate::task::compact::CompactWaker;
use crate::task::coop;
use crate::task::observe::{WaitOn, waiting_shared};
use crate::time::{Sleep, poll_wait_timer};

/// A queue: a [`Locked`] cell (a `RefCell` or a `Mutex`) holding a [`State`].
///
/// Public only so that the futures can name it in their bounds; this
/// module is private, so nothing outside the crate can name or implement it.
pub trait Queue {
    /// The items.
    type Item;
    /// The storage discipline.
    type Buf: Buffer<Self::Item>;
    /// Where the state sits.
    type Cell: Locked<Target = State<Self::Item, Self::Buf>>;

    /// The cell of the state.
    fn cell(&self) -> &Self::Cell;

    /// Borrows (runtime-local) or locks (thread-safe) the state. Callers
    /// hold it only for one state change and never across a wake.
    #[inline]
    fn state(&self) -> <Self::Cell as Locked>::Guard<'_> {
        self.cell().lock()
    }
}

/// The body of `put_nowait`.
#[inline]
pub(crate) fn put_nowait<Q: Queue>(queue: &Q, item: Q::Item) -> Result<(), PutError<Q::Item>> {
    let result = queue.state().try_put(item);
    result.map(wake)
}

/// The body of `get_nowait`.
#[inline]
pub(crate) fn get_nowait<Q: Queue>(queue: &Q) -> Result<Q::Item, GetError> {
    let result = queue.state().try_get();
    result.map(|(item, w)| {
        wake(w);
        item
    })
}

/// The body of `get_timeout`: an item handed over as the time-out falls
/// is taken (see [`Withdraw`]).
pub(crate) async fn get_timeout<Q: Queue>(queue: &Q, timeout: Duration) -> Result<Q::Item, GetError> {
    match withdraw::timeout(timeout, get(queue)).await {
        Ok(result) => result.map_err(GetError::from),
        Err(_) => Err(GetError::Empty),
    }
}

/// The body of `task_done`.
pub(crate) fn task_done<Q: Queue>(queue: &Q) -> Result<(), TaskDoneError> {
    let mut woken = Vec::new();
    let result = queue.state().task_done(&mut woken);
    woken.into_iter().for_each(CompactWaker::wake);
    result
}

/// The body of `close`.
pub(crate) fn close<Q: Queue>(queue: &Q) {
    let mut woken = Vec::new();
    queue.state().close(&mut woken);
    woken.into_iter().for_each(CompactWaker::wake);
}

/// The `Debug` of a queue.
pub(crate) fn fmt_queue<Q: Queue>(queue: &Q, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let state = queue.state();
    f.debug_struct("Queue")
        .field("qsize", &state.len())
        .field("maxsize", &state.maxsize())
        .field("getters", &state.getters())
        .field("putters", &state.putters())
        .field("closed", &state.is_closed())
        .finish()
}

/// A `put` of `item`, not yet polled.
pub(crate) fn put<Q: Queue>(queue: &Q, item: Q::Item) -> Put<'_, Q> {
    Put { queue, item: Some(item), key: None }
}

/// A `put_timeout` of `item`, not yet polled.
pub(crate) fn put_timeout<Q: Queue>(queue: &Q, item: Q::Item, timeout: Duration) -> PutTimeout<'_, Q> {
    PutTimeout { put: put(queue, item), timeout, timer: None }
}

/// A `get`, not yet polled.
pub(crate) fn get<Q: Queue>(queue: &Q) -> Get<'_, Q> {
    Get { queue, key: None }
}

/// A `stream`, not yet polled.
pub(crate) fn stream<Q: Queue>(queue: &Q) -> Items<'_, Q> {
    Items { queue, key: None }
}

/// A `readable` (`Side::Read`) or `writable` wait, not yet polled.
pub(crate) fn readiness<Q: Queue>(queue: &Q, side: Side) -> Readiness<'_, Q> {
    Readiness { queue, side, key: None }
}

/// A `join`, not yet polled.
pub(crate) fn join<Q: Queue>(queue: &Q) -> Join<'_, Q> {
    Join { queue, key: None, done: false }
}

/// The body of `Get::poll` and `Items::poll_next`.
#[inline]
#[track_caller]
fn poll_get<Q: Queue>(queue: &Q, key: &mut Option<u32>, cx: &mut Context<'_>) -> Poll<Result<Q::Item, Closed>> {
    if let Some(k) = *key {
        let polled = queue.state().poll_getter(k, cx.waker());
        match polled {
            None => {
                waiting_shared(WaitOn::QueueGet, <Q::Cell as Locked>::THREAD_SAFE);
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
    let mut state = queue.state();
    match state.try_get() {
        Ok((item, w)) => {
            drop(state);
            wake(w);
            Poll::Ready(Ok(item))
        }
        Err(GetError::Closed) => Poll::Ready(Err(Closed(()))),
        Err(GetError::Empty) => {
            let (k, w) = state.push_getter(cx.waker());
            *key = Some(k);
            drop(state);
            wake(w);
            waiting_shared(WaitOn::QueueGet, <Q::Cell as Locked>::THREAD_SAFE);
            Poll::Pending
        }
    }
}

/// A `Get` or `Items` dropped while waiting: an item it had been handed
/// goes to the next getter, or back into the buffer.
fn cancel_get<Q: Queue>(queue: &Q, key: u32) {
    let w = queue.state().cancel_getter(key);
    wake(w);
}

/// The future returned by `put`.
#[must_use = "futures do nothing unless awaited"]
pub struct Put<'a, Q: Queue> {
    queue: &'a Q,
    /// The item until it is handed over or parked in the wait list.
    item: Option<Q::Item>,
    key: Option<u32>,
}

// Nothing is pinned: the item moves freely until it is handed over.
impl<Q: Queue> Unpin for Put<'_, Q> {}

impl<Q: Queue> Put<'_, Q> {
    /// Stops the put and returns the item, unless it was already taken.
    pub(crate) fn take_back(&mut self) -> Option<Q::Item> {
        match self.key.take() {
            Some(key) => self.queue.state().cancel_putter(key),
            None => self.item.take(),
        }
    }

    /// The deadline passed: stops the put and hands the item back in
    /// [`PutError::Full`], or succeeds if a getter took it meanwhile.
    pub(crate) fn time_out(&mut self) -> Result<(), PutError<Q::Item>> {
        self.take_back().map_or(Ok(()), |item| Err(PutError::Full(item)))
    }
}

impl<Q: Queue> Future for Put<'_, Q> {
    type Output = Result<(), Closed<Q::Item>>;

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if let Some(key) = this.key {
            let polled = this.queue.state().poll_putter(key, cx.waker());
            return match polled {
                None => {
                    waiting_shared(WaitOn::QueuePut, <Q::Cell as Locked>::THREAD_SAFE);
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
        let mut state = this.queue.state();
        match state.try_put(item) {
            Ok(w) => {
                drop(state);
                wake(w);
                Poll::Ready(Ok(()))
            }
            Err(PutError::Closed(item)) => Poll::Ready(Err(Closed(item))),
            Err(PutError::Full(item)) => {
                let (key, w) = state.push_putter(cx.waker(), item);
                this.key = Some(key);
                drop(state);
                wake(w);
                waiting_shared(WaitOn::QueuePut, <Q::Cell as Locked>::THREAD_SAFE);
                Poll::Pending
            }
        }
    }
}

impl<Q: Queue> Drop for Put<'_, Q> {
    #[inline]
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            // Dropped outside the borrow: `T::drop` may use the queue.
            let item = self.queue.state().cancel_putter(key);
            drop(item);
        }
    }
}

impl<Q: Queue> fmt::Debug for Put<'_, Q> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Put").field("waiting", &self.key.is_some()).finish()
    }
}

/// The future returned by `put_timeout`.
#[must_use = "futures do nothing unless awaited"]
pub struct PutTimeout<'a, Q: Queue> {
    put: Put<'a, Q>,
    timeout: Duration,
    /// Armed at the first wait, under the current deadline (`time::deadline`).
    timer: Option<Sleep>,
}

impl<Q: Queue> Future for PutTimeout<'_, Q> {
    type Output = Result<(), PutError<Q::Item>>;

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

impl<Q: Queue> fmt::Debug for PutTimeout<'_, Q> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PutTimeout")
            .field("put", &self.put)
            .field("deadline", &self.timer.as_ref().map(Sleep::deadline))
            .finish()
    }
}

/// The future returned by `get`. Dropped after it was handed an item, it
/// gives the item to the next getter (or back to the queue).
#[must_use = "futures do nothing unless awaited"]
pub struct Get<'a, Q: Queue> {
    queue: &'a Q,
    key: Option<u32>,
}

impl<Q: Queue> Future for Get<'_, Q> {
    type Output = Result<Q::Item, Closed>;

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        poll_get(this.queue, &mut this.key, cx)
    }
}

impl<Q: Queue> Withdraw for Get<'_, Q> {
    fn withdraw(&mut self) -> Option<Result<Q::Item, Closed>> {
        let key = self.key.take()?;
        let mut state = self.queue.state();
        if let Some(item) = state.leave_getter(key)? {
            return Some(Ok(item));
        }
        // Woken by `close`: drain what is left, or see Closed.
        let result = state.try_get();
        drop(state);
        Some(result.map_or(Err(Closed(())), |(item, w)| {
            wake(w);
            Ok(item)
        }))
    }
}

impl<Q: Queue> Drop for Get<'_, Q> {
    #[inline]
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            cancel_get(self.queue, key);
        }
    }
}

impl<Q: Queue> fmt::Debug for Get<'_, Q> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Get").field("waiting", &self.key.is_some()).finish()
    }
}

/// The stream returned by `stream`: one `get` per item, ending once the
/// queue is closed and drained.
#[must_use = "streams do nothing unless polled"]
pub struct Items<'a, Q: Queue> {
    queue: &'a Q,
    key: Option<u32>,
}

impl<Q: Queue> Stream for Items<'_, Q> {
    type Item = Q::Item;

    #[track_caller]
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Q::Item>> {
        let this = &mut *self;
        poll_get(this.queue, &mut this.key, cx).map(Result::ok)
    }
}

impl<Q: Queue> Drop for Items<'_, Q> {
    #[inline]
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            cancel_get(self.queue, key);
        }
    }
}

impl<Q: Queue> fmt::Debug for Items<'_, Q> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Items").field("waiting", &self.key.is_some()).finish()
    }
}

/// The future returned by `join`.
#[must_use = "futures do nothing unless awaited"]
pub struct Join<'a, Q: Queue> {
    queue: &'a Q,
    key: Option<u32>,
    done: bool,
}

impl<Q: Queue> Future for Join<'_, Q> {
    type Output = ();

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(());
        }
        let mut state = this.queue.state();
        let ready = match this.key {
            Some(key) => state.poll_joiner(key, cx.waker()),
            None => {
                this.key = state.push_joiner(cx.waker());
                this.key.is_none()
            }
        };
        if ready {
            this.key = None;
            this.done = true;
            return Poll::Ready(());
        }
        drop(state);
        waiting_shared(WaitOn::QueueJoin, <Q::Cell as Locked>::THREAD_SAFE);
        Poll::Pending
    }
}

impl<Q: Queue> Drop for Join<'_, Q> {
    #[inline]
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.queue.state().cancel_joiner(key);
        }
    }
}

impl<Q: Queue> fmt::Debug for Join<'_, Q> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Join").field("waiting", &self.key.is_some()).finish()
    }
}

/// The future returned by `readable` and `writable`: ready once a get (a
/// put) would not block, taking nothing. Readiness is a snapshot: another
/// task may take the item (the room) before this one acts, so follow it
/// with `get_nowait` (`put_nowait`) and wait again on `Empty` (`Full`).
/// Dropping it leaves nothing registered; a wake it had received goes to
/// the next watcher.
#[must_use = "futures do nothing unless awaited"]
pub struct Readiness<'a, Q: Queue> {
    queue: &'a Q,
    side: Side,
    key: Option<u32>,
}

impl<Q: Queue> Future for Readiness<'_, Q> {
    type Output = ();

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let mut state = this.queue.state();
        if let Some(key) = this.key {
            if !state.poll_watcher(this.side, key, cx.waker()) {
                drop(state);
                waiting_shared(this.wait_on(), <Q::Cell as Locked>::THREAD_SAFE);
                return Poll::Pending;
            }
            this.key = None;
        }
        if state.is_ready(this.side) {
            // Ready for the next watcher too: pass the wake on.
            let next = state.pass_on(this.side);
            drop(state);
            wake(next);
            return Poll::Ready(());
        }
        this.key = Some(state.push_watcher(this.side, cx.waker()));
        drop(state);
        waiting_shared(this.wait_on(), <Q::Cell as Locked>::THREAD_SAFE);
        Poll::Pending
    }
}

impl<Q: Queue> Readiness<'_, Q> {
    fn wait_on(&self) -> WaitOn {
        match self.side {
            Side::Read => WaitOn::QueueGet,
            Side::Write => WaitOn::QueuePut,
        }
    }
}

impl<Q: Queue> Drop for Readiness<'_, Q> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let next = self.queue.state().cancel_watcher(self.side, key);
            wake(next);
        }
    }
}

impl<Q: Queue> fmt::Debug for Readiness<'_, Q> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Readiness").field("side", &self.side).field("waiting", &self.key.is_some()).finish()
    }
}
