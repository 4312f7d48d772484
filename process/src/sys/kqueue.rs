//! macOS, iOS and FreeBSD: a kqueue of its own per child, watching the pid
//! with `EVFILT_PROC` / `NOTE_EXIT`.
//!
//! The kqueue's descriptor is readable while an event is pending in it,
//! and the only event it can ever hold is the child's exit, so it behaves
//! as Linux's pidfd: registered with mio (itself a kqueue) for reading, it
//! turns readable once, when the child exits. The event is never read: the
//! descriptor is closed with the `Child`.
//!
//! **Compiled (clippy for `x86_64-apple-darwin`, `aarch64-apple-darwin`,
//! `x86_64-unknown-freebsd`) but not run by sprout's CI**, which runs on
//! Linux. It is kept to the two system calls, and every error it can give
//! sends the child down the `SIGCHLD` path, which is tested.
//!
//! A child that has already exited when the watch is made (a zombie): the
//! kernel either accepts the registration with the exit already posted,
//! or refuses it with `ESRCH`, depending on the kernel and its version.
//! `ESRCH` is not "unsupported", so that one child gets a `SIGCHLD`
//! listener and the `waitpid` check before its first wait (`wait.rs`),
//! which reaps it.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::ptr;

/// The watch's name in `Child`'s `Debug`.
pub(crate) const NAME: &str = "kqueue";

/// Opens a kqueue that turns readable when `pid` exits.
///
/// # Errors
/// As `kqueue(2)` (`EMFILE`, `ENOMEM`) and `kevent(2)` (`ESRCH`: no such
/// process, or already a zombie on macOS).
pub(super) fn open(pid: libc::pid_t) -> io::Result<OwnedFd> {
    // SAFETY: kqueue() takes nothing and returns a new descriptor or -1.
    let kq = unsafe { libc::kqueue() };
    if kq < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel just handed us this descriptor; nobody else owns
    // it, and `OwnedFd` closes it on every path below.
    let kq = unsafe { OwnedFd::from_raw_fd(kq) };
    // Not for the children we spawn later: a kqueue is never inherited
    // across fork, and close-on-exec (as mio sets on its own) says so for
    // exec too.
    // SAFETY: F_SETFD on a descriptor we own; no memory is passed.
    if unsafe { libc::fcntl(kq.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) } < 0 {
        return Err(io::Error::last_os_error());
    }
    let ident = usize::try_from(pid).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `kevent` is a plain C struct (integers and a null pointer
    // when zeroed); the fields that differ between platforms (FreeBSD's
    // `ext`) are meant to be zero.
    let mut change: libc::kevent = unsafe { std::mem::zeroed() };
    change.ident = ident;
    change.filter = libc::EVFILT_PROC;
    change.flags = libc::EV_ADD;
    change.fflags = libc::NOTE_EXIT;
    // SAFETY: one valid change in, no event list out (so an error comes
    // back as -1 and errno); with no room for events the call only applies
    // the change and returns, whatever the (null) timeout says, as mio's
    // own `Waker::wake` relies on.
    if unsafe { libc::kevent(kq.as_raw_fd(), &change, 1, ptr::null_mut(), 0, ptr::null()) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(kq)
}
