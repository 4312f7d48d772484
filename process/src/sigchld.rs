//! The fallback when exit descriptors (pidfds, kqueue, `sys/`) are
//! missing: wake on `SIGCHLD`.
//!
//! Each child waited this way owns a [`Signal`] listener of its own (a
//! socket pair and a chained handler, see `sprout::signal`). Every
//! `SIGCHLD` in the process writes a byte to every listener, so each
//! waiting child wakes and asks `waitpid` about its own pid: signals of
//! other children cost each waiter one `waitpid`, and coalesced signals
//! (two children exiting at once deliver one `SIGCHLD`) lose nothing.
//! That is O(waiters) work per exit, acceptable for a fallback; the
//! exit-descriptor path is O(1).
//!
//! A listener owned per child, rather than one shared by all the children
//! of a runtime, needs no broadcast and no runtime-keyed registry: its
//! readiness has exactly one waiter, and it goes away with its child.
//!
//! The listener should exist before the child can exit; when it is made
//! after the spawn (the first spawn that finds exit descriptors missing, an adopted
//! orphan), the waiter checks `waitpid` once before its first wait.

use std::io;
use std::sync::atomic::{AtomicU8, Ordering};

use sprout_runtime::signal::{SIGCHLD, Signal, on_signal};

/// A listener for `SIGCHLD`.
pub(crate) fn listen() -> io::Result<Signal> {
    on_signal(SIGCHLD)
}

/// How children are waited for, decided once per process.
///
/// | value        | meaning                                                    |
/// | ------------ | ---------------------------------------------------------- |
/// | `UNDECIDED`  | nothing known yet: read `SPROUT_PROCESS_WAIT`, try exit descriptors |
/// | `EXIT_FD`    | exit descriptors work (one `ExitFd::open` succeeded)        |
/// | `SIGCHLD`    | forced (env var or test switch) or exit descriptors are unsupported |
///
/// Only `EXIT_FD` -> `SIGCHLD` and `UNDECIDED` -> either happen outside the
/// test switch; a race between two threads deciding costs one extra
/// `ExitFd::open`, nothing else.
static MODE: AtomicU8 = AtomicU8::new(UNDECIDED);
const UNDECIDED: u8 = 0;
const EXIT_FD: u8 = 1;
const SIGCHLD_MODE: u8 = 2;

/// Whether new children should be waited for through `SIGCHLD`.
pub(crate) fn fallback_active() -> bool {
    match MODE.load(Ordering::Relaxed) {
        UNDECIDED => {
            let forced = std::env::var_os("SPROUT_PROCESS_WAIT").is_some_and(|v| v == "sigchld");
            let mode = if forced { SIGCHLD_MODE } else { EXIT_FD };
            // Keep whatever another thread (or the switch) decided first.
            let _ = MODE.compare_exchange(UNDECIDED, mode, Ordering::Relaxed, Ordering::Relaxed);
            MODE.load(Ordering::Relaxed) == SIGCHLD_MODE
        }
        mode => mode == SIGCHLD_MODE,
    }
}

/// Records that exit descriptors do not work in this process.
pub(crate) fn exit_fd_unsupported() {
    MODE.store(SIGCHLD_MODE, Ordering::Relaxed);
}

/// The test switch (`probe::force_sigchld`).
pub(crate) fn force(on: bool) {
    MODE.store(if on { SIGCHLD_MODE } else { EXIT_FD }, Ordering::Relaxed);
}
