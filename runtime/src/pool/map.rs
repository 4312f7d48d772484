//! `imap`, `imap_unordered` and `map`: an iterator fed through a group,
//! with at most `size` items in flight.
//!
//! # Design notes
//!
//! - Items are pulled lazily: the stream takes a slot first, then the next
//!   item, so the number of items taken from the iterator and not yet
//!   yielded never exceeds the pool's size (`in_flight`), however long the
//!   iterator. An item pulled after the group closed is not run: it yields
//!   `Err(JoinError::Killed)`, so every input still gets exactly one result.
//! - Each item runs as a member task (it takes the slot, shows in `len`,
//!   dies with `kill`). The task does not hand its result to a
//!   `JoinHandle`: a [`Sink`] inside it writes the result, or the panic it
//!   caught, straight into state shared with the stream, and wakes the
//!   stream only when that result can be yielded. If the task is killed,
//!   the sink's drop reports `Killed`.
//! - Dropping a stream kills the items it started: nobody is left to
//!   collect them. The stream holds their `JoinHandle`s until it yields
//!   their results, so a task's memory is freed right before the next
//!   item's is allocated (which keeps the allocator on its fast path).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use futures_core::Stream;
use pin_project_lite::pin_project;
use slab::Slab;

use super::set::{Acquire, Inner, MemberGuard};
use crate::context;
use crate::task::coop;
use crate::task::{JoinError, JoinHandle};

/// Pulls items and starts them, within the limit.
struct Feed<I, F> {
    inner: Rc<Inner>,
    /// `None` once the iterator is exhausted.
    items: Option<I>,
    f: F,
    /// The wait for the next item's slot.
    acquire: Option<Acquire>,
    next_seq: usize,
    /// Items pulled and not yet yielded.
    in_flight: usize,
    limit: usize,
}

impl<I, F, Fut> Feed<I, F>
where
    I: Iterator,
    F: FnMut(I::Item) -> Fut,
{
    fn new(inner: Rc<Inner>, items: I, f: F) -> Feed<I, F> {
        let limit = inner.slots.as_ref().map_or(usize::MAX, |s| s.size());
        Feed { inner, items: Some(items), f, acquire: None, next_seq: 0, in_flight: 0, limit }
    }

    fn is_done(&self) -> bool {
        self.in_flight == 0 && self.items.is_none()
    }

    /// Starts items while there is room. `start` gets each item's sequence
    /// number and its future, or `None` if the group is closed.
    ///
    /// # Panics
    /// Outside a sprout runtime, before taking anything.
    #[track_caller]
    fn fill(&mut self, cx: &mut Context<'_>, mut start: impl FnMut(&Rc<Inner>, usize, Option<Fut>)) {
        if self.in_flight >= self.limit || self.items.is_none() {
            return;
        }
        context::expect("sprout::pool map streams");
        while self.in_flight < self.limit {
            let Some(items) = self.items.as_mut() else { return };
            // A free slot is taken on the spot; otherwise wait in line.
            let (admitted, taken_now) = match self.acquire.is_none().then(|| self.inner.try_take()).flatten() {
                Some(admitted) => (admitted, admitted),
                None => {
                    let inner = &self.inner;
                    let acquire = self.acquire.get_or_insert_with(|| Acquire::new(inner.clone(), true));
                    match Pin::new(&mut *acquire).poll(cx) {
                        Poll::Ready(admitted) => (admitted, false),
                        Poll::Pending => return,
                    }
                }
            };
            // Until the item starts, the slot is owned by `acquire` (which
            // holds what it waited for) or by `taken` (the fast path): if
            // the iterator or `f` panics or runs out, dropping them gives it
            // back.
            let taken = TakenSlot(taken_now.then_some(&self.inner));
            let Some(item) = items.next() else {
                drop(taken);
                self.acquire = None;
                self.items = None;
                return;
            };
            let future = if admitted { Some((self.f)(item)) } else { None };
            std::mem::forget(taken);
            if let Some(acquire) = self.acquire.as_mut() {
                acquire.disarm();
            }
            self.acquire = None;
            let seq = self.next_seq;
            self.next_seq += 1;
            self.in_flight += 1;
            start(&self.inner, seq, future);
        }
    }
}

/// A slot taken by `Feed::fill`'s fast path and not yet handed to an
/// item: dropped (on a panic, or when the items run out), it gives the slot
/// back; `mem::forget` hands it over.
struct TakenSlot<'a>(Option<&'a Rc<Inner>>);

impl Drop for TakenSlot<'_> {
    fn drop(&mut self) {
        if let Some(slots) = self.0.and_then(|inner| inner.slots.as_ref()) {
            slots.release();
        }
    }
}

/// Where map items deliver their results.
trait Collect<T> {
    /// Records item `seq`'s result; `key` is its task's key in the stream.
    fn deliver(&self, seq: usize, key: usize, result: Result<T, JoinError>);
}

/// An item's way back to its stream: delivers `Killed` if dropped unused.
struct Sink<T, C: Collect<T>> {
    collect: Rc<C>,
    seq: usize,
    key: usize,
    result: Option<Result<T, JoinError>>,
}

impl<T, C: Collect<T>> Sink<T, C> {
    fn new(collect: Rc<C>, seq: usize, key: usize) -> Sink<T, C> {
        Sink { collect, seq, key, result: None }
    }

    fn send(&mut self, result: Result<T, JoinError>) {
        self.result = Some(result);
    }
}

impl<T, C: Collect<T>> Drop for Sink<T, C> {
    fn drop(&mut self) {
        let result = self.result.take().unwrap_or(Err(JoinError::Killed));
        self.collect.deliver(self.seq, self.key, result);
    }
}

pin_project! {
    /// A map item's task: the user's future, its sink, its membership.
    ///
    /// Field order matters: the future is dropped first, then the sink
    /// delivers, then the guard gives back the slot.
    struct MapItem<Fut, S> {
        #[pin]
        future: Fut,
        sink: S,
        _guard: MemberGuard,
    }
}

impl<Fut: Future, C: Collect<Fut::Output>> Future for MapItem<Fut, Sink<Fut::Output, C>> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        let mut future = this.future;
        let result = match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(value)) => Ok(value),
            Err(payload) => Err(JoinError::panicked(payload)),
        };
        // Delivered when the task drops this future, right after it returns.
        this.sink.send(result);
        Poll::Ready(())
    }
}

fn spawn_item<Fut, C>(inner: &Rc<Inner>, future: Fut, sink: Sink<Fut::Output, C>) -> JoinHandle<()>
where
    Fut: Future + 'static,
    Fut::Output: 'static,
    C: Collect<Fut::Output> + 'static,
{
    let holds_slot = inner.slots.is_some();
    inner.spawn_guarded(holds_slot, |guard| MapItem { future, sink, _guard: guard })
}

// ---------------------------------------------------------------- in order

struct OrderedState<T> {
    /// The sequence number of `results[0]`.
    base: usize,
    results: VecDeque<Option<Result<T, JoinError>>>,
    waker: Option<Waker>,
}

struct Ordered<T>(RefCell<OrderedState<T>>);

impl<T> Collect<T> for Ordered<T> {
    fn deliver(&self, seq: usize, _key: usize, result: Result<T, JoinError>) {
        let waker = {
            let mut state = self.0.borrow_mut();
            let index = seq - state.base;
            if let Some(slot) = state.results.get_mut(index) {
                *slot = Some(result);
            }
            // Only the front result can be yielded: wake for nothing else.
            if index == 0 { state.waker.take() } else { None }
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// The stream returned by `imap`: results in input order.
///
/// At most `size` items are in flight (running, or finished and waiting
/// for an earlier one to be yielded). Dropping the stream kills the items
/// it started.
#[must_use = "streams do nothing unless polled"]
pub struct Imap<I, F, Fut: Future> {
    feed: Feed<I, F>,
    state: Rc<Ordered<Fut::Output>>,
    /// Parallel to `state.results`: each item's task (`None` if it never ran).
    tasks: VecDeque<Option<JoinHandle<()>>>,
}

// Nothing is pinned structurally: the items run in their own tasks.
impl<I, F, Fut: Future> Unpin for Imap<I, F, Fut> {}

impl<I, F, Fut> Imap<I, F, Fut>
where
    I: Iterator,
    F: FnMut(I::Item) -> Fut,
    Fut: Future + 'static,
    Fut::Output: 'static,
{
    pub(crate) fn new(inner: Rc<Inner>, f: F, items: I) -> Imap<I, F, Fut> {
        let state = OrderedState { base: 0, results: VecDeque::new(), waker: None };
        Imap { feed: Feed::new(inner, items, f), state: Rc::new(Ordered(RefCell::new(state))), tasks: VecDeque::new() }
    }

    fn fill(&mut self, cx: &mut Context<'_>) {
        let Imap { feed, state, tasks } = self;
        feed.fill(cx, |inner, seq, future| {
            let result = if future.is_none() { Some(Err(JoinError::Killed)) } else { None };
            state.0.borrow_mut().results.push_back(result);
            let task = future.map(|future| spawn_item(inner, future, Sink::new(state.clone(), seq, 0)));
            tasks.push_back(task);
        });
    }
}

impl<I, F, Fut> Stream for Imap<I, F, Fut>
where
    I: Iterator,
    F: FnMut(I::Item) -> Fut,
    Fut: Future + 'static,
    Fut::Output: 'static,
{
    type Item = Result<Fut::Output, JoinError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        this.fill(cx);
        let front = {
            let mut state = this.state.0.borrow_mut();
            if matches!(state.results.front(), Some(Some(_))) {
                state.base += 1;
                state.results.pop_front().flatten()
            } else {
                match &state.waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => state.waker = Some(cx.waker().clone()),
                }
                None
            }
        };
        match front {
            Some(result) => {
                this.tasks.pop_front();
                this.feed.in_flight -= 1;
                // Start the next item now, not at the consumer's next poll.
                this.fill(cx);
                Poll::Ready(Some(result))
            }
            None if this.feed.is_done() => Poll::Ready(None),
            None => Poll::Pending,
        }
    }
}

impl<I, F, Fut: Future> Drop for Imap<I, F, Fut> {
    fn drop(&mut self) {
        for task in self.tasks.drain(..).flatten() {
            task.kill();
        }
    }
}

impl<I, F, Fut: Future> fmt::Debug for Imap<I, F, Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Imap").field("in_flight", &self.feed.in_flight).finish_non_exhaustive()
    }
}

// ---------------------------------------------------- in completion order

struct UnorderedState<T> {
    /// `(seq, task key, result)`, in completion order.
    ready: VecDeque<(usize, usize, Result<T, JoinError>)>,
    waker: Option<Waker>,
}

struct Unordered<T>(RefCell<UnorderedState<T>>);

impl<T> Collect<T> for Unordered<T> {
    fn deliver(&self, seq: usize, key: usize, result: Result<T, JoinError>) {
        let waker = {
            let mut state = self.0.borrow_mut();
            state.ready.push_back((seq, key, result));
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// The key of an item that never ran.
const NO_TASK: usize = usize::MAX;

/// Results in completion order, each with its input index: the engine of
/// `imap_unordered` and `map`.
pub(crate) struct Indexed<I, F, Fut: Future> {
    feed: Feed<I, F>,
    state: Rc<Unordered<Fut::Output>>,
    tasks: Slab<JoinHandle<()>>,
}

impl<I, F, Fut: Future> Unpin for Indexed<I, F, Fut> {}

impl<I, F, Fut> Indexed<I, F, Fut>
where
    I: Iterator,
    F: FnMut(I::Item) -> Fut,
    Fut: Future + 'static,
    Fut::Output: 'static,
{
    pub(crate) fn new(inner: Rc<Inner>, f: F, items: I) -> Indexed<I, F, Fut> {
        let state = UnorderedState { ready: VecDeque::new(), waker: None };
        Indexed { feed: Feed::new(inner, items, f), state: Rc::new(Unordered(RefCell::new(state))), tasks: Slab::new() }
    }

    fn fill(&mut self, cx: &mut Context<'_>) {
        let Indexed { feed, state, tasks } = self;
        feed.fill(cx, |inner, seq, future| match future {
            Some(future) => {
                let key = tasks.vacant_key();
                let task = spawn_item(inner, future, Sink::new(state.clone(), seq, key));
                let inserted = tasks.insert(task);
                debug_assert_eq!(inserted, key);
            }
            None => state.deliver(seq, NO_TASK, Err(JoinError::Killed)),
        });
    }
}

impl<I, F, Fut> Stream for Indexed<I, F, Fut>
where
    I: Iterator,
    F: FnMut(I::Item) -> Fut,
    Fut: Future + 'static,
    Fut::Output: 'static,
{
    type Item = (usize, Result<Fut::Output, JoinError>);

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        this.fill(cx);
        let next = {
            let mut state = this.state.0.borrow_mut();
            let next = state.ready.pop_front();
            if next.is_none() {
                match &state.waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => state.waker = Some(cx.waker().clone()),
                }
            }
            next
        };
        match next {
            Some((seq, key, result)) => {
                if key != NO_TASK {
                    this.tasks.remove(key);
                }
                this.feed.in_flight -= 1;
                this.fill(cx);
                Poll::Ready(Some((seq, result)))
            }
            None if this.feed.is_done() => Poll::Ready(None),
            None => Poll::Pending,
        }
    }
}

impl<I, F, Fut: Future> Drop for Indexed<I, F, Fut> {
    fn drop(&mut self) {
        for task in self.tasks.drain() {
            task.kill();
        }
    }
}

/// The stream returned by `imap_unordered`: results as the items finish.
///
/// At most `size` items are in flight (running, or finished and not yet
/// yielded). Dropping the stream kills the items it started.
#[must_use = "streams do nothing unless polled"]
pub struct ImapUnordered<I, F, Fut: Future> {
    indexed: Indexed<I, F, Fut>,
}

impl<I, F, Fut: Future> Unpin for ImapUnordered<I, F, Fut> {}

impl<I, F, Fut> ImapUnordered<I, F, Fut>
where
    I: Iterator,
    F: FnMut(I::Item) -> Fut,
    Fut: Future + 'static,
    Fut::Output: 'static,
{
    pub(crate) fn new(inner: Rc<Inner>, f: F, items: I) -> ImapUnordered<I, F, Fut> {
        ImapUnordered { indexed: Indexed::new(inner, f, items) }
    }
}

impl<I, F, Fut> Stream for ImapUnordered<I, F, Fut>
where
    I: Iterator,
    F: FnMut(I::Item) -> Fut,
    Fut: Future + 'static,
    Fut::Output: 'static,
{
    type Item = Result<Fut::Output, JoinError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.indexed).poll_next(cx).map(|next| next.map(|(_, result)| result))
    }
}

impl<I, F, Fut: Future> fmt::Debug for ImapUnordered<I, F, Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImapUnordered").field("in_flight", &self.indexed.feed.in_flight).finish_non_exhaustive()
    }
}

/// Every result, in input order; the items run in completion order.
pub(crate) async fn map<I, F, Fut>(inner: Rc<Inner>, f: F, items: I) -> Vec<Result<Fut::Output, JoinError>>
where
    I: Iterator,
    F: FnMut(I::Item) -> Fut,
    Fut: Future + 'static,
    Fut::Output: 'static,
{
    let mut results: Vec<Option<Result<Fut::Output, JoinError>>> = Vec::new();
    results.resize_with(items.size_hint().0, || None);
    let mut stream = Indexed::new(inner, f, items);
    while let Some((seq, result)) = std::future::poll_fn(|cx| Pin::new(&mut stream).poll_next(cx)).await {
        if seq >= results.len() {
            results.resize_with(seq + 1, || None);
        }
        results[seq] = Some(result);
    }
    // In case the iterator's size hint promised more than it gave.
    results.truncate(stream.feed.next_seq);
    results.into_iter().map(|r| r.expect("every item yields exactly one result")).collect()
}
