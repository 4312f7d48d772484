//! `Evented`: a socket registered with the reactor, plus std-style timeouts.
//!
//! Every socket type in this crate, and each end of a child's pipes, is a
//! thin wrapper around `Evented<S>`,
//! which owns the `IoSource` and turns one non-blocking syscall into a
//! cooperative operation:
//!
//! - spend one unit of the task's operation budget (`coop`);
//! - wait until the direction is ready (cached readiness, no syscall); a
//!   future remembers the waiter it leaves (`io::WaitMark`) and forgets it
//!   when dropped, so a read cancelled by a timeout leaves nothing that
//!   keeps `sprout::wait()` waiting;
//! - run the syscall; on `WouldBlock`, clear readiness (error and closed
//!   bits too) and return `Pending`; on `Interrupted`, yield and retry.
//!
//! The loop itself is `sprout_runtime::__net::Registration::poll_io_drained`,
//! the one readiness loop every socket shares: the syscall runs at most
//! once per poll, so no socket state can make a poll spin.
//!
//! Stream reads and writes add one rule: under edge-triggered epoll a
//! *short* read (fewer bytes than asked, but more than none) means the
//! receive queue is drained, and a short write means the send buffer is
//! full. The readiness is cleared at once, so the next operation waits for
//! the next edge instead of paying a syscall that would only say
//! `WouldBlock`. Nothing can be lost: the reactor records events only during
//! the loop's turn, never between this syscall and the clear, and data that
//! arrives after the syscall raises a new edge. A peek never clears (the
//! data stays queued), nor does a datagram receive (one datagram says
//! nothing about the next).
//!
//! Timeouts mirror std's `set_read_timeout` / `set_write_timeout`: an
//! operation that waits longer than the timeout fails with
//! `io::ErrorKind::TimedOut`. Under a `sprout::deadline`, an operation
//! fails the same way at the deadline if that comes first, with or
//! without a timeout of its own. The timer is armed only when the
//! operation first has to wait, so a ready socket never touches the timing
//! wheel, nor reads the current deadline.

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use mio::event::Source;
use sprout_runtime::__net::{Direction, SourceRegistration, WaitMark};
use sprout_runtime::io::{Interest, IoSource};
use sprout_runtime::time::{Sleep, current_deadline, poll_wait_timer};

use crate::lent::{LENT_BUFFER_SIZE, Lent};

/// When a successful operation also means the direction is no longer ready.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Drain {
    /// Never (accept, datagrams, peeks): only `WouldBlock` clears readiness.
    Never,
    /// When it moved fewer bytes than the buffer held (stream read / write).
    Short(usize),
}

/// A registered socket with its read and write timeouts.
pub struct Evented<S: Source> {
    io: IoSource<S>,
    read_timeout: Cell<Option<Duration>>,
    write_timeout: Cell<Option<Duration>>,
    /// The running timer of a poll-based read (`AsyncRead`), which has no
    /// future of its own to keep it in. Async methods keep theirs locally.
    read_timer: Cell<Option<Sleep>>,
    /// As `read_timer`, for `AsyncWrite`.
    write_timer: Cell<Option<Sleep>>,
}

impl<S: Source> Evented<S> {
    /// Registers `source`, which must be non-blocking, for both directions.
    pub fn new(source: S) -> io::Result<Evented<S>> {
        IoSource::new(source).map(Evented::from_io)
    }

    /// Registers `source`, which must be non-blocking, for `interest` only
    /// (a pipe's end, which moves data one way).
    pub fn with_interest(source: S, interest: Interest) -> io::Result<Evented<S>> {
        IoSource::with_interest(source, interest).map(Evented::from_io)
    }

    fn from_io(io: IoSource<S>) -> Evented<S> {
        Evented {
            io,
            read_timeout: Cell::new(None),
            write_timeout: Cell::new(None),
            read_timer: Cell::new(None),
            write_timer: Cell::new(None),
        }
    }

    /// The socket.
    #[inline]
    pub fn get_ref(&self) -> &S {
        self.io.get_ref()
    }

    /// The registered source (for `readable` / `writable`).
    pub fn io(&self) -> &IoSource<S> {
        &self.io
    }

    /// Deregisters the socket and hands it back.
    pub fn into_inner(self) -> io::Result<S> {
        self.io.into_inner()
    }

    /// The read or write timeout in force (`None`: wait for ever).
    pub fn timeout(&self, dir: Direction) -> Option<Duration> {
        match dir {
            Direction::Read => self.read_timeout.get(),
            Direction::Write => self.write_timeout.get(),
        }
    }

    /// Sets a timeout; `Some(Duration::ZERO)` is refused, as std does.
    pub fn set_timeout(&self, dir: Direction, timeout: Option<Duration>) -> io::Result<()> {
        if timeout == Some(Duration::ZERO) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "cannot set a 0 duration timeout"));
        }
        match dir {
            Direction::Read => self.read_timeout.set(timeout),
            Direction::Write => self.write_timeout.set(timeout),
        }
        Ok(())
    }

    /// Runs `op` once `dir` is ready, without a timeout. See the module docs.
    #[inline]
    pub fn poll_op<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        drain: Drain,
        op: impl FnOnce(&S) -> io::Result<R>,
        moved: impl Fn(&R) -> usize,
    ) -> Poll<io::Result<R>> {
        let source = self.io.get_ref();
        let drained = |r: &R| match drain {
            Drain::Never => false,
            Drain::Short(len) => (1..len).contains(&moved(r)),
        };
        self.io.registration().poll_io_drained(cx, dir, || op(source), drained)
    }

    /// `poll_op` under the direction's timeout, with the socket's own
    /// timer slot, for the poll-based traits (`AsyncRead`, `AsyncWrite`).
    pub fn poll_op_stored<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        drain: Drain,
        op: impl FnOnce(&S) -> io::Result<R>,
        moved: impl Fn(&R) -> usize,
    ) -> Poll<io::Result<R>> {
        let slot = match dir {
            Direction::Read => &self.read_timer,
            Direction::Write => &self.write_timer,
        };
        let mut timer = slot.take();
        let poll = self.poll_op(cx, dir, drain, op, moved);
        if timer.is_none() && poll.is_ready() {
            return poll;
        }
        let poll = with_timeout(cx, poll, self.timeout(dir), &mut timer);
        slot.set(timer);
        poll
    }

    /// Awaits `op` once `dir` is ready, under the direction's timeout.
    pub async fn op<R>(
        &self,
        dir: Direction,
        drain: Drain,
        mut op: impl FnMut(&S) -> io::Result<R>,
        moved: impl Fn(&R) -> usize,
    ) -> io::Result<R> {
        let mut waiting = Waiting::new(self, dir);
        std::future::poll_fn(|cx| waiting.poll_op(cx, drain, &mut op, &moved)).await
    }

    /// Waits until `dir` is ready (or closed, or in error), under its timeout.
    pub async fn ready(&self, dir: Direction) -> io::Result<()> {
        let mut waiter = self.io.registration().waiter(dir);
        let mut timer = None;
        let timeout = self.timeout(dir);
        std::future::poll_fn(|cx| {
            let poll = waiter.poll_ready(cx).map_ok(drop);
            with_timeout(cx, poll, timeout, &mut timer)
        })
        .await
    }
}

/// What every waiting operation of an `Evented` holds besides its buffer:
/// the socket and the direction, the waiter its last `Pending` left, and
/// the timer of the direction's timeout (armed only once it has to wait).
///
/// Its drop forgets the waiter (`Registration::unwait`), so an operation
/// cancelled while it waits (by a timeout, a `select`) leaves nothing that
/// keeps `sprout::wait()` waiting. Every future below, `Evented::op` and
/// the listeners' `accept` keep one, so that rule is written once.
pub(crate) struct Waiting<'a, S: Source> {
    evented: &'a Evented<S>,
    dir: Direction,
    mark: WaitMark,
    timer: Option<Sleep>,
}

impl<'a, S: Source> Waiting<'a, S> {
    /// Nothing waited yet for an operation of `evented` on `dir`.
    #[inline]
    pub(crate) fn new(evented: &'a Evented<S>, dir: Direction) -> Waiting<'a, S> {
        Waiting { evented, dir, mark: WaitMark::NONE, timer: None }
    }

    /// `Evented::poll_op` under the direction's timeout; records the waiter
    /// a `Pending` leaves.
    #[inline]
    pub(crate) fn poll_op<R>(
        &mut self,
        cx: &mut Context<'_>,
        drain: Drain,
        op: impl FnOnce(&S) -> io::Result<R>,
        moved: impl Fn(&R) -> usize,
    ) -> Poll<io::Result<R>> {
        let poll = self.evented.poll_op(cx, self.dir, drain, op, moved);
        self.mark = WaitMark::after(&poll, cx);
        // The common case, no timer and ready: nothing more to do.
        if self.timer.is_none() && poll.is_ready() {
            return poll;
        }
        with_timeout(cx, poll, self.evented.timeout(self.dir), &mut self.timer)
    }

    /// Records the waiter a poll of another kind left (a listener's
    /// `poll_accept`, which has no timeout).
    #[inline]
    pub(crate) fn left<R>(&mut self, poll: &Poll<R>, cx: &Context<'_>) {
        self.mark = WaitMark::after(poll, cx);
    }
}

impl<S: Source> Drop for Waiting<'_, S> {
    #[inline]
    fn drop(&mut self) {
        if self.mark.is_set() {
            self.evented.io.registration().unwait(self.dir, self.mark);
        }
    }
}

/// Applies an optional timeout, and the current deadline
/// (`sprout::deadline`), to an operation's poll result: the timer is armed
/// at the first `Pending`, at the earlier of the two.
#[inline]
pub fn with_timeout<R>(
    cx: &mut Context<'_>,
    poll: Poll<io::Result<R>>,
    timeout: Option<Duration>,
    timer: &mut Option<Sleep>,
) -> Poll<io::Result<R>> {
    match poll {
        Poll::Ready(result) => {
            *timer = None;
            Poll::Ready(result)
        }
        // The common wait: no timer, no timeout, no deadline: one
        // thread-local read, and nothing called.
        Poll::Pending if timer.is_none() && timeout.is_none() && current_deadline().is_none() => Poll::Pending,
        Poll::Pending => match poll_wait_timer(cx, timer, timeout) {
            Poll::Ready(()) => {
                *timer = None;
                Poll::Ready(Err(timed_out()))
            }
            Poll::Pending => Poll::Pending,
        },
    }
}

/// The error of an operation that outlived its timeout, as std reports it.
pub(crate) fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "the operation timed out")
}

/// Byte-stream reads (TCP and Unix streams, a child's stdout and stderr):
/// a short read clears readiness, and the std `Read` helpers are built
/// here once. Only `&S: Read` is asked, so a source that reads only (the
/// read end of a pipe) has the whole family, timeouts included.
///
/// The hot ones (`read`, `read_exact`, and `write`, `write_all` below) are
/// futures written by hand rather than `async fn`s: one small state
/// machine per call instead of a nest of them, which the echo benchmark
/// can measure.
impl<S: Source> Evented<S>
where
    for<'a> &'a S: io::Read,
{
    /// `AsyncRead::poll_read`.
    #[inline]
    pub fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let len = buf.len();
        self.poll_op_stored(cx, Direction::Read, Drain::Short(len), |mut s| io::Read::read(&mut s, buf), |&n| n)
    }

    /// `AsyncRead::poll_read_vectored`.
    pub fn poll_read_vectored(&self, cx: &mut Context<'_>, bufs: &mut [io::IoSliceMut<'_>]) -> Poll<io::Result<usize>> {
        let len = bufs.iter().map(|b| b.len()).sum();
        if len == 0 {
            return Poll::Ready(Ok(0));
        }
        self.poll_op_stored(
            cx,
            Direction::Read,
            Drain::Short(len),
            |mut s| io::Read::read_vectored(&mut s, bufs),
            |&n| n,
        )
    }

    /// `read`: some bytes into `buf`.
    #[inline]
    pub fn read_bytes<'a>(&'a self, buf: &'a mut [u8]) -> ReadBytes<'a, S> {
        ReadBytes { waiting: Waiting::new(self, Direction::Read), buf }
    }

    /// `read_exact`: all of `buf`, or `UnexpectedEof`.
    #[inline]
    pub fn read_exact<'a>(&'a self, buf: &'a mut [u8]) -> ReadExact<'a, S> {
        ReadExact { waiting: Waiting::new(self, Direction::Read), buf }
    }

    /// `read_lent`: waits for readiness holding no buffer, then reads into
    /// one lent by the thread's pool (see `crate::lent`).
    #[inline]
    pub fn read_lent(&self) -> ReadLent<'_, S> {
        ReadLent { waiting: Waiting::new(self, Direction::Read) }
    }

    /// Reads into several buffers at once (`readv`).
    pub async fn read_vectored(&self, bufs: &mut [io::IoSliceMut<'_>]) -> io::Result<usize> {
        let len = bufs.iter().map(|b| b.len()).sum();
        if len == 0 {
            return Ok(0);
        }
        self.op(Direction::Read, Drain::Short(len), |mut s| io::Read::read_vectored(&mut s, bufs), |&n| n).await
    }

    /// Reads until the other end closes its side, appending to `buf`.
    pub async fn read_to_end(&self, buf: &mut Vec<u8>) -> io::Result<usize> {
        crate::read_all::read_to_end(buf, async |b| self.read_bytes(b).await).await
    }

    /// `what` names the source in the error when the bytes are not UTF-8.
    pub async fn read_to_string(&self, buf: &mut String, what: &str) -> io::Result<usize> {
        crate::read_all::read_to_string(buf, what, async |b| self.read_bytes(b).await).await
    }
}

/// Byte-stream writes (TCP and Unix streams, a child's stdin): a short
/// write clears readiness. Only `&S: Write` is asked.
impl<S: Source> Evented<S>
where
    for<'a> &'a S: io::Write,
{
    /// `AsyncWrite::poll_write`.
    #[inline]
    pub fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        self.poll_op_stored(
            cx,
            Direction::Write,
            Drain::Short(buf.len()),
            |mut s| io::Write::write(&mut s, buf),
            |&n| n,
        )
    }

    /// `AsyncWrite::poll_write_vectored`.
    pub fn poll_write_vectored(&self, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        let len = bufs.iter().map(|b| b.len()).sum();
        if len == 0 {
            return Poll::Ready(Ok(0));
        }
        self.poll_op_stored(
            cx,
            Direction::Write,
            Drain::Short(len),
            |mut s| io::Write::write_vectored(&mut s, bufs),
            |&n| n,
        )
    }

    /// `write`: some bytes from `buf`.
    #[inline]
    pub fn write_bytes<'a>(&'a self, buf: &'a [u8]) -> WriteBytes<'a, S> {
        WriteBytes { waiting: Waiting::new(self, Direction::Write), buf }
    }

    /// `write_all`: all of `buf`, or `WriteZero`.
    #[inline]
    pub fn write_all<'a>(&'a self, buf: &'a [u8]) -> WriteAll<'a, S> {
        WriteAll { waiting: Waiting::new(self, Direction::Write), buf }
    }

    /// Writes from several buffers at once (`writev`).
    pub async fn write_vectored(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let len = bufs.iter().map(|b| b.len()).sum();
        if len == 0 {
            return Ok(0);
        }
        self.op(Direction::Write, Drain::Short(len), |mut s| io::Write::write_vectored(&mut s, bufs), |&n| n).await
    }
}

impl<S: Source> Waiting<'_, S>
where
    for<'a> &'a S: io::Read,
{
    /// One read into `buf`, under the read timeout.
    #[inline(always)]
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let len = buf.len();
        self.poll_op(cx, Drain::Short(len), |mut s| io::Read::read(&mut s, buf), |&n| n)
    }
}

impl<S: Source> Waiting<'_, S>
where
    for<'a> &'a S: io::Write,
{
    /// One write from `buf`, under the write timeout.
    #[inline(always)]
    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let len = buf.len();
        self.poll_op(cx, Drain::Short(len), |mut s| io::Write::write(&mut s, buf), |&n| n)
    }
}

/// The future of a stream's `read`.
pub struct ReadBytes<'a, S: Source> {
    waiting: Waiting<'a, S>,
    buf: &'a mut [u8],
}

impl<S: Source> Future for ReadBytes<'_, S>
where
    for<'b> &'b S: io::Read,
{
    type Output = io::Result<usize>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.waiting.poll_read(cx, this.buf)
    }
}

/// The future of a stream's `read_lent`: no buffer until the read itself.
pub struct ReadLent<'a, S: Source> {
    waiting: Waiting<'a, S>,
}

impl<S: Source> Future for ReadLent<'_, S>
where
    for<'b> &'b S: io::Read,
{
    type Output = io::Result<Lent>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<Lent>> {
        // The buffer is taken inside the operation, which runs only once the
        // socket is readable; a `WouldBlock` gives it straight back.
        self.get_mut().waiting.poll_op(
            cx,
            Drain::Short(LENT_BUFFER_SIZE),
            |mut s| {
                let mut lent = Lent::empty();
                let n = io::Read::read(&mut s, lent.spare())?;
                Ok(lent.filled(n))
            },
            |lent| lent.len(),
        )
    }
}

/// The future of a stream's `write`.
pub struct WriteBytes<'a, S: Source> {
    waiting: Waiting<'a, S>,
    buf: &'a [u8],
}

impl<S: Source> Future for WriteBytes<'_, S>
where
    for<'b> &'b S: io::Write,
{
    type Output = io::Result<usize>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.waiting.poll_write(cx, this.buf)
    }
}

/// The future of a stream's `read_exact`: the unread rest of the buffer.
pub struct ReadExact<'a, S: Source> {
    waiting: Waiting<'a, S>,
    buf: &'a mut [u8],
}

impl<S: Source> Future for ReadExact<'_, S>
where
    for<'b> &'b S: io::Read,
{
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        while !this.buf.is_empty() {
            // Each read gets the whole timeout, as each std read does.
            match ready!(this.waiting.poll_read(cx, this.buf))? {
                0 => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "failed to fill whole buffer",
                    )));
                }
                n => this.buf = &mut std::mem::take(&mut this.buf)[n..],
            }
        }
        Poll::Ready(Ok(()))
    }
}

/// The future of a stream's `write_all`: the unsent rest of the buffer.
pub struct WriteAll<'a, S: Source> {
    waiting: Waiting<'a, S>,
    buf: &'a [u8],
}

impl<S: Source> Future for WriteAll<'_, S>
where
    for<'b> &'b S: io::Write,
{
    type Output = io::Result<()>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        while !this.buf.is_empty() {
            match ready!(this.waiting.poll_write(cx, this.buf))? {
                0 => return Poll::Ready(Err(io::Error::new(io::ErrorKind::WriteZero, "failed to write whole buffer"))),
                n => this.buf = &this.buf[n..],
            }
        }
        Poll::Ready(Ok(()))
    }
}

// The futures and the socket say what they are; their fields (a waiter, a
// borrowed buffer, a source of any type) have nothing a reader needs.
macro_rules! debug_by_name {
    ($($ty:ident),*) => {$(
        impl<S: Source> fmt::Debug for $ty<'_, S> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($ty)).finish_non_exhaustive()
            }
        }
    )*};
}
debug_by_name!(ReadBytes, ReadLent, WriteBytes, ReadExact, WriteAll);

impl<S: Source> fmt::Debug for Evented<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Evented")
            .field("read_timeout", &self.read_timeout.get())
            .field("write_timeout", &self.write_timeout.get())
            .finish_non_exhaustive()
    }
}
