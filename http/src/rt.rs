//! hyper's runtime traits on sprout: I/O, spawning, timers.
//!
//! hyper 1.x owns no runtime. It asks for three things, and this module
//! gives each one:
//!
//! | hyper wants | sprout gives | what it is |
//! | --- | --- | --- |
//! | [`hyper::rt::Read`] + [`Write`](hyper::rt::Write) | [`Io<T>`] | any `futures-io` stream (`TcpStream`, `UnixStream`, a TLS stream) |
//! | [`hyper::rt::Executor`] | [`Exec`] | [`sprout::spawn`](sprout_runtime::spawn): `!Send` futures too |
//! | [`hyper::rt::Timer`] | [`Timer`] | sprout's timing wheel ([`sprout::sleep`](sprout_runtime::sleep)) |
//!
//! [`Io`] also works the other way round: around a hyper stream (an
//! upgraded connection, [`hyper::upgrade::Upgraded`]) it implements
//! `futures-io`, so WebSocket and codec crates can take it.
//!
//! ```
//! use http_body_util::{BodyExt, Empty, Full};
//! use sprout::http::Bytes;
//! use sprout::http::rt::Io;
//! use sprout::net::{TcpListener, TcpStream};
//!
//! sprout::run(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
//!     let addr = listener.local_addr().unwrap();
//!     sprout::spawn(async move {
//!         let (stream, _) = listener.accept().await.unwrap();
//!         let hello = sprout::http::hyper::service::service_fn(|_req| async {
//!             Ok::<_, sprout::http::hyper::Error>(sprout::http::hyper::Response::new(Full::new(Bytes::from("hello"))))
//!         });
//!         sprout::http::hyper::server::conn::http1::Builder::new().serve_connection(Io::from(stream), hello).await.unwrap();
//!     });
//!
//!     let stream = TcpStream::connect(addr).await.unwrap();
//!     let (mut send, conn) = sprout::http::hyper::client::conn::http1::handshake(Io::from(stream)).await.unwrap();
//!     sprout::spawn(conn);
//!     let req = sprout::http::hyper::Request::get("/").header("host", "x").body(Empty::<Bytes>::new()).unwrap();
//!     let resp = send.send_request(req).await.unwrap();
//!     assert_eq!(resp.into_body().collect().await.unwrap().to_bytes(), "hello");
//! });
//! ```
//!
//! # Thread affinity
//! Everything here belongs to the thread of the runtime that created it.
//! [`Exec`] and [`Timer`] are `Send + Sync` because hyper (and hyper-util's
//! pooled client) demand it, and they are honest about it: they hold
//! nothing, and each call acts on the runtime running on the calling thread
//! (it panics on a thread without one, as [`sprout::spawn`](sprout_runtime::spawn) does).

use std::future::Future;
use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use futures_io::{AsyncRead, AsyncWrite};

/// A stream seen through the other family's I/O traits.
///
/// - Around a `futures-io` stream (`sprout::net::TcpStream`, a Unix
///   stream, a `futures-rustls` stream), it implements hyper's
///   [`Read`](hyper::rt::Read) and [`Write`](hyper::rt::Write).
/// - Around a hyper stream ([`hyper::upgrade::Upgraded`]), it implements
///   `futures-io`'s `AsyncRead` and `AsyncWrite`.
///
/// Each call is one call of the inner stream's: nothing is buffered or
/// copied, and a read lands straight in hyper's buffer.
///
/// hyper's read buffer is uninitialized memory, and `futures-io` reads
/// take an initialized `&mut [u8]`, which a reader may legally look at. So
/// [`Io::new`] zeroes the buffer's free part before each read (about 8 KiB
/// of `memset`). Sprout's own sockets only hand the buffer to `read(2)`:
/// `Io::from(tcp_stream)` (or a `UnixStream`) skips the zeroing.
#[derive(Debug, Default)]
pub struct Io<T> {
    inner: T,
    /// The inner stream's `poll_read` only writes into its buffer (as
    /// `read(2)` does): hyper's uninitialized buffer may be lent as is.
    reads_into_uninit: bool,
}

impl<T> Io<T> {
    /// Wraps `inner`.
    #[inline]
    pub fn new(inner: T) -> Io<T> {
        Io { inner, reads_into_uninit: false }
    }

    /// Wraps `inner`, whose reads land in hyper's buffer without zeroing it first.
    ///
    /// # Safety
    /// `inner`'s `AsyncRead::poll_read` must never read the bytes of the
    /// buffer it is given (only write into them), as sprout's sockets,
    /// which hand the buffer to `read(2)`, never do.
    #[inline]
    pub(crate) unsafe fn new_unzeroed(inner: T) -> Io<T> {
        Io { inner, reads_into_uninit: true }
    }

    /// The inner stream.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The inner stream, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// Unwraps the inner stream.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: AsyncRead + Unpin> hyper::rt::Read for Io<T> {
    #[inline]
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let unfilled = if this.reads_into_uninit {
            // SAFETY: `reads_into_uninit` is set only by `new_unzeroed`, whose
            // caller vouched that the stream's `poll_read` writes into the
            // slice and never reads it; nothing here reads it either. No
            // byte is de-initialized (`as_mut`'s condition).
            unsafe { &mut *(buf.as_mut() as *mut [MaybeUninit<u8>] as *mut [u8]) }
        } else {
            buf.initialize_unfilled()
        };
        let n = ready!(Pin::new(&mut this.inner).poll_read(cx, unfilled))?;
        // SAFETY: `poll_read` reported `n` bytes written at the start of the
        // unfilled part, so they are initialized.
        unsafe { buf.advance(n) };
        Poll::Ready(Ok(()))
    }
}

impl From<sprout_net::TcpStream> for Io<sprout_net::TcpStream> {
    /// Wraps a TCP stream whose reads land in hyper's buffer unzeroed.
    #[inline]
    fn from(stream: sprout_net::TcpStream) -> Self {
        // SAFETY: `TcpStream::poll_read` passes the buffer to read(2) only.
        unsafe { Io::new_unzeroed(stream) }
    }
}

impl From<sprout_net::UnixStream> for Io<sprout_net::UnixStream> {
    /// Wraps a Unix stream whose reads land in hyper's buffer unzeroed.
    #[inline]
    fn from(stream: sprout_net::UnixStream) -> Self {
        // SAFETY: `UnixStream::poll_read` passes the buffer to read(2) only.
        unsafe { Io::new_unzeroed(stream) }
    }
}

impl<T: AsyncWrite + Unpin> hyper::rt::Write for Io<T> {
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

    /// True: sprout's sockets turn a vectored write into one `writev(2)`,
    /// so hyper sends a response's head and body in one system call
    /// instead of copying them into one buffer first.
    #[inline]
    fn is_write_vectored(&self) -> bool {
        true
    }

    #[inline]
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_close(cx)
    }
}

impl<T: hyper::rt::Read + Unpin> AsyncRead for Io<T> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let mut read_buf = hyper::rt::ReadBuf::new(buf);
        ready!(Pin::new(&mut self.get_mut().inner).poll_read(cx, read_buf.unfilled()))?;
        Poll::Ready(Ok(read_buf.filled().len()))
    }
}

impl<T: hyper::rt::Write + Unpin> AsyncWrite for Io<T> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// hyper's [`Executor`](hyper::rt::Executor) on sprout: each future becomes
/// a green task on the running runtime, [`Send`] or not.
///
/// hyper spawns through it for HTTP/2 (one task per stream on a server, the
/// connection's driver on a client); hyper-util's pooled client spawns its
/// connections through it.
///
/// # Panics
/// `execute` panics on a thread that runs no sprout runtime.
#[derive(Clone, Copy, Debug, Default)]
pub struct Exec;

impl<F> hyper::rt::Executor<F> for Exec
where
    F: Future + 'static,
{
    #[inline]
    fn execute(&self, future: F) {
        // Detached: the task runs to its end, its output is dropped. It
        // does the spawning task's work (a connection's HTTP/2 stream), so
        // reports show that task's name and spawn site.
        let task = sprout_runtime::task::Builder::new().like_current();
        drop(task.spawn(async move {
            future.await;
        }));
    }
}

/// hyper's [`Timer`](hyper::rt::Timer) on sprout's timing wheel: hyper's
/// header-read timeout, HTTP/2 keep-alive pings and hyper-util's pool
/// expiry run on it.
///
/// A sleep has sprout's resolution: it ends at the first millisecond tick
/// after its deadline, never before.
///
/// # Panics
/// A sleep panics if polled on a thread that runs no sprout runtime.
#[derive(Clone, Copy, Debug, Default)]
pub struct Timer;

impl hyper::rt::Timer for Timer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(Sleep(sprout_runtime::sleep(duration)))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(Sleep(sprout_runtime::sleep_until(deadline)))
    }

    /// The runtime's clock ([`sprout::time::now`](sprout_runtime::time::now)): hyper's
    /// deadlines follow paused (virtual) time too.
    fn now(&self) -> Instant {
        sprout_runtime::time::now()
    }

    /// Moves the deadline of one of our sleeps in place (no allocation).
    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: Instant) {
        match sleep.as_mut().downcast_mut_pin::<Sleep>() {
            Some(ours) => ours.get_mut().0.reset(new_deadline),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

/// A sprout [`Sleep`](sprout_runtime::Sleep) as a [`hyper::rt::Sleep`].
#[derive(Debug)]
struct Sleep(sprout_runtime::Sleep);

impl Future for Sleep {
    type Output = ();

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.get_mut().0).poll(cx)
    }
}

impl hyper::rt::Sleep for Sleep {}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that looks at the buffer it is lent (as safe code may),
    /// then fills it with `b'x'`.
    struct Peeking {
        saw_only_zeroes: bool,
    }

    impl AsyncRead for Peeking {
        fn poll_read(mut self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
            self.saw_only_zeroes = buf.iter().all(|&b| b == 0);
            buf.fill(b'x');
            Poll::Ready(Ok(buf.len()))
        }
    }

    #[test]
    fn a_generic_reader_sees_a_zeroed_buffer_and_fills_hypers() {
        let waker = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        // Stale bytes where hyper's buffer is (uninitialized as far as it knows).
        let mut raw = [MaybeUninit::new(0xAAu8); 64];
        let mut buf = hyper::rt::ReadBuf::uninit(&mut raw);
        let mut io = Io::new(Peeking { saw_only_zeroes: false });
        let poll = hyper::rt::Read::poll_read(Pin::new(&mut io), &mut cx, buf.unfilled());
        assert!(matches!(poll, Poll::Ready(Ok(()))));
        assert!(io.get_ref().saw_only_zeroes, "the reader was lent zeroed bytes");
        assert_eq!(buf.filled(), &[b'x'; 64][..]);
    }
}
