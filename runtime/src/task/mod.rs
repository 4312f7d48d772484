//! Green tasks: spawn, join, kill, name, and task-local storage.
//!
//! # Design notes
//!
//! A task is one heap allocation (`raw.rs`) in its runtime's task home
//! (`home.rs`): a 56-byte header, then its future, whose space the output
//! reuses once the future is gone. The header's state word and reference
//! count are plain `Cell`s, owned by the runtime thread (`state.rs`, where
//! every change is a named transition); other threads only ever post
//! messages, through the home's `Mailbox` (`waker.rs`). The waker that
//! polls a task is borrowed, not cloned, and waking a task that is already
//! queued does nothing.
//!
//! Where each job lives:
//!
//! - `executor.rs`: the runtime's task side (run queue, yielded tasks, the
//!   task being polled, budget, registry), found through its thread-local
//!   slot; the loop drives it.
//! - `harness.rs`: one task's poll, completion and kill, and the panic
//!   policy; a task's whole life is drawn there.
//! - `waker.rs`, `compact.rs`: the wake path, local and foreign.
//! - `join_handle.rs`, this file, `local.rs`, `yield_now.rs`: the public face.
//! - `child.rs`: scope children, task blocks that a scope polls instead of
//!   the executor (the public side is `scope/`).
//! - `span.rs` (feature `tracing`): each task's span, entered while it is
//!   polled, and the spawner's span carried into the child.
//!
//! References to a task are held by: the registry of live tasks (until it
//! completes), its run-queue entry (while queued), its `JoinHandle`, and its
//! wakers. The last one out frees the block, always on the runtime thread.

mod alloc;
pub(crate) mod child;
pub(crate) mod compact;
pub mod coop;
pub(crate) mod error;
pub(crate) mod executor;
pub(crate) mod harness;
pub(crate) mod header;
pub(crate) mod home;
mod join_handle;
mod local;
pub(crate) mod observe;
pub(crate) mod order;
pub(crate) mod raw;
pub(crate) mod registry;
pub(crate) mod span;
pub(crate) mod state;
pub(crate) mod waker;
pub(crate) mod waker_set;
mod yield_now;

#[cfg(test)]
mod tests;

#[cfg(all(test, loom))]
pub(crate) mod loom_models;

use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

use executor::Executor;
use waker_set::WakerKey;

pub use error::{JoinError, Panic, TryJoinError};
pub use header::TaskId;
pub use join_handle::JoinHandle;
pub(crate) use join_handle::{Finished, UntypedHandle};
pub use local::{AccessError, LocalKey};
pub use yield_now::{YieldNow, yield_now};

/// Spawns a green task on the current runtime and returns its handle.
///
/// The future must be `'static` but need not be `Send`: it runs on this
/// thread only. It starts at the runtime's next turn, after the running
/// task yields. Like `gevent.spawn`.
///
/// ```
/// use std::rc::Rc;
/// use sprout::{run, spawn};
///
/// run(async {
///     let shared = Rc::new(5); // not Send, and that is fine
///     let task = spawn({
///         let shared = shared.clone();
///         async move { *shared + 1 }
///     });
///     assert_eq!(task.await.unwrap(), 6);
/// });
/// ```
///
/// # Panics
/// Outside a sprout runtime.
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    spawn_on(Executor::expect("sprout::spawn"), future, None)
}

/// [`spawn`], recording `at` as the spawn site (for spawns that happen on
/// behalf of a caller elsewhere: `Handle::spawn` from another thread).
#[track_caller]
pub(crate) fn spawn_at<F>(future: F, at: &'static Location<'static>) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    spawn_on_at(Executor::expect("sprout::spawn"), future, None, at)
}

/// Spawns a task on `executor`: the one path every spawn takes (`spawn`,
/// `Builder`, the pools, the graceful-kill watchdog). The caller is the
/// spawn site the observer records (`#[track_caller]` all the way up to
/// the public `spawn`s).
#[inline]
#[track_caller]
pub(crate) fn spawn_on<F>(executor: &Executor, future: F, name: Option<Box<str>>) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    spawn_on_at(executor, future, name, Location::caller())
}

/// [`spawn_on`] with the spawn site given.
#[inline]
fn spawn_on_at<F>(
    executor: &Executor,
    future: F,
    name: Option<Box<str>>,
    at: &'static Location<'static>,
) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let task = executor.spawn(future, name, at);
    // SAFETY: the handle takes the reference `spawn` kept for it, and the
    // task's output type is F::Output.
    unsafe { JoinHandle::from_raw(task) }
}

/// Sets a task's options before spawning it.
///
/// ```
/// use sprout::{run, task};
///
/// run(async {
///     let w1 = task::Builder::new().name("w1").spawn(async { sprout::current().name().map(String::from) });
///     assert_eq!(w1.name(), Some("w1"));
///     assert_eq!(w1.await.unwrap().as_deref(), Some("w1"));
/// });
/// ```
#[derive(Clone, Debug, Default)]
pub struct Builder {
    name: Option<Box<str>>,
    /// The spawn site to record instead of the caller of `spawn`.
    at: Option<&'static Location<'static>>,
}

impl Builder {
    /// No options set.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Names the task: the name shows in `current()`, `JoinHandle::name`
    /// and the report of an unjoined panic.
    pub fn name(mut self, name: impl Into<String>) -> Builder {
        self.name = Some(name.into().into_boxed_str());
        self
    }

    /// Records `at` as the task's spawn site (in dumps and blocking
    /// reports) instead of the caller of [`spawn`](Self::spawn): for a
    /// library that spawns on its caller's behalf from inside a task of its
    /// own, where `#[track_caller]` cannot reach. sprout's servers spawn
    /// each connection task at the line that made the server.
    ///
    /// ```
    /// use std::panic::Location;
    /// use sprout::{run, task};
    ///
    /// #[track_caller]
    /// fn start_worker() -> sprout::JoinHandle<()> {
    ///     let caller = Location::caller();
    ///     // Later, from a task of the library's own:
    ///     task::Builder::new().name("worker").spawned_at(caller).spawn(async {})
    /// }
    ///
    /// run(async {
    ///     start_worker().await.unwrap();
    /// });
    /// ```
    pub fn spawned_at(mut self, at: &'static Location<'static>) -> Builder {
        self.at = Some(at);
        self
    }

    /// Gives the task the running task's spawn site and name, for a task
    /// that does the running task's work: hyper's HTTP/2 streams, which a
    /// connection's task spawns through sprout-http's executor, so that a
    /// dump or a blocking report names the connection and the line that
    /// made the server. Only when the runtime observes its tasks
    /// ([`observe::is_observing`](crate::observe::is_observing)); otherwise
    /// nothing is copied, and nothing is allocated. From the main future,
    /// only its site (where `block_on` was called) is copied. A
    /// [`name`](Self::name) or [`spawned_at`](Self::spawned_at) set before
    /// stays.
    ///
    /// ```
    /// use sprout::{Runtime, task};
    ///
    /// let rt = Runtime::builder().observe(true).build().unwrap();
    /// rt.block_on(async {
    ///     let parent = task::Builder::new().name("conn 10.0.0.1:4000").spawn(async {
    ///         task::Builder::new().like_current().spawn(async { sprout::current() }).await.unwrap()
    ///     });
    ///     assert_eq!(parent.await.unwrap().name(), Some("conn 10.0.0.1:4000"));
    /// });
    /// ```
    pub fn like_current(mut self) -> Builder {
        let Some(executor) = Executor::current() else { return self };
        let Some(observer) = executor.observer() else { return self };
        let task = executor.current_task();
        if executor.is_root(task) {
            // The main future (or no task): its site, where `block_on`
            // was called; "main" is no name for another task.
            self.at = self.at.or_else(|| observer.spawn_site(None));
            return self;
        }
        // SAFETY: the running task is live while it is being polled.
        let header = unsafe { task.as_ref() };
        self.at = self.at.or_else(|| observer.spawn_site(Some(header.slot.get())));
        if self.name.is_none() {
            self.name = header.name().map(Box::from);
        }
        self
    }

    /// Spawns the task. See [`spawn`].
    #[track_caller]
    pub fn spawn<F>(self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        // A `match`, not `unwrap_or_else(Location::caller)`: through a
        // function pointer the location would be this line.
        let at = match self.at {
            Some(at) => at,
            None => Location::caller(),
        };
        spawn_on_at(Executor::expect("task::Builder::spawn"), future, self.name, at)
    }
}

/// The running task's id and name, as returned by [`current`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskInfo {
    id: TaskId,
    name: Option<String>,
}

impl TaskInfo {
    /// The task's id: 0 for the `block_on` future ("main").
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// The task's name; the `block_on` future is called "main".
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
}

/// The running task, like `threading.current_thread()` and
/// `gevent.getcurrent()`.
///
/// ```
/// use sprout::{current, run, spawn};
///
/// run(async {
///     assert_eq!(current().name(), Some("main"));
///     let id = spawn(async { current().id() }).await.unwrap();
///     assert!(id.as_u64() > 0);
/// });
/// ```
///
/// # Panics
/// Outside a sprout runtime.
#[track_caller]
pub fn current() -> TaskInfo {
    let executor = Executor::expect("sprout::current");
    let task = executor.current_task();
    // SAFETY: the current task is live while it is being polled.
    let header = unsafe { task.as_ref() };
    let name = if executor.is_root(task) { Some("main".to_owned()) } else { header.name().map(String::from) };
    TaskInfo { id: header.id, name }
}

/// The id of the running task (the `block_on` future is task 0), or `None`
/// outside a sprout runtime: the cheap form of `current().id()`, with no
/// name to copy, for the primitives that record who holds them.
pub(crate) fn current_id() -> Option<TaskId> {
    let executor = Executor::current()?;
    // SAFETY: the current task is live while it is being polled or dropped,
    // and the root (the default between polls) lives as long as the executor.
    Some(unsafe { executor.current_task().as_ref() }.id)
}

/// The number of tasks on this runtime that have not finished, like
/// `threading.active_count()` (which also counts the main thread: add one
/// for the `block_on` future).
///
/// ```
/// use std::future::pending;
/// use sprout::{run, spawn, task, yield_now};
///
/// run(async {
///     assert_eq!(task::active_count(), 0);
///     let forever = spawn(pending::<()>());
///     let quick = spawn(async {});
///     assert_eq!(task::active_count(), 2);
///     quick.await.unwrap();
///     forever.kill();
///     assert_eq!(task::active_count(), 0);
/// });
/// ```
///
/// # Panics
/// Outside a sprout runtime.
#[track_caller]
pub fn active_count() -> usize {
    Executor::expect("sprout::task::active_count").live_tasks()
}

/// Resolves inside a task once [`JoinHandle::kill_graceful`] was called on
/// it. Never resolves in the `block_on` future.
///
/// ```
/// use std::time::Duration;
/// use futures_util::future::{select, Either};
/// use sprout::{run, sleep, spawn, task};
///
/// run(async {
///     let worker = spawn(async {
///         let mut ticks = 0;
///         loop {
///             let tick = std::pin::pin!(sleep(Duration::from_millis(1)));
///             match select(tick, task::killed()).await {
///                 Either::Left(_) => ticks += 1,
///                 Either::Right(_) => return ticks, // clean up and leave
///             }
///         }
///     });
///     sleep(Duration::from_millis(5)).await;
///     worker.kill_graceful(Duration::from_secs(1));
///     assert!(worker.await.unwrap() > 0);
/// });
/// ```
pub fn killed() -> Killed {
    Killed { waiting: None }
}

/// The future returned by [`killed`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct Killed {
    /// While it waits: the task whose kill wakers hold its entry, and the
    /// entry.
    waiting: Option<(TaskId, WakerKey)>,
}

impl Future for Killed {
    type Output = ();

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let executor = Executor::expect("sprout::task::killed");
        // SAFETY: the current task is live while it is being polled.
        let header = unsafe { executor.current_task().as_ref() };
        if header.state.has(state::GRACEFUL) {
            // `kill_graceful` emptied the set, and the key with it.
            self.waiting = None;
            return Poll::Ready(());
        }
        // A key of another task (the future moved) names nothing here.
        let mut key = self.waiting.filter(|(task, _)| *task == header.id).map(|(_, key)| key);
        header.with_extras(|e| e.kill_wakers.register(&mut key, cx.waker()));
        self.waiting = key.map(|key| (header.id, key));
        observe::waiting(observe::WaitOn::Killed);
        Poll::Pending
    }
}

impl Drop for Killed {
    fn drop(&mut self) {
        let Some((task, key)) = self.waiting.take() else { return };
        // Dropped as its task (in its poll, or as the task is killed), the
        // future leaves the set; elsewhere its entry stays until the task
        // is killed gracefully or freed.
        let Some(executor) = Executor::current() else { return };
        // SAFETY: the current task is live: it is being polled or killed
        // (or it is the runtime's root, which lives as long as the executor).
        let header = unsafe { executor.current_task().as_ref() };
        if header.id == task {
            let waker = header.with_extras_if_any(|e| e.kill_wakers.remove(&mut Some(key)));
            drop(waker);
        }
    }
}
