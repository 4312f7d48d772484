//! A pidfd: a file descriptor that becomes readable when its process exits
//! (Linux 5.3+, `pidfd_open(2)`).
//!
//! It is how a child is waited for without a signal handler or a thread:
//! the pidfd is registered with the reactor like a socket, and its one
//! readiness event says "waitpid will not block now". It refers to the
//! process itself, not to a number, so it cannot be confused with a later
//! process that reuses the pid.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use mio::event::Source;
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

/// An owned pidfd, as a mio source.
#[derive(Debug)]
pub(crate) struct PidFd(OwnedFd);

impl PidFd {
    /// Opens a pidfd for `pid`, which must be our child and not yet reaped
    /// (then the number cannot have been reused).
    ///
    /// # Errors
    /// As `pidfd_open(2)`; see [`unsupported`] for the errors that mean the
    /// kernel (or a sandbox) has no pidfds at all.
    pub(crate) fn open(pid: u32) -> io::Result<PidFd> {
        let pid = libc::pid_t::try_from(pid).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: pidfd_open takes a pid and a flags word and returns a new
        // descriptor or -1; it touches no memory of ours. Flags 0: the
        // descriptor is close-on-exec (always, for pidfds) and blocking,
        // which only matters to waitid(P_PIDFD), not used here.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let fd = i32::try_from(fd).map_err(|_| io::Error::other("pidfd_open returned an impossible descriptor"))?;
        // SAFETY: the kernel just handed us this descriptor; nobody else owns it.
        Ok(PidFd(unsafe { OwnedFd::from_raw_fd(fd) }))
    }
}

/// Whether a `pidfd_open` error means "never works here": the kernel is
/// older than 5.3 (`ENOSYS`), or a seccomp filter or container runtime
/// forbids the call (`EPERM`, `EACCES`). Other errors (`EMFILE`, `ENOMEM`)
/// concern one call only.
pub(crate) fn unsupported(error: &io::Error) -> bool {
    matches!(error.raw_os_error(), Some(libc::ENOSYS | libc::EPERM | libc::EACCES))
}

impl Source for PidFd {
    fn register(&mut self, registry: &Registry, token: Token, interest: Interest) -> io::Result<()> {
        SourceFd(&self.0.as_raw_fd()).register(registry, token, interest)
    }

    fn reregister(&mut self, registry: &Registry, token: Token, interest: Interest) -> io::Result<()> {
        SourceFd(&self.0.as_raw_fd()).reregister(registry, token, interest)
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        SourceFd(&self.0.as_raw_fd()).deregister(registry)
    }
}
