//! Unit tests of the observation part (run under Miri too: the monitor
//! thread reads the watch while the runtime thread writes it).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::Runtime;

/// A runtime left alone between two `block_on`s runs no poll: the
/// monitor must not blame the last one for the pause.
#[test]
fn a_runtime_idle_outside_block_on_is_not_reported_as_blocked() {
    let reports = Arc::new(Mutex::new(Vec::new()));
    let rt = Runtime::builder()
        // Well above a poll under Miri, which takes milliseconds.
        .warn_blocking(Duration::from_millis(50))
        .on_blocking({
            let reports = reports.clone();
            move |report| reports.lock().unwrap().push(report.to_string())
        })
        .build()
        .unwrap();
    rt.block_on(async {});
    std::thread::sleep(Duration::from_millis(250));
    rt.block_on(async {});
    drop(rt);
    let reports = reports.lock().unwrap();
    assert!(reports.is_empty(), "{reports:?}");
}

/// The `sprout-dump` thread outlives a signal that interrupts its read:
/// one with a handler installed without `SA_RESTART` (another library's)
/// used to end it, and with it every later `SIGUSR1` dump.
#[cfg(target_os = "linux")]
#[test]
#[cfg_attr(miri, ignore)] // signals and /proc
fn an_interrupted_read_does_not_end_the_dump_thread() {
    extern "C" fn ignore(_: libc::c_int) {}

    /// The thread id of the `sprout-dump` thread, if it runs.
    fn dump_thread() -> Option<libc::pid_t> {
        std::fs::read_dir("/proc/self/task").unwrap().flatten().find_map(|task| {
            let comm = std::fs::read_to_string(task.path().join("comm")).ok()?;
            (comm.trim_end() == "sprout-dump").then(|| task.file_name().to_str()?.parse().ok())?
        })
    }

    let _rt = Runtime::builder().dump_on_signal().build().unwrap();
    // The thread names itself once it runs.
    let tid = (0..100)
        .find_map(|_| {
            let tid = dump_thread();
            if tid.is_none() {
                std::thread::sleep(Duration::from_millis(10));
            }
            tid
        })
        .expect("dump_on_signal starts the sprout-dump thread");
    // SAFETY: a plain `sigaction` for SIGUSR2, which no other test here uses
    // (all-zero bytes are a valid `sigaction`: no flags, so no SA_RESTART),
    // with a handler that does nothing.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = ignore as extern "C" fn(libc::c_int) as libc::sighandler_t;
        assert_eq!(libc::sigaction(libc::SIGUSR2, &action, std::ptr::null_mut()), 0);
    }
    // SAFETY: `tgkill` to a thread of this process, with a handled signal.
    assert_eq!(unsafe { libc::syscall(libc::SYS_tgkill, libc::getpid(), tid, libc::SIGUSR2) }, 0);
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(dump_thread(), Some(tid), "the dump thread ended");
}
