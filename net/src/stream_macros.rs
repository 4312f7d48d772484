//! The std-shaped read and write methods, written once for every byte
//! stream (TCP and Unix streams and their split halves; a child's stdout
//! and stderr take the read half).
//!
//! A type opts in by implementing [`AsEvented`]; the macros then expand to
//! inherent methods that mirror `std::io::Read` / `Write` (only async) and
//! to the `futures-io` trait impls. The four hot methods (`read`, `write`,
//! `read_exact`, `write_all`) return their hand-written futures directly
//! (`fn -> impl Future`) instead of wrapping them in one more `async fn`.

use mio::event::Source;

use crate::evented::Evented;

/// Gives the macros access to a stream's registered socket.
pub trait AsEvented {
    /// The registered source.
    type Socket: Source;
    /// The stream's registered source.
    fn evented(&self) -> &Evented<Self::Socket>;
}

/// Inherent `read`, `read_lent`, `read_vectored`, `read_exact`,
/// `read_to_end`, `read_to_string` and `readable`; `$what` names the
/// source in `read_to_string`'s error on bytes that are not UTF-8.
#[doc(hidden)]
#[macro_export]
macro_rules! __net_read_methods {
    ($what:literal) => {
        /// Reads some bytes into `buf` and returns how many, waiting until
        /// at least one is available: `std::io::Read::read`, only async.
        /// `Ok(0)` means the other end closed its side (the peer, or the
        /// child and every process it passed the pipe to), or `buf` is
        /// empty.
        ///
        /// # Errors
        /// The I/O error, or `TimedOut` once the read timeout passes.
        #[inline]
        pub fn read<'a>(&'a self, buf: &'a mut [u8]) -> impl std::future::Future<Output = std::io::Result<usize>> + 'a {
            $crate::stream_macros::AsEvented::evented(self).read_bytes(buf)
        }

        /// Waits until data (or EOF, or an error) arrives, holding no
        /// buffer, then reads into a buffer lent by this thread's pool and
        /// hands it over as a [`Lent`](sprout_net::io::Lent) (empty at EOF).
        /// Dropping the `Lent` gives the buffer back. An idle connection
        /// waiting here costs no buffer: the way to hold many idle
        /// connections in little memory (see [`Lent`](sprout_net::io::Lent)). At most
        /// [`LENT_BUFFER_SIZE`](sprout_net::io::LENT_BUFFER_SIZE) bytes per read.
        ///
        /// # Errors
        /// The I/O error, or `TimedOut` once the read timeout passes.
        #[inline]
        pub fn read_lent(&self) -> impl std::future::Future<Output = std::io::Result<$crate::io::Lent>> + '_ {
            $crate::stream_macros::AsEvented::evented(self).read_lent()
        }

        /// Reads into several buffers at once (`readv`).
        pub async fn read_vectored(&self, bufs: &mut [std::io::IoSliceMut<'_>]) -> std::io::Result<usize> {
            $crate::stream_macros::AsEvented::evented(self).read_vectored(bufs).await
        }

        /// Reads exactly `buf.len()` bytes.
        ///
        /// # Errors
        /// `UnexpectedEof` if the other end closes first; bytes read until then
        /// are in `buf` but lost to the caller, as with std. Not
        /// cancellation-safe: if the future is dropped midway, the bytes it
        /// read are lost.
        #[inline]
        pub fn read_exact<'a>(
            &'a self,
            buf: &'a mut [u8],
        ) -> impl std::future::Future<Output = std::io::Result<()>> + 'a {
            $crate::stream_macros::AsEvented::evented(self).read_exact(buf)
        }

        /// Reads until the other end closes its side, appending to `buf`;
        /// returns how many bytes were appended.
        pub async fn read_to_end(&self, buf: &mut Vec<u8>) -> std::io::Result<usize> {
            $crate::stream_macros::AsEvented::evented(self).read_to_end(buf).await
        }

        /// Reads until the other end closes its side, appending UTF-8 text to `buf`.
        ///
        /// # Errors
        /// `InvalidData` if the bytes are not UTF-8 (then nothing is appended).
        pub async fn read_to_string(&self, buf: &mut String) -> std::io::Result<usize> {
            $crate::stream_macros::AsEvented::evented(self).read_to_string(buf, $what).await
        }

        /// Waits until a read would not block (data, EOF or an error), under
        /// the read timeout. Useful to wait without a buffer.
        pub async fn readable(&self) -> std::io::Result<()> {
            $crate::stream_macros::AsEvented::evented(self).ready(sprout_runtime::__net::Direction::Read).await
        }
    };
}

/// Inherent `write`, `write_vectored`, `write_all`, `flush` and `writable`.
#[doc(hidden)]
#[macro_export]
macro_rules! __net_write_methods {
    () => {
        /// Writes some bytes from `buf` and returns how many, waiting until
        /// the socket has room: `std::io::Write::write`, only async.
        ///
        /// # Errors
        /// The socket's error (`BrokenPipe` or `ConnectionReset` when the
        /// peer is gone), or `TimedOut` once the write timeout passes.
        #[inline]
        pub fn write<'a>(&'a self, buf: &'a [u8]) -> impl std::future::Future<Output = std::io::Result<usize>> + 'a {
            $crate::stream_macros::AsEvented::evented(self).write_bytes(buf)
        }

        /// Writes from several buffers at once (`writev`).
        pub async fn write_vectored(&self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
            $crate::stream_macros::AsEvented::evented(self).write_vectored(bufs).await
        }

        /// Writes all of `buf`, waiting for room as often as needed.
        ///
        /// Not cancellation-safe: if the future is dropped midway, an
        /// unknown prefix of `buf` has been sent.
        #[inline]
        pub fn write_all<'a>(&'a self, buf: &'a [u8]) -> impl std::future::Future<Output = std::io::Result<()>> + 'a {
            $crate::stream_macros::AsEvented::evented(self).write_all(buf)
        }

        /// Does nothing, as std's `flush` on a socket: bytes go to the
        /// kernel on every `write`.
        pub async fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }

        /// Waits until a write would not block (room, a closed peer or an
        /// error), under the write timeout.
        pub async fn writable(&self) -> std::io::Result<()> {
            $crate::stream_macros::AsEvented::evented(self).ready(sprout_runtime::__net::Direction::Write).await
        }
    };
}

/// `futures_io::AsyncRead` for `$ty` and `&$ty`.
#[doc(hidden)]
#[macro_export]
macro_rules! __net_impl_async_read {
    ($ty:ty) => {
        impl futures_io::AsyncRead for $ty {
            #[inline]
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                $crate::stream_macros::AsEvented::evented(&*self).poll_read(cx, buf)
            }

            fn poll_read_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                $crate::stream_macros::AsEvented::evented(&*self).poll_read_vectored(cx, bufs)
            }
        }

        impl futures_io::AsyncRead for &$ty {
            #[inline]
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                $crate::stream_macros::AsEvented::evented(*self).poll_read(cx, buf)
            }

            fn poll_read_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                $crate::stream_macros::AsEvented::evented(*self).poll_read_vectored(cx, bufs)
            }
        }
    };
}

/// `futures_io::AsyncWrite` for `$ty` and `&$ty`; `$close` shuts the
/// writing side down (`poll_close`).
#[doc(hidden)]
#[macro_export]
macro_rules! __net_impl_async_write {
    ($ty:ty, $close:expr) => {
        impl futures_io::AsyncWrite for $ty {
            #[inline]
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                $crate::stream_macros::AsEvented::evented(&*self).poll_write(cx, buf)
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                $crate::stream_macros::AsEvented::evented(&*self).poll_write_vectored(cx, bufs)
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }

            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                let close: fn(&$ty) -> std::io::Result<()> = $close;
                std::task::Poll::Ready(close(&*self))
            }
        }

        impl futures_io::AsyncWrite for &$ty {
            #[inline]
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                $crate::stream_macros::AsEvented::evented(*self).poll_write(cx, buf)
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                $crate::stream_macros::AsEvented::evented(*self).poll_write_vectored(cx, bufs)
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }

            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                let close: fn(&$ty) -> std::io::Result<()> = $close;
                std::task::Poll::Ready(close(*self))
            }
        }
    };
}

/// A shutdown that tolerates a peer already gone (`NotConnected`), as
/// `poll_close` and the write half's drop want.
pub(crate) fn shutdown_quietly(result: std::io::Result<()>) -> std::io::Result<()> {
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::NotConnected => Ok(()),
        other => other,
    }
}

// Exported (at the crate root, hidden) for sprout-process's pipes, and
// named here as the rest of net names them.
pub use crate::{
    __net_impl_async_read as impl_async_read, __net_impl_async_write as impl_async_write,
    __net_read_methods as read_methods, __net_write_methods as write_methods,
};
