//! One connection: hyper over the stream, sprout's clock, graceful stop.
//!
//! # The clock
//! A connection is in one of three phases, kept in [`Clock`] and moved by
//! the three parties that see the changes:
//!
//! | phase | entered when | by | deadline |
//! | --- | --- | --- | --- |
//! | `Head` | the connection is accepted; bytes arrive while `Idle` | [`serve`], [`Watched`] | header-read timeout |
//! | `Busy` | hyper calls the handler | `service::Svc` | none |
//! | `Idle` | the last response in flight has been sent (its body dropped) | `service::Tracked` | keep-alive timeout |
//!
//! The connection's task keeps one sprout timer and arms it lazily: the
//! phase changes only write a deadline into a `Cell`; the task re-arms the
//! timer when it is about to sleep and the timer would fire *later* than
//! the deadline. A timer that fires early (the deadline moved on) is
//! re-armed; one that fires while `Busy` is ignored. On a busy keep-alive
//! connection the timing wheel is therefore touched about once per
//! keep-alive period, not once per request.
//!
//! HTTP/2 connections never enter `Head`: a stream of pings or window
//! updates is not a slow request head.

use std::cell::Cell;
use std::future::{Future, poll_fn};
use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_io::{AsyncRead, AsyncWrite};
use hyper::body::Incoming;
use hyper::{Request, service::Service};
use sprout_net::TcpStream;
use sprout_runtime::Sleep;

use super::service::Svc;
use super::{ErrorKind, IntoResponse, ServeError, SetupRef};
use crate::rt::{Exec, Io, Timer};

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

/// Where a connection is between requests (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Phase {
    /// Waiting for (the rest of) a request head.
    Head = 0,
    /// A request is being handled or its response sent.
    Busy = 1,
    /// Waiting for the next request on a kept-alive connection.
    Idle = 2,
}

impl Phase {
    fn from_u8(v: u8) -> Phase {
        match v {
            0 => Phase::Head,
            1 => Phase::Busy,
            _ => Phase::Idle,
        }
    }
}

/// `Marks::deadline` for "no deadline".
const NEVER: u64 = u64::MAX;

/// The phase and its deadline: what the stream and the service write and
/// the connection's task reads.
///
/// Atomics, although one thread does everything, so that the watched
/// stream is `Send`: hyper hands an upgraded connection (a WebSocket) out
/// as a `Send` object. Every access is `Relaxed`, a plain load or store
/// on x86 and ARM, as cheap as a `Cell`.
struct Marks {
    phase: AtomicU8,
    /// When the phase times out, in nanoseconds since `base`; `NEVER` for never.
    deadline: AtomicU64,
    base: Instant,
    header_read: Option<Duration>,
    /// HTTP/2: bytes arriving while idle do not start a `Head`.
    multiplexed: AtomicBool,
}

impl Marks {
    #[inline]
    fn set(&self, phase: Phase, timeout: Option<Duration>) {
        self.phase.store(phase as u8, Relaxed);
        // The runtime's clock, so that paused (virtual) time drives the timeouts.
        let elapsed = sprout_runtime::time::now().saturating_duration_since(self.base);
        // A deadline past what the nanoseconds hold (584 years; `Duration::MAX`
        // among them) is no deadline.
        let nanos = timeout.and_then(|t| elapsed.checked_add(t)).map(|d| d.as_nanos());
        let deadline = nanos.and_then(|n| u64::try_from(n).ok()).unwrap_or(NEVER);
        self.deadline.store(deadline, Relaxed);
    }

    /// Bytes arrived from the peer.
    #[inline]
    fn bytes_arrived(&self) {
        if self.phase.load(Relaxed) == Phase::Idle as u8 && !self.multiplexed.load(Relaxed) {
            self.set(Phase::Head, self.header_read);
        }
    }
}

/// A connection's phase and the deadline that goes with it.
pub(crate) struct Clock {
    marks: Arc<Marks>,
    /// Requests whose responses are not fully sent (HTTP/2 runs several).
    in_flight: Cell<u32>,
    keep_alive: Option<Duration>,
}

impl Clock {
    fn new(header_read: Option<Duration>, keep_alive: Option<Duration>) -> Clock {
        let marks = Marks {
            phase: AtomicU8::new(Phase::Head as u8),
            deadline: AtomicU64::new(NEVER),
            base: sprout_runtime::time::now(),
            header_read,
            multiplexed: AtomicBool::new(false),
        };
        marks.set(Phase::Head, header_read);
        Clock { marks: Arc::new(marks), in_flight: Cell::new(0), keep_alive }
    }

    /// hyper called the handler.
    #[inline]
    pub(crate) fn request_started(&self) {
        self.in_flight.set(self.in_flight.get() + 1);
        self.marks.set(Phase::Busy, None);
    }

    /// A response was sent (or abandoned).
    #[inline]
    pub(crate) fn response_done(&self) {
        let left = self.in_flight.get().saturating_sub(1);
        self.in_flight.set(left);
        if left == 0 {
            self.marks.set(Phase::Idle, self.keep_alive);
        }
    }

    fn phase(&self) -> Phase {
        Phase::from_u8(self.marks.phase.load(Relaxed))
    }

    fn deadline(&self) -> Option<Instant> {
        match self.marks.deadline.load(Relaxed) {
            NEVER => None,
            nanos => Some(self.marks.base + Duration::from_nanos(nanos)),
        }
    }
}

/// The accepted stream, telling the clock when bytes arrive.
pub(crate) struct Watched<S> {
    inner: S,
    marks: Arc<Marks>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    #[inline]
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(1..)) = poll {
            this.marks.bytes_arrived();
        }
        poll
    }
}

forward_async_write!(Watched);

/// Serves one accepted connection until it closes, times out, or the
/// server stops.
pub(crate) async fn serve<H, F>(stream: TcpStream, peer: SocketAddr, setup: SetupRef<H>)
where
    H: Fn(Request<Incoming>) -> F + 'static,
    F: Future + 'static,
    F::Output: IntoResponse,
{
    // Small responses go out at once, not after the peer's delayed ACK.
    let _ = stream.set_nodelay(true);
    let config = &setup.config;
    let clock = Rc::new(Clock::new(config.header_read_timeout, config.keep_alive_timeout));

    #[cfg(feature = "tls")]
    if let Some(acceptor) = config.tls.clone() {
        let handshake = acceptor.accept(stream);
        let tls = match within(&clock, handshake).await {
            Some(Ok(tls)) => tls,
            Some(Err(e)) => return report(&setup, ServeError::new(peer, ErrorKind::Peer, e)),
            None => return report(&setup, ServeError::new(peer, ErrorKind::Peer, head_timed_out())),
        };
        let h2 = config.http2 && tls.get_ref().1.alpn_protocol() == Some(b"h2");
        return drive(Io::new(Watched { inner: tls, marks: clock.marks.clone() }), h2, peer, clock, setup).await;
    }

    if config.http2 {
        // Cleartext HTTP/2 with prior knowledge starts with its preface.
        let mut first = [0u8; PREFACE.len()];
        let mut have = 0;
        while have < first.len() && first[..have] == PREFACE[..have] {
            match within(&clock, stream.read(&mut first[have..])).await {
                Some(Ok(0)) => return,
                Some(Ok(n)) => have += n,
                Some(Err(e)) => return report(&setup, ServeError::new(peer, ErrorKind::Peer, e)),
                None => return report(&setup, ServeError::new(peer, ErrorKind::Peer, head_timed_out())),
            }
        }
        let h2 = first[..have] == *PREFACE;
        let stream = Rewind { prefix: first, start: 0, end: have, inner: stream };
        let watched = Watched { inner: stream, marks: clock.marks.clone() };
        // SAFETY: a `Rewind` read copies its prefix into the buffer, then
        // hands it to `TcpStream::poll_read` (read(2)), and `Watched` only
        // passes it on: none of them reads the buffer.
        let io = unsafe { Io::new_unzeroed(watched) };
        return drive(io, h2, peer, clock, setup).await;
    }
    let watched = Watched { inner: stream, marks: clock.marks.clone() };
    // SAFETY: `Watched` hands the buffer to `TcpStream::poll_read` (read(2)) only.
    let io = unsafe { Io::new_unzeroed(watched) };
    drive(io, false, peer, clock, setup).await
}

/// The first bytes of every HTTP/2 connection.
const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Runs `future` until the clock's (header-read) deadline; `None` if it passed.
async fn within<T>(clock: &Clock, future: impl Future<Output = T>) -> Option<T> {
    match clock.deadline() {
        Some(deadline) => sprout_runtime::time::timeout_at(deadline, future).await.ok(),
        None => Some(future.await),
    }
}

fn head_timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "timed out reading the request head")
}

fn report<H>(setup: &SetupRef<H>, error: ServeError) {
    (setup.config.on_error)(&error);
}

/// Runs hyper on `io` (HTTP/2 if `h2`), under the clock and the stop.
async fn drive<S, H, F>(io: Io<Watched<S>>, h2: bool, peer: SocketAddr, clock: Rc<Clock>, setup: SetupRef<H>)
where
    // `Send` for hyper's upgrades (WebSockets): see `Marks`.
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    H: Fn(Request<Incoming>) -> F + 'static,
    F: Future + 'static,
    F::Output: IntoResponse,
{
    let service = Svc::new(setup.clone(), clock.clone(), peer);
    let result = if h2 {
        clock.marks.multiplexed.store(true, Relaxed);
        serve_h2(io, service, &clock, &setup).await
    } else {
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder.timer(Timer).header_read_timeout(None).keep_alive(setup.config.keep_alive).writev(setup.config.writev);
        // Upgrades (`101 Switching Protocols`) hand the stream to the handler.
        let conn = builder.serve_connection(io, service).with_upgrades();
        run(conn, &clock, &setup).await
    };
    match result {
        Outcome::Closed(Ok(())) => {}
        Outcome::Closed(Err(e)) => {
            let kind = if caused_by_peer(&e) { ErrorKind::Peer } else { ErrorKind::Other };
            report(&setup, ServeError::new(peer, kind, e));
        }
        Outcome::TimedOut(Phase::Head) => report(&setup, ServeError::new(peer, ErrorKind::Peer, head_timed_out())),
        // An idle keep-alive connection closed on time: nothing to say.
        Outcome::TimedOut(_) => {}
    }
}

#[cfg(feature = "http2")]
async fn serve_h2<S, H, F>(io: Io<Watched<S>>, service: Svc<H>, clock: &Clock, setup: &SetupRef<H>) -> Outcome
where
    S: AsyncRead + AsyncWrite + Unpin + 'static,
    H: Fn(Request<Incoming>) -> F + 'static,
    F: Future + 'static,
    F::Output: IntoResponse,
{
    let mut builder = hyper::server::conn::http2::Builder::new(Exec);
    builder.timer(Timer);
    run(builder.serve_connection(io, service), clock, setup).await
}

#[cfg(not(feature = "http2"))]
async fn serve_h2<S, H, F>(_io: Io<Watched<S>>, _service: Svc<H>, _clock: &Clock, _setup: &SetupRef<H>) -> Outcome
where
    S: AsyncRead + AsyncWrite + Unpin + 'static,
    H: Fn(Request<Incoming>) -> F + 'static,
    F: Future + 'static,
    F::Output: IntoResponse,
{
    let _ = Exec;
    unreachable!("HTTP/2 is negotiated only with the http2 feature")
}

/// How a connection ended.
enum Outcome {
    /// hyper finished: the peer closed, or an error.
    Closed(hyper::Result<()>),
    /// The clock's deadline passed in this phase; the connection is dropped.
    TimedOut(Phase),
}

/// A hyper server connection that can be asked to finish gracefully.
trait Graceful: Future<Output = hyper::Result<()>> {
    fn graceful_shutdown(self: Pin<&mut Self>);
}

impl<I, S> Graceful for hyper::server::conn::http1::UpgradeableConnection<I, S>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    S: Service<Request<Incoming>, Response = hyper::Response<super::service::Tracked>>,
    S::Error: Into<crate::body::BoxError>,
{
    fn graceful_shutdown(self: Pin<&mut Self>) {
        hyper::server::conn::http1::UpgradeableConnection::graceful_shutdown(self)
    }
}

#[cfg(feature = "http2")]
impl<I, S, E> Graceful for hyper::server::conn::http2::Connection<I, S, E>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin,
    S: Service<Request<Incoming>, Response = hyper::Response<super::service::Tracked>>,
    S::Error: Into<crate::body::BoxError>,
    E: hyper::rt::bounds::Http2ServerConnExec<S::Future, super::service::Tracked>,
{
    fn graceful_shutdown(self: Pin<&mut Self>) {
        hyper::server::conn::http2::Connection::graceful_shutdown(self)
    }
}

/// Polls `conn` until it ends, the clock's deadline passes, or (after the
/// server stops) it has finished its requests in flight.
async fn run<C: Graceful, H>(conn: C, clock: &Clock, setup: &SetupRef<H>) -> Outcome {
    let mut conn = pin!(conn);
    let handle = &setup.handle;
    let mut stopped = pin!(handle.stopped());
    let mut watching = false;
    let mut stopping = false;
    let mut timer: Option<Sleep> = None;
    poll_fn(|cx| {
        // The stop: registered once; afterwards a flag is enough to know.
        if !stopping && (!watching || handle.is_stopped()) {
            watching = true;
            if stopped.as_mut().poll(cx).is_ready() {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
        }
        if let Poll::Ready(result) = conn.as_mut().poll(cx) {
            return Poll::Ready(Outcome::Closed(result));
        }
        loop {
            let Some(deadline) = clock.deadline() else { return Poll::Pending };
            let sleep = timer.get_or_insert_with(|| sprout_runtime::sleep_until(deadline));
            if sleep.deadline() > deadline || sleep.is_elapsed() {
                sleep.reset(deadline);
            }
            if Pin::new(&mut *sleep).poll(cx).is_pending() {
                return Poll::Pending;
            }
            if sprout_runtime::time::now() >= deadline {
                return Poll::Ready(Outcome::TimedOut(clock.phase()));
            }
            // Fired for an earlier deadline that has since moved on: re-arm.
        }
    })
    .await
}

/// Whether a connection's error is the peer's doing.
fn caused_by_peer(e: &hyper::Error) -> bool {
    if e.is_parse() || e.is_parse_too_large() || e.is_incomplete_message() || e.is_timeout() || e.is_canceled() {
        return true;
    }
    let mut source = std::error::Error::source(e);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<io::Error>() {
            use io::ErrorKind::*;
            return matches!(io.kind(), ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof | TimedOut);
        }
        if let Some(h2) = err.downcast_ref::<hyper::Error>() {
            return caused_by_peer(h2);
        }
        source = err.source();
    }
    false
}

/// A stream with bytes already read from it put back in front.
struct Rewind<S> {
    prefix: [u8; PREFACE.len()],
    start: usize,
    end: usize,
    inner: S,
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
