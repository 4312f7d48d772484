//! `Pool`: a group that runs at most `size` tasks at once; collecting
//! (`Pool<Collect<T>>`), a bounded tokio `JoinSet` as well.

use std::future::Future;

use super::members::{Bounded, Members};
use super::results::{Collect, Mode, Untyped};
use super::set::{Acquire, rejected};
use super::slots::Slots;
use crate::task::{JoinError, JoinHandle};

/// A group of green tasks of which at most `size` run at once, like
/// `gevent.pool.Pool` and `multiprocessing.Pool`.
///
/// Each member holds one of the pool's `size` slots until it finishes.
/// Slots are handed out in arrival order. [`spawn`](Pool::spawn) waits for a
/// free slot; [`apply_async`](Pool::apply_async) returns at once and its task
/// waits for the slot itself; [`map`](Pool::map), [`imap`](Pool::imap) and
/// [`imap_unordered`](Pool::imap_unordered) take items from their iterator
/// only as slots free up, so an endless iterator costs no memory.
///
/// A `Pool` is a cheap handle: clones share the same pool. As a
/// [`Group`](super::Group), it can kill its members when the last handle
/// goes ([`kill_on_drop`](Pool::kill_on_drop)) and, made with
/// [`Pool::collecting`], keep their results for [`join_next`](Pool::join_next).
///
/// ```
/// use std::time::{Duration, Instant};
/// use sprout::{pool::Pool, run, sleep};
///
/// run(async {
///     let pool = Pool::new(2);
///     let start = Instant::now();
///     // Four 10 ms waits, two at a time: about 20 ms.
///     let done = pool.map(|i| async move {
///         sleep(Duration::from_millis(10)).await;
///         i
///     }, 0..4).await;
///     assert!(start.elapsed() >= Duration::from_millis(20));
///     assert_eq!(done.into_iter().map(Result::unwrap).collect::<Vec<_>>(), [0, 1, 2, 3]);
/// });
/// ```
///
/// # Deadlock
/// A member that spawns into its own full pool (with `spawn`, `apply` or a
/// map) and waits for that work waits forever: the slot it needs is its
/// own. Use a second pool, or `apply_async` without waiting on it from a
/// member.
pub type Pool<M = Untyped> = Members<Bounded, M>;

impl Pool {
    /// A pool that runs at most `size` tasks at once, of any output type.
    ///
    /// # Panics
    /// If `size` is 0: such a pool could never run anything.
    pub fn new(size: usize) -> Pool {
        assert!(size > 0, "sprout::pool::Pool::new: the size must be at least 1");
        Pool::with_size(size)
    }

    /// Waits for a free slot, then spawns the task, which holds the slot
    /// until it finishes, like gevent's `Pool.spawn`.
    ///
    /// If the pool is closed (before or while this waits), the future does
    /// not run: the handle resolves to [`JoinError::Killed`] at once.
    ///
    /// Cancellation: dropping the returned future while it waits gives up
    /// its place in line; a slot it had just been handed goes to the next
    /// in line.
    ///
    /// ```
    /// use std::future::pending;
    /// use sprout::{pool::Pool, run};
    ///
    /// run(async {
    ///     let pool = Pool::new(1);
    ///     let blocker = pool.spawn(pending::<()>()).await;
    ///     assert!(pool.is_full());
    ///     blocker.kill(); // frees the slot
    ///     let task = pool.spawn(async { "ran" }).await;
    ///     assert_eq!(task.await.unwrap(), "ran");
    /// });
    /// ```
    ///
    /// # Panics
    /// Outside a sprout runtime.
    pub async fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        // Checked before a slot is taken, so that a misuse leaks none.
        crate::context::expect("Pool::spawn");
        let mut acquire = Acquire::new(self.inner.clone(), true);
        if !(&mut acquire).await {
            return rejected(future);
        }
        acquire.disarm();
        self.inner.spawn_member(future, true)
    }

    /// Queues `future` and returns its handle at once, like
    /// `Pool.apply_async`: the task waits for a slot, then runs.
    /// [`JoinHandle::on_ok`] and [`JoinHandle::on_err`] are its `callback`
    /// and `error_callback`. See [`Group::apply_async`](super::Group::apply_async).
    ///
    /// # Panics
    /// Outside a sprout runtime.
    #[track_caller]
    pub fn apply_async<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        if self.inner.is_closed() {
            return rejected(future);
        }
        self.inner.spawn_queued(future)
    }
}

impl<T: 'static> Pool<Collect<T>> {
    /// A collecting pool of `size` slots: its members all return `T`, and
    /// the result of each one whose handle nobody takes is kept for
    /// [`join_next`](Self::join_next), like a tokio `JoinSet<T>` with a
    /// `Semaphore` in front.
    ///
    /// ```
    /// use sprout::pool::Pool;
    ///
    /// sprout::run(async {
    ///     let pool = Pool::collecting(2);
    ///     for i in 0..5u64 {
    ///         pool.spawn(async move { i * i }).await;
    ///     }
    ///     let mut squares = Vec::new();
    ///     while let Some(done) = pool.join_next().await {
    ///         squares.push(done.unwrap());
    ///     }
    ///     squares.sort();
    ///     assert_eq!(squares, [0, 1, 4, 9, 16]);
    /// });
    /// ```
    ///
    /// # Panics
    /// If `size` is 0.
    pub fn collecting(size: usize) -> Pool<Collect<T>> {
        assert!(size > 0, "sprout::pool::Pool::collecting: the size must be at least 1");
        Pool::with_size(size)
    }

    /// Waits for a free slot, then spawns a member; its result goes to the
    /// returned handle if you await it, else to [`join_next`](Self::join_next).
    /// See [`Pool::spawn`] for closing and cancellation.
    ///
    /// # Panics
    /// Outside a sprout runtime.
    pub async fn spawn<F>(&self, future: F) -> JoinHandle<T>
    where
        F: Future<Output = T> + 'static,
    {
        crate::context::expect("Pool::spawn");
        let mut acquire = Acquire::new(self.inner.clone(), true);
        if !(&mut acquire).await {
            return rejected(future);
        }
        acquire.disarm();
        let handle = self.inner.spawn_member(future, true);
        self.results.collect(&handle);
        handle
    }

    /// Queues a member and returns its handle at once (it waits for a slot
    /// itself); its result goes to the handle if you await it, else to
    /// [`join_next`](Self::join_next).
    ///
    /// # Panics
    /// Outside a sprout runtime.
    #[track_caller]
    pub fn apply_async<F>(&self, future: F) -> JoinHandle<T>
    where
        F: Future<Output = T> + 'static,
    {
        if self.inner.is_closed() {
            return rejected(future);
        }
        let handle = self.inner.spawn_queued(future);
        self.results.collect(&handle);
        handle
    }
}

impl<M: Mode> Pool<M> {
    /// A pool of `size` slots, at least 1 (the callers check it).
    fn with_size(size: usize) -> Pool<M> {
        Pool::with_slots(Some(Slots::new(size)))
    }

    fn slots(&self) -> &Slots {
        self.inner.slots.as_ref().expect("a Pool has slots")
    }

    /// The most tasks that run at once.
    pub fn size(&self) -> usize {
        self.slots().size()
    }

    /// The number of free slots: how many tasks `spawn` would start without
    /// waiting.
    pub fn free_count(&self) -> usize {
        self.slots().free()
    }

    /// Whether every slot is taken (`spawn` would wait).
    pub fn is_full(&self) -> bool {
        self.free_count() == 0
    }

    /// Waits until a slot is free and returns the number of free slots,
    /// like gevent's `wait_available`. It does not take the slot: another
    /// task waiting in line may take it before this one spawns, so the
    /// count may be 0 by then. Returns at once if the pool is closed.
    pub async fn wait_available(&self) -> usize {
        if self.free_count() == 0 && !self.is_closed() {
            // Queue like a spawn, then hand the slot straight on.
            let _turn = Acquire::new(self.inner.clone(), true).await;
        }
        self.free_count()
    }

    /// Starts tracking a task spawned elsewhere, once a slot is free (the
    /// task holds it until it finishes), like gevent's `Pool.add`. Adding a
    /// finished task or a member does nothing, and so does adding to a
    /// closed pool.
    ///
    /// # Panics
    /// Outside a sprout runtime.
    pub async fn add<T: 'static>(&self, task: &JoinHandle<T>) {
        crate::context::expect("Pool::add");
        let task = task.untyped();
        if task.is_finished() || self.inner.contains(task.id()) {
            return;
        }
        let mut acquire = Acquire::new(self.inner.clone(), true);
        if (&mut acquire).await {
            acquire.disarm();
            self.inner.add(task, true);
        }
    }

    /// Runs `future` in the pool (after waiting for a slot) and waits for
    /// its result, like `Pool.apply`.
    pub async fn apply<F>(&self, future: F) -> Result<F::Output, JoinError>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        if self.inner.is_closed() {
            return rejected(future).await;
        }
        self.inner.spawn_queued(future).await
    }
}
