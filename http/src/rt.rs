//! hyper's runtime traits on sprout: I/O, spawning, timers.
//!
//! hyper 1.x owns no runtime. It asks for three things, and this module
//! gives each one:
//!
//! | hyper wants | sprout gives | what it is |
//! | --- | --- | --- |
//! | [`hyper::rt::Read`] + [`Write`](hyper::rt::Write) | [`Io<T>`] | any `futures-io` stream (`TcpStream`, `UnixStream`, a TLS stream) |
//! | [`hyper::rt::Executor`] | [`Exec`] | [`sprout::spawn`](sprout_runtime::spawn): `!Send` futures too |
//! | [`hyper::rt::Timer`] | [`Timer`] | sprout's timing wheel ([`sprout_runtime::sleep`]) |
//!
//! [`Io`] also works the other way round: around a hyper stream (an
//! upgraded connection, [`hyper::upgrade::Upgraded`]) it implements
//! `futures-io`, so WebSocket and codec crates can take it.
//!
//! ```
//! use http_body_util::{BodyExt, Empty, Full};
//! use hyper::body::Bytes;
//! use sprout_http::rt::Io;
//! use sprout_net::{TcpListener, TcpStream};
//!
//! sprout_runtime::run(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
//!     let addr = listener.local_addr().unwrap();
//!     sprout_runtime::spawn(async move {
//!         let (stream, _) = listener.accept().await.unwrap();
//!         let hello = hyper::service::service_fn(|_req| async {
//!             Ok::<_, hyper::Error>(hyper::Response::new(Full::new(Bytes::from("hello"))))
//!         });
//!         hyper::server::conn::http1::Builder::new().serve_connection(Io::new(stream), hello).await.unwrap();
//!     });
//!
//!     let stream = TcpStream::connect(addr).await.unwrap();
//!     let (mut send, conn) = hyper::client::conn::http1::handshake(Io::new(stream)).await.unwrap();
//!     sprout_runtime::spawn(conn);
//!     let req = hyper::Request::get("/").header("host", "x").body(Empty::<Bytes>::new()).unwrap();
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
//! (it panics on a thread without one, as [`sprout_runtime::spawn`] does).

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
#[derive(Debug, Default)]
pub struct Io<T> {
    inner: T,
}

impl<T> Io<T> {
    /// Wraps `inner`.
    #[inline]
    pub fn new(inner: T) -> Io<T> {
        Io { inner }
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
        // SAFETY: the slice is only handed to the stream's `poll_read`, which
        // writes into it (sprout's streams pass it to read(2), TLS streams
        // copy plaintext into it) and never reads what it has not written;
        // no byte of it is read here. This is the cast tokio and hyper-util
        // make for the same reason: zeroing hyper's 8 KiB read buffer
        // before every read would cost more than the read.
        let unfilled = unsafe { &mut *(buf.as_mut() as *mut [MaybeUninit<u8>] as *mut [u8]) };
        let n = ready!(Pin::new(&mut self.get_mut().inner).poll_read(cx, unfilled))?;
        // SAFETY: `poll_read` reported `n` bytes written at the start of the
        // unfilled part, so they are initialized.
        unsafe { buf.advance(n) };
        Poll::Ready(Ok(()))
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
        // Detached: the task runs to its end, its output is dropped.
        drop(sprout_runtime::spawn(async move {
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
