//! `Registration`: a source's record in the reactor.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::task::{Context, Poll};

use mio::Interest;
use mio::event::Source;

use crate::context;
use crate::reactor::IoKey;
use crate::reactor::scheduled_io::{
    ERROR, PRIORITY, READ_CLOSED, READ_MASK, READABLE, WRITABLE, WRITE_CLOSED, WRITE_MASK,
};
use crate::runtime::Core;
use crate::sched::coop;

/// Which way an operation goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Reading (or accepting): proceeds on data, EOF or an error.
    Read,
    /// Writing (or connecting): proceeds on space, a closed peer or an error.
    Write,
}

impl Direction {
    pub(crate) fn mask(self) -> u8 {
        match self {
            Direction::Read => READ_MASK,
            Direction::Write => WRITE_MASK,
        }
    }
}

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
/// Dropping it forgets the reactor's record; deregistering the source
/// itself from epoll is the owner's job (`IoSource` does it).
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
        let core = context::current().ok_or_else(outside_runtime)?;
        let io = core.reactor.register(source, interest)?;
        Ok(Registration { serial: core.serial, io })
    }

    /// The runtime this registration belongs to, if it is running here.
    #[inline]
    fn core(&self) -> Option<&Core> {
        context::current().filter(|c| c.serial == self.serial)
    }

    /// Waits until `dir` may proceed.
    #[inline]
    pub fn poll_ready(&self, cx: &mut Context<'_>, dir: Direction) -> Poll<io::Result<Ready>> {
        let Some(core) = self.core() else { return Poll::Ready(Err(wrong_runtime())) };
        core.reactor.poll_ready(self.io, dir, cx).map(|bits| Ok(Ready(bits)))
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
        if let Some(core) = self.core() {
            core.reactor.clear_readiness(self.io, ready.0);
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

    /// Waits until `dir` may proceed.
    pub async fn ready(&self, dir: Direction) -> io::Result<Ready> {
        poll_fn(|cx| self.poll_ready(cx, dir)).await
    }

    /// Deregisters `source` from epoll (and forgets the record on drop).
    pub fn deregister(&self, source: &mut impl Source) -> io::Result<()> {
        self.core().ok_or_else(wrong_runtime)?.reactor.deregister(source)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(core) = self.core() {
            let record = core.reactor.release(self.io);
            // The waiters' wakers drop here, after the slab is released.
            drop(record);
        }
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
