//! Running blocking and CPU-bound work off the runtime thread.
//!
//! A green task must never block its thread: a blocking call (a file read,
//! a DNS lookup, a C library that waits) or a long computation stalls every
//! other task. [`spawn_blocking`] hands such work to a shared pool of OS
//! threads and lets the task await the result, like gevent's threadpool.
//!
//! Rust has no GIL: the pool's threads run on every core at once, so the
//! same pool serves both what Python uses a thread pool for (blocking
//! calls) and what it needs a process pool for (CPU-bound work).

mod shared_pool;

use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use crate::context;
use crate::task::JoinError;

pub use shared_pool::{DEFAULT_MAX_THREADS, set_max_threads};

/// Runs `f` on the shared blocking pool and returns a future of its result.
///
/// The pool starts threads on demand, up to a cap (512 by default, see
/// [`set_max_threads`]), and lets a thread go after 10 s without work. If
/// `f` panics, the future resolves to [`JoinError::Panicked`] and the
/// pool's thread survives. Dropping the future does not stop `f` (a running
/// closure cannot be interrupted); its result is then discarded.
///
/// ```
/// use sprout_runtime::{blocking::spawn_blocking, run};
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
    let slot = Arc::new(Mutex::new(Slot { result: None, waker: None }));
    let sender = slot.clone();
    shared_pool::submit(Box::new(move || {
        let result = catch_unwind(AssertUnwindSafe(f)).map_err(JoinError::panicked);
        let waker = {
            let mut s = sender.lock().unwrap_or_else(|e| e.into_inner());
            s.result = Some(result);
            s.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }));
    Blocking { slot, keepalive: KeepAlive::new() }
}

struct Slot<T> {
    result: Option<Result<T, JoinError>>,
    waker: Option<Waker>,
}

/// The future returned by [`spawn_blocking`].
#[must_use = "the work runs anyway; await the future to get its result"]
pub struct Blocking<T> {
    slot: Arc<Mutex<Slot<T>>>,
    keepalive: KeepAlive,
}

impl<T> Future for Blocking<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let result = {
            let mut s = self.slot.lock().unwrap_or_else(|e| e.into_inner());
            match s.result.take() {
                Some(result) => result,
                None => {
                    match &s.waker {
                        Some(w) if w.will_wake(cx.waker()) => {}
                        _ => s.waker = Some(cx.waker().clone()),
                    }
                    return Poll::Pending;
                }
            }
        };
        self.keepalive.release();
        Poll::Ready(result)
    }
}

impl<T> fmt::Debug for Blocking<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Blocking").finish_non_exhaustive()
    }
}

/// Tells the runtime that a task waits on work done elsewhere, so that
/// `sprout::wait()` does not consider the loop idle. Released on drop or
/// by `release`, on the runtime thread (the guard is `!Send`).
pub(crate) struct KeepAlive {
    serial: u32,
    _not_send: std::marker::PhantomData<*const ()>,
}

impl KeepAlive {
    /// Counts one piece of outside work on the running runtime, if any.
    pub(crate) fn new() -> KeepAlive {
        let serial = match context::current() {
            Some(core) => {
                core.keepalive_inc();
                core.serial
            }
            None => 0,
        };
        KeepAlive { serial, _not_send: std::marker::PhantomData }
    }

    /// Stops counting (idempotent).
    pub(crate) fn release(&mut self) {
        if self.serial != 0 {
            if let Some(core) = context::current().filter(|c| c.serial == self.serial) {
                core.keepalive_dec();
            }
            self.serial = 0;
        }
    }
}

impl Drop for KeepAlive {
    fn drop(&mut self) {
        self.release();
    }
}
