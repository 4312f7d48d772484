//! One connection: hyper over the stream, under the connection's clock
//! ([`clock`](super::clock)) and the server's stop.

use std::future::{Future, poll_fn};
use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::task::Poll;

use futures_io::{AsyncRead, AsyncWrite};
use hyper::body::Incoming;
use hyper::{Request, service::Service};
use sprout_net::TcpStream;
use sprout_runtime::Sleep;

use super::clock::{Clock, Phase};
use super::service::Svc;
use super::watched::{PREFACE, Rewind, Watched};
use super::{ErrorKind, Handler, ServeError, SetupRef};
use crate::rt::{Exec, Io, Timer};

/// Serves one accepted connection until it closes, times out, or the
/// server stops.
pub(crate) async fn serve<H: Handler>(stream: TcpStream, peer: SocketAddr, setup: SetupRef<H>) {
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
        return drive(Io::new(Watched::new(tls, clock.marks().clone())), h2, peer, clock, setup).await;
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
        let stream = Rewind::new(first, have, stream);
        let watched = Watched::new(stream, clock.marks().clone());
        // SAFETY: a `Rewind` read copies its prefix into the buffer, then
        // hands it to `TcpStream::poll_read` (read(2)); `Watched` copies
        // bytes it kept back into the buffer or passes it on, and then
        // reads only the bytes written there: none of them reads a byte
        // of the buffer it has not written.
        let io = unsafe { Io::new_unzeroed(watched) };
        return drive(io, h2, peer, clock, setup).await;
    }
    let watched = Watched::new(stream, clock.marks().clone());
    // SAFETY: `Watched` copies bytes it kept back into the buffer or hands
    // it to `TcpStream::poll_read` (read(2)), and then reads only the bytes
    // written there, never one it has not written.
    let io = unsafe { Io::new_unzeroed(watched) };
    drive(io, false, peer, clock, setup).await
}

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

/// The handler's per-connection step (a tower make-service builds the
/// connection's service there); `None`, reported, if it failed or
/// panicked: the connection is closed before its first request.
async fn connect<H: Handler>(setup: &SetupRef<H>, peer: SocketAddr) -> Option<H::Conn> {
    use futures_util::FutureExt;
    let connect = std::panic::AssertUnwindSafe(setup.handler.connect(peer)).catch_unwind();
    match connect.await {
        Ok(Ok(conn)) => Some(conn),
        Ok(Err(error)) => {
            report(setup, ServeError::new(peer, ErrorKind::Other, error));
            None
        }
        Err(panic) => {
            let message = super::service::panic_message("the handler's connect", &*panic);
            report(setup, ServeError::new(peer, ErrorKind::Panic, message));
            None
        }
    }
}

/// Runs hyper on `io` (HTTP/2 if `h2`), under the clock and the stop.
async fn drive<S, H>(io: Io<Watched<S>>, h2: bool, peer: SocketAddr, clock: Rc<Clock>, setup: SetupRef<H>)
where
    // `Send` for hyper's upgrades (WebSockets): see `Marks`.
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    H: Handler,
{
    let Some(conn) = connect(&setup, peer).await else { return };
    let service = Svc::new(setup.clone(), conn, clock.clone(), peer);
    let result = if h2 {
        clock.marks().unframe();
        serve_h2(io, service, &clock, &setup).await
    } else {
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(Timer)
            .header_read_timeout(None)
            .keep_alive(setup.config.keep_alive)
            .writev(setup.config.writev)
            .max_header_size(setup.config.max_header_size);
        // Upgrades (`101 Switching Protocols`) hand the stream to the handler.
        let conn = builder.serve_connection(io, service).with_upgrades();
        let outcome = run(conn, &clock, &setup).await;
        // hyper has let go of the stream; an upgraded one reads on unframed.
        clock.marks().unframe();
        outcome
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
async fn serve_h2<S, H>(io: Io<Watched<S>>, service: Svc<H>, clock: &Clock, setup: &SetupRef<H>) -> Outcome
where
    S: AsyncRead + AsyncWrite + Unpin + 'static,
    H: Handler,
{
    let mut builder = hyper::server::conn::http2::Builder::new(Exec);
    builder.timer(Timer).max_header_list_size(u32::try_from(setup.config.max_header_size).unwrap_or(u32::MAX));
    run(builder.serve_connection(io, service), clock, setup).await
}

#[cfg(not(feature = "http2"))]
async fn serve_h2<S, H>(_io: Io<Watched<S>>, _service: Svc<H>, _clock: &Clock, _setup: &SetupRef<H>) -> Outcome
where
    S: AsyncRead + AsyncWrite + Unpin + 'static,
    H: Handler,
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
