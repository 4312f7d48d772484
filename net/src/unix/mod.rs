//! Unix domain sockets: [`UnixListener`], [`UnixStream`], [`UnixDatagram`],
//! the async twins of `std::os::unix::net`.

mod datagram;
mod listener;
mod stream;

pub use datagram::UnixDatagram;
pub use listener::{Incoming, UnixListener};
pub use std::os::unix::net::SocketAddr;
pub use stream::UnixStream;
