//! Linux: a pidfd (`pidfd_open(2)`, Linux 5.3+), a descriptor that
//! refers to the process itself, not to its number, and becomes readable
//! when it exits.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

/// The watch's name in `Child`'s `Debug`.
pub(crate) const NAME: &str = "pidfd";

/// Opens a pidfd for `pid`.
///
/// # Errors
/// As `pidfd_open(2)`: `ENOSYS` before Linux 5.3, `EPERM` under a seccomp
/// filter that forbids it, `EMFILE`...
pub(super) fn open(pid: libc::pid_t) -> io::Result<OwnedFd> {
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
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}
