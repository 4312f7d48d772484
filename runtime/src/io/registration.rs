//! `Registration`: a source's record in the reactor, and the waiters that
//! futures keep on it. sprout-net's plumbing, reached through
//! `sprout_runtime::__net` (not re-exported by the `sprout` facade); users
//! have [`IoSource`](super::IoSource).
//!
//! Rules for a readiness loop built on these (every one in sprout-net):
//! - Under edge-triggered epoll, an operation that stops early (say, after
//!   a short read) may call [`Registration::clear_drained`], sparing the
//!   next operation a syscall that would only say `WouldBlock` (not calling
//!   it costs that syscall, never a lost wake-up).
//! - A loop that drives readiness itself (`poll_ready`, then its own
//!   syscall) ends on `WouldBlock` with [`Registration::poll_blocked`],
//!   never by polling readiness again in a loop: the cached bits would let
//!   it straight back in.
//! - A future that waits holds a [`Waiter`] (or a [`WaitMark`] and calls
//!   [`Registration::unwait`] in its drop), so that a dropped wait stops
//!   counting for `sprout::wait()`.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::task::{Context, Poll};

use mio::Interest;
use mio::event::Source;

use crate::reactor::scheduled_io::{ERROR, PRIORITY, READ_CLOSED, READABLE, WRITABLE, WRITE_CLOSED};
use crate::reactor::{Direction, IoKey, Reactor, WaitKey};
use crate::remote::directory::{self, Unregister};
use crate::task::coop;

/// Readiness reported by the reactor.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Ready(u8);

impl Ready {
    /// Data (or a connection) can be read.
    pub fn is_readable(self) -> bool {
        self.0 & READABLE != 0
    }
    /// Data can be written.
    pub fn is_writable(self) -> bool {
        self.0 & WRITABLE != 0
    }
    /// The peer closed its writing side (EOF ahead).
    pub fn is_read_closed(self) -> bool {
        self.0 & READ_CLOSED != 0
    }
    /// The peer closed its reading side, or the connection is gone.
    pub fn is_write_closed(self) -> bool {
        self.0 & WRITE_CLOSED != 0
    }
    /// The source reported an error.
    pub fn is_error(self) -> bool {
        self.0 & ERROR != 0
    }
    /// Priority (out-of-band) data arrived.
    pub fn is_priority(self) -> bool {
        self.0 & PRIORITY != 0
    }
}

impl fmt::Debug for Ready {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (READABLE, "READABLE"),
            (WRITABLE, "WRITABLE"),
            (READ_CLOSED, "READ_CLOSED"),
            (WRITE_CLOSED, "WRITE_CLOSED"),
            (ERROR, "ERROR"),
            (PRIORITY, "PRIORITY"),
        ];
        let set: Vec<&str> = names.iter().filter(|(b, _)| self.0 & b != 0).map(|(_, n)| *n).collect();
        write!(f, "Ready({})", set.join(" | "))
    }
}

/// A source's registration with the running runtime's reactor. Most code
/// uses [`IoSource`](super::IoSource), which owns both the source and this.
///
/// Dropping it forgets the reactor's record, wherever it is dropped;
/// deregistering the source itself from epoll is the owner's job
/// (`IoSource` does it; outside the runtime, closing the descriptor does).
pub struct Registration {
    serial: u32,
    io: IoKey,
}

impl Registration {
    /// Registers `source` with the running runtime's reactor.
    ///
    /// # Errors
    /// Outside a sprout runtime, or if epoll refuses the source.
    pub fn new(source: &mut impl Source, interest: Interest) -> io::Result<Registration> {
        let reactor = Reactor::current().ok_or_else(outside_runtime)?;
        let io = reactor.register(source, interest)?;
        Ok(Registration { serial: reactor.serial(), io })
    }

    /// The reactor this registration belongs to, if its runtime is running here.
    #[inline]
    fn reactor(&self) -> Option<&Reactor> {
        Reactor::current().filter(|r| r.serial() == self.serial)
    }

    /// Waits until `dir` may proceed.
    #[inline]
    pub fn poll_ready(&self, cx: &mut Context<'_>, dir: Direction) -> Poll<io::Result<Ready>> {
        let Some(reactor) = self.reactor() else { return Poll::Ready(Err(wrong_runtime())) };
        reactor.poll_ready(self.io, dir, cx).map(|bits| Ok(Ready(bits)))
    }

    /// Forgets readiness after an operation returned `WouldBlock`: every
    /// bit in `ready` goes, the closed and error bits included.
    ///
    /// `WouldBlock` is the kernel saying this direction cannot proceed
    /// now, whatever the cache says: a pending socket error would have been
    /// returned instead (`recv` and `send` report `SO_ERROR` first), and a
    /// stream at EOF reads 0, never `WouldBlock`. So the bits that let the
    /// operation through are stale, and keeping them would send the next
    /// poll straight back into the same syscall: a spin. Anything that
    /// changes later (data, room, a new error, a hang-up) raises a new edge.
    #[inline]
    pub fn clear_ready(&self, ready: Ready) {
        if let Some(reactor) = self.reactor() {
            reactor.clear_readiness(self.io, ready.0);
        }
    }

    /// Forgets the data bits (readable, writable, priority) after a short
    /// read or write drained the direction. The closed and error bits
    /// stay: data and a FIN often arrive in one event, and the EOF behind
    /// the data must still reach the next read.
    #[inline]
    pub fn clear_drained(&self, ready: Ready) {
        self.clear_ready(Ready(ready.0 & (READABLE | WRITABLE | PRIORITY)));
    }

    /// Handles a `WouldBlock` from an operation that `ready` let through:
    /// clears `ready` and registers the task to wake on the next edge.
    /// Returns `Pending`, or the error of a registration used outside its
    /// runtime. Every readiness loop ends this way after a `WouldBlock`,
    /// so none can retry its syscall within one poll.
    pub fn poll_blocked<T>(&self, cx: &mut Context<'_>, dir: Direction, ready: Ready) -> Poll<io::Result<T>> {
        self.clear_ready(ready);
        match self.poll_ready(cx, dir) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            // The clear did not take: the reactor has lost this source's
            // record (it shows every bit then). Yield rather than spin.
            Poll::Ready(Ok(_)) => {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
    }

    /// Runs the non-blocking operation `op` once `dir` is ready. On
    /// `WouldBlock` it clears readiness and returns `Pending` (the task
    /// wakes on the next edge); on `Interrupted` it yields and retries on
    /// the next poll. So `op` runs at most once per poll, and nothing here
    /// can spin.
    ///
    /// Spends one unit of the task's operation budget (see [`coop`]).
    #[inline]
    pub fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        op: impl FnOnce() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_io_drained(cx, dir, op, |_| false)
    }

    /// [`poll_io`](Self::poll_io) for an operation that can tell when it
    /// drained the direction: when `drained(&result)` says so (a stream
    /// read or write that moved fewer bytes than asked, under
    /// edge-triggered epoll), the data bits are cleared at once
    /// ([`clear_drained`](Self::clear_drained)), sparing the next operation
    /// a syscall that would only say `WouldBlock`.
    #[inline]
    pub fn poll_io_drained<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        op: impl FnOnce() -> io::Result<R>,
        drained: impl FnOnce(&R) -> bool,
    ) -> Poll<io::Result<R>> {
        if coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        let ready = match self.poll_ready(cx, dir) {
            Poll::Ready(Ok(ready)) => ready,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        };
        match op() {
            Ok(r) => {
                if drained(&r) {
                    self.clear_drained(ready);
                }
                Poll::Ready(Ok(r))
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.poll_blocked(cx, dir, ready),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    /// Waits until `dir` may proceed. Dropping the future before it is
    /// ready leaves no waiter counted (see [`Waiter`]).
    pub async fn ready(&self, dir: Direction) -> io::Result<Ready> {
        let mut waiter = Waiter::new(self, dir);
        poll_fn(|cx| waiter.poll_ready(cx)).await
    }

    /// A waiter on `dir`, for a future of your own: see [`Waiter`].
    pub fn waiter(&self, dir: Direction) -> Waiter<'_> {
        Waiter::new(self, dir)
    }

    /// Deregisters `source` from epoll (and forgets the record on drop).
    pub fn deregister(&self, source: &mut impl Source) -> io::Result<()> {
        self.reactor().ok_or_else(wrong_runtime)?.deregister(source)
    }

    /// Tells the reactor that the future that left `mark` on `dir` stopped
    /// waiting without being woken (it is being dropped): its waiter no
    /// longer counts as a task waiting on the source. See [`Waiter`], which
    /// does this in its drop; `WaitMark` is the same for futures that keep
    /// one word instead of a `Waiter`.
    pub fn unwait(&self, dir: Direction, mark: WaitMark) {
        if mark.0 != 0 {
            self.park_waiter(dir, mark.0);
        }
    }

    /// Parks the waiter a dropped future left (see [`Waiter`]).
    #[cold]
    fn park_waiter(&self, dir: Direction, key: WaitKey) {
        match self.reactor() {
            Some(reactor) => {
                let duplicate = reactor.park_waiter(self.io, dir, key);
                // Dropped after the slab is released.
                drop(duplicate);
            }
            None => directory::unregister(self.serial, Unregister::Waiter(self.io, dir, key)),
        }
    }
}

impl Drop for Registration {
    /// Forgets the reactor's record: directly inside the runtime, else by
    /// asking it (see `remote/directory.rs`). A registration may be dropped
    /// anywhere, even after its runtime is gone, without leaking its slot.
    fn drop(&mut self) {
        match self.reactor() {
            Some(reactor) => {
                let record = reactor.release(self.io);
                // The waiters' wakers drop here, after the slab is released.
                drop(record);
            }
            None => directory::unregister(self.serial, Unregister::Io(self.io)),
        }
    }
}

/// One future's wait on one direction of a [`Registration`]. It waits as
/// [`Registration::poll_ready`] does, and remembers the waiter it left; if
/// the future is dropped before it was woken (a read cancelled by a
/// timeout), the drop *parks* that waiter: it is still woken at the next
/// event, but it no longer counts as a task waiting on the source, so
/// [`wait`](crate::wait) does not wait for it. Nothing of
/// this is on the path of a wait that ends normally.
///
/// Futures that wait on a source should hold one (the futures of
/// [`IoSource`](super::IoSource) and of sprout-net's sockets do). The
/// poll-style [`Registration::poll_ready`] has no future to notice a
/// cancellation: its waiter counts until the next event on the source or
/// until the source is dropped.
///
/// Waiters are kept per task: if one task has two futures waiting on the
/// same direction of one source and drops one of them, the other's wait is
/// parked too, until that future is polled again. It is still woken at the
/// next event; only `wait()` may return before it does.
///
/// ```
/// use std::future::poll_fn;
/// use std::io::Read;
/// use mio::net::UnixStream;
/// use sprout::io::IoSource;
/// use sprout_runtime::__net::{Direction, SourceRegistration};
///
/// sprout::run(async {
///     let (a, b) = UnixStream::pair().unwrap();
///     let b = IoSource::new(b).unwrap();
///     drop(a); // EOF: the read side becomes ready
///     let mut waiter = b.registration().waiter(Direction::Read);
///     let mut buf = [0; 8];
///     let n = poll_fn(|cx| waiter.poll_io(cx, || b.get_ref().read(&mut buf))).await.unwrap();
///     assert_eq!(n, 0);
/// });
/// ```
pub struct Waiter<'a> {
    registration: &'a Registration,
    dir: Direction,
    /// The data address of the waker this waiter left waiting, or 0.
    key: WaitKey,
}

impl<'a> Waiter<'a> {
    /// A waiter on `dir` of `registration`.
    pub fn new(registration: &'a Registration, dir: Direction) -> Waiter<'a> {
        Waiter { registration, dir, key: 0 }
    }

    /// Waits until the direction may proceed, as [`Registration::poll_ready`].
    #[inline(always)]
    pub fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Ready>> {
        let poll = self.registration.poll_ready(cx, self.dir);
        self.key = if poll.is_pending() { cx.waker().data().addr() } else { 0 };
        poll
    }

    /// [`Registration::poll_io`], waiting through this waiter.
    #[inline]
    pub fn poll_io<R>(&mut self, cx: &mut Context<'_>, op: impl FnOnce() -> io::Result<R>) -> Poll<io::Result<R>> {
        self.poll_io_drained(cx, op, |_| false)
    }

    /// [`Registration::poll_io_drained`], waiting through this waiter.
    #[inline]
    pub fn poll_io_drained<R>(
        &mut self,
        cx: &mut Context<'_>,
        op: impl FnOnce() -> io::Result<R>,
        drained: impl FnOnce(&R) -> bool,
    ) -> Poll<io::Result<R>> {
        let poll = self.registration.poll_io_drained(cx, self.dir, op, drained);
        self.key = WaitMark::after(&poll, cx).0;
        poll
    }

    /// [`Registration::poll_blocked`], waiting through this waiter.
    #[inline]
    pub fn poll_blocked<T>(&mut self, cx: &mut Context<'_>, ready: Ready) -> Poll<io::Result<T>> {
        let poll = self.registration.poll_blocked(cx, self.dir, ready);
        self.key = WaitMark::after(&poll, cx).0;
        poll
    }

    /// The direction this waiter waits on.
    pub fn direction(&self) -> Direction {
        self.dir
    }
}

/// What a waiting future remembers of the waiter it left: see
/// [`Registration::unwait`] and [`Waiter`]. One word; no reference is held.
///
/// ```
/// use std::task::{Context, Poll};
/// use sprout_runtime::__net::{Direction, Registration, WaitMark};
///
/// // In a future's poll: remember the waiter a `Pending` left...
/// fn poll_readable(reg: &Registration, cx: &mut Context<'_>, mark: &mut WaitMark) -> Poll<()> {
///     let poll = reg.poll_ready(cx, Direction::Read);
///     *mark = WaitMark::after(&poll, cx);
///     poll.map(drop)
/// }
/// // ...and in its drop: `reg.unwait(Direction::Read, mark)`.
/// # let _ = poll_readable;
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WaitMark(WaitKey);

impl WaitMark {
    /// No waiter left.
    pub const NONE: WaitMark = WaitMark(0);

    /// The mark after a poll that returned `poll` with `cx`: the waker's
    /// identity if it is pending, none otherwise.
    #[inline]
    pub fn after<T>(poll: &Poll<T>, cx: &Context<'_>) -> WaitMark {
        if poll.is_pending() { WaitMark(cx.waker().data().addr()) } else { WaitMark::NONE }
    }

    /// Whether a waiter was left.
    #[inline]
    pub fn is_set(self) -> bool {
        self.0 != 0
    }
}

impl Drop for Waiter<'_> {
    #[inline]
    fn drop(&mut self) {
        // Usually 0: a wait that ended cleared it.
        if self.key != 0 {
            self.registration.park_waiter(self.dir, self.key);
        }
    }
}

impl fmt::Debug for Waiter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Waiter").field("dir", &self.dir).field("waiting", &(self.key != 0)).finish()
    }
}

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration").field("key", &self.io.key).finish()
    }
}

fn outside_runtime() -> io::Error {
    io::Error::other("sprout I/O needs a running sprout runtime (sprout::run or Runtime::block_on)")
}

#[cold]
fn wrong_runtime() -> io::Error {
    io::Error::other("this sprout I/O object belongs to a runtime that is not running on this thread")
}
