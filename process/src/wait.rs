//! `Waiter`: one unreaped child and the readiness source that says when it
//! has exited.
//!
//! Ground rules:
//! - The child is reaped only here, with `waitpid(pid, WNOHANG)` on its own
//!   pid (through `std::process::Child::try_wait`), never `waitpid(-1)`: other
//!   code in the process may own other children. Until it is reaped the pid
//!   cannot be reused, so signalling it by number is safe.
//! - Once reaped, the status is kept: waiting again returns it, signals
//!   become no-ops.
//! - A wait holds nothing but a waker in the reactor, so dropping a wait
//!   future midway leaks nothing and a later wait starts afresh.

use std::fmt;
use std::io;
use std::process::ExitStatus;
use std::task::{Context, Poll, ready};

use sprout_runtime::__net::{Direction, SourceRegistration};
use sprout_runtime::io::{Interest, IoSource};

use super::sigchld;
use super::sys::{self, ExitFd};
use sprout_runtime::signal::Signal;

/// What wakes the waiter when the child exits.
enum Watch {
    /// Readable once the child has exited: a pidfd on Linux, a kqueue on
    /// macOS and FreeBSD (`sys/`).
    ExitFd(IoSource<ExitFd>),
    /// Receives every `SIGCHLD` of the process (see `sigchld.rs`).
    Sigchld(Signal),
}

/// A spawned child until it is reaped.
pub(crate) struct Waiter {
    child: std::process::Child,
    watch: Watch,
    status: Option<ExitStatus>,
    /// Check `waitpid` before the first wait: the watch was made after the
    /// child might have exited, and a `SIGCHLD` listener made then would
    /// never hear about it.
    recheck: bool,
}

/// A `SIGCHLD` listener to install before spawning, when children are
/// waited for that way (see `sigchld.rs`); `None` on the exit-descriptor
/// path.
pub(crate) fn prepare() -> io::Result<Option<Signal>> {
    if sigchld::fallback_active() { sigchld::listen().map(Some) } else { Ok(None) }
}

impl Waiter {
    /// Watches `child`, with the listener [`prepare`] made before the spawn.
    /// On failure the child comes back, still running and unreaped.
    pub(crate) fn new(
        child: std::process::Child,
        early: Option<Signal>,
    ) -> Result<Waiter, (std::process::Child, io::Error)> {
        if let Some(signal) = early {
            return Ok(Waiter { child, watch: Watch::Sigchld(signal), status: None, recheck: false });
        }
        match watch_after_spawn(child.id()) {
            Ok((watch, recheck)) => Ok(Waiter { child, watch, status: None, recheck }),
            Err(e) => Err((child, e)),
        }
    }

    /// The child's pid.
    pub(crate) fn id(&self) -> u32 {
        self.child.id()
    }

    /// The exit status, if the child has been reaped.
    pub(crate) fn status(&self) -> Option<ExitStatus> {
        self.status
    }

    /// Reaps the child if it has exited, without waiting.
    pub(crate) fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        reap(&mut self.child, &mut self.status)
    }

    /// Waits for the child to exit and reaps it. Cancellation-safe.
    pub(crate) fn poll_wait(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<ExitStatus>> {
        if let Some(status) = self.status {
            return Poll::Ready(Ok(status));
        }
        if self.recheck {
            if let Some(status) = self.try_wait()? {
                return Poll::Ready(Ok(status));
            }
            self.recheck = false;
        }
        match &self.watch {
            Watch::ExitFd(io) => {
                let registration = io.registration();
                let ready = ready!(registration.poll_ready(cx, Direction::Read))?;
                if let Some(status) = reap(&mut self.child, &mut self.status)? {
                    return Poll::Ready(Ok(status));
                }
                // An exit descriptor turns readable only when its process
                // exits, so
                // this should not happen; if it does, wait for the next edge.
                // A sticky hang-up would make that wait return at once:
                // report it rather than spin.
                if ready.is_read_closed() || ready.is_error() {
                    return Poll::Ready(Err(io::Error::other(
                        "the child's exit descriptor reports it gone, yet waitpid finds it running",
                    )));
                }
                // The documented end of a hand-driven readiness check
                // (`io` module docs): clear what let us in, wait for the
                // next edge.
                registration.poll_blocked(cx, Direction::Read, ready)
            }
            Watch::Sigchld(signal) => loop {
                // At least one SIGCHLD since the last look: ours, maybe.
                ready!(signal.poll_recv(cx))?;
                if let Some(status) = reap(&mut self.child, &mut self.status)? {
                    return Poll::Ready(Ok(status));
                }
            },
        }
    }

    /// Sends `signum` to the child, unless it has been reaped (then the pid
    /// may belong to another process, and this does nothing).
    pub(crate) fn send_signal(&mut self, signum: libc::c_int) -> io::Result<()> {
        if self.status.is_some() {
            return Ok(());
        }
        let pid = libc::pid_t::try_from(self.id()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: kill(2) only sends a signal. `pid` is our unreaped child
        // (see the module's ground rules), so it names no other process.
        if unsafe { libc::kill(pid, signum) } != 0 {
            let e = io::Error::last_os_error();
            // ESRCH: it is a zombie already; the next wait reaps it.
            if e.raw_os_error() != Some(libc::ESRCH) {
                return Err(e);
            }
        }
        Ok(())
    }

    /// Gives up the watch and hands back the std child (unreaped, unless
    /// `status()` says otherwise).
    pub(crate) fn into_child(self) -> std::process::Child {
        self.child
    }
}

/// Picks the watch for a child that already runs: an exit descriptor, or
/// else a `SIGCHLD` listener; the flag says whether the first wait must
/// check `waitpid` before waiting.
fn watch_after_spawn(pid: u32) -> io::Result<(Watch, bool)> {
    if !sigchld::fallback_active() {
        match ExitFd::open(pid) {
            Ok(fd) => return Ok((Watch::ExitFd(IoSource::with_interest(fd, Interest::READABLE)?), false)),
            Err(e) if sys::unsupported(&e) => sigchld::exit_fd_unsupported(),
            // EMFILE, ENOMEM...: the fallback below will likely fail too,
            // and say why. kqueue's ESRCH (the child is a zombie already):
            // the fallback's recheck reaps it.
            Err(_) => {}
        }
    }
    Ok((Watch::Sigchld(sigchld::listen()?), true))
}

/// `try_wait`, remembering the status.
fn reap(child: &mut std::process::Child, status: &mut Option<ExitStatus>) -> io::Result<Option<ExitStatus>> {
    if status.is_none() {
        *status = child.try_wait()?;
    }
    Ok(*status)
}

impl fmt::Debug for Waiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let watch = match self.watch {
            Watch::ExitFd(_) => sys::NAME,
            Watch::Sigchld(_) => "sigchld",
        };
        f.debug_struct("Waiter").field("pid", &self.id()).field("watch", &watch).field("status", &self.status).finish()
    }
}
