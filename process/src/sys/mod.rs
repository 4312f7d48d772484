//! The OS's way to learn that a child has exited: an *exit descriptor*, a
//! file descriptor that turns readable once the process exits, registered
//! with the reactor like a socket.
//!
//! | platform            | exit descriptor                                   | where it is run      |
//! | ------------------- | ------------------------------------------------- | -------------------- |
//! | Linux 5.3+          | a pidfd, `pidfd_open(2)` (`pidfd.rs`)              | tested here          |
//! | macOS, iOS, FreeBSD | a kqueue watching the pid, `EVFILT_PROC` + `NOTE_EXIT` (`kqueue.rs`) | compiled (clippy), not run here |
//! | any other Unix      | none: [`ExitFd::open`] fails with `ENOSYS`         | (the `SIGCHLD` path) |
//!
//! Where there is none, or where it fails for good (an old kernel, a
//! seccomp filter), children are waited for through `SIGCHLD` instead
//! (`sigchld.rs`). That path is the same on every Unix and is tested here
//! (the `process_sigchld` tests force it), so what this module adds for a
//! platform is only the few lines that open its descriptor.
//!
//! Why a kqueue per child on macOS and the BSDs rather than `SIGCHLD`
//! there: it is the pidfd's exact twin (a descriptor per child, readable
//! on exit, closed with the child), so `wait.rs` has one code path for
//! both, a wait costs O(1) per exit instead of the fallback's one
//! `waitpid` per waiting child per exit, and no process-wide signal
//! handler is installed. It costs one descriptor per running child, as
//! the pidfd does. mio offers no `EVFILT_PROC` of its own; a kqueue's
//! descriptor is readable (in an outer kqueue, mio's) while an event is
//! pending on it: both kernels give kqueues an `EVFILT_READ` filter that
//! counts their pending events. That nesting is the part of this path
//! that most needs a first run on a real Mac.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

use mio::event::Source;
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

#[cfg(target_os = "linux")]
mod pidfd;
#[cfg(target_os = "linux")]
use pidfd as imp;

#[cfg(any(target_vendor = "apple", target_os = "freebsd"))]
mod kqueue;
#[cfg(any(target_vendor = "apple", target_os = "freebsd"))]
use kqueue as imp;

/// Any other Unix: no exit descriptor.
#[cfg(not(any(target_os = "linux", target_vendor = "apple", target_os = "freebsd")))]
mod imp {
    use std::io;
    use std::os::fd::OwnedFd;

    /// The watch's name in `Child`'s `Debug` (never shown: no child gets one).
    pub(crate) const NAME: &str = "none";

    /// `ENOSYS`, which [`super::unsupported`] turns into the `SIGCHLD` path
    /// for good.
    pub(super) fn open(_pid: libc::pid_t) -> io::Result<OwnedFd> {
        Err(io::Error::from_raw_os_error(libc::ENOSYS))
    }
}

/// The exit-descriptor watch's name in `Child`'s `Debug`.
pub(crate) use imp::NAME;

/// An owned exit descriptor, as a mio source: readable once its process
/// has exited, so `waitpid` on the pid will not block.
#[derive(Debug)]
pub(crate) struct ExitFd(OwnedFd);

impl ExitFd {
    /// Opens an exit descriptor for `pid`, which must be our child and not
    /// yet reaped (then the number cannot have been reused).
    ///
    /// # Errors
    /// The platform call's; see [`unsupported`] for the errors that mean
    /// this process can have no exit descriptors at all.
    pub(crate) fn open(pid: u32) -> io::Result<ExitFd> {
        let pid = libc::pid_t::try_from(pid).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        imp::open(pid).map(ExitFd)
    }
}

/// Whether an [`ExitFd::open`] error means "never works here": the call
/// does not exist (`ENOSYS`: a Linux kernel older than 5.3, or a platform
/// without exit descriptors), or a seccomp filter or container runtime
/// forbids it (`EPERM`, `EACCES`). Other errors (`EMFILE`, `ENOMEM`, and
/// kqueue's `ESRCH` for a child that is already a zombie) concern one call
/// only.
pub(crate) fn unsupported(error: &io::Error) -> bool {
    matches!(error.raw_os_error(), Some(libc::ENOSYS | libc::EPERM | libc::EACCES))
}

impl Source for ExitFd {
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
