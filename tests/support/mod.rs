//! The one support module of the integration tests (`mod support;` in a
//! test file):
//!
//! - futures and values that count their polls and drops, and a shared
//!   log, in the manner of async-task's tests;
//! - wakers that record being woken, and polling by hand, so a sync or
//!   queue test can drive futures in any interleaving ([`FlagWaker`]);
//! - for the network tests, the echo handler, loopback pairs, and hang
//!   guards ([`within`] inside a runtime, [`watchdog`] around one);
//! - for the thread-safe hand-off tests, their rounds and deadline
//!   ([`handoff`]);
//! - for the tests of the blocking detector's report on a server, the
//!   child process and the checks ([`blocking_report`]);
//! - for paused tests of servers on two workers, connections spread over
//!   both and the check that all were closed ([`workers`], which
//!   sprout-http's tests include too);
//! - for the tests of the `tracing` feature, a layer that records spans
//!   and events (`trace`).
//!
//! Each test binary uses part of it.
#![allow(dead_code)]

pub(crate) mod blocking_report;
pub(crate) mod handoff;
#[cfg(feature = "tracing")]
pub(crate) mod trace;
pub(crate) mod workers;

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

/// Counts how often something happened; cheap to clone and share.
#[derive(Clone, Default, Debug)]
pub(crate) struct Counter(Rc<Cell<usize>>);

impl Counter {
    pub(crate) fn new() -> Counter {
        Counter::default()
    }
    pub(crate) fn get(&self) -> usize {
        self.0.get()
    }
    pub(crate) fn bump(&self) {
        self.0.set(self.0.get() + 1);
    }
}

/// Bumps its counter when dropped.
pub(crate) struct DropCount(pub Counter);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.bump();
    }
}

/// Wraps a future, counting its polls and its drop.
pub(crate) struct Counted<F> {
    inner: Pin<Box<F>>,
    polls: Counter,
    _drop: DropCount,
}

impl<F: Future> Counted<F> {
    pub(crate) fn new(inner: F, polls: &Counter, drops: &Counter) -> Counted<F> {
        Counted { inner: Box::pin(inner), polls: polls.clone(), _drop: DropCount(drops.clone()) }
    }
}

impl<F: Future> Future for Counted<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls.bump();
        self.inner.as_mut().poll(cx)
    }
}

/// A shared log of events, to check orders.
#[derive(Clone, Default, Debug)]
pub(crate) struct Log(Rc<std::cell::RefCell<Vec<String>>>);

impl Log {
    pub(crate) fn new() -> Log {
        Log::default()
    }
    pub(crate) fn push(&self, s: impl Into<String>) {
        self.0.borrow_mut().push(s.into());
    }
    pub(crate) fn take(&self) -> Vec<String> {
        std::mem::take(&mut self.0.borrow_mut())
    }
}

// ---- Hand-driven futures (sync_* and queue_* tests) ----

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Wake, Waker};

/// A waker that raises a flag (and counts) when woken.
pub(crate) struct Flag {
    woken: AtomicBool,
    count: AtomicUsize,
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        self.count.fetch_add(1, Ordering::SeqCst);
    }
}

/// One waker per simulated task.
pub(crate) struct FlagWaker {
    flag: Arc<Flag>,
    waker: Waker,
}

impl FlagWaker {
    pub(crate) fn new() -> FlagWaker {
        let flag = Arc::new(Flag { woken: AtomicBool::new(false), count: AtomicUsize::new(0) });
        FlagWaker { waker: Waker::from(flag.clone()), flag }
    }

    /// Whether it was woken since the last `poll`.
    pub(crate) fn woken(&self) -> bool {
        self.flag.woken.load(Ordering::SeqCst)
    }

    /// The waker itself, for polling by hand with a `Context` of its own.
    pub(crate) fn waker(&self) -> Waker {
        self.waker.clone()
    }

    /// How many times it was woken in all.
    pub(crate) fn wakes(&self) -> usize {
        self.flag.count.load(Ordering::SeqCst)
    }

    /// Polls `fut` once with this waker, clearing the flag first.
    pub(crate) fn poll<F: Future + Unpin>(&self, fut: &mut F) -> Poll<F::Output> {
        self.flag.woken.store(false, Ordering::SeqCst);
        Pin::new(fut).poll(&mut Context::from_waker(&self.waker))
    }
}

/// Polls once with a waker that does nothing.
pub(crate) fn poll_once<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    Pin::new(fut).poll(&mut Context::from_waker(Waker::noop()))
}

// ---- Network helpers (tcp_*, udp_*, unix_*, server_*, signal_* tests) ----

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use sprout::net::{ServerHandle, StreamServer, TcpListener, TcpStream};

/// An echo handler that reads into a buffer of its own (`read`).
pub(crate) async fn echo(stream: TcpStream, upper: bool) -> io::Result<()> {
    let mut buf = vec![0; 8 * 1024];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        if upper {
            buf[..n].make_ascii_uppercase();
        }
        stream.write_all(&buf[..n]).await?;
    }
}

/// The echo handler of `examples/echo_server.rs`: `read_lent`, so an idle
/// connection holds no buffer.
pub(crate) async fn echo_lent(stream: TcpStream) -> io::Result<()> {
    loop {
        let data = stream.read_lent().await?;
        if data.is_empty() {
            return Ok(());
        }
        stream.write_all(&data).await?;
    }
}

/// Starts an echo `StreamServer` on a free loopback port.
pub(crate) async fn echo_server() -> (SocketAddr, ServerHandle) {
    let server = StreamServer::bind("127.0.0.1:0", |stream, _| echo(stream, false)).await.unwrap();
    let addr = server.local_addr().unwrap();
    (addr, server.start())
}

/// A connected pair of sprout streams over loopback: (client, server).
pub(crate) async fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    let (server, _) = listener.accept().await.unwrap();
    (client, server)
}

/// Fails the test instead of hanging if `fut` takes more than 20 s (a
/// generous bound: a hang, not slowness, is what it catches).
pub(crate) async fn within<F: std::future::Future>(fut: F) -> F::Output {
    match sprout::timeout(Duration::from_secs(20), fut).await {
        Ok(out) => out,
        Err(_) => panic!("the test hung for 20 s"),
    }
}

/// Sets `SO_SNDBUF` and `SO_RCVBUF` small, so tests that fill buffers stay fast.
pub(crate) fn small_buffers(stream: &TcpStream) {
    let sock = socket2::SockRef::from(stream);
    sock.set_send_buffer_size(16 * 1024).unwrap();
    sock.set_recv_buffer_size(16 * 1024).unwrap();
}

/// Raises the descriptor limit and returns how many connections (two
/// descriptors each, client and server in this process) fit under it.
pub(crate) fn connections_that_fit(wanted: usize) -> usize {
    let limit = sprout::net::raise_fd_limit().unwrap_or(1024) as usize;
    wanted.min(limit.saturating_sub(64) / 2)
}

/// Runs `f` (which starts its own runtime) on a thread and fails the test
/// if it has not returned after `limit`. `within` cannot catch a runtime
/// that spins inside one poll (its timer never fires); this can. On a
/// hang the thread is left behind, and the test binary's exit ends it.
pub(crate) fn watchdog<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, finished) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let out = f();
        let _ = done.send(());
        out
    });
    match finished.recv_timeout(limit) {
        Ok(()) => thread.join().unwrap(),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => match thread.join() {
            Ok(out) => out,
            Err(panic) => std::panic::resume_unwind(panic),
        },
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("the runtime thread hung (or spun) for {limit:?}")
        }
    }
}

/// Counts the runtime's timer ticks while it lives: proof that the loop
/// still turns (a spinning task would freeze it at a handful).
pub(crate) fn ticker() -> (Counter, sprout::JoinHandle<()>) {
    let ticks = Counter::new();
    let task = sprout::spawn({
        let ticks = ticks.clone();
        async move {
            loop {
                sprout::sleep(Duration::from_millis(1)).await;
                ticks.bump();
            }
        }
    });
    (ticks, task)
}
