//! Waiting on anything: the [`Waitable`] trait, [`wait_any`],
//! [`wait_objects`] and [`iwait_objects`] (gevent's `wait(objects,
//! timeout, count)` and `iwait(objects)`).
//!
//! An object is waitable if it can say "I am ready" without anything
//! being taken from it: a task that finished, an event that is set, a
//! result that arrived, a cancelled token, a queue a get (or a put) would
//! not block on, a socket that is readable (or writable). The trait has
//! one method, which makes a fresh future per wait; the future does the
//! registering, and its drop the unregistering, so a wait given up (by a
//! timeout, a `select!`, a killed task) leaves nothing behind, exactly as
//! the object's own waits do.
//!
//! Kinds with one obvious readiness implement it directly ([`JoinHandle`],
//! `Event`, `AsyncResult`, `CancelToken`, in both flavours). Anything
//! else is a closure that makes the future to wait for, which covers the
//! two-sided kinds without a wrapper type per side: `&|| queue.readable()`,
//! `&|| queue.writable()`, `&|| socket.readable()`, `&|| socket.writable()`,
//! or any future at all (`&|| sleep(d)`).
//!
//! The waits keep one boxed future per object (gevent links a callback
//! per object) and poll only the ones that were woken (a
//! `FuturesUnordered`).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use futures_util::stream::{FuturesUnordered, StreamExt};

use crate::sync::generic::{AsyncResult, CancelToken, Event, Flavor, TreeFlavor};
use crate::task::JoinHandle;
use crate::time::{Sleep, poll_wait_timer};

/// Something a task can wait to become ready, without taking anything
/// from it: for [`wait_any`], [`wait_objects`] and [`iwait_objects`].
///
/// Implemented by [`JoinHandle`] (finished), `Event` (set), `AsyncResult`
/// (has a result), `CancelToken` (cancelled), in both flavours; and by
/// every closure that makes a future, `|| future` ([`MakeFuture`]), which
/// is how queue and socket readiness take part:
///
/// ```
/// use std::time::Duration;
/// use sprout::{Waitable, queue::Queue, sleep, spawn, sync::Event, wait_objects};
///
/// sprout::run(async {
///     let q: Queue<u8> = Queue::new(0);
///     let event = Event::new();
///     let task = spawn(sleep(Duration::from_millis(1)));
///     q.put_nowait(1).unwrap();
///     let objects: [&dyn Waitable; 3] = [&task, &event, &|| q.readable()];
///     // The task finishes and the queue is readable; the event is never set.
///     let mut ready = wait_objects(&objects, Some(2), None).await;
///     ready.sort();
///     assert_eq!(ready, [0, 2]);
/// });
/// ```
///
/// Implement it for a type of your own by returning the future that waits
/// for it, boxed in [`ReadyFuture`].
pub trait Waitable {
    /// A future that completes once the object is ready. Dropping it stops
    /// the wait and leaves nothing registered with the object.
    fn ready(&self) -> ReadyFuture<'_>;
}

/// The future of [`Waitable::ready`]: a boxed wait, resolving to `()`.
#[must_use = "futures do nothing unless awaited"]
pub struct ReadyFuture<'a>(Pin<Box<dyn Future<Output = ()> + 'a>>);

impl<'a> ReadyFuture<'a> {
    /// Boxes `wait`, forgetting its output.
    pub fn new(wait: impl Future + 'a) -> ReadyFuture<'a> {
        ReadyFuture(Box::pin(async move {
            wait.await;
        }))
    }
}

impl Future for ReadyFuture<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.0.as_mut().poll(cx)
    }
}

impl fmt::Debug for ReadyFuture<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReadyFuture")
    }
}

/// A closure that makes a future each time it is called: what makes
/// `|| queue.readable()` a [`Waitable`]. Implemented for every
/// `Fn() -> impl Future`; its output is ignored.
pub trait MakeFuture {
    /// The future made.
    type Future: Future;
    /// Makes one.
    fn make(&self) -> Self::Future;
}

impl<F, Fut> MakeFuture for F
where
    F: Fn() -> Fut,
    Fut: Future,
{
    type Future = Fut;

    fn make(&self) -> Fut {
        self()
    }
}

impl<M: MakeFuture> Waitable for M {
    fn ready(&self) -> ReadyFuture<'_> {
        ReadyFuture::new(self.make())
    }
}

impl<T: 'static> Waitable for JoinHandle<T> {
    /// Ready once the task has finished (the result stays in the handle).
    fn ready(&self) -> ReadyFuture<'_> {
        ReadyFuture::new(self.finished())
    }
}

impl<F: Flavor> Waitable for Event<F> {
    /// Ready while the event is set.
    fn ready(&self) -> ReadyFuture<'_> {
        ReadyFuture::new(self.wait())
    }
}

impl<T, E, F: Flavor> Waitable for AsyncResult<T, E, F> {
    /// Ready once it holds a result (which stays there).
    fn ready(&self) -> ReadyFuture<'_> {
        ReadyFuture::new(self.wait())
    }
}

impl<F: TreeFlavor> Waitable for CancelToken<F> {
    /// Ready once the token is cancelled.
    fn ready(&self) -> ReadyFuture<'_> {
        ReadyFuture::new(self.cancelled())
    }
}

/// Waits until one of `objects` is ready and returns its index (the
/// first one found, if several are): `gevent.wait(objects, count=1)`.
/// Nothing is taken from any of them; dropping the future leaves nothing
/// registered.
///
/// ```
/// use std::rc::Rc;
/// use sprout::{Waitable, spawn, sync::Event, wait_any, yield_now};
///
/// sprout::run(async {
///     let (a, b) = (Rc::new(Event::new()), Rc::new(Event::new()));
///     spawn({
///         let b = b.clone();
///         async move { b.set() }
///     });
///     assert_eq!(wait_any(&[&*a as &dyn Waitable, &*b]).await, 1);
/// });
/// ```
///
/// # Panics
/// If `objects` is empty (nothing could ever be ready).
#[track_caller]
pub fn wait_any<'a>(objects: &[&'a dyn Waitable]) -> WaitAny<'a> {
    assert!(!objects.is_empty(), "wait_any: no objects to wait on");
    WaitAny { watching: Watching::new(objects, None) }
}

/// The future returned by [`wait_any`], resolving to an index.
#[must_use = "futures do nothing unless awaited"]
pub struct WaitAny<'a> {
    watching: Watching<'a>,
}

impl Future for WaitAny<'_> {
    type Output = usize;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        match self.watching.poll_next(cx) {
            Poll::Ready(Some(index)) => Poll::Ready(index),
            // Not empty and no time limit: the stream cannot end.
            Poll::Ready(None) => unreachable!("wait_any has objects and no time-out"),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl fmt::Debug for WaitAny<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitAny").field("objects", &self.watching.watches.len()).finish()
    }
}

/// Waits until `count` of `objects` are ready (`None`: all of them), or
/// `timeout` passes (`None`: no limit), and returns the indices of those
/// ready, in the order they became ready: `gevent.wait(objects, timeout,
/// count)`. On time-out the list may be shorter (or empty). A current
/// [`deadline`](crate::deadline) ends it like a time-out.
///
/// A count above `objects.len()` is the length. Nothing is taken from the
/// objects; dropping the future leaves nothing registered.
///
/// ```
/// use std::time::Duration;
/// use sprout::{Waitable, spawn, sleep, sync::Event, wait_objects};
///
/// sprout::run(async {
///     let never = Event::new();
///     let quick = spawn(async {});
///     let objects: [&dyn Waitable; 2] = [&never, &quick];
///     let ready = wait_objects(&objects, None, Some(Duration::from_millis(5))).await;
///     assert_eq!(ready, [1], "the event was not set in time");
/// });
/// ```
pub fn wait_objects<'a>(
    objects: &[&'a dyn Waitable],
    count: Option<usize>,
    timeout: Option<Duration>,
) -> WaitObjects<'a> {
    let count = count.map_or(objects.len(), |n| n.min(objects.len()));
    WaitObjects { watching: Watching::new(objects, timeout), count, ready: Vec::with_capacity(count) }
}

/// The future returned by [`wait_objects`], resolving to the ready indices.
#[must_use = "futures do nothing unless awaited"]
pub struct WaitObjects<'a> {
    watching: Watching<'a>,
    count: usize,
    ready: Vec<usize>,
}

impl Future for WaitObjects<'_> {
    type Output = Vec<usize>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Vec<usize>> {
        let this = &mut *self;
        while this.ready.len() < this.count {
            match this.watching.poll_next(cx) {
                Poll::Ready(Some(index)) => this.ready.push(index),
                Poll::Ready(None) => break,
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(std::mem::take(&mut this.ready))
    }
}

impl fmt::Debug for WaitObjects<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitObjects").field("count", &self.count).field("ready", &self.ready).finish()
    }
}

/// Yields the index of each of `objects` as it becomes ready, in that
/// order, and ends once all have (or `timeout` passes, or a current
/// [`deadline`](crate::deadline)): `gevent.iwait(objects, timeout)`.
///
/// ```
/// use std::time::Duration;
/// use futures_util::StreamExt;
/// use sprout::{Waitable, iwait_objects, sleep, spawn};
///
/// sprout::run(async {
///     let slow = spawn(sleep(Duration::from_millis(3)));
///     let fast = spawn(sleep(Duration::from_millis(1)));
///     let objects: [&dyn Waitable; 2] = [&slow, &fast];
///     let order: Vec<usize> = iwait_objects(&objects, None).collect().await;
///     assert_eq!(order, [1, 0]);
/// });
/// ```
pub fn iwait_objects<'a>(objects: &[&'a dyn Waitable], timeout: Option<Duration>) -> IwaitObjects<'a> {
    IwaitObjects { watching: Watching::new(objects, timeout) }
}

/// The stream returned by [`iwait_objects`], yielding indices.
#[must_use = "streams do nothing unless polled"]
pub struct IwaitObjects<'a> {
    watching: Watching<'a>,
}

impl IwaitObjects<'_> {
    /// The number of objects not yet ready.
    pub fn remaining(&self) -> usize {
        self.watching.watches.len()
    }
}

impl Stream for IwaitObjects<'_> {
    type Item = usize;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<usize>> {
        self.watching.poll_next(cx)
    }
}

impl fmt::Debug for IwaitObjects<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IwaitObjects").field("remaining", &self.remaining()).finish()
    }
}

/// The objects still watched, each with its index, and the time limit.
struct Watching<'a> {
    watches: FuturesUnordered<Indexed<'a>>,
    timeout: Option<Duration>,
    /// Armed at the first wait, under the current deadline.
    timer: Option<Sleep>,
    /// The time limit has passed: the stream has ended.
    expired: bool,
}

impl<'a> Watching<'a> {
    fn new(objects: &[&'a dyn Waitable], timeout: Option<Duration>) -> Watching<'a> {
        let watches =
            objects.iter().enumerate().map(|(index, object)| Indexed { index, ready: object.ready() }).collect();
        Watching { watches, timeout, timer: None, expired: false }
    }

    /// The next object to become ready; `None` once all have, or the time
    /// limit passed (the watches are then dropped, unregistering them).
    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<usize>> {
        if self.expired {
            return Poll::Ready(None);
        }
        match self.watches.poll_next_unpin(cx) {
            Poll::Ready(index) => Poll::Ready(index),
            Poll::Pending => match poll_wait_timer(cx, &mut self.timer, self.timeout) {
                Poll::Ready(()) => {
                    self.expired = true;
                    self.watches.clear();
                    Poll::Ready(None)
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

/// One object's wait, with its index.
struct Indexed<'a> {
    index: usize,
    ready: ReadyFuture<'a>,
}

impl Future for Indexed<'_> {
    type Output = usize;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        let index = self.index;
        Pin::new(&mut self.ready).poll(cx).map(|()| index)
    }
}
