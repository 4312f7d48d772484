//! `Builder::dump_on_signal`: print the task dump on `SIGUSR1`.
//!
//! A signal handler may run at any instant on any thread, so it must not
//! touch a runtime. The handler (installed once per process, with
//! `signal-hook-registry`, so it chains with `sprout::signal` listeners
//! and any other handler) only writes one byte to a socket pair: that is
//! the flag. A helper thread, `sprout-dump`, started with the handler,
//! reads it and asks each runtime built with `dump_on_signal` to print its
//! dump to stderr: the closure goes through the runtime's mailbox, so the
//! loop builds and prints the dump at its next turn, between two polls.
//! If a runtime does not answer within a second (a task holds its thread),
//! the helper prints that instead, naming the task when the blocking
//! detector runs.
//!
//! The helper holds runtimes by serial only (`remote/directory.rs`), never
//! a strong reference between signals: a runtime with `dump_on_signal` is
//! still checked for deadlocks.

use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use super::{ANSWER_WITHIN, Shared, ask, dump_for_handle};
use crate::loom::lock;
use crate::remote::directory;

/// The runtimes to dump: serial, and their shared part (for the error).
static TARGETS: Mutex<Vec<(u32, Weak<Shared>)>> = Mutex::new(Vec::new());

/// Whether the handler and the helper thread are installed (once per process).
static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();

/// A runtime's registration; dropping it stops its dumps.
pub(crate) struct Listening {
    serial: u32,
}

impl Drop for Listening {
    fn drop(&mut self) {
        // No user code runs under this lock.
        lock(&TARGETS).retain(|(serial, _)| *serial != self.serial);
    }
}

/// Dumps runtime `serial` on each `SIGUSR1`; `None` (with a line on
/// stderr) if the handler cannot be installed.
pub(crate) fn listen(serial: u32, shared: &Arc<Shared>) -> Option<Listening> {
    if let Err(e) = INSTALLED.get_or_init(|| install().map_err(|e| e.to_string())) {
        crate::__report!(
            event: WARN(target: "sprout::dump", error = %e, "dump_on_signal: cannot listen to SIGUSR1"),
            stderr: "sprout: dump_on_signal: cannot listen to SIGUSR1: {e}",
        );
        return None;
    }
    lock(&TARGETS).push((serial, Arc::downgrade(shared)));
    Some(Listening { serial })
}

/// Installs the handler and starts the helper thread.
fn install() -> io::Result<()> {
    let (sender, mut receiver) = UnixStream::pair()?;
    sender.set_nonblocking(true)?;
    let fd = sender.as_raw_fd();
    let action = move || {
        // Keeps the sending end open for as long as the action is installed.
        let _ = &sender;
        let byte = 1u8;
        // SAFETY: write(2) is async-signal-safe; `fd` stays open while this
        // action is installed (it owns `sender`), and `byte` outlives the
        // call. A full buffer (EAGAIN) drops the byte: one is pending already.
        unsafe { libc::write(fd, (&raw const byte).cast(), 1) };
    };
    // SAFETY: the action only calls write(2), which is async-signal-safe;
    // it allocates nothing and takes no lock.
    unsafe { signal_hook_registry::register(libc::SIGUSR1, action) }?;
    std::thread::Builder::new().name("sprout-dump".into()).spawn(move || {
        let mut buf = [0u8; 64];
        loop {
            match receiver.read(&mut buf) {
                // One dump per burst of signals.
                Ok(n) if n > 0 => dump_all(),
                // A signal whose handler lacks `SA_RESTART` (another
                // library's) may land on this thread: read again, or no
                // later `SIGUSR1` would ever be dumped.
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // Never while the handler holds the sending end.
                _ => break,
            }
        }
    })?;
    Ok(())
}

/// Asks every registered runtime to print its dump.
fn dump_all() {
    let targets: Vec<(u32, Weak<Shared>)> = lock(&TARGETS).clone();
    for (serial, shared) in targets {
        let (Some(shared), Some(remote)) = (shared.upgrade(), directory::remote(serial)) else { continue };
        let printed = ask(&remote, &shared, ANSWER_WITHIN, || {
            let dump = dump_for_handle();
            // The table ends with a newline, which the stderr line adds.
            let table = dump.to_string();
            let table = table.trim_end();
            crate::__report!(
                event: INFO(target: "sprout::dump", tasks = dump.tasks().len(), dump = table, "SIGUSR1: the task dump"),
                stderr: "{table}",
            );
        });
        drop(remote);
        if let Err(e) = printed {
            crate::__report!(
                event: WARN(target: "sprout::dump", error = %e, "SIGUSR1: no task dump"),
                stderr: "sprout: SIGUSR1: no task dump: {e}",
            );
        }
    }
}
