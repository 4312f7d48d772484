//! Child processes: `std::process`, only async (`gevent.subprocess`,
//! `tokio::process`).
//!
//! - [`Command`]: what to run (program, arguments, environment, working
//!   directory, stdio), then [`spawn`](Command::spawn),
//!   [`status`](Command::status) or [`output`](Command::output).
//! - [`Child`]: a running child: [`wait`](Child::wait),
//!   [`try_wait`](Child::try_wait), [`kill`](Child::kill),
//!   [`terminate`](Child::terminate), [`stop`](Child::stop),
//!   [`wait_with_output`](Child::wait_with_output), [`id`](Child::id).
//! - [`ChildStdin`], [`ChildStdout`], [`ChildStderr`]: its pipes as async
//!   streams (std-shaped `read` / `write_all` methods and the `futures-io`
//!   traits), registered with the reactor.
//! - [`Stdio`], [`ExitStatus`], [`Output`]: std's, re-exported.
//!
//! ```
//! use futures_util::io::{AsyncBufReadExt, BufReader};
//! use futures_util::StreamExt;
//! use sprout::process::{Command, Stdio};
//!
//! sprout::run(async {
//!     let mut child = Command::new("sh").arg("-c").arg("for i in 1 2 3; do echo line $i; done")
//!         .stdout(Stdio::piped())
//!         .spawn()
//!         .unwrap();
//!     // Each line as the child writes it; other green tasks run meanwhile.
//!     let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
//!     let mut n = 0;
//!     while let Some(line) = lines.next().await {
//!         n += 1;
//!         assert_eq!(line.unwrap(), format!("line {n}"));
//!     }
//!     assert!(child.wait().await.unwrap().success());
//! });
//! ```
//!
//! # The contract
//! - Spawning is a plain call, as in std: it returns once the system has
//!   started the program (or failed to), which takes tens to hundreds of
//!   microseconds during which the loop does not turn. Everything after
//!   that waits cooperatively: while a child runs, reads or writes its
//!   pipes, other green tasks run.
//! - Create and use children inside a sprout runtime. Outside one, `spawn`
//!   fails with an error; a `Child` used in another runtime than its own
//!   fails its waits with an error (it never panics).
//! - Every wait ([`Child::wait`], a pipe's `read`, `write`) is
//!   cancellation-safe but `read_exact`, `write_all` and the `_to_end`
//!   reads: dropping it (on a [`timeout`](sprout_runtime::timeout), say)
//!   leaves the child and its pipes as they were, and a later wait works.
//! - Errors name their cause: a program that does not exist, a working
//!   directory that does not exist (`NotFound`, with the name in the
//!   message), a pipe whose child end is closed (`BrokenPipe` on write).
//!
//! # Waiting without a thread: an exit descriptor, then `SIGCHLD`
//! Each child gets an *exit descriptor*, a file descriptor that turns
//! readable when the child exits: a pidfd (`pidfd_open(2)`) on Linux 5.3
//! and later, a kqueue watching the pid (`EVFILT_PROC`, `NOTE_EXIT`) on
//! macOS and FreeBSD. It is registered with the reactor like a socket, so
//! a wait costs no thread, no signal handler and no polling: one event,
//! then one `waitpid` on that pid.
//!
//! Where there is none (older Linux kernels: `ENOSYS`; other Unixes) or it
//! is forbidden (a seccomp filter, some container runtimes: `EPERM`),
//! sprout falls back to `SIGCHLD`, through [`sprout::signal`](crate::signal):
//! every waiting child wakes on every `SIGCHLD` and asks `waitpid` about its
//! own pid. It is correct, and costs each waiting child one `waitpid` per
//! child exit in the process. The decision is made once per process;
//! setting `SPROUT_PROCESS_WAIT=sigchld` in the environment forces the
//! fallback.
//!
//! # Zombies and dropped children
//! A process that exits stays a zombie until its parent waits for it.
//! Dropping a [`Child`] does not wait (as in std), but the runtime reaps the
//! process for you when it exits: a small green task waits on its exit
//! descriptor (or `SIGCHLD`), on the loop turn after the child exits.
//!
//! - That task counts as pending I/O: [`sprout::wait()`](sprout_runtime::wait)
//!   waits for dropped children to exit. Use [`Command::kill_on_drop`] (or
//!   kill them) if they should not run on.
//! - If the runtime is gone (the `Child` is dropped after it, or the runtime
//!   shuts down while the child still runs), the child is put on a
//!   process-wide list, reaped by the next [`Command::spawn`] from any
//!   runtime on any thread (a child still running then is handed to that
//!   runtime's reaper). A process that never spawns again keeps such
//!   zombies until it exits; then init reaps them.
//! - [`Command::kill_on_drop`]`(true)` sends `SIGKILL` on drop (and on
//!   cancelling `status` / `output`). It kills the child only, not the
//!   processes the child started; to kill a whole tree, start the child in
//!   its own process group (`CommandExt::process_group(0)` through
//!   [`Command::as_std_mut`]) and signal the group with `libc::killpg`.
//!
//! # OS caveats
//! - Linux: the pidfd path needs Linux 5.3; the `SIGCHLD` fallback works
//!   on any kernel. Both are tested on every CI run.
//! - macOS and FreeBSD: the kqueue path and the `SIGCHLD` fallback compile
//!   (CI type-checks them with clippy for those targets), but sprout's
//!   tests run on Linux only. The kqueue path is two system calls
//!   (`process/sys/kqueue.rs`); the fallback is the code tested on Linux.
//!   Other Unixes take the `SIGCHLD` path.
//! - sprout reaps only its own children, each with `waitpid(pid)`. Code
//!   elsewhere in the process that reaps *any* child (`waitpid(-1)`, or
//!   `SIGCHLD` set to `SIG_IGN`, which makes the kernel reap them) steals
//!   the exit status: `wait` then fails with `ECHILD`.
//! - `SIGPIPE`: a Rust program ignores it from `main` on (std sets
//!   `SIG_IGN` before `main`), so a write to a pipe the child has closed
//!   returns `io::ErrorKind::BrokenPipe` instead of killing the parent. A
//!   program whose `main` is not Rust's (a library called from C), or
//!   built with `-Zon-broken-pipe=kill`, must ignore `SIGPIPE` itself.
//!   Children start with the default disposition restored, as with std.
//! - Signals go to the pid; once a child has been reaped sprout sends it
//!   nothing more, so a recycled pid never receives a stray `kill`.

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

/// Test probes, reached as `sprout_net::probe` (not through the facade).
pub(crate) mod probe {
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
