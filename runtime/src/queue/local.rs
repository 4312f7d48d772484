//! `BaseQueue`: the runtime-local queue behind `Queue`, `LifoQueue`,
//! `PriorityQueue` and `Channel`.

use std::cell::RefCell;
use std::fmt;
use std::time::Duration;

use super::api;
use super::buffer::{Buffer, Fifo, Lifo, Priority, Rendezvous};
use super::error::{GetError, PutError, TaskDoneError};
use super::state::State;

/// A queue of `T` between green tasks, whose [`Buffer`] `B` decides which
/// item a get takes. Use it through its aliases: [`Queue`](super::Queue),
/// [`LifoQueue`](super::LifoQueue), [`PriorityQueue`](super::PriorityQueue)
/// and [`Channel`](super::Channel); the [module docs](super) have the
/// contract (ordering, hand-off, cancellation, closing).
///
/// Runtime-local: share it between tasks with an `Rc`.
pub struct BaseQueue<T, B> {
    state: RefCell<State<T, B>>,
}

impl<T, B: Buffer<T>> api::Queue for BaseQueue<T, B> {
    type Item = T;
    type Buf = B;
    type Cell = RefCell<State<T, B>>;

    #[inline]
    fn cell(&self) -> &RefCell<State<T, B>> {
        &self.state
    }
}

impl<T> BaseQueue<T, Fifo<T>> {
    /// A FIFO queue holding at most `maxsize` items; 0 means unbounded.
    pub fn new(maxsize: usize) -> Self {
        BaseQueue::with_maxsize(maxsize)
    }

    /// An unbounded FIFO queue (`Queue::new(0)`).
    pub fn unbounded() -> Self {
        Self::new(0)
    }
}

impl<T> BaseQueue<T, Lifo<T>> {
    /// A LIFO queue holding at most `maxsize` items; 0 means unbounded.
    pub fn new(maxsize: usize) -> Self {
        BaseQueue::with_maxsize(maxsize)
    }
}

impl<T: Ord> BaseQueue<T, Priority<T>> {
    /// A priority queue holding at most `maxsize` items; 0 means unbounded.
    pub fn new(maxsize: usize) -> Self {
        BaseQueue::with_maxsize(maxsize)
    }
}

impl<T> BaseQueue<T, Rendezvous<T>> {
    /// A channel: every put waits for a get, and the other way round.
    pub fn new() -> Self {
        BaseQueue { state: RefCell::new(State::new(0, false)) }
    }
}

impl<T> Default for BaseQueue<T, Rendezvous<T>> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, B: Buffer<T>> BaseQueue<T, B> {
    fn with_maxsize(maxsize: usize) -> Self {
        BaseQueue { state: RefCell::new(State::bounded(maxsize, false)) }
    }

    /// Puts `item`, waiting while the queue is full. Fails, handing the
    /// item back, if the queue is (or gets) closed.
    ///
    /// Dropping the future before it completes drops the item with it,
    /// unless a getter already took it.
    pub fn put(&self, item: T) -> Put<'_, T, B> {
        api::put(self, item)
    }

    /// Puts `item`, waiting at most `timeout` for room. On time-out the
    /// item comes back in [`PutError::Full`], as Python raises `Full`.
    pub fn put_timeout(&self, item: T, timeout: Duration) -> PutTimeout<'_, T, B> {
        api::put_timeout(self, item, timeout)
    }

    /// Puts `item` if there is room now (a waiting getter, for a channel).
    pub fn put_nowait(&self, item: T) -> Result<(), PutError<T>> {
        api::put_nowait(self, item)
    }

    /// Takes an item, waiting while the queue is empty. Fails once the
    /// queue is closed and drained.
    pub fn get(&self) -> Get<'_, T, B> {
        api::get(self)
    }

    /// Takes an item, waiting at most `timeout`; [`GetError::Empty`] on
    /// time-out, as Python raises `Empty`.
    pub async fn get_timeout(&self, timeout: Duration) -> Result<T, GetError> {
        api::get_timeout(self, timeout).await
    }

    /// Takes an item if one is there now.
    pub fn get_nowait(&self) -> Result<T, GetError> {
        api::get_nowait(self)
    }

    /// The items a get can take now.
    pub fn qsize(&self) -> usize {
        self.state.borrow().len()
    }

    /// Whether no item is there.
    pub fn empty(&self) -> bool {
        self.qsize() == 0
    }

    /// Whether a put would have to wait (always true for a channel).
    pub fn full(&self) -> bool {
        self.state.borrow().is_full()
    }

    /// The bound given at creation (0 for unbounded queues and channels).
    pub fn maxsize(&self) -> usize {
        self.state.borrow().maxsize()
    }

    /// A clone of the item the next get would take.
    pub fn peek(&self) -> Option<T>
    where
        T: Clone,
    {
        self.state.borrow().peek().cloned()
    }

    /// Runs `f` on the item the next get would take. `f` must not use the queue.
    pub fn peek_with<R>(&self, f: impl FnOnce(&T) -> R) -> Option<R> {
        self.state.borrow().peek().map(f)
    }

    /// Marks one item as processed (Python's `task_done`): when every item
    /// put has been marked, [`join`](Self::join) returns. Calling it more
    /// often than items were put is an error.
    pub fn task_done(&self) -> Result<(), TaskDoneError> {
        api::task_done(self)
    }

    /// Waits until every item put has been marked with
    /// [`task_done`](Self::task_done) (Python's `join`).
    pub fn join(&self) -> Join<'_, T, B> {
        api::join(self)
    }

    /// The number of items put and not yet marked done.
    pub fn unfinished_tasks(&self) -> usize {
        self.state.borrow().unfinished()
    }

    /// Closes the queue: puts fail from now on (waiting putters get their
    /// item back), getters take what is left, then see [`Closed`](super::Closed).
    pub fn close(&self) {
        api::close(self)
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.state.borrow().is_closed()
    }

    /// The number of tasks waiting in `get`.
    pub fn getters(&self) -> usize {
        self.state.borrow().getters()
    }

    /// The number of tasks waiting in `put`.
    pub fn putters(&self) -> usize {
        self.state.borrow().putters()
    }

    /// A [`Stream`](futures_core::Stream) of items: each `next` is a `get`;
    /// it ends once the queue is closed and drained.
    pub fn stream(&self) -> Items<'_, T, B> {
        api::stream(self)
    }
}

impl<T, B: Buffer<T>> fmt::Debug for BaseQueue<T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        api::fmt_queue(self, f)
    }
}

/// The future returned by [`BaseQueue::put`], resolving to `Result<(), Closed<T>>`.
pub type Put<'a, T, B> = api::Put<'a, BaseQueue<T, B>>;

/// The future returned by [`BaseQueue::put_timeout`], resolving to `Result<(), PutError<T>>`.
pub type PutTimeout<'a, T, B> = api::PutTimeout<'a, BaseQueue<T, B>>;

/// The future returned by [`BaseQueue::get`], resolving to `Result<T, Closed>`.
/// Dropped after it was handed an item, it gives the item to the next
/// getter (or back to the queue).
pub type Get<'a, T, B> = api::Get<'a, BaseQueue<T, B>>;

/// The stream returned by [`BaseQueue::stream`]: a `Stream` of `T`, one
/// `get` per item, ending once the queue is closed and drained.
pub type Items<'a, T, B> = api::Items<'a, BaseQueue<T, B>>;

/// The future returned by [`BaseQueue::join`], resolving to `()`.
pub type Join<'a, T, B> = api::Join<'a, BaseQueue<T, B>>;

#[cfg(test)]
mod tests {
    //! Hand-driven scenarios, no runtime needed: they also run under Miri
    //! (`cargo +nightly miri test -p sprout-runtime --lib queue`), which
    //! checks the wait list's and `CompactWaker`'s unsafe code.
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Context, Poll, Wake, Waker};

    use super::*;
    use crate::queue::Closed;
    use crate::queue::{Channel, Queue};

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn waker() -> (Waker, Arc<Count>) {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        (Waker::from(count.clone()), count)
    }

    fn poll<F: Future + Unpin>(fut: &mut F, waker: &Waker) -> Poll<F::Output> {
        Pin::new(fut).poll(&mut Context::from_waker(waker))
    }

    #[test]
    fn put_hands_off_and_cancel_reoffers() {
        let q: Queue<String> = Queue::new(1);
        let (w1, c1) = waker();
        let (w2, c2) = waker();
        let mut g1 = q.get();
        let mut g2 = q.get();
        assert!(poll(&mut g1, &w1).is_pending());
        assert!(poll(&mut g2, &w2).is_pending());
        q.put_nowait("a".to_string()).unwrap();
        assert_eq!(c1.0.load(Ordering::SeqCst), 1);
        assert_eq!(q.qsize(), 0, "handed to the first getter");
        drop(g1); // handed, but gone: the item goes to the second getter
        assert_eq!(c2.0.load(Ordering::SeqCst), 1);
        assert_eq!(poll(&mut g2, &w2), Poll::Ready(Ok("a".to_string())));
        // No getter left: a cancelled getter's item goes back to the front.
        let mut g3 = q.get();
        assert!(poll(&mut g3, &w1).is_pending());
        q.put_nowait("b".to_string()).unwrap();
        q.put_nowait("c".to_string()).unwrap();
        drop(g3);
        assert_eq!(q.get_nowait().as_deref(), Ok("b"));
        assert_eq!(q.get_nowait().as_deref(), Ok("c"));
    }

    #[test]
    fn parked_putter_items_move_in_or_come_back() {
        let q: Queue<Box<u32>> = Queue::new(1);
        let (w, c) = waker();
        q.put_nowait(Box::new(1)).unwrap();
        let mut p1 = q.put(Box::new(2));
        let mut p2 = q.put(Box::new(3));
        assert!(poll(&mut p1, &w).is_pending());
        assert!(poll(&mut p2, &w).is_pending());
        assert_eq!(q.get_nowait().map(|b| *b), Ok(1));
        assert_eq!(c.0.load(Ordering::SeqCst), 1, "the first putter's item moved in");
        assert_eq!(poll(&mut p1, &w), Poll::Ready(Ok(())));
        assert_eq!(p2.take_back().map(|b| *b), Some(3), "a waiting putter gets its item back");
        drop(p2);
        assert_eq!(q.get_nowait().map(|b| *b), Ok(2));
        // Close wakes a parked putter with its item.
        q.put_nowait(Box::new(4)).unwrap();
        let mut p3 = q.put(Box::new(5));
        assert!(poll(&mut p3, &w).is_pending());
        q.close();
        assert_eq!(poll(&mut p3, &w).map(|r| r.map_err(|Closed(b)| *b)), Poll::Ready(Err(5)));
        assert_eq!(q.get_nowait().map(|b| *b), Ok(4));
        assert_eq!(q.get_nowait(), Err(GetError::Closed));
    }

    #[test]
    fn channel_and_semaphore_by_hand() {
        let ch: Channel<Vec<u8>> = Channel::new();
        let (w, _) = waker();
        let mut put = ch.put(vec![1, 2]);
        assert!(poll(&mut put, &w).is_pending());
        assert_eq!(ch.get_nowait(), Ok(vec![1, 2]));
        assert_eq!(poll(&mut put, &w), Poll::Ready(Ok(())));

        let sem = crate::sync::Semaphore::new(1);
        let held = sem.try_acquire().unwrap();
        let mut a = sem.acquire();
        let mut b = sem.acquire();
        assert!(poll(&mut a, &w).is_pending());
        assert!(poll(&mut b, &w).is_pending());
        drop(held); // handed to `a`...
        drop(a); // ...which passes it to `b`
        assert!(poll(&mut b, &w).is_ready());
        assert_eq!(sem.available_permits(), 1);
    }
}
