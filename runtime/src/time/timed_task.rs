//! The task operations that take a time: [`spawn_later`],
//! `task::Builder::spawn_later`, `JoinHandle::join_timeout` and
//! `JoinHandle::kill_graceful`'s watchdog.
//!
//! They are `impl` blocks of the task layer's types written here, above
//! it, so that `task/` imports nothing of `time/` (the layers' table in
//! docs/architecture.md): the task layer offers the untimed halves
//! (`JoinHandle::ask_to_stop`, `UntypedHandle::finished`), this file adds
//! the clock.

use std::future::Future;
use std::time::Duration;

use super::{sleep, timeout};
use crate::task::executor::Executor;
use crate::task::{Builder, JoinError, JoinHandle, spawn_on};

/// Spawns a task that starts after `delay`, like `gevent.spawn_later` and
/// Python's `threading.Timer`. Killing it before then means it never runs.
///
/// ```
/// use std::time::Duration;
/// use sprout::{run, spawn_later};
///
/// run(async {
///     let hello = spawn_later(Duration::from_millis(10), async { "hello, world" });
///     assert_eq!(hello.await.unwrap(), "hello, world");
/// });
/// ```
#[track_caller]
pub fn spawn_later<F>(delay: Duration, future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    Builder::new().spawn_later(delay, future)
}

impl Builder {
    /// Spawns the task to start after `delay`. See [`spawn_later`].
    #[track_caller]
    pub fn spawn_later<F>(self, delay: Duration, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.spawn(async move {
            sleep(delay).await;
            future.await
        })
    }
}

impl<T: 'static> JoinHandle<T> {
    /// Asks the task to stop: it is woken and [`killed()`](crate::task::killed)
    /// resolves inside it, so it can clean up asynchronously (say goodbye on
    /// its socket, flush a buffer). If it has not finished after `grace`,
    /// it is killed.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sprout::{run, spawn, task};
    ///
    /// run(async {
    ///     let worker = spawn(async {
    ///         task::killed().await;
    ///         "cleaned up"
    ///     });
    ///     worker.kill_graceful(Duration::from_secs(5));
    ///     assert_eq!(worker.await.unwrap(), "cleaned up");
    /// });
    /// ```
    #[track_caller]
    pub fn kill_graceful(&self, grace: Duration) {
        let Some(target) = self.ask_to_stop() else { return };
        let executor = Executor::expect("JoinHandle::kill_graceful");
        // The watchdog holds `target`, a reference of its own.
        spawn_on(
            executor,
            async move {
                if timeout(grace, target.clone().finished()).await.is_err() {
                    target.kill();
                }
            },
            Some("kill_graceful watchdog".into()),
        );
    }

    /// Waits up to `limit` for the task, like gevent's `join(timeout)`.
    /// Returns `None` if it is still running; the handle stays usable.
    ///
    /// # Panics
    /// If the result was already taken (as polling the handle again does).
    pub async fn join_timeout(&mut self, limit: Duration) -> Option<Result<T, JoinError>> {
        timeout(limit, self).await.ok()
    }
}
