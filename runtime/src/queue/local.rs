//! `BaseQueue`: the runtime-local queue behind `Queue`, `LifoQueue`,
//! `PriorityQueue` and `Channel`.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;

use super::buffer::{Buffer, Fifo, Lifo, Priority, Rendezvous};
use super::error::{Closed, GetError, PutError, TaskDoneError};
use super::state::{State, wake};
use crate::sched::coop;
use crate::task::compact::CompactWaker;
use crate::time::{Sleep, sleep};

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

impl<T> BaseQueue<T, Fifo<T>> {
    /// A FIFO queue holding at most `maxsize` items; 0 means unbounded.
    pub fn new(maxsize: usize) -> Self {
        BaseQueue::with_capacity(maxsize)
    }

    /// An unbounded FIFO queue (`Queue::new(0)`).
    pub fn unbounded() -> Self {
        Self::new(0)
    }
}

impl<T> BaseQueue<T, Lifo<T>> {
    /// A LIFO queue holding at most `maxsize` items; 0 means unbounded.
    pub fn new(maxsize: usize) -> Self {
        BaseQueue::with_capacity(maxsize)
    }
}

impl<T: Ord> BaseQueue<T, Priority<T>> {
    /// A priority queue holding at most `maxsize` items; 0 means unbounded.
    pub fn new(maxsize: usize) -> Self {
        BaseQueue::with_capacity(maxsize)
    }
}

impl<T> BaseQueue<T, Rendezvous<T>> {
    /// A channel: every put waits for a get, and the other way round.
    pub fn new() -> Self {
        BaseQueue { state: RefCell::new(State::new(0)) }
    }
}

impl<T> Default for BaseQueue<T, Rendezvous<T>> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, B: Buffer<T>> BaseQueue<T, B> {
    fn with_capacity(maxsize: usize) -> Self {
        let capacity = if maxsize == 0 { usize::MAX } else { maxsize };
        BaseQueue { state: RefCell::new(State::new(capacity)) }
    }

    /// Puts `item`, waiting while the queue is full. Fails, handing the
    /// item back, if the queue is (or gets) closed.
    ///
    /// Dropping the future before it completes drops the item with it,
    /// unless a getter already took it.
    pub fn put(&self, item: T) -> Put<'_, T, B> {
        Put { queue: self, item: Some(item), key: None }
    }

    /// Puts `item`, waiting at most `timeout` for room. On time-out the
    /// item comes back in [`PutError::Full`], as Python raises `Full`.
    pub fn put_timeout(&self, item: T, timeout: Duration) -> PutTimeout<'_, T, B> {
        PutTimeout { put: self.put(item), sleep: sleep(timeout) }
    }

    /// Puts `item` if there is room now (a waiting getter, for a channel).
    pub fn put_nowait(&self, item: T) -> Result<(), PutError<T>> {
        let result = self.state.borrow_mut().try_put(item);
        result.map(wake)
    }

    /// Takes an item, waiting while the queue is empty. Fails once the
    /// queue is closed and drained.
    pub fn get(&self) -> Get<'_, T, B> {
        Get { queue: self, key: None }
    }

    /// Takes an item, waiting at most `timeout`; [`GetError::Empty`] on
    /// time-out, as Python raises `Empty`.
    pub async fn get_timeout(&self, timeout: Duration) -> Result<T, GetError> {
        match crate::time::timeout(timeout, self.get()).await {
            Ok(result) => result.map_err(GetError::from),
            Err(_) => Err(GetError::Empty),
        }
    }

    /// Takes an item if one is there now.
    pub fn get_nowait(&self) -> Result<T, GetError> {
        let result = self.state.borrow_mut().try_get();
        result.map(|(item, w)| {
            wake(w);
            item
        })
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
        match self.state.borrow().capacity {
            usize::MAX => 0,
            n => n,
        }
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
        let mut woken = Vec::new();
        let result = self.state.borrow_mut().task_done(&mut woken);
        woken.into_iter().for_each(CompactWaker::wake);
        result
    }

    /// Waits until every item put has been marked with
    /// [`task_done`](Self::task_done) (Python's `join`).
    pub fn join(&self) -> Join<'_, T, B> {
        Join { queue: self, key: None, done: false }
    }

    /// The number of items put and not yet marked done.
    pub fn unfinished_tasks(&self) -> usize {
        self.state.borrow().unfinished()
    }

    /// Closes the queue: puts fail from now on (waiting putters get their
    /// item back), getters take what is left, then see [`Closed`].
    pub fn close(&self) {
        let mut woken = Vec::new();
        self.state.borrow_mut().close(&mut woken);
        woken.into_iter().for_each(CompactWaker::wake);
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

    /// A [`Stream`] of items: each `next` is a `get`; it ends once the
    /// queue is closed and drained.
    pub fn stream(&self) -> Items<'_, T, B> {
        Items { queue: self, key: None }
    }

    /// The body of `Get::poll` and `Items::poll_next`.
    #[inline]
    fn poll_get(&self, key: &mut Option<u32>, cx: &mut Context<'_>) -> Poll<Result<T, Closed>> {
        if let Some(k) = *key {
            match self.state.borrow_mut().poll_getter(k, cx.waker()) {
                None => return Poll::Pending,
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
        let mut state = self.state.borrow_mut();
        match state.try_get() {
            Ok((item, w)) => {
                drop(state);
                wake(w);
                Poll::Ready(Ok(item))
            }
            Err(GetError::Closed) => Poll::Ready(Err(Closed(()))),
            Err(GetError::Empty) => {
                *key = Some(state.push_getter(cx.waker()));
                Poll::Pending
            }
        }
    }

    fn cancel_get(&self, key: u32) {
        let w = self.state.borrow_mut().cancel_getter(key);
        wake(w);
    }
}

impl<T, B: Buffer<T>> fmt::Debug for BaseQueue<T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.borrow();
        f.debug_struct("Queue")
            .field("qsize", &state.len())
            .field("maxsize", &if state.capacity == usize::MAX { 0 } else { state.capacity })
            .field("getters", &state.getters())
            .field("putters", &state.putters())
            .field("closed", &state.is_closed())
            .finish()
    }
}

/// The future returned by `put`.
#[must_use = "futures do nothing unless awaited"]
pub struct Put<'a, T, B: Buffer<T>> {
    queue: &'a BaseQueue<T, B>,
    /// The item until it is handed over or parked in the wait list.
    item: Option<T>,
    key: Option<u32>,
}

// Nothing is pinned: the item moves freely until it is handed over.
impl<T, B: Buffer<T>> Unpin for Put<'_, T, B> {}

impl<T, B: Buffer<T>> Put<'_, T, B> {
    /// Stops the put and returns the item, unless it was already taken.
    fn take_back(&mut self) -> Option<T> {
        match self.key.take() {
            Some(key) => self.queue.state.borrow_mut().cancel_putter(key),
            None => self.item.take(),
        }
    }
}

impl<T, B: Buffer<T>> Future for Put<'_, T, B> {
    type Output = Result<(), Closed<T>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if let Some(key) = this.key {
            return match this.queue.state.borrow_mut().poll_putter(key, cx.waker()) {
                None => Poll::Pending,
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
        let mut state = this.queue.state.borrow_mut();
        match state.try_put(item) {
            Ok(w) => {
                drop(state);
                wake(w);
                Poll::Ready(Ok(()))
            }
            Err(PutError::Closed(item)) => Poll::Ready(Err(Closed(item))),
            Err(PutError::Full(item)) => {
                this.key = Some(state.push_putter(cx.waker(), item));
                Poll::Pending
            }
        }
    }
}

impl<T, B: Buffer<T>> Drop for Put<'_, T, B> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            // Dropped outside the borrow: `T::drop` may use the queue.
            let item = self.queue.state.borrow_mut().cancel_putter(key);
            drop(item);
        }
    }
}

impl<T, B: Buffer<T>> fmt::Debug for Put<'_, T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Put").field("waiting", &self.key.is_some()).finish()
    }
}

/// The future returned by `put_timeout`.
#[must_use = "futures do nothing unless awaited"]
pub struct PutTimeout<'a, T, B: Buffer<T>> {
    put: Put<'a, T, B>,
    sleep: Sleep,
}

impl<T, B: Buffer<T>> Future for PutTimeout<'_, T, B> {
    type Output = Result<(), PutError<T>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if let Poll::Ready(result) = Pin::new(&mut this.put).poll(cx) {
            return Poll::Ready(result.map_err(PutError::from));
        }
        if Pin::new(&mut this.sleep).poll(cx).is_pending() {
            return Poll::Pending;
        }
        Poll::Ready(match this.put.take_back() {
            Some(item) => Err(PutError::Full(item)),
            None => Ok(()),
        })
    }
}

impl<T, B: Buffer<T>> fmt::Debug for PutTimeout<'_, T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PutTimeout").field("put", &self.put).field("deadline", &self.sleep.deadline()).finish()
    }
}

/// The future returned by `get`. Dropped after it was handed an item, it
/// gives the item to the next getter (or back to the queue).
#[must_use = "futures do nothing unless awaited"]
pub struct Get<'a, T, B: Buffer<T>> {
    queue: &'a BaseQueue<T, B>,
    key: Option<u32>,
}

impl<T, B: Buffer<T>> Future for Get<'_, T, B> {
    type Output = Result<T, Closed>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        this.queue.poll_get(&mut this.key, cx)
    }
}

impl<T, B: Buffer<T>> Drop for Get<'_, T, B> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.queue.cancel_get(key);
        }
    }
}

impl<T, B: Buffer<T>> fmt::Debug for Get<'_, T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Get").field("waiting", &self.key.is_some()).finish()
    }
}

/// The stream returned by `stream`: one `get` per item, ending once the
/// queue is closed and drained.
#[must_use = "streams do nothing unless polled"]
pub struct Items<'a, T, B: Buffer<T>> {
    queue: &'a BaseQueue<T, B>,
    key: Option<u32>,
}

impl<T, B: Buffer<T>> Stream for Items<'_, T, B> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = &mut *self;
        this.queue.poll_get(&mut this.key, cx).map(Result::ok)
    }
}

impl<T, B: Buffer<T>> Drop for Items<'_, T, B> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.queue.cancel_get(key);
        }
    }
}

impl<T, B: Buffer<T>> fmt::Debug for Items<'_, T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Items").field("waiting", &self.key.is_some()).finish()
    }
}

/// The future returned by `join`.
#[must_use = "futures do nothing unless awaited"]
pub struct Join<'a, T, B: Buffer<T>> {
    queue: &'a BaseQueue<T, B>,
    key: Option<u32>,
    done: bool,
}

impl<T, B: Buffer<T>> Future for Join<'_, T, B> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(());
        }
        let mut state = this.queue.state.borrow_mut();
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
        Poll::Pending
    }
}

impl<T, B: Buffer<T>> Drop for Join<'_, T, B> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.queue.state.borrow_mut().cancel_joiner(key);
        }
    }
}

impl<T, B: Buffer<T>> fmt::Debug for Join<'_, T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Join").field("waiting", &self.key.is_some()).finish()
    }
}

#[cfg(test)]
mod tests {
    //! Hand-driven scenarios, no runtime needed: they also run under Miri
    //! (`cargo +nightly miri test -p sprout-runtime --lib queue`), which
    //! checks the wait list's and `CompactWaker`'s unsafe code.
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Wake, Waker};

    use super::*;
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
