//! `Group`: a set of green tasks to wait for, map over and kill together;
//! collecting (`Group<Collect<T>>`), tokio's `JoinSet` as well.

use std::future::Future;

use super::members::{Members, Unbounded};
use super::results::{Collect, Mode, Untyped};
use super::set::rejected;
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
pub type Group<M = Untyped> = Members<Unbounded, M>;

impl<M: Mode> Default for Group<M> {
    fn default() -> Self {
        Group::with_slots(None)
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
}
