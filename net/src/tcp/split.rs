//! Owned read and write halves of a `TcpStream`.

use std::error::Error;
use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::rc::Rc;

use super::TcpStream;
use crate::evented::Evented;
use crate::stream_macros::{self, AsEvented};

/// The reading half of a [`TcpStream`], from [`TcpStream::split`].
///
/// It reads while its [`OwnedWriteHalf`] writes, even from another task:
/// the two sides of a socket wait on readiness independently.
pub struct OwnedReadHalf {
    stream: Rc<TcpStream>,
}

/// The writing half of a [`TcpStream`], from [`TcpStream::split`].
///
/// Dropping it shuts down the writing side of the connection (the peer
/// reads EOF), unless the halves were put back with
/// [`OwnedReadHalf::reunite`].
pub struct OwnedWriteHalf {
    stream: Rc<TcpStream>,
    shutdown_on_drop: bool,
}

pub(super) fn split(stream: TcpStream) -> (OwnedReadHalf, OwnedWriteHalf) {
    let stream = Rc::new(stream);
    (OwnedReadHalf { stream: stream.clone() }, OwnedWriteHalf { stream, shutdown_on_drop: true })
}

impl AsEvented for OwnedReadHalf {
    type Socket = mio::net::TcpStream;
    fn evented(&self) -> &Evented<mio::net::TcpStream> {
        &self.stream.inner
    }
}

impl AsEvented for OwnedWriteHalf {
    type Socket = mio::net::TcpStream;
    fn evented(&self) -> &Evented<mio::net::TcpStream> {
        &self.stream.inner
    }
}

impl OwnedReadHalf {
    stream_macros::read_methods!("the stream");

    /// Reads bytes without removing them from the receive queue.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.peek(buf).await
    }

    /// Puts the halves back together into the stream they came from.
    ///
    /// # Errors
    /// If the halves come from different streams; the error hands them back.
    pub fn reunite(self, other: OwnedWriteHalf) -> Result<TcpStream, ReuniteError> {
        if !Rc::ptr_eq(&self.stream, &other.stream) {
            return Err(ReuniteError(self, other));
        }
        let mut other = other;
        other.shutdown_on_drop = false;
        drop(other);
        Ok(Rc::try_unwrap(self.stream).unwrap_or_else(|_| unreachable!("both halves were given back")))
    }

    /// The address of the remote end.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.stream.peer_addr()
    }

    /// The address of the local end.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.stream.local_addr()
    }
}

impl OwnedWriteHalf {
    stream_macros::write_methods!();

    /// Shuts down the writing side now (the peer reads EOF).
    pub fn shutdown(&self) -> io::Result<()> {
        self.stream.shutdown(Shutdown::Write)
    }

    /// The address of the remote end.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.stream.peer_addr()
    }

    /// The address of the local end.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.stream.local_addr()
    }
}

impl AsRef<TcpStream> for OwnedReadHalf {
    fn as_ref(&self) -> &TcpStream {
        &self.stream
    }
}

impl AsRef<TcpStream> for OwnedWriteHalf {
    fn as_ref(&self) -> &TcpStream {
        &self.stream
    }
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            let _ = self.stream.shutdown(Shutdown::Write);
        }
    }
}

stream_macros::impl_async_read!(OwnedReadHalf);
stream_macros::impl_async_write!(OwnedWriteHalf, |s| stream_macros::shutdown_quietly(s.shutdown()));

impl fmt::Debug for OwnedReadHalf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OwnedReadHalf").field(&*self.stream).finish()
    }
}

impl fmt::Debug for OwnedWriteHalf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("OwnedWriteHalf").field(&*self.stream).finish()
    }
}

/// The halves given to [`OwnedReadHalf::reunite`] came from different streams.
pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

impl fmt::Debug for ReuniteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReuniteError(..)")
    }
}

impl fmt::Display for ReuniteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tried to reunite halves that are not from the same stream")
    }
}

impl Error for ReuniteError {}
