//! Running blocking and CPU-bound work off the runtime thread.
//!
//! A green task must never block its thread: a blocking call (a file read,
//! a DNS lookup, a C library that waits) or a long computation stalls every
//! other task. This module hands such work to OS threads and lets the task
//! await the result, like gevent's threadpool.
//!
//! - [`spawn_blocking`]: run one closure on the shared pool, which grows on
//!   demand (up to [`set_max_threads`], 512 by default) and lets threads
//!   go after 10 s idle. `sprout::fs` and `lookup_host` use it too.
//! - [`ThreadPool`]: a pool of your own, of fixed size:
//!   `concurrent.futures.ThreadPoolExecutor`, `ProcessPoolExecutor` and
//!   `multiprocessing.Pool`: `submit`, `map`, `imap_unordered`, `shutdown`.
//! - [`WorkFuture`]: the result of submitted work: `.await` it in a task,
//!   `wait` / `result(timeout)` for it on a plain thread, attach
//!   `add_done_callback`s, `cancel` it while it is queued.
//!
//! Rust has no GIL: a pool's threads run on every core at once, so the
//! same pool serves both what Python uses a thread pool for (blocking
//! calls) and what it needs a process pool for (CPU-bound work). The work
//! must be `Send`, since it runs on another thread.
//!
//! # Contract
//! - A panic in the work comes back as
//!   [`JoinError::Panicked`](crate::JoinError::Panicked); the thread
//!   survives.
//! - Work that never runs (cancelled, dropped by `terminate`, or submitted
//!   to a closed pool) resolves to
//!   [`JoinError::Killed`](crate::JoinError::Killed).
//! - Work submitted from inside a sprout runtime is delivered back on the
//!   runtime's thread: its done-callbacks run there, and
//!   [`wait()`](crate::wait) does not return while such work is
//!   unfinished. A plain thread blocked on such work gets the result
//!   straight from the worker, unless callbacks must run first: then the
//!   runtime must be running for it to arrive.
//! - Blocking calls ([`WorkFuture::wait`], [`WorkFuture::result`],
//!   `shutdown(true)`, iterating a map on a plain thread) panic on a
//!   runtime thread, with a message saying to `.await` instead: blocking
//!   there would stall every green task.
//! - A closure cannot be interrupted once it runs: dropping its future,
//!   `cancel`, or `terminate` only affect work not yet started.

mod map;
mod thread_pool;
mod work;

use std::marker::PhantomData;
use std::sync::OnceLock;
use std::time::Duration;

use crate::context;

pub use map::{AsFinished, BlockingIter, ImapUnordered, InOrder, Map, MapStream, Order};
pub use thread_pool::{PoolJoin, ThreadPool, ThreadPoolBuilder};
pub use work::WorkFuture;

/// The default cap on the shared pool's threads (tokio's default too).
pub const DEFAULT_MAX_THREADS: usize = 512;

/// How long a thread of the shared pool waits for work before it exits.
const SHARED_KEEP_ALIVE: Duration = Duration::from_secs(10);

/// The pool behind `spawn_blocking`: it grows on demand up to a cap and
/// lets idle threads go.
fn shared_pool() -> &'static ThreadPool {
    static POOL: OnceLock<ThreadPool> = OnceLock::new();
    POOL.get_or_init(|| {
        ThreadPool::builder().threads(DEFAULT_MAX_THREADS).name("sprout-blocking").keep_alive(SHARED_KEEP_ALIVE).build()
    })
}

/// Sets the cap on the shared blocking pool's threads (at least 1). Work
/// beyond the cap waits in a queue. Threads already running stay until
/// they go idle.
pub fn set_max_threads(n: usize) {
    shared_pool().set_max_threads(n);
}

/// The future returned by [`spawn_blocking`]: a [`WorkFuture`] on the
/// shared pool.
pub type Blocking<T> = WorkFuture<T>;

/// Runs `f` on the shared blocking pool and returns a future of its result.
///
/// The pool starts threads on demand, up to a cap (512 by default, see
/// [`set_max_threads`]), and lets a thread go after 10 s without work. If
/// `f` panics, the future resolves to
/// [`JoinError::Panicked`](crate::JoinError::Panicked) and the pool's
/// thread survives. Dropping the future does not stop `f` (a running
/// closure cannot be interrupted); its result is then discarded.
///
/// ```
/// use sprout::{blocking::spawn_blocking, run};
///
/// run(async {
///     let sum = spawn_blocking(|| (1..=1_000u64).sum::<u64>()).await.unwrap();
///     assert_eq!(sum, 500_500);
/// });
/// ```
pub fn spawn_blocking<F, T>(f: F) -> Blocking<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    shared_pool().submit(f)
}

/// Tells the runtime that a task waits on work done elsewhere, so that
/// `sprout::wait()` does not consider the loop idle. Released on drop or
/// by `release`, on the runtime thread (the guard is `!Send`).
pub(crate) struct KeepAlive {
    serial: u32,
    _not_send: PhantomData<*const ()>,
}

impl KeepAlive {
    /// Counts one piece of outside work on the running runtime, if any.
    pub(crate) fn new() -> KeepAlive {
        let serial = match context::current() {
            Some(core) => {
                core.keepalive_inc();
                core.serial()
            }
            None => 0,
        };
        KeepAlive { serial, _not_send: PhantomData }
    }

    /// Stops counting (idempotent).
    pub(crate) fn release(&mut self) {
        if self.serial != 0 {
            if let Some(core) = context::current().filter(|c| c.serial() == self.serial) {
                core.keepalive_dec();
            }
            self.serial = 0;
        }
    }

    /// Turns the guard into a `Send` token, for work that reports back to
    /// the runtime thread through its remote queue.
    pub(crate) fn into_token(self) -> KeepAliveToken {
        let token = KeepAliveToken { serial: self.serial };
        std::mem::forget(self);
        token
    }
}

impl Drop for KeepAlive {
    fn drop(&mut self) {
        self.release();
    }
}

/// A [`KeepAlive`] that may cross threads. It must be released on its
/// runtime's thread; released anywhere else it does nothing, which is
/// right only once that runtime has shut down.
#[must_use = "the runtime stays busy until the token is released"]
pub(crate) struct KeepAliveToken {
    serial: u32,
}

impl KeepAliveToken {
    pub(crate) fn release(self) {
        if self.serial != 0
            && let Some(core) = context::current().filter(|c| c.serial() == self.serial)
        {
            core.keepalive_dec();
        }
    }
}

#[cfg(test)]
mod tests;
