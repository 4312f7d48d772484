//! `IoSource`: a non-blocking source driven by the reactor.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::task::{Context, Poll};

use mio::Interest;
use mio::event::Source;

use super::registration::Registration;
use crate::reactor::Direction;

/// A non-blocking I/O source (socket, pipe, device...) registered with the
/// running runtime. Its operations wait cooperatively: while one would
/// block, other tasks run.
///
/// ```
/// use std::io::{Read, Write};
/// use mio::net::UnixStream;
/// use sprout::io::IoSource;
///
/// sprout::run(async {
///     let (a, b) = UnixStream::pair().unwrap();
///     let (a, b) = (IoSource::new(a).unwrap(), IoSource::new(b).unwrap());
///     a.write_with(|mut s| s.write(b"ping")).await.unwrap();
///     let mut buf = [0; 4];
///     let n = b.read_with(|mut s| s.read(&mut buf)).await.unwrap();
///     assert_eq!(&buf[..n], b"ping");
/// });
/// ```
pub struct IoSource<S: Source> {
    source: Option<S>,
    registration: Registration,
}

impl<S: Source> IoSource<S> {
    /// Registers `source` for reading and writing.
    ///
    /// # Errors
    /// Outside a sprout runtime, or if epoll refuses the source.
    pub fn new(source: S) -> io::Result<IoSource<S>> {
        IoSource::with_interest(source, Interest::READABLE | Interest::WRITABLE)
    }

    /// Registers `source` for the given interest.
    pub fn with_interest(mut source: S, interest: Interest) -> io::Result<IoSource<S>> {
        let registration = Registration::new(&mut source, interest)?;
        Ok(IoSource { source: Some(source), registration })
    }

    /// The source.
    pub fn get_ref(&self) -> &S {
        self.source.as_ref().expect("source present until drop")
    }

    /// The source, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        self.source.as_mut().expect("source present until drop")
    }

    /// Runs a non-blocking read-side operation once the source is readable
    /// (or closed, or in error). `WouldBlock` clears readiness and returns
    /// `Pending`; the task wakes on the next edge and polls again;
    /// `Interrupted` yields and retries on the next poll. Spends one unit
    /// of the task's operation budget (the `coop` module).
    pub fn poll_read_with<R>(&self, cx: &mut Context<'_>, op: impl FnOnce(&S) -> io::Result<R>) -> Poll<io::Result<R>> {
        let source = self.get_ref();
        self.registration.poll_io(cx, Direction::Read, || op(source))
    }

    /// Runs a non-blocking write-side operation once the source is
    /// writable (or closed, or in error). See
    /// [`poll_read_with`](Self::poll_read_with).
    pub fn poll_write_with<R>(
        &self,
        cx: &mut Context<'_>,
        op: impl FnOnce(&S) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let source = self.get_ref();
        self.registration.poll_io(cx, Direction::Write, || op(source))
    }

    /// Awaits a read-side operation. See [`poll_read_with`](Self::poll_read_with).
    /// Dropping the future while it waits removes its waiter.
    pub async fn read_with<R>(&self, mut op: impl FnMut(&S) -> io::Result<R>) -> io::Result<R> {
        let source = self.get_ref();
        let mut waiter = self.registration.waiter(Direction::Read);
        poll_fn(|cx| waiter.poll_io(cx, || op(source))).await
    }

    /// Awaits a write-side operation. See [`poll_write_with`](Self::poll_write_with).
    /// Dropping the future while it waits removes its waiter.
    pub async fn write_with<R>(&self, mut op: impl FnMut(&S) -> io::Result<R>) -> io::Result<R> {
        let source = self.get_ref();
        let mut waiter = self.registration.waiter(Direction::Write);
        poll_fn(|cx| waiter.poll_io(cx, || op(source))).await
    }

    /// Waits until the source is readable (or closed, or in error).
    pub async fn readable(&self) -> io::Result<()> {
        self.registration.ready(Direction::Read).await.map(drop)
    }

    /// Waits until the source is writable (or closed, or in error).
    pub async fn writable(&self) -> io::Result<()> {
        self.registration.ready(Direction::Write).await.map(drop)
    }

    /// Deregisters the source and hands it back.
    pub fn into_inner(mut self) -> io::Result<S> {
        let mut source = self.source.take().expect("source present until drop");
        self.registration.deregister(&mut source)?;
        Ok(source)
    }
}

/// The reactor registration under an [`IoSource`], for sprout-net's own
/// readiness loops (`sprout_runtime::__net`): a trait, so that the method
/// is not part of `IoSource`'s public face.
#[doc(hidden)]
pub trait SourceRegistration {
    /// The registration (raw readiness, waiters, `unwait`).
    fn registration(&self) -> &Registration;
}

impl<S: Source> SourceRegistration for IoSource<S> {
    fn registration(&self) -> &Registration {
        &self.registration
    }
}

impl<S: Source> Drop for IoSource<S> {
    fn drop(&mut self) {
        if let Some(mut source) = self.source.take() {
            // Closing the fd would remove it from epoll anyway; deregistering
            // first also covers dup'ed fds. Outside our runtime this fails
            // harmlessly, and the close does the job.
            let _ = self.registration.deregister(&mut source);
        }
    }
}

impl<S: Source + fmt::Debug> fmt::Debug for IoSource<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IoSource").field("source", &self.source).finish()
    }
}
