//! Every core: one single-threaded runtime per core, thread-per-core.
//!
//! sprout's runtime uses one thread. To use every core, start one runtime
//! per core, each with its own green tasks, timers and sockets, and
//! nothing shared between them on the hot path; that is how glommio and
//! monoio scale, and how gevent programs scale with one process per core.
//!
//! - [`run`]`(n, |core| async move { … })`: start `n` cores, run the
//!   closure's future on each, wait for them all.
//! - [`Builder`]: the count, CPU pinning, the runtimes' settings;
//!   [`Builder::spawn`] starts the cores without waiting ([`Running`]).
//! - [`Core`]: where a future runs (`id()`, `count()`) and how it reaches
//!   the others ([`Cores::handle`] spawns `Send` futures on any core).
//! - [`channel`]: a bounded channel whose ends work across cores: a task
//!   awaits a value from another core without blocking either thread.
//! - [`available`]: how many CPUs the process may use.
//!
//! ```
//! use sprout::cores;
//!
//! let answers = cores::run(2, |core| async move {
//!     // Each core runs its own green tasks...
//!     let tasks = (0..10).map(|i| sprout::spawn(async move { i * 2 }));
//!     let local: u32 = sprout::joinall(tasks).await.into_iter().map(Result::unwrap).sum();
//!     // ...and may hand work to another core.
//!     let next = core.handle((core.id() + 1) % core.count());
//!     let remote = next.spawn(async move { local + 1 }).await?;
//!     Ok::<_, sprout::JoinError>((core.id(), remote))
//! });
//! assert_eq!(answers.unwrap(), [(0, 91), (1, 91)]);
//! ```
//!
//! # The contract
//! - **Futures.** The closure runs once per core, on the core's thread,
//!   inside its runtime, so the future it returns need not be `Send` (it
//!   may hold `Rc`s and sockets). The closure itself is shared by the
//!   threads: `Fn + Send + Sync`.
//! - **Results.** `run` returns every core's value in id order, or the
//!   first failure ([`CoreError`]): a core whose future returns `Err` or
//!   panics stops the set. The others drop their futures at their next
//!   loop turn (a task that never yields delays that, as it delays
//!   everything on its core), their runtimes kill their tasks, and `run`
//!   returns only once every thread has ended: no thread is left behind,
//!   and nothing hangs.
//! - **Tasks.** A task's panic is the task's affair, as on one runtime
//!   (logged by default); with the runtime setting
//!   [`PanicPolicy::Propagate`](crate::PanicPolicy::Propagate) it fails its core.
//! - **Sharing.** Each core owns its tasks and sockets: a socket made on
//!   core 1 works on core 1 only. To share, send values (over a
//!   [`channel`], or in a [`Handle::spawn`](crate::Handle::spawn)ed future),
//!   or use the thread-safe types of [`crate::sync::threadsafe`] and
//!   [`crate::queue::threadsafe`].
//! - **Servers.** To serve one port on every core, give each core its own
//!   listener with `SO_REUSEPORT` and let the kernel spread the
//!   connections; sprout-net's `StreamServer::workers(n)` does it for you.
//!
//! # What a cross-core message costs
//! Sending to a task that waits on another core takes the queue's mutex,
//! moves the value and wakes the task: the wake posts a message to that
//! core's cross-thread queue (another mutex) and, if its runtime sleeps in
//! `epoll_wait`, writes its eventfd (one syscall, then the other thread's
//! wake-up, which dominates: a round trip between two sleeping cores
//! measured about 4 µs, as tokio's; see `docs/cores.md`). Keep such
//! messages off the per-request path, or batch them.

mod affinity;
mod builder;
mod channel;
mod error;
mod table;

pub use builder::{Builder, Running};
pub use channel::{Receiver, SendError, Sender, TryRecvError, TrySendError, channel};
pub use error::{CoreError, CoreResult, RunResult};
pub use table::{Core, Cores};

use std::future::Future;

/// Starts `n` cores (0: one per CPU the process may use), runs `f(core)`
/// on each (on the core's own thread and runtime), and waits for them all.
/// Returns the values in id order, or the first failure; see the
/// [module docs](self) and [`Builder`] for pinning and other settings.
///
/// ```
/// use sprout::cores;
///
/// // The futures return `()`, or a `Result`: its `Ok` values come back in id order.
/// let ids = cores::run(3, |core| async move { Ok::<_, std::io::Error>((core.id(), core.count())) }).unwrap();
/// assert_eq!(ids, [(0, 3), (1, 3), (2, 3)]);
///
/// // A failure on one core stops the others and comes back from `run`.
/// let failed = cores::run(2, |core| async move {
///     if core.id() == 1 {
///         return Err("core 1 gave up");
///     }
///     std::future::pending::<()>().await; // stopped by core 1's failure
///     Ok(())
/// });
/// assert_eq!(failed.unwrap_err().to_string(), "core 1 failed: core 1 gave up");
/// ```
///
/// # Panics
/// Inside a sprout runtime, whose thread it would block: use
/// [`Builder::spawn`] and `.await` [`Running::join`] there.
#[track_caller]
pub fn run<F, Fut>(n: usize, f: F) -> RunResult<Fut::Output>
where
    F: Fn(Core) -> Fut + Send + Sync + 'static,
    Fut: Future + 'static,
    Fut::Output: CoreResult,
{
    Builder::new().count(n).run(f)
}

/// How many CPUs this process may use (`std::thread::available_parallelism`,
/// which honours the affinity mask and cgroup quotas), at least 1: the
/// default number of cores.
pub fn available() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}
