//! Collecting groups and pools (`Group<Collect<T>>`, `Pool<Collect<T>>`):
//! tokio's `JoinSet` on a gevent group. Members all return `T`; the result
//! of each member whose `JoinHandle` nobody takes is kept, in the order
//! they finish, for `join_next`.
//!
//! Ground rules:
//! - A result reaches the queue through the task's output sink
//!   (`JoinHandle::set_sink`): when the member finishes with its handle
//!   already dropped, or when its handle is dropped after it finished. A
//!   handle that is awaited takes the result instead, and the member never
//!   shows in `join_next`.
//! - `join_next` holds nothing but wait-list keys: dropping it (a `select`
//!   that picked another branch) loses no result, which stays queued.
//! - A panic left unread when the queue goes is reported as a task panic
//!   nobody joined (the runtime's `PanicPolicy`).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::set::Inner;
use crate::sync::wait_list::WaitList;
use crate::task::compact::CompactWaker;
use crate::task::executor::Executor;
use crate::task::harness::{Unjoined, report};
use crate::task::{JoinError, JoinHandle, TaskId};

mod sealed {
    /// What a [`Mode`](super::Mode) keeps, in a supertrait users cannot
    /// name: the state is the runtime's business, not API.
    pub trait Sealed {
        /// The state a group of this mode keeps: nothing, or the result queue.
        type Results: Clone + Default + ResultsOf;
    }

    /// How many results a group's state holds (for `Debug`).
    pub trait ResultsOf {
        fn queued(&self) -> Option<usize>;
    }
}

pub(crate) use sealed::ResultsOf;

/// What a [`Group`](super::Group) or [`Pool`](super::Pool) does with its
/// members' results: the marker of their type parameter, [`Untyped`] (the
/// default) or [`Collect<T>`].
pub trait Mode: sealed::Sealed + 'static {}

/// Members of any output type, whose results stay with their handles (a
/// result nobody takes is dropped): gevent's `Group` and `Pool`.
#[derive(Debug)]
pub struct Untyped {
    _private: (),
}

/// Members that all return `T`, whose results nobody takes are kept for
/// `join_next`: tokio's `JoinSet<T>`. Made by
/// [`Group::collecting`](super::Group::collecting) and
/// [`Pool::collecting`](super::Pool::collecting).
pub struct Collect<T> {
    _output: PhantomData<fn() -> T>,
}

// By hand: a derive would ask `T: Debug` of a marker that holds no `T`.
impl<T> fmt::Debug for Collect<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Collect")
    }
}

impl sealed::Sealed for Untyped {
    type Results = ();
}

impl<T: 'static> sealed::Sealed for Collect<T> {
    type Results = Rc<Results<T>>;
}

impl Mode for Untyped {}
impl<T: 'static> Mode for Collect<T> {}

impl ResultsOf for () {
    fn queued(&self) -> Option<usize> {
        None
    }
}

impl<T> ResultsOf for Rc<Results<T>> {
    fn queued(&self) -> Option<usize> {
        Some(self.queue.borrow().len())
    }
}

/// The results of a collecting group, and the `join_next`s waiting for one.
pub struct Results<T> {
    queue: RefCell<VecDeque<(TaskId, Result<T, JoinError>)>>,
    waiters: RefCell<WaitList>,
}

impl<T> Default for Results<T> {
    fn default() -> Self {
        Results { queue: RefCell::new(VecDeque::new()), waiters: RefCell::new(WaitList::new()) }
    }
}

impl<T: 'static> Results<T> {
    /// Sends `handle`'s result here if nobody takes it from the handle.
    pub(crate) fn collect(self: &Rc<Self>, handle: &JoinHandle<T>) {
        let results = self.clone();
        let id = handle.id();
        handle.set_sink(move |output| results.push(id, output));
    }

    fn push(&self, id: TaskId, output: Result<T, JoinError>) {
        self.queue.borrow_mut().push_back((id, output));
        let mut woken = Vec::new();
        // Every waiter looks again: one takes the result, the others wait
        // on (a dropped `join_next` then needs no hand-over).
        self.waiters.borrow_mut().notify_all(&mut woken);
        woken.into_iter().for_each(CompactWaker::wake);
    }

    /// The oldest result, if any.
    pub(crate) fn pop(&self) -> Option<Result<T, JoinError>> {
        self.queue.borrow_mut().pop_front().map(|(_, output)| output)
    }

    /// The number of results waiting to be taken.
    pub(crate) fn len(&self) -> usize {
        self.queue.borrow().len()
    }
}

impl<T> Drop for Results<T> {
    /// A panic nobody read is reported, as a task's would be.
    fn drop(&mut self) {
        for (id, output) in self.queue.get_mut().drain(..) {
            if let Err(err) = output.map(drop) {
                if !err.is_panic() {
                    continue;
                }
                let who = Unjoined { id, name: None, note: " (its result was kept for join_next and never read)" };
                match Executor::current() {
                    Some(executor) => executor.unjoined_failure(who, err),
                    None => report(who, &err, "task"),
                }
            }
        }
    }
}

impl<T> fmt::Debug for Results<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Results").field("queued", &self.queue.borrow().len()).finish()
    }
}

/// The future of `join_next` on a collecting [`Group`](super::Group) or
/// [`Pool`](super::Pool): the next result, in the order members finished;
/// `None` once the group is empty and every kept result was taken.
/// Dropping it loses no result.
#[must_use = "futures do nothing unless awaited"]
pub struct JoinNext<'a, T> {
    results: &'a Rc<Results<T>>,
    inner: &'a Rc<Inner>,
    /// Our place among the waiters for a result.
    key: Option<u32>,
    /// Our place among the waiters for the group to empty.
    join_key: Option<u32>,
}

impl<'a, T: 'static> JoinNext<'a, T> {
    pub(crate) fn new(results: &'a Rc<Results<T>>, inner: &'a Rc<Inner>) -> JoinNext<'a, T> {
        JoinNext { results, inner, key: None, join_key: None }
    }

    fn stop_waiting(&mut self) {
        if let Some(key) = self.key.take() {
            // Every waiter is notified at once: nothing to pass on.
            let _ = self.results.waiters.borrow_mut().cancel(key);
        }
        self.inner.cancel_join(&mut self.join_key);
    }
}

impl<T: 'static> Future for JoinNext<'_, T> {
    type Output = Option<Result<T, JoinError>>;

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        loop {
            if let Some(output) = this.results.pop() {
                this.stop_waiting();
                return Poll::Ready(Some(output));
            }
            // Ready once the group has been empty since we started waiting:
            // then look at the queue once more (the last member's result is
            // queued as it finishes), and end.
            if this.inner.poll_join(&mut this.join_key, cx).is_ready() {
                if this.results.len() > 0 {
                    continue;
                }
                this.stop_waiting();
                return Poll::Ready(None);
            }
            break;
        }
        let mut waiters = this.results.waiters.borrow_mut();
        match this.key {
            Some(key) => {
                if waiters.poll(key, cx.waker()) {
                    // Notified, but the result went to another waiter: wait again.
                    this.key = Some(waiters.push(cx.waker()));
                }
            }
            None => this.key = Some(waiters.push(cx.waker())),
        }
        // `poll_join` noted the wait (`PoolJoin`), at the caller's `.await`.
        Poll::Pending
    }
}

impl<T> Drop for JoinNext<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let _ = self.results.waiters.borrow_mut().cancel(key);
        }
        self.inner.cancel_join(&mut self.join_key);
    }
}

impl<T> fmt::Debug for JoinNext<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinNext").field("waiting", &self.key.is_some()).finish()
    }
}
