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
//! - A peer that closes or resets the connection, or a socket error, wakes
//!   every waiter, and each waiter's syscall sees the EOF or the error. The
//!   closed and error bits let operations through until one of them
//!   returns `WouldBlock`: then the kernel has said they are stale, and
//!   they are cleared with the rest. So an EOF stays visible to every
//!   read, and an error that a `recv` consumed does not make the next
//!   `recv` spin.
//! - Readers and writers wait separately: one task may read while another
//!   writes the same source.
//! - An `IoSource` belongs to the runtime it was created in; using it inside
//!   another runtime (or none) fails with an error, it does not panic.
//!   Dropping it anywhere (outside `block_on`, on another thread, after the
//!   runtime is gone) is fine: the runtime forgets its record.
//! - Dropping a future of [`IoSource::read_with`] (or `write_with`,
//!   `readable`, `writable`) before it is woken (a read cancelled by a
//!   timeout) removes its waiter, which then no longer counts for
//!   `sprout::wait()`. The poll-style functions (`poll_read_with`,
//!   `poll_write_with`) cannot know when their caller gives up; their
//!   waiter counts until the next event or the source's drop.
//!
//! The registration and waiter types below `IoSource` are sprout-net's
//! plumbing, not API: they live in the runtime's internal `__net` module.

pub(crate) mod registration;
pub(crate) mod source;

pub use mio::Interest;
pub use source::IoSource;
