//! Readiness-based I/O on the runtime's reactor.
//!
//! This is the layer the `sprout-net` sockets are built on, and the way to
//! bring your own file descriptor (gevent's `wait_read` / `wait_write`,
//! tokio's `AsyncFd`): wrap any `mio::event::Source` in an [`IoSource`] and
//! drive its non-blocking syscalls with [`IoSource::poll_read_with`] /
//! [`IoSource::poll_write_with`].
//!
//! # Contract
//! - The source must be in non-blocking mode.
//! - It is registered once, edge-triggered, for reading and writing, and
//!   deregistered when the `IoSource` is dropped.
//! - Readiness is cached and cleared when your closure returns
//!   `WouldBlock`; the poll then returns `Pending`, and the task wakes on
//!   the next edge. The closure runs at most once per poll: nothing here
//!   retries a syscall in a loop.
//! - Under edge-triggered epoll, a closure that stops early (say, after a
//!   short read) may call [`Registration::clear_drained`] itself, sparing
//!   the next operation a syscall that would only say `WouldBlock` (not
//!   calling it costs that syscall, never a lost wake-up).
//! - A peer that closes or resets the connection, or a socket error, wakes
//!   every waiter, and each waiter's syscall sees the EOF or the error. The
//!   closed and error bits let operations through until one of them
//!   returns `WouldBlock`: then the kernel has said they are stale, and
//!   they are cleared with the rest (see [`Registration::clear_ready`]).
//!   So an EOF stays visible to every read, and an error that a `recv`
//!   consumed does not make the next `recv` spin.
//! - If you drive readiness yourself (`poll_ready`, then your own
//!   syscall), end on `WouldBlock` with [`Registration::poll_blocked`],
//!   never by polling readiness again in a loop: the cached bits would let
//!   you straight back in.
//! - Readers and writers wait separately: one task may read while another
//!   writes the same source.
//! - An `IoSource` belongs to the runtime it was created in; using it inside
//!   another runtime (or none) fails with an error, it does not panic.
//!   Dropping it anywhere (outside `block_on`, on another thread, after the
//!   runtime is gone) is fine: the runtime forgets its record.
//! - A future that waits holds a [`Waiter`] (or a [`WaitMark`]): dropping
//!   the future before it is woken (a read cancelled by a timeout) parks
//!   its waiter, which then no longer counts for `sprout::wait()`. The
//!   poll-style functions (`poll_ready`, `poll_read_with`...) cannot know
//!   when their caller gives up; their waiter counts until the next event
//!   or the source's drop.

mod registration;
mod source;

pub use crate::reactor::scheduled_io::Direction;
pub use mio::Interest;
pub use registration::{Ready, Registration, WaitMark, Waiter};
pub use source::IoSource;
