//! `Members<L, M>`: the one type behind [`Group`](super::Group) (no limit)
//! and [`Pool`](super::Pool) (at most `size` running), and everything they
//! do alike: join, kill, close, map over, take results as they finish.
//!
//! What differs between the two lives with each: a group's `spawn` starts
//! the task at once, a pool's waits for a slot (`group.rs`, `bounded.rs`).
//! The limit is a type parameter, not a field test, so that each has the
//! `spawn` it means (sync for a group, async for a pool) and the docs of
//! each show only its own.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use super::map::{self, Imap, ImapUnordered};
use super::results::{Collect, JoinNext, Mode, ResultsOf, Untyped};
use super::set::{Inner, Owner};
use super::slots::Slots;
use super::star::StarFn;
use crate::task::JoinError;

mod sealed {
    /// What a [`Limit`](super::Limit) is made of, in a supertrait users
    /// cannot name: not API.
    pub trait Sealed {
        /// The name `Debug` prints.
        const NAME: &'static str;
    }
}

/// How many of a [`Members`]' tasks may run at once: the marker of its
/// first type parameter, [`Unbounded`] (a [`Group`](super::Group)) or
/// [`Bounded`] (a [`Pool`](super::Pool)).
pub trait Limit: sealed::Sealed + 'static {}

/// No limit: every member runs at once. The limit of a [`Group`](super::Group).
#[derive(Debug)]
pub struct Unbounded {
    _private: (),
}

/// At most `size` members run at once, each holding a slot. The limit of a
/// [`Pool`](super::Pool).
#[derive(Debug)]
pub struct Bounded {
    _private: (),
}

impl sealed::Sealed for Unbounded {
    const NAME: &'static str = "Group";
}

impl sealed::Sealed for Bounded {
    const NAME: &'static str = "Pool";
}

impl Limit for Unbounded {}
impl Limit for Bounded {}

/// A set of green tasks to join, map over and kill as one: the type behind
/// [`Group`](super::Group) (`Members<Unbounded, M>`) and
/// [`Pool`](super::Pool) (`Members<Bounded, M>`). Use those names; this
/// page lists what both do.
///
/// A cheap handle: clones share the same set, so member tasks can spawn
/// more work into it. Dropping every handle leaves the tasks running,
/// unless [`kill_on_drop`](Members::kill_on_drop) is set. Made collecting
/// (`M` = [`Collect<T>`]), it keeps the results nobody takes for
/// [`join_next`](Members::join_next), like tokio's `JoinSet<T>`.
pub struct Members<L: Limit, M: Mode = Untyped> {
    pub(super) inner: Rc<Inner>,
    /// Shared by the handles only (not by members): its drop is the last
    /// handle's, for `kill_on_drop`.
    owner: Rc<Owner>,
    /// A collecting set's results.
    pub(super) results: M::Results,
    _limit: PhantomData<L>,
}

impl<L: Limit, M: Mode> Clone for Members<L, M> {
    fn clone(&self) -> Self {
        Members {
            inner: self.inner.clone(),
            owner: self.owner.clone(),
            results: self.results.clone(),
            _limit: PhantomData,
        }
    }
}

impl<L: Limit, M: Mode> Members<L, M> {
    /// An empty set with `slots` (`None`: no limit).
    pub(super) fn with_slots(slots: Option<Slots>) -> Self {
        let inner = Inner::new(slots);
        Members { owner: Owner::new(&inner), inner, results: M::Results::default(), _limit: PhantomData }
    }

    /// Stops tracking a task, which keeps running (and, in a pool, gives
    /// back its slot). Returns whether it was a member. Takes time linear
    /// in the number of members.
    pub fn discard<T: 'static>(&self, task: &crate::task::JoinHandle<T>) -> bool {
        self.inner.discard(task.id())
    }

    /// Whether the task is a member. Takes time linear in the number of
    /// members.
    pub fn contains<T: 'static>(&self, task: &crate::task::JoinHandle<T>) -> bool {
        self.inner.contains(task.id())
    }

    /// The number of member tasks that have not finished (in a pool,
    /// including `apply_async` tasks still waiting for a slot).
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether every member has finished.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits until no member is left, like gevent's `Group.join()`. Tasks
    /// added while it waits are waited for too.
    pub fn join(&self) -> Join {
        Join { inner: self.inner.clone(), key: None }
    }

    /// Waits up to `timeout` for no member to be left; returns whether
    /// that happened, like `join(timeout)`.
    pub async fn join_timeout(&self, timeout: Duration) -> bool {
        crate::time::timeout(timeout, self.join()).await.is_ok()
    }

    /// Kills every member when the last handle to the set is dropped
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

    /// Kills every member now, queued or running (see
    /// [`JoinHandle::kill`](crate::task::JoinHandle::kill)): their futures
    /// are dropped before `kill` returns, except the calling task's own,
    /// which is dropped after its current poll. The set stays open.
    pub fn kill(&self) {
        self.inner.kill();
    }

    /// Refuses new work, like `multiprocessing.Pool.close()`: later
    /// `spawn`, `apply_async` and map items resolve to
    /// [`JoinError::Killed`] without running, and a pool's `spawn`s
    /// waiting for a slot give up. Members keep running (in a pool, queued
    /// `apply_async` tasks too); [`join`](Members::join) waits for them.
    pub fn close(&self) {
        self.inner.close();
    }

    /// Whether [`close`](Members::close) or [`terminate`](Members::terminate) was called.
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Closes the set and kills every member, queued or running, like
    /// `multiprocessing.Pool.terminate()`.
    pub fn terminate(&self) {
        self.close();
        self.kill();
    }

    /// Runs `f(item)` for every item and returns the results in input
    /// order, like `Pool.map`. A group starts every item at once; a pool
    /// takes items from the iterator only as slots free up. A panic or
    /// kill shows as that item's error; the others go on.
    ///
    /// ```
    /// use sprout::pool::Group;
    ///
    /// sprout::run(async {
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
    /// use sprout::pool::Group;
    ///
    /// async fn add(a: i32, b: i32) -> i32 { a + b }
    ///
    /// sprout::run(async {
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
    /// iterator is read lazily and may be endless. Dropping the stream
    /// kills the items it started.
    ///
    /// A group starts every item it can: at the first poll, all of them. A
    /// pool keeps at most `size` items in flight: started and not yet
    /// yielded, counting finished ones that wait for an earlier item. So a
    /// slow item holds back the window, as with `buffered(size)`; use
    /// [`imap_unordered`](Members::imap_unordered) when order does not
    /// matter.
    ///
    /// ```
    /// use futures_util::StreamExt;
    /// use sprout::pool::Pool;
    ///
    /// sprout::run(async {
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
    /// `Pool.imap_unordered`. As with [`imap`](Members::imap), a group
    /// starts every item at once and a pool keeps at most `size` in
    /// flight; the iterator is read lazily and may be endless, and dropping
    /// the stream kills the items it started.
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

impl<L: Limit, T: 'static> Members<L, Collect<T>> {
    /// The next result, in the order members finished: `None` once no
    /// member is left and every kept result was taken. A member whose
    /// handle took its result never shows here. Cancellation-safe:
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

impl<L: Limit, M: Mode> fmt::Debug for Members<L, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct(L::NAME);
        if let Some(slots) = &self.inner.slots {
            d.field("size", &slots.size()).field("free", &slots.free());
        }
        d.field("len", &self.len()).field("closed", &self.is_closed());
        if let Some(queued) = self.results.queued() {
            d.field("results", &queued);
        }
        d.finish()
    }
}

/// The future returned by [`Members::join`]: ready once no member has been
/// left since the wait began. Dropping it stops the wait.
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
