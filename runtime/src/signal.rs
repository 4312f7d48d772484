//! Unix signals as awaitable events: [`ctrl_c`] and [`on_signal`].
//!
//! A server's shutdown on Ctrl-C is one call:
//! `sprout::net::ServerHandle::stop_on_signals`
//! drains on the first `SIGINT` or `SIGTERM` and stops at once on the
//! second, as most servers do. Written by hand, that is a listener from
//! [`on_signal`] kept through the drain, since a later press must still
//! be heard (`ctrl_c()` stops listening once it returns):
//!
//! ```no_run
//! use std::time::Duration;
//! use sprout::signal::{SIGINT, on_signal};
//!
//! # async fn example(handle: sprout::net::ServerHandle) -> std::io::Result<()> {
//! let int = on_signal(SIGINT)?;
//! int.recv().await?; // the first press: drain for up to 5 s
//! let drain = sprout::spawn({
//!     let handle = handle.clone();
//!     async move { handle.stop_graceful(Duration::from_secs(5)).await }
//! });
//! int.recv().await?; // a second press: stop now
//! handle.stop_graceful(Duration::ZERO).await;
//! drop(drain);
//! # Ok(())
//! # }
//! ```
//!
//! A signal handler may run at any instant on any thread, so it must not
//! touch the runtime. Here each listener owns a socket pair: the handler
//! only writes one byte to the sending end (`write(2)` is
//! async-signal-safe), and the receiving end is registered with the
//! reactor like any socket, so the waiting task wakes on the loop's next
//! turn. Handlers are installed with `signal-hook-registry`, which chains
//! them with any other handler in the process.
//!
//! # Caveats
//! - Signals coalesce: several deliveries between two `recv` calls may
//!   wake it once. Each `recv` means "at least one since the last".
//! - Once a signal has had a listener, its default action (for `SIGINT`
//!   and `SIGTERM`: terminating the process) stays replaced for the rest
//!   of the process, even after the listener is dropped; deliveries with
//!   no listener are ignored. This is what tokio and signal-hook do too.
//! - `SIGKILL`, `SIGSTOP`, `SIGILL`, `SIGFPE` and `SIGSEGV` cannot be
//!   listened to.

use std::fmt;
use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::os::raw::c_int;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::io::source::SourceRegistration;
use crate::io::{Interest, IoSource};
use crate::reactor::Direction;
use futures_core::Stream;
use signal_hook_registry::SigId;

pub use libc::{SIGALRM, SIGCHLD, SIGHUP, SIGINT, SIGPIPE, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH};

/// Waits for one Ctrl-C (`SIGINT`).
///
/// The handler is installed when the future is first polled; a Ctrl-C
/// before that terminates the process as usual. Once this returns,
/// nothing listens any more, and a later Ctrl-C is ignored (see the
/// module docs): a program that has more to do after the first press,
/// such as draining a server, should keep a listener from [`on_signal`]
/// for the second one, or use
/// `sprout::net::ServerHandle::stop_on_signals`.
///
/// ```no_run
/// sprout::run(async {
///     println!("press Ctrl-C to stop");
///     sprout::signal::ctrl_c().await.unwrap();
///     println!("bye");
/// });
/// ```
///
/// # Errors
/// Outside a sprout runtime, or if the handler cannot be installed.
pub async fn ctrl_c() -> io::Result<()> {
    on_signal(SIGINT)?.recv().await
}

/// Listens for the signal `signum` (`SIGTERM`, `SIGHUP`, `SIGUSR1`...):
/// `recv().await` returns each time it arrives. Like gevent's
/// `signal_handler`, only awaited instead of called back.
///
/// ```
/// use sprout::signal::{SIGUSR1, on_signal};
///
/// sprout::run(async {
///     let usr1 = on_signal(SIGUSR1).unwrap();
///     // SAFETY: raise(3) on our own process; the listener handles it.
///     unsafe { libc::raise(SIGUSR1) };
///     usr1.recv().await.unwrap();
/// });
/// ```
///
/// # Errors
/// `InvalidInput` for a signal that cannot be caught (see the module
/// docs) or is unknown; outside a sprout runtime.
pub fn on_signal(signum: c_int) -> io::Result<Signal> {
    if signal_hook_registry::FORBIDDEN.contains(&signum) {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("signal {signum} cannot be caught")));
    }
    let (sender, receiver) = std::os::unix::net::UnixStream::pair()?;
    sender.set_nonblocking(true)?;
    receiver.set_nonblocking(true)?;
    let receiver = IoSource::with_interest(mio::net::UnixStream::from_std(receiver), Interest::READABLE)?;
    let fd = sender.as_raw_fd();
    let action = move || {
        // Keeps the sending end open for as long as the action is installed.
        let _ = &sender;
        let byte = 1u8;
        // SAFETY: write(2) is async-signal-safe; `fd` stays open while this
        // action is installed (it owns `sender`), and `byte` outlives the
        // call. A full buffer (EAGAIN) just drops the byte: the receiver
        // already has one pending, and signals coalesce anyway.
        unsafe { libc::write(fd, (&raw const byte).cast(), 1) };
    };
    // SAFETY: the action only calls write(2), which is async-signal-safe;
    // it allocates nothing and takes no lock.
    let id = unsafe { signal_hook_registry::register(signum, action) }
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("cannot listen to signal {signum}: {e}")))?;
    Ok(Signal { signum, id, receiver })
}

/// A listener for one signal, from [`on_signal`]. Dropping it uninstalls
/// its handler (see the module docs for what happens to later deliveries).
pub struct Signal {
    signum: c_int,
    id: SigId,
    receiver: IoSource<mio::net::UnixStream>,
}

impl Signal {
    /// Waits until the signal arrives (at least once since the last `recv`).
    ///
    /// # Errors
    /// Only if the internal socket fails, which should not happen.
    pub async fn recv(&self) -> io::Result<()> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Polls for the signal.
    pub fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut buf = [0u8; 64];
        self.receiver.registration().poll_io(cx, Direction::Read, || {
            // Drain every pending byte: one wake-up per burst of signals.
            let mut got = false;
            loop {
                match (&mut self.receiver.get_ref()).read(&mut buf) {
                    Ok(0) => return Err(io::Error::from(io::ErrorKind::UnexpectedEof)),
                    Ok(_) => got = true,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock && got => return Ok(()),
                    Err(e) => return Err(e),
                }
            }
        })
    }

    /// The signal's number.
    pub fn signum(&self) -> c_int {
        self.signum
    }
}

impl Stream for Signal {
    type Item = io::Result<()>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<io::Result<()>>> {
        self.poll_recv(cx).map(Some)
    }
}

impl Drop for Signal {
    fn drop(&mut self) {
        signal_hook_registry::unregister(self.id);
    }
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signal").field("signum", &self.signum).finish()
    }
}
