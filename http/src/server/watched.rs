//! The streams under hyper: [`Watched`], which hands hyper one part of a
//! message at a time and tells the clock when bytes of a head arrive, and
//! [`Rewind`], which puts bytes read to sniff the protocol back in front.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use futures_io::{AsyncRead, AsyncWrite};

use super::clock::Marks;
use super::framing::{Framing, Part};

/// Writes go straight to the wrapped stream: `Watched` and `Rewind` only
/// change how a connection is read.
macro_rules! forward_async_write {
    ($ty:ident) => {
        impl<S: AsyncWrite + Unpin> AsyncWrite for $ty<S> {
            #[inline]
            fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
                Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
            }

            #[inline]
            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[io::IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
            }

            #[inline]
            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Pin::new(&mut self.get_mut().inner).poll_flush(cx)
            }

            fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Pin::new(&mut self.get_mut().inner).poll_close(cx)
            }
        }
    };
}

/// A kept-back buffer that grew past this is freed once handed out, so
/// that one big pipelined burst does not stay with the connection.
const KEEP_CAPACITY: usize = 16 * 1024;

/// The accepted stream as hyper reads it: each read hands out at most one
/// part of a request (a head, or a body), keeping the bytes beyond it for
/// the next read, and tells the clock when bytes of a head go out (see
/// `framing` for why).
///
/// Reads cost a scan of the head's bytes for its end (a body of known
/// length is counted, not scanned). A read that brought more than one
/// part (a small POST in one segment, pipelined requests) costs a copy of
/// the rest into `kept`, at most one read's worth, and a second read call.
pub(crate) struct Watched<S> {
    inner: S,
    marks: Arc<Marks>,
    framing: Framing,
    /// Bytes read from `inner` but not handed out yet: `kept[kept_at..]`.
    kept: Vec<u8>,
    kept_at: usize,
}

impl<S> Watched<S> {
    pub(crate) fn new(inner: S, marks: Arc<Marks>) -> Watched<S> {
        Watched { inner, marks, framing: Framing::new(), kept: Vec::new(), kept_at: 0 }
    }

    /// Copies kept-back bytes into `buf`: how many.
    fn unkeep(&mut self, buf: &mut [u8]) -> usize {
        let n = buf.len().min(self.kept.len() - self.kept_at);
        buf[..n].copy_from_slice(&self.kept[self.kept_at..self.kept_at + n]);
        n
    }

    /// `n` kept-back bytes were handed out.
    fn consume_kept(&mut self, n: usize) {
        self.kept_at += n;
        if self.kept_at == self.kept.len() {
            self.kept_at = 0;
            if self.kept.capacity() > KEEP_CAPACITY {
                self.kept = Vec::new();
            } else {
                self.kept.clear();
            }
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    #[inline]
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let has_kept = this.kept_at < this.kept.len();
        if !this.marks.framed() || buf.is_empty() {
            if has_kept {
                let n = this.unkeep(buf);
                this.consume_kept(n);
                return Poll::Ready(Ok(n));
            }
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        }
        if let Some(body) = this.marks.take_body() {
            this.framing.body(body);
        }
        let n = if has_kept {
            this.unkeep(buf)
        } else {
            match ready!(Pin::new(&mut this.inner).poll_read(cx, buf))? {
                0 => return Poll::Ready(Ok(0)),
                n => n,
            }
        };
        let taken = this.framing.take(&buf[..n]);
        if has_kept {
            this.consume_kept(taken.len);
        } else if taken.len < n {
            this.kept.extend_from_slice(&buf[taken.len..n]);
        }
        if taken.part == Part::Head {
            this.marks.head_bytes();
        }
        Poll::Ready(Ok(taken.len))
    }
}

forward_async_write!(Watched);

/// The first bytes of every HTTP/2 connection.
pub(crate) const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// A stream with bytes already read from it (to look for the HTTP/2
/// preface) put back in front.
pub(crate) struct Rewind<S> {
    prefix: [u8; PREFACE.len()],
    start: usize,
    end: usize,
    inner: S,
}

impl<S> Rewind<S> {
    /// `inner`, read from after `prefix[..end]`.
    pub(crate) fn new(prefix: [u8; PREFACE.len()], end: usize, inner: S) -> Rewind<S> {
        Rewind { prefix, start: 0, end, inner }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Rewind<S> {
    #[inline]
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.start < this.end {
            let n = buf.len().min(this.end - this.start);
            buf[..n].copy_from_slice(&this.prefix[this.start..this.start + n]);
            this.start += n;
            return Poll::Ready(Ok(n));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

forward_async_write!(Rewind);
