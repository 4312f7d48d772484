//! [`Tokio`] as an I/O adapter: tokio's `AsyncRead`, `AsyncWrite`,
//! `AsyncBufRead` and `AsyncSeek` become futures-io's, and back.
//!
//! Every call enters the runtime's context, as a future's poll does: tokio's
//! `fs::File` hands each read to `spawn_blocking` from inside `poll_read`,
//! so a bare trait adapter (tokio-util's) would panic with it off a tokio
//! thread. The other direction (a futures-io object handed to a crate that
//! wants tokio's traits) needs no runtime; entering one costs two atomic
//! operations and keeps one rule for every method.

use std::io::{self, IoSlice, SeekFrom};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use crate::Tokio;

impl<T: tokio::io::AsyncRead> futures_io::AsyncRead for Tokio<T> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let (_context, inner) = self.enter();
        let mut buf = tokio::io::ReadBuf::new(buf);
        ready!(inner.poll_read(cx, &mut buf))?;
        Poll::Ready(Ok(buf.filled().len()))
    }
}

impl<T: futures_io::AsyncRead> tokio::io::AsyncRead for Tokio<T> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut tokio::io::ReadBuf<'_>) -> Poll<io::Result<()>> {
        let (_context, inner) = self.enter();
        // `initialize_unfilled` zeroes only what was never initialized, so
        // a buffer reused across reads is zeroed once.
        let n = ready!(inner.poll_read(cx, buf.initialize_unfilled()))?;
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl<T: tokio::io::AsyncBufRead> futures_io::AsyncBufRead for Tokio<T> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let (handle, inner, _) = self.parts();
        let _context = handle.enter();
        inner.poll_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        let (_context, inner) = self.enter();
        inner.consume(amt)
    }
}

impl<T: futures_io::AsyncBufRead> tokio::io::AsyncBufRead for Tokio<T> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let (handle, inner, _) = self.parts();
        let _context = handle.enter();
        inner.poll_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        let (_context, inner) = self.enter();
        inner.consume(amt)
    }
}

impl<T: tokio::io::AsyncWrite> futures_io::AsyncWrite for Tokio<T> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let (_context, inner) = self.enter();
        inner.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let (_context, inner) = self.enter();
        inner.poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let (_context, inner) = self.enter();
        inner.poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let (_context, inner) = self.enter();
        inner.poll_shutdown(cx)
    }
}

impl<T: futures_io::AsyncWrite> tokio::io::AsyncWrite for Tokio<T> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let (_context, inner) = self.enter();
        inner.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let (_context, inner) = self.enter();
        inner.poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let (_context, inner) = self.enter();
        inner.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let (_context, inner) = self.enter();
        inner.poll_close(cx)
    }
}

/// futures-io's one-call seek on tokio's two-step one: `start_seek` once,
/// then `poll_complete` until done. `seek` remembers a started request, so
/// a `Pending` does not start it twice.
impl<T: tokio::io::AsyncSeek> futures_io::AsyncSeek for Tokio<T> {
    fn poll_seek(self: Pin<&mut Self>, cx: &mut Context<'_>, pos: SeekFrom) -> Poll<io::Result<u64>> {
        let (handle, mut inner, seek) = self.parts();
        let _context = handle.enter();
        if *seek != Some(pos) {
            // tokio asks for `poll_complete` before `start_seek`: its
            // `fs::File` refuses a seek while a write is still in flight.
            ready!(inner.as_mut().poll_complete(cx))?;
            inner.as_mut().start_seek(pos)?;
            *seek = Some(pos);
        }
        let done = ready!(inner.poll_complete(cx));
        *seek = None;
        Poll::Ready(done)
    }
}

/// tokio's two-step seek on futures-io's one call: `start_seek` records the
/// request, `poll_complete` runs it. A `poll_complete` with no request
/// reports the current position, as tokio's own implementations do.
impl<T: futures_io::AsyncSeek> tokio::io::AsyncSeek for Tokio<T> {
    fn start_seek(self: Pin<&mut Self>, pos: SeekFrom) -> io::Result<()> {
        let (_, _, seek) = self.parts();
        *seek = Some(pos);
        Ok(())
    }

    fn poll_complete(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        let (handle, inner, seek) = self.parts();
        let _context = handle.enter();
        let done = ready!(inner.poll_seek(cx, seek.unwrap_or(SeekFrom::Current(0))));
        *seek = None;
        Poll::Ready(done)
    }
}
