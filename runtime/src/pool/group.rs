//! `Group`: a set of green tasks to wait for, map over and kill together;
//! collecting (`Group<Collect<T>>`), tokio's `JoinSet` as well.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use super::map::{self, Imap, ImapUnordered};
use super::results::{Collect, JoinNext, Mode, ResultsOf, Untyped};
use super::set::{Inner, Owner, rejected};
use super::star::StarFn;
use crate::task::{JoinError, JoinHandle};

/// A set of green tasks that can be joined, mapped over and killed as one,
/// like `gevent.pool.Group`. It has no limit on how many run at once; see
/// [`Pool`](super::Pool) for that.
///
/// A `Group` is a cheap handle: clones share the same set, so member tasks
/// can spawn more work into it. Dropping every handle leaves the tasks
/// running, unless [`kill_on_drop`](Group::kill_on_drop) is set.
///
/// A collecting group, `Group<Collect<T>>` ([`Group::collecting`]), is
/// tokio's `JoinSet<T>` as well: its members all return `T`, and
/// [`join_next`](Group::join_next) hands out their results as they finish.
///
/// ```
/// use std::time::Duration;
/// use sprout::{pool::Group, run, sleep};
///
/// run(async {
///     let group = Group::new();
///     for ms in [3, 1, 2] {
///         group.spawn(async move { sleep(Duration::from_millis(ms)).await });
///     }
///     assert_eq!(group.len(), 3);
///     group.join().await;
///     assert!(group.is_empty());
/// });
/// ```
pub struct Group<M: Mode = Untyped> {
    inner: Rc<Inner>,
    /// Shared by the handles only (not by members): its drop is the last
    /// handle's, for `kill_on_drop`.
    owner: Rc<Owner>,
    /// A collecting group's results.
    results: M::Results,
}

impl<M: Mode> Clone for Group<M> {
    fn clone(&self) -> Self {
        Group { inner: self.inner.clone(), owner: self.owner.clone(), results: self.results.clone() }
    }
}

impl<M: Mode> Default for Group<M> {
    fn default() -> Self {
        let inner = Inner::new(None);
        Group { owner: Owner::new(&inner), inner, results: M::Results::default() }
    }
}

impl Group {
    /// An empty group, of members of any output type.
    pub fn new() -> Group {
        Group::default()
    }

    /// Spawns a task in the group. It leaves the group when it finishes,
    /// however it finishes.
    ///
    /// After [`close`](Group::close) the future does not run: the handle
    /// resolves to [`JoinError::Killed`] at once.
    ///
    /// # Panics
    /// Outside a sprout runtime.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        if self.inner.is_closed() {
            return rejected(future);
        }
        self.inner.spawn_member(future, false)
    }

    /// Runs `future` in the group and returns its handle at once, like
    /// `Pool.apply_async`: [`JoinHandle::on_ok`] and
    /// [`JoinHandle::on_err`] are its `callback` and `error_callback`.
    ///
    /// ```
    /// use std::cell::RefCell;
    /// use std::rc::Rc;
    /// use sprout::{pool::Group, run};
    ///
    /// run(async {
    ///     let group = Group::new();
    ///     let log = Rc::new(RefCell::new(Vec::new()));
    ///     for i in 0..3 {
    ///         let task = group.apply_async(async move {
    ///             if i == 1 { panic!("no {i}") }
    ///             i + 100
    ///         });
    ///         let (ok, err) = (log.clone(), log.clone());
    ///         task.on_ok(move |v| ok.borrow_mut().push(format!("end_call {v}")));
    ///         task.on_err(move |e| err.borrow_mut().push(format!("error {e}")));
    ///     }
    ///     group.join().await;
    ///     assert_eq!(*log.borrow(), ["end_call 100", "error task panicked: no 1", "end_call 102"]);
    /// });
    /// ```
    #[track_caller]
    pub fn apply_async<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.spawn(future)
    }
}

impl<T: 'static> Group<Collect<T>> {
    /// An empty collecting group: its members all return `T`, and the
    /// result of each one whose handle nobody takes is kept for
    /// [`join_next`](Self::join_next), like tokio's `JoinSet<T>`. Set
    /// [`kill_on_drop`](Group::kill_on_drop) for `JoinSet`'s drop.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sprout::pool::Group;
    ///
    /// sprout::run(async {
    ///     let set = Group::collecting().kill_on_drop(true);
    ///     for ms in [30, 10, 20] {
    ///         set.spawn(async move {
    ///             sprout::sleep(Duration::from_millis(ms)).await;
    ///             ms
    ///         });
    ///     }
    ///     let mut order = Vec::new();
    ///     while let Some(done) = set.join_next().await {
    ///         order.push(done.unwrap());
    ///     }
    ///     assert_eq!(order, [10, 20, 30]);
    /// });
    /// ```
    pub fn collecting() -> Group<Collect<T>> {
        Group::default()
    }

    /// Spawns a member. Its result goes to the returned handle if you await
    /// it, else to [`join_next`](Self::join_next); after
    /// [`close`](Group::close) the future does not run (the handle resolves
    /// to [`JoinError::Killed`], and `join_next` never sees it).
    ///
    /// # Panics
    /// Outside a sprout runtime.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<T>
    where
        F: Future<Output = T> + 'static,
    {
        if self.inner.is_closed() {
            return rejected(future);
        }
        let handle = self.inner.spawn_member(future, false);
        self.results.collect(&handle);
        handle
    }

    /// [`spawn`](Self::spawn), under `Pool.apply_async`'s name.
    #[track_caller]
    pub fn apply_async<F>(&self, future: F) -> JoinHandle<T>
    where
        F: Future<Output = T> + 'static,
    {
        self.spawn(future)
    }

    /// The next result, in the order members finished: `None` once the
    /// group has no member left and every kept result was taken. A member
    /// whose handle took its result never shows here. Cancellation-safe:
    /// dropping the future (a `select` that picked another branch) loses no
    /// result.
    pub fn join_next(&self) -> JoinNext<'_, T> {
        JoinNext::new(&self.results, &self.inner)
    }

    /// The next result if one is kept, without waiting.
    pub fn try_join_next(&self) -> Option<Result<T, JoinError>> {
        self.results.pop()
    }
}

impl<M: Mode> Group<M> {
    /// Starts tracking a task spawned elsewhere: `join` waits for it and
    /// `kill` kills it. Adding a finished task or a member does nothing,
    /// and so does adding to a closed group.
    ///
    /// # Panics
    /// Outside a sprout runtime.
    #[track_caller]
    pub fn add<T: 'static>(&self, task: &JoinHandle<T>) {
        if !self.inner.is_closed() {
            self.inner.add(task.untyped(), false);
        }
    }

    /// Stops tracking a task, which keeps running. Returns whether it was
    /// a member. Takes time linear in the group's size.
    pub fn discard<T: 'static>(&self, task: &JoinHandle<T>) -> bool {
        self.inner.discard(task.id())
    }

    /// Whether the task is a member. Takes time linear in the group's size.
    pub fn contains<T: 'static>(&self, task: &JoinHandle<T>) -> bool {
        self.inner.contains(task.id())
    }

    /// The number of member tasks that have not finished.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether every member has finished.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits until the group is empty, like gevent's `Group.join()`. Tasks
    /// added while it waits are waited for too.
    pub fn join(&self) -> Join {
        join(&self.inner)
    }

    /// Waits up to `timeout` for the group to empty; returns whether it did,
    /// like `join(timeout)`.
    pub async fn join_timeout(&self, timeout: Duration) -> bool {
        crate::time::timeout(timeout, self.join()).await.is_ok()
    }

    /// Kills every member when the last handle to the group is dropped
    /// (members' own clones count: drop those too), like tokio's
    /// `JoinSet`; off by default, as gevent leaves the greenlets running.
    ///
    /// ```
    /// use std::future::pending;
    /// use sprout::pool::Group;
    ///
    /// sprout::run(async {
    ///     let group = Group::new().kill_on_drop(true);
    ///     let member = group.spawn(pending::<()>());
    ///     drop(group);
    ///     assert!(member.await.unwrap_err().is_killed());
    /// });
    /// ```
    pub fn kill_on_drop(self, kill: bool) -> Self {
        self.owner.set_kill_on_drop(kill);
        self
    }

    /// Kills every member now (see [`JoinHandle::kill`]): their futures are
    /// dropped before `kill` returns, except the calling task's own, which
    /// is dropped after its current poll. The group stays open.
    pub fn kill(&self) {
        self.inner.kill();
    }

    /// Refuses new work, like `multiprocessing.Pool.close()`: later `spawn`,
    /// `apply_async` and map items resolve to [`JoinError::Killed`] without
    /// running. Members keep running; [`join`](Group::join) waits for them.
    pub fn close(&self) {
        self.inner.close();
    }

    /// Whether [`close`](Group::close) or [`terminate`](Group::terminate) was called.
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Closes the group and kills every member, like
    /// `multiprocessing.Pool.terminate()`.
    pub fn terminate(&self) {
        self.close();
        self.kill();
    }

    /// Runs `future` in the group and waits for its result, like
    /// `Pool.apply`. A panic comes back as [`JoinError::Panicked`].
    pub async fn apply<F>(&self, future: F) -> Result<F::Output, JoinError>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        if self.inner.is_closed() {
            return rejected(future).await;
        }
        self.inner.spawn_member(future, false).await
    }

    /// Runs `f(item)` in the group for every item and returns the results
    /// in input order, like `Pool.map`. Every item runs at once (a `Pool`
    /// bounds that). A panic or kill shows as that item's error; the
    /// others go on.
    ///
    /// ```
    /// use sprout::{pool::Group, run};
    ///
    /// run(async {
    ///     let squares = Group::new().map(|x: u64| async move { x * x }, 0..5).await;
    ///     let squares: Vec<u64> = squares.into_iter().map(Result::unwrap).collect();
    ///     assert_eq!(squares, [0, 1, 4, 9, 16]);
    /// });
    /// ```
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
    /// `Pool.starmap`.
    ///
    /// ```
    /// use sprout::{pool::Group, run};
    ///
    /// async fn add(a: i32, b: i32) -> i32 { a + b }
    ///
    /// run(async {
    ///     let sums = Group::new().starmap(add, [(1, 2), (3, 4)]).await;
    ///     assert_eq!(sums.into_iter().map(Result::unwrap).collect::<Vec<_>>(), [3, 7]);
    /// });
    /// ```
    pub async fn starmap<I, F>(&self, mut f: F, items: I) -> Vec<Result<<F::Output as Future>::Output, JoinError>>
    where
        I: IntoIterator,
        F: StarFn<I::Item>,
        F::Output: Future + 'static,
        <F::Output as Future>::Output: 'static,
    {
        self.map(move |args| f.call_star(args), items).await
    }

    /// A stream of `f(item)` results in input order, like `Pool.imap`. The
    /// iterator is read lazily, but a `Group` starts every item it can: at
    /// the first poll, all of them. Use a [`Pool`](super::Pool) to bound
    /// the items in flight. Dropping the stream kills the items it started.
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
    /// `Pool.imap_unordered`. As [`imap`](Group::imap), a `Group` starts
    /// every item at once.
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

impl<M: Mode> fmt::Debug for Group<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Group");
        d.field("len", &self.len()).field("closed", &self.is_closed());
        if let Some(queued) = self.results.queued() {
            d.field("results", &queued);
        }
        d.finish()
    }
}

pub(crate) fn join(inner: &Rc<Inner>) -> Join {
    Join { inner: inner.clone(), key: None }
}

/// The future returned by `join` on a [`Group`] or [`Pool`](super::Pool):
/// ready once the group has been empty since the wait began. Dropping it
/// stops the wait.
#[must_use = "futures do nothing unless awaited"]
pub struct Join {
    inner: Rc<Inner>,
    key: Option<u32>,
}

impl Future for Join {
    type Output = ();

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        this.inner.poll_join(&mut this.key, cx)
    }
}

impl Drop for Join {
    fn drop(&mut self) {
        self.inner.cancel_join(&mut self.key);
    }
}

impl fmt::Debug for Join {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Join").field("waiting", &self.key.is_some()).finish()
    }
}
