//! sprout's child processes: `subprocess` and `gevent.subprocess`, std's
//! `process` API with async waits and pipes. Use it as `sprout::process`,
//! where it is documented (the `sprout` facade's front page for this
//! crate); `docs/process.md` is the guide.

mod child;
mod command;
mod reaper;
mod sigchld;
mod stdio;
mod sys;
mod wait;

pub use child::Child;
pub use command::Command;
pub use std::process::{ExitStatus, Output, Stdio};
pub use stdio::{ChildStderr, ChildStdin, ChildStdout};

/// Test probes, not API: the facade re-exports this crate's items one by
/// one and not this module (tests reach it as `sprout_process::probe`).
#[doc(hidden)]
pub mod probe {
    /// Forces (or stops forcing) the `SIGCHLD` fallback for children
    /// spawned from now on, in the whole process.
    pub fn force_sigchld(on: bool) {
        super::sigchld::force(on);
    }

    /// Dropped children not reaped yet: waited on by reaper tasks, or
    /// parked for a later spawn.
    pub fn orphans() -> usize {
        super::reaper::pending()
    }
}
