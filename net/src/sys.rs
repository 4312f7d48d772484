//! Process settings a busy server needs.

use std::io;

/// Raises this process's soft limit on open file descriptors
/// (`RLIMIT_NOFILE`) to its hard limit, and returns the new limit.
///
/// Every connection costs a descriptor, and many systems start processes
/// with a soft limit of 1024; a server meant for tens of thousands of
/// connections calls this once at start-up.
///
/// ```
/// let limit = sprout_net::raise_fd_limit().unwrap();
/// assert!(limit >= 1);
/// ```
///
/// # Errors
/// If `getrlimit` or `setrlimit` fails.
pub fn raise_fd_limit() -> io::Result<u64> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `limit` is a valid, writable rlimit for getrlimit to fill.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if limit.rlim_cur < limit.rlim_max {
        limit.rlim_cur = limit.rlim_max;
        // SAFETY: `limit` is a valid rlimit; setrlimit only reads it.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(limit.rlim_cur)
}
