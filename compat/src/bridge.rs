//! [`Tokio`]: the wrapper, and its `Future` impl.
//!
//! # Design notes
//! - The inner value is polled where the wrapper is polled (the sprout
//!   task's thread), with the tokio runtime's context entered around the
//!   call: whatever the inner value creates there (sockets, timers,
//!   `tokio::spawn`) belongs to that runtime, whose own threads drive the
//!   sockets and timers and wake the waker of the poll (the sprout task's,
//!   which any thread may wake). Nothing crosses a thread but those wakes.
//! - The context is entered for the drop too: a tokio-bound value may need
//!   the runtime when it goes (a pool that hands its connection back with
//!   `tokio::spawn` in `Drop`), and a sprout task may be killed, and its
//!   future dropped, at any await point. Hence `inner` is an `Option`,
//!   emptied only by that drop and by `into_inner`.
//! - `seek` is the one piece of I/O state, an `AsyncSeek` request in
//!   flight (`io.rs`); a future never touches it.

use std::fmt;
use std::future::Future;
use std::io::SeekFrom;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use tokio::runtime::{EnterGuard, Handle};

pin_project! {
    /// A future, an I/O object or a tower service that runs inside a tokio
    /// runtime's context: by default the one side runtime of the process
    /// ([`handle`](crate::handle)), started on first use.
    ///
    /// - As a `Future`, it polls the inner future on the current task (a
    ///   sprout task, or any executor's), with the tokio context entered,
    ///   so `tokio::spawn`, `tokio::time` and `tokio::net` work inside it;
    ///   the side runtime's threads drive the sockets and timers and wake
    ///   the task. The output is the inner future's.
    /// - As an I/O object, it turns tokio's `AsyncRead`/`AsyncWrite`/
    ///   `AsyncBufRead`/`AsyncSeek` into futures-io's, and back.
    /// - As a `tower::Service`, it calls the inner service, and polls its
    ///   futures, in the context (tower-http's `TimeoutLayer` needs tokio's
    ///   timer).
    ///
    /// Dropping it drops the inner value in the context as well.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sprout::compat::Tokio;
    ///
    /// sprout::run(async {
    ///     let waited = Tokio::new(async {
    ///         tokio::time::sleep(Duration::from_millis(5)).await; // tokio's timer, on a sprout task
    ///         tokio::spawn(async { 6 * 7 }).await.unwrap() // runs on the side runtime
    ///     })
    ///     .await;
    ///     assert_eq!(waited, 42);
    /// });
    /// ```
    pub struct Tokio<T> {
        #[pin]
        inner: Option<T>,
        handle: Handle,
        seek: Option<SeekFrom>,
    }

    impl<T> PinnedDrop for Tokio<T> {
        fn drop(this: Pin<&mut Self>) {
            let mut this = this.project();
            if this.inner.is_some() {
                let _context = this.handle.enter();
                this.inner.set(None);
            }
        }
    }
}

const TAKEN: &str = "the inner value is gone only during drop or after into_inner";

impl<T> Tokio<T> {
    /// Wraps `inner` for the side runtime (started now if it has not
    /// started).
    ///
    /// # Panics
    /// If the side runtime cannot start (see [`handle`](crate::handle)).
    pub fn new(inner: T) -> Tokio<T> {
        Tokio::with_handle(inner, crate::side::side().clone())
    }

    /// Wraps `inner` for the runtime of `handle` (which must drive itself:
    /// see [`set_handle`](crate::set_handle)).
    pub fn with_handle(inner: T, handle: Handle) -> Tokio<T> {
        Tokio { inner: Some(inner), handle, seek: None }
    }

    /// The handle of the runtime this wrapper enters.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// The inner value.
    pub fn get_ref(&self) -> &T {
        self.inner.as_ref().expect(TAKEN)
    }

    /// The inner value, mutably. Calling its methods does not enter the
    /// context: a method that needs tokio belongs in a wrapped future.
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.as_mut().expect(TAKEN)
    }

    /// Unwraps the inner value; it is then no longer dropped in the context.
    pub fn into_inner(mut self) -> T {
        self.inner.take().expect(TAKEN)
    }

    /// The inner value, pinned, and the context entered until the guard
    /// drops (declare the guard first: it must outlive the use).
    pub(crate) fn enter(self: Pin<&mut Self>) -> (EnterGuard<'_>, Pin<&mut T>) {
        let this = self.project();
        let handle: &Handle = this.handle;
        (handle.enter(), this.inner.as_pin_mut().expect(TAKEN))
    }

    /// The inner value, pinned, the pending seek, and the handle.
    pub(crate) fn parts(self: Pin<&mut Self>) -> (&Handle, Pin<&mut T>, &mut Option<SeekFrom>) {
        let this = self.project();
        (this.handle, this.inner.as_pin_mut().expect(TAKEN), this.seek)
    }

    /// Unpinned access for the tower impls (`&mut self` there).
    pub(crate) fn split_mut(&mut self) -> (&Handle, &mut T) {
        (&self.handle, self.inner.as_mut().expect(TAKEN))
    }
}

impl<T: Future> Future for Tokio<T> {
    type Output = T::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T::Output> {
        let (_context, inner) = self.enter();
        inner.poll(cx)
    }
}

impl<T: Clone> Clone for Tokio<T> {
    fn clone(&self) -> Tokio<T> {
        Tokio::with_handle(self.get_ref().clone(), self.handle.clone())
    }
}

impl<T: fmt::Debug> fmt::Debug for Tokio<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Tokio").field(&self.inner).finish()
    }
}

/// `.compat()` and friends on every value: wraps it in [`Tokio`] for the
/// side runtime.
///
/// ```
/// use sprout::compat::CompatExt;
///
/// sprout::run(async {
///     let listener = async { tokio::net::TcpListener::bind("127.0.0.1:0").await }.compat().await.unwrap();
///     assert!(listener.local_addr().unwrap().port() > 0);
/// });
/// ```
///
/// The name clashes with `tokio_util::compat`'s `.compat()` (futures-io to
/// tokio-io only, with no runtime) when both traits are imported: import
/// one, or call `Tokio::new`.
pub trait CompatExt {
    /// Wraps `self`: a future then runs in the side runtime's context; an
    /// I/O object speaks the other side's traits.
    fn compat(self) -> Tokio<Self>
    where
        Self: Sized,
    {
        Tokio::new(self)
    }

    /// Wraps `&self` (an I/O object whose `&T` implements the traits).
    fn compat_ref(&self) -> Tokio<&Self> {
        Tokio::new(self)
    }

    /// Wraps `&mut self`, to lend an I/O object to a function that takes the
    /// other side's traits and keep it afterwards.
    fn compat_mut(&mut self) -> Tokio<&mut Self> {
        Tokio::new(self)
    }
}

impl<T: ?Sized> CompatExt for T {}
