//! Pinning a thread to one CPU.
//!
//! The CPUs a set of cores may use are the ones the calling thread may run
//! on (a container's cpuset or a `taskset` narrows them), so core `i` gets
//! the `i`-th allowed CPU, wrapping around when there are more cores than
//! CPUs.
//!
//! | platform | calls | |
//! | --- | --- | --- |
//! | Linux | `sched_getaffinity` / `sched_setaffinity` (pid 0: this thread) | tested |
//! | FreeBSD | `cpuset_getaffinity` / `cpuset_setaffinity` (`CPU_WHICH_TID`, id -1: this thread) | compiled (clippy), not run here |
//! | macOS, Windows, others | none: [`SUPPORTED`] is false and `pin(true)` does nothing | |
//!
//! macOS has no way to pin a thread: its only affinity call,
//! `THREAD_AFFINITY_POLICY`, is a hint that groups threads, and Apple
//! silicon ignores it. A program that asks for pinning there runs
//! unpinned rather than failing, so the same code runs on a developer's
//! Mac and on the Linux server it is written for.

use std::io;

/// Whether this platform can pin threads; where it cannot,
/// `cores::Builder::pin(true)` is a no-op.
pub(super) const SUPPORTED: bool = cfg!(any(target_os = "linux", target_os = "freebsd"));

#[cfg(target_os = "linux")]
mod sys {
    /// The kernel's CPU set type.
    pub(super) type CpuSet = libc::cpu_set_t;

    /// `sched_getaffinity` of the calling thread.
    pub(super) fn get(set: &mut CpuSet) -> libc::c_int {
        // SAFETY: `set` is a valid cpu_set_t of the size we pass; pid 0 is
        // the calling thread.
        unsafe { libc::sched_getaffinity(0, std::mem::size_of::<CpuSet>(), set) }
    }

    /// `sched_setaffinity` of the calling thread.
    pub(super) fn set(set: &CpuSet) -> libc::c_int {
        // SAFETY: as in `get`; the kernel only reads `set`.
        unsafe { libc::sched_setaffinity(0, std::mem::size_of::<CpuSet>(), set) }
    }
}

#[cfg(target_os = "freebsd")]
mod sys {
    /// The kernel's CPU set type.
    pub(super) type CpuSet = libc::cpuset_t;

    /// `cpuset_getaffinity` of the calling thread.
    pub(super) fn get(set: &mut CpuSet) -> libc::c_int {
        // SAFETY: `set` is a valid cpuset_t of the size we pass; id -1 with
        // CPU_WHICH_TID is the calling thread (cpuset_getaffinity(2)).
        unsafe {
            libc::cpuset_getaffinity(libc::CPU_LEVEL_WHICH, libc::CPU_WHICH_TID, -1, std::mem::size_of::<CpuSet>(), set)
        }
    }

    /// `cpuset_setaffinity` of the calling thread.
    pub(super) fn set(set: &CpuSet) -> libc::c_int {
        // SAFETY: as in `get`; the kernel only reads `set`.
        unsafe {
            libc::cpuset_setaffinity(libc::CPU_LEVEL_WHICH, libc::CPU_WHICH_TID, -1, std::mem::size_of::<CpuSet>(), set)
        }
    }
}

/// The CPUs this thread may run on, in increasing order.
#[cfg(any(target_os = "linux", target_os = "freebsd"))]
pub(super) fn allowed_cpus() -> io::Result<Vec<usize>> {
    // SAFETY: a CPU set is a plain bit array; all zeroes is the empty set.
    let mut set: sys::CpuSet = unsafe { std::mem::zeroed() };
    if sys::get(&mut set) != 0 {
        return Err(io::Error::last_os_error());
    }
    let max = 8 * std::mem::size_of::<sys::CpuSet>();
    // SAFETY: CPU_ISSET reads one bit of a valid set, for cpu < its size.
    Ok((0..max).filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) }).collect())
}

/// Pins the calling thread to `cpu`.
#[cfg(any(target_os = "linux", target_os = "freebsd"))]
pub(super) fn pin_current(cpu: usize) -> io::Result<()> {
    // SAFETY: as in `allowed_cpus`.
    let mut set: sys::CpuSet = unsafe { std::mem::zeroed() };
    if cpu >= 8 * std::mem::size_of::<sys::CpuSet>() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("no CPU {cpu}")));
    }
    // SAFETY: CPU_SET writes one bit of a valid set; cpu is below its size
    // (checked).
    unsafe { libc::CPU_SET(cpu, &mut set) };
    if sys::set(&set) != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Never called where [`SUPPORTED`] is false.
#[cfg(not(any(target_os = "linux", target_os = "freebsd")))]
pub(super) fn allowed_cpus() -> io::Result<Vec<usize>> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "no CPU pinning on this platform"))
}

/// Never called where [`SUPPORTED`] is false.
#[cfg(not(any(target_os = "linux", target_os = "freebsd")))]
pub(super) fn pin_current(_cpu: usize) -> io::Result<()> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "no CPU pinning on this platform"))
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    #[cfg_attr(miri, ignore)] // sched_setaffinity is a real system call
    fn a_thread_pinned_to_an_allowed_cpu_runs_only_there() {
        let allowed = allowed_cpus().unwrap();
        assert!(!allowed.is_empty());
        let cpu = *allowed.last().unwrap();
        let seen = std::thread::spawn(move || {
            pin_current(cpu).unwrap();
            allowed_cpus().unwrap()
        })
        .join()
        .unwrap();
        assert_eq!(seen, [cpu]);
    }
}
