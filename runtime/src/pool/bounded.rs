//! `Pool`: a group that runs at most `size` tasks at once; collecting
//! (`Pool<Collect<T>>`), a bounded tokio `JoinSet` as well.

use std::fmt;
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;

use super::group::{Join, join};
use super::map::{self, Imap, ImapUnordered};
use super::results::{Collect, JoinNext, Mode, ResultsOf, Untyped};
use super::set::{Acquire, Inner, Owner, rejected};
use super::slots::Slots;
use super::star::StarFn;
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
pub struct Pool<M: Mode = Untyped> {
    inner: Rc<Inner>,
    /// Shared by the handles only: see `Group`.
    owner: Rc<Owner>,
    results: M::Results,
}

impl<M: Mode> Clone for Pool<M> {
    fn clone(&self) -> Self {
        Pool { inner: self.inner.clone(), owner: self.owner.clone(), results: self.results.clone() }
    }
}

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

    /// The next result, in the order members finished; `None` once the pool
    /// has no member left and every kept result was taken. See
    /// [`Group::join_next`](super::Group::join_next).
    pub fn join_next(&self) -> JoinNext<'_, T> {
        JoinNext::new(&self.results, &self.inner)
    }

    /// The next result if one is kept, without waiting.
    pub fn try_join_next(&self) -> Option<Result<T, JoinError>> {
        self.results.pop()
    }
}

impl<M: Mode> Pool<M> {
    /// A pool of `size` slots, at least 1 (the callers check it).
    fn with_size(size: usize) -> Pool<M> {
        let inner = Inner::new(Some(Slots::new(size)));
        Pool { owner: Owner::new(&inner), inner, results: M::Results::default() }
    }

    /// Kills every member when the last handle to the pool is dropped. See
    /// [`Group::kill_on_drop`](super::Group::kill_on_drop).
    pub fn kill_on_drop(self, kill: bool) -> Self {
        self.owner.set_kill_on_drop(kill);
        self
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

    /// Stops tracking a task, which keeps running outside the pool, and
    /// frees its slot. See [`Group::discard`](super::Group::discard).
    pub fn discard<T: 'static>(&self, task: &JoinHandle<T>) -> bool {
        self.inner.discard(task.id())
    }

    /// Whether the task is a member. Takes time linear in the pool's size.
    pub fn contains<T: 'static>(&self, task: &JoinHandle<T>) -> bool {
        self.inner.contains(task.id())
    }

    /// The number of member tasks that have not finished, including
    /// `apply_async` tasks still waiting for a slot.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether every member has finished.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits until the pool is empty. See [`Group::join`](super::Group::join).
    pub fn join(&self) -> Join {
        join(&self.inner)
    }

    /// Waits up to `timeout` for the pool to empty; returns whether it did.
    pub async fn join_timeout(&self, timeout: Duration) -> bool {
        crate::time::timeout(timeout, self.join()).await.is_ok()
    }

    /// Kills every member now. See [`Group::kill`](super::Group::kill).
    pub fn kill(&self) {
        self.inner.kill();
    }

    /// Refuses new work, like `multiprocessing.Pool.close()`: `spawn`s
    /// waiting for a slot give up, and later work resolves to
    /// [`JoinError::Killed`] without running. Members, including queued
    /// `apply_async` tasks, still run; [`join`](Pool::join) waits for them.
    pub fn close(&self) {
        self.inner.close();
    }

    /// Whether [`close`](Pool::close) or [`terminate`](Pool::terminate) was called.
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Closes the pool and kills every member, queued or running, like
    /// `multiprocessing.Pool.terminate()`.
    pub fn terminate(&self) {
        self.close();
        self.kill();
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

    /// Runs `f(item)` for every item, at most `size` at once, and returns
    /// the results in input order, like `Pool.map`. Items are taken from
    /// the iterator only as slots free up; they finish in any order. A
    /// panic or kill shows as that item's error; the others go on.
    pub async fn map<I, F, Fut>(&self, f: F, items: I) -> Vec<Result<Fut::Output, JoinError>>
    where
        I: IntoIterator,
        F: FnMut(I::Item) -> Fut,
        Fut: Future + 'static,
        Fut::Output: 'static,
    {
        map::map(self.inner.clone(), f, items.into_iter()).await
    }

    /// `map` for functions of several arguments, given as tuples, like
    /// `Pool.starmap`. See [`Group::starmap`](super::Group::starmap).
    pub async fn starmap<I, F>(&self, mut f: F, items: I) -> Vec<Result<<F::Output as Future>::Output, JoinError>>
    where
        I: IntoIterator,
        F: StarFn<I::Item>,
        F::Output: Future + 'static,
        <F::Output as Future>::Output: 'static,
    {
        self.map(move |args| f.call_star(args), items).await
    }

    /// A stream of `f(item)` results in input order, like `Pool.imap`.
    ///
    /// At most `size` items are in flight: started and not yet yielded,
    /// counting finished ones that wait for an earlier item. So a slow item
    /// holds back the window, as with `buffered(size)`; use
    /// [`imap_unordered`](Pool::imap_unordered) when order does not matter.
    /// The iterator is read lazily and may be endless. Dropping the stream
    /// kills the items it started.
    ///
    /// ```
    /// use futures_util::StreamExt;
    /// use sprout::{pool::Pool, run};
    ///
    /// run(async {
    ///     let pool = Pool::new(4);
    ///     // An endless iterator: only what is consumed (plus `size`) is read.
    ///     let firsts: Vec<u64> = pool
    ///         .imap(|x: u64| async move { x * 2 }, 0..)
    ///         .take(5)
    ///         .map(Result::unwrap)
    ///         .collect()
    ///         .await;
    ///     assert_eq!(firsts, [0, 2, 4, 6, 8]);
    /// });
    /// ```
    pub fn imap<I, F, Fut>(&self, f: F, items: I) -> Imap<I::IntoIter, F, Fut>
    where
        I: IntoIterator,
        F: FnMut(I::Item) -> Fut,
        Fut: Future + 'static,
        Fut::Output: 'static,
    {
        Imap::new(self.inner.clone(), f, items.into_iter())
    }

    /// A stream of `f(item)` results as they finish, like
    /// `Pool.imap_unordered`, with at most `size` items in flight. The
    /// iterator is read lazily and may be endless. Dropping the stream kills
    /// the items it started.
    pub fn imap_unordered<I, F, Fut>(&self, f: F, items: I) -> ImapUnordered<I::IntoIter, F, Fut>
    where
        I: IntoIterator,
        F: FnMut(I::Item) -> Fut,
        Fut: Future + 'static,
        Fut::Output: 'static,
    {
        ImapUnordered::new(self.inner.clone(), f, items.into_iter())
    }
}

impl<M: Mode> fmt::Debug for Pool<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Pool");
        d.field("size", &self.size()).field("free", &self.free_count()).field("len", &self.len());
        d.field("closed", &self.is_closed());
        if let Some(queued) = self.results.queued() {
            d.field("results", &queued);
        }
        d.finish()
    }
}
