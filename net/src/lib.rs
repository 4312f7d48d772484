//! sprout's network layer: `std::net`, only async.
//!
//! gevent makes blocking socket code cooperative by monkey-patching the
//! `socket` module at run time. Rust cannot patch std, so sprout offers a
//! drop-in twin instead: the same types with the same methods, where every
//! call that would block is an `async fn`. Porting blocking code is
//! changing `use std::net::…` to `use sprout::net::…` and adding `.await`.
//!
//! - [`TcpListener`], [`TcpStream`] (with owned [`split`](TcpStream::split)
//!   halves), [`UdpSocket`]: the `std::net` sockets.
//! - [`UnixListener`], [`UnixStream`], [`UnixDatagram`]: the
//!   `std::os::unix::net` sockets.
//! - [`lookup_host`], [`ToSocketAddrs`]: name resolution off the loop.
//! - [`StreamServer`], [`DatagramServer`]: gevent's servers, a green task
//!   per connection or datagram, with graceful stop.
//! - [`io::Async`], [`io::wait_readable`], [`io::wait_writable`]: wait on
//!   any file descriptor (gevent's `wait_read`, tokio's `AsyncFd`).
//! - [`io::Lent`]: `read_lent()` on every stream waits with no buffer and
//!   reads into one lent for the moment, so idle connections cost little.
//! - A server's shutdown on Ctrl-C: [`ServerHandle::stop_on_signals`]
//!   (signals themselves are `sprout_runtime::signal`; child processes are
//!   the `sprout-process` crate, built on this one's pipes).
//!
//! # The contract
//! - A socket is registered with the running runtime once, edge-triggered,
//!   and deregistered when dropped. Create and use it inside a sprout
//!   runtime; elsewhere its methods return an error (they never panic).
//! - Its read side and write side wait independently: one task may read
//!   while another writes the same socket.
//! - Readiness is cleared only after a syscall said `WouldBlock` (or, for
//!   streams, after a short read or write, which under edge-triggered epoll
//!   says the same thing without the extra syscall). Nothing busy-loops:
//!   an operation makes at most one syscall per poll, and a `WouldBlock`
//!   always ends in `Pending`.
//! - A peer that closes or resets, or a socket error (an ICMP "port
//!   unreachable" on a connected UDP socket), wakes every waiter; each
//!   sees EOF or the error. An EOF stays for every later read; an error is
//!   reported once, and the operation after it waits as usual.
//! - Every operation spends one unit of the task's budget
//!   (`sprout::task::coop`), so a socket that is always ready cannot
//!   starve the other tasks.
//! - Read and write timeouts work as std's: the operation fails with
//!   `io::ErrorKind::TimedOut`.

#![warn(missing_docs)]

// Docs written once in net's macros and expanded in sprout-process name
// net's items as `sprout_net::…`, a path that must resolve in both crates.
extern crate self as sprout_net;

mod addr;
mod evented;
pub mod io;
mod lent;
mod read_all;
/// Not API: what `sprout-process` builds its child pipes on (`Evented`,
/// the timeout of one I/O step, `read_to_end`/`read_to_string`; the
/// read and write families are in `stream_macros`). The facade
/// re-exports none of it.
#[doc(hidden)]
pub mod __private {
    pub use crate::evented::{Evented, with_timeout};
    pub use crate::read_all::{read_to_end, read_to_string};
}
pub mod server;
#[doc(hidden)]
pub mod stream_macros;
mod sys;
pub mod tcp;
pub mod udp;
pub mod unix;

pub use addr::{ToSocketAddrs, lookup_host};
pub use server::{DatagramServer, ServerHandle, StreamServer, is_peer_error};
pub use std::net::{AddrParseError, IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, SocketAddrV4, SocketAddrV6};
pub use sys::raise_fd_limit;
pub use tcp::{TcpListener, TcpListenerBuilder, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixDatagram, UnixListener, UnixStream};
