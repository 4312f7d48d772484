//! Process settings a busy server needs.

use std::io;

/// Raises this process's soft limit on open file descriptors
/// (`RLIMIT_NOFILE`) as far as the system allows, and returns the new
/// limit.
///
/// Every connection costs a descriptor, and many systems start processes
/// with a soft limit of 1024 (macOS: 256); a server meant for tens of
/// thousands of connections calls this once at start-up.
///
/// How far: the hard limit, except on macOS (and iOS), whose `setrlimit`
/// refuses a soft limit above `OPEN_MAX` (10240) even when the hard limit
/// is unlimited; there the soft limit goes to the smaller of the two, as
/// Apple's `setrlimit(2)` page says to. A soft limit already higher is left
/// as it is. (The macOS rule is compiled for the Apple targets in CI but
/// not run there.)
///
/// ```
/// let limit = sprout::net::raise_fd_limit().unwrap();
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
    let most = highest_soft_limit(limit.rlim_max);
    if limit.rlim_cur < most {
        limit.rlim_cur = most;
        // SAFETY: `limit` is a valid rlimit; setrlimit only reads it.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    // `rlim_t` is `u64` on Linux and macOS, `i64` on FreeBSD (where
    // "unlimited" is `i64::MAX`); a limit is never negative.
    #[allow(clippy::useless_conversion, reason = "a conversion only where rlim_t is not u64")]
    Ok(u64::try_from(limit.rlim_cur).unwrap_or(0))
}

/// The highest soft limit `setrlimit` accepts for descriptors: the hard
/// limit.
#[cfg(not(target_vendor = "apple"))]
fn highest_soft_limit(hard: libc::rlim_t) -> libc::rlim_t {
    hard
}

/// The highest soft limit `setrlimit` accepts for descriptors on Apple's
/// kernels: the hard limit, but at most `OPEN_MAX` (10240, from
/// `<sys/syslimits.h>`; the libc crate does not define it for Apple).
#[cfg(target_vendor = "apple")]
fn highest_soft_limit(hard: libc::rlim_t) -> libc::rlim_t {
    const OPEN_MAX: libc::rlim_t = 10240;
    hard.min(OPEN_MAX)
}
