//! The queue's front: the methods, constructors and future types that the
//! runtime-local [`BaseQueue`](super::BaseQueue) and the thread-safe
//! [`threadsafe::BaseQueue`](super::threadsafe::BaseQueue) share, written
//! once. Each module defines its `BaseQueue` (a `RefCell` or a `Mutex`
//! around the [`State`](super::state::State), built by `from_state`) and expands
//! `queue_front!` next to it; the work is in [`api`](super::api).

/// Expands, in a module that defines `BaseQueue<T, B> { state: $cell<State<T, B>> }`
/// and `BaseQueue::from_state`:
/// the constructors of each buffer kind, `api::Queue`, the shared methods,
/// `Debug`, and the future aliases (`Put`, `PutTimeout`, `Get`, `Items`,
/// `Join`). `$thread_safe` is the state's flag for wait lists whose wakers
/// may come from other threads; `$get_timeout_note` ends `get_timeout`'s
/// doc.
macro_rules! queue_front {
    ($cell:ident, thread_safe = $thread_safe:literal, get_timeout_note = $get_timeout_note:literal) => {
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
                BaseQueue::from_state(State::new(0, $thread_safe))
            }
        }

        impl<T> Default for BaseQueue<T, Rendezvous<T>> {
            fn default() -> Self {
                Self::new()
            }
        }

        impl<T, B: Buffer<T>> api::Queue for BaseQueue<T, B> {
            type Item = T;
            type Buf = B;
            type Cell = $cell<State<T, B>>;

            #[inline]
            fn cell(&self) -> &$cell<State<T, B>> {
                &self.state
            }
        }

        impl<T, B: Buffer<T>> BaseQueue<T, B> {
            fn with_maxsize(maxsize: usize) -> Self {
                BaseQueue::from_state(State::bounded(maxsize, $thread_safe))
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
            #[doc = $get_timeout_note]
            pub async fn get_timeout(&self, timeout: Duration) -> Result<T, GetError> {
                api::get_timeout(self, timeout).await
            }

            /// Takes an item if one is there now.
            pub fn get_nowait(&self) -> Result<T, GetError> {
                api::get_nowait(self)
            }

            /// The items a get can take now.
            pub fn qsize(&self) -> usize {
                self.state().len()
            }

            /// Whether no item is there.
            pub fn empty(&self) -> bool {
                self.qsize() == 0
            }

            /// Whether a put would have to wait (always true for a channel).
            pub fn full(&self) -> bool {
                self.state().is_full()
            }

            /// The bound given at creation (0 for unbounded queues and channels).
            pub fn maxsize(&self) -> usize {
                self.state().maxsize()
            }

            /// A clone of the item the next get would take.
            pub fn peek(&self) -> Option<T>
            where
                T: Clone,
            {
                self.state().peek().cloned()
            }

            /// Runs `f` on the item the next get would take. `f` must not use the queue.
            pub fn peek_with<R>(&self, f: impl FnOnce(&T) -> R) -> Option<R> {
                self.state().peek().map(f)
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
                self.state().unfinished()
            }

            /// Closes the queue: puts fail from now on (waiting putters get their
            /// item back), getters take what is left, then see [`Closed`](super::Closed).
            pub fn close(&self) {
                api::close(self)
            }

            /// Whether [`close`](Self::close) was called.
            pub fn is_closed(&self) -> bool {
                self.state().is_closed()
            }

            /// The number of tasks waiting in `get`.
            pub fn getters(&self) -> usize {
                self.state().getters()
            }

            /// The number of tasks waiting in `put`.
            pub fn putters(&self) -> usize {
                self.state().putters()
            }

            /// A [`Stream`](futures_core::Stream) of items: each `next` is a `get`;
            /// it ends once the queue is closed and drained.
            pub fn stream(&self) -> Items<'_, T, B> {
                api::stream(self)
            }

            /// Waits until a get would not block (an item is there, a putter
            /// waits, or the queue is closed), taking nothing: for
            /// [`wait_objects`](crate::wait_objects) (`&|| queue.readable()`)
            /// and readiness loops. Another task may take the item first:
            /// follow it with `get_nowait`, and wait again on `Empty`.
            pub fn readable(&self) -> Readiness<'_, T, B> {
                api::readiness(self, api::Side::Read)
            }

            /// Waits until a put would not block (room, a waiting getter, or
            /// closed), putting nothing; see [`readable`](Self::readable).
            pub fn writable(&self) -> Readiness<'_, T, B> {
                api::readiness(self, api::Side::Write)
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

        /// The future returned by [`BaseQueue::readable`] and
        /// [`BaseQueue::writable`], resolving to `()`. Dropping it leaves
        /// nothing registered.
        pub type Readiness<'a, T, B> = api::Readiness<'a, BaseQueue<T, B>>;
    };
}
