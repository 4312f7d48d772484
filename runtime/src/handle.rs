//! `Handle`: reach a runtime from other threads.

use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, Location, catch_unwind};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crate::context;
use crate::loom::lock;
use crate::observe::{self, ObserveError};
use crate::remote::mailbox::{Message, Remote};
use crate::task::JoinError;

/// A `Send + Clone` handle to a runtime, for other OS threads: spawn tasks
/// on it, or run a closure on its thread (gevent's
/// `loop.run_callback_threadsafe`).
///
/// ```
/// use sprout::{run, Handle};
///
/// run(async {
///     let handle = Handle::current();
///     let from_thread = std::thread::spawn(move || {
///         handle.spawn(async { 40 + 2 })
///     }).join().unwrap();
///     assert_eq!(from_thread.await.unwrap(), 42);
/// });
/// ```
#[derive(Clone)]
pub struct Handle {
    remote: Arc<Remote>,
    /// The observation part's shared half (`observe/`): for `dump` and `metrics`.
    observe: Arc<observe::Shared>,
}

/// The error of [`Handle::call`] when the runtime has shut down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuntimeGone;

impl fmt::Display for RuntimeGone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the sprout runtime has shut down")
    }
}

impl std::error::Error for RuntimeGone {}

impl Handle {
    pub(crate) fn new(remote: Arc<Remote>, observe: Arc<observe::Shared>) -> Handle {
        Handle { remote, observe }
    }

    /// The handle of the runtime running on this thread.
    ///
    /// # Panics
    /// Outside a sprout runtime.
    #[track_caller]
    pub fn current() -> Handle {
        let core = context::expect("Handle::current");
        Handle::new(core.remote().clone(), core.observe_shared().clone())
    }

    /// The handle of the runtime running on this thread, if any.
    pub fn try_current() -> Option<Handle> {
        context::current().map(|core| Handle::new(core.remote().clone(), core.observe_shared().clone()))
    }

    /// Spawns a `Send` future on the runtime, from any thread. The task
    /// starts at the runtime's next turn.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> RemoteJoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_with(move || future)
    }

    /// Spawns the future that `make` builds on the runtime thread. The
    /// future itself need not be `Send` (it may hold `Rc`s, sprout sockets...),
    /// only the closure. `make` runs inside the new task: if it panics, the
    /// joiner gets [`JoinError::Panicked`], as for a panic in the future.
    ///
    /// If the runtime shuts down before it runs the closure, or has already,
    /// the joiner gets [`JoinError::Killed`].
    #[track_caller]
    pub fn spawn_with<C, F>(&self, make: C) -> RemoteJoinHandle<F::Output>
    where
        C: FnOnce() -> F + Send + 'static,
        F: Future + 'static,
        F::Output: Send + 'static,
    {
        let shared = Arc::new(Mutex::new(Shared { result: None, done: false, joiner: None, task: None, kill: false }));
        // Whatever happens to the closure or the task (runs, panics, is
        // killed, is dropped because the runtime shut down), the guard's drop
        // makes sure the joiner hears about it.
        let guard = Completion(shared.clone());
        let at = Location::caller();
        // Feature `tracing`: the caller's span is the task span's parent.
        let spawner = crate::task::span::Spawner::here();
        // If the runtime is gone the closure is dropped, and with it the
        // guard: the joiner sees `Killed`.
        let _ = self.call(move || {
            let guard = guard;
            spawner.run(|| {
                crate::task::spawn_at(
                    async move {
                        // `make` is user code: a panic in it is the task's panic,
                        // delivered to the joiner like one in the future's poll.
                        let future = match catch_unwind(AssertUnwindSafe(make)) {
                            Ok(future) => future,
                            Err(payload) => return guard.finish(Err(JoinError::panicked(payload))),
                        };
                        let output = RemoteTask { future: std::pin::pin!(future), shared: &guard.0 }.await;
                        guard.finish(output);
                    },
                    at,
                )
            });
        });
        RemoteJoinHandle { shared }
    }

    /// Runs `f` on the runtime thread at its next turn. Fails if the
    /// runtime has shut down (then `f` is dropped, not run).
    pub fn call(&self, f: impl FnOnce() + Send + 'static) -> Result<(), RuntimeGone> {
        self.remote.post(Message::Run(Box::new(f))).map_err(|_| RuntimeGone)
    }

    /// Whether the runtime has shut down.
    pub fn is_closed(&self) -> bool {
        self.remote.is_closed()
    }

    /// The runtime's live tasks (see [`observe::Dump`]), from any thread:
    /// the runtime thread builds the dump between two polls, and this
    /// waits for it up to [`observe::ANSWER_WITHIN`] (one second), blocking
    /// the calling thread. On the runtime's own thread it answers at once.
    ///
    /// # Errors
    /// [`ObserveError::NoAnswer`] if the runtime thread does not answer in
    /// time: a task holds it (named if [`Builder::warn_blocking`](crate::Builder::warn_blocking)
    /// runs), or it is not inside `block_on`. [`ObserveError::Gone`] if the
    /// runtime has shut down.
    ///
    /// ```
    /// use sprout::{Handle, run, spawn, sleep};
    /// use std::time::Duration;
    ///
    /// run(async {
    ///     let sleeper = spawn(sleep(Duration::from_secs(60)));
    ///     let handle = Handle::current();
    ///     let dump = sprout::spawn_blocking(move || handle.dump()).await.unwrap().unwrap();
    ///     assert_eq!(dump.tasks().len(), 2);
    ///     sleeper.kill();
    /// });
    /// ```
    pub fn dump(&self) -> Result<observe::Dump, ObserveError> {
        self.dump_timeout(observe::ANSWER_WITHIN)
    }

    /// [`dump`](Self::dump), waiting up to `wait` for the answer.
    pub fn dump_timeout(&self, wait: Duration) -> Result<observe::Dump, ObserveError> {
        observe::ask(&self.remote, &self.observe, wait, observe::dump_for_handle)
    }

    /// The runtime's counters (see [`observe::Metrics`]), from any thread:
    /// read on the runtime thread, between two polls, like [`dump`](Self::dump).
    ///
    /// # Errors
    /// As [`dump`](Self::dump).
    pub fn metrics(&self) -> Result<observe::Metrics, ObserveError> {
        observe::ask(&self.remote, &self.observe, observe::ANSWER_WITHIN, observe::metrics)
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle").field("closed", &self.is_closed()).finish()
    }
}

struct Shared<T> {
    result: Option<Result<T, JoinError>>,
    /// The result was delivered (it may have been taken since).
    done: bool,
    joiner: Option<Waker>,
    /// The task's waker, so that `kill` can rouse it.
    task: Option<Waker>,
    kill: bool,
}

/// Delivers the result; if dropped unfinished, delivers `Killed`.
struct Completion<T>(Arc<Mutex<Shared<T>>>);

impl<T> Completion<T> {
    fn finish(&self, output: Result<T, JoinError>) {
        let joiner = {
            let mut s = lock(&*self.0);
            if s.done {
                return;
            }
            s.done = true;
            s.result = Some(output);
            s.task = None;
            s.joiner.take()
        };
        if let Some(w) = joiner {
            w.wake();
        }
    }
}

impl<T> Drop for Completion<T> {
    fn drop(&mut self) {
        self.finish(Err(JoinError::Killed));
    }
}

/// Polls the user's future, catching its panic and watching the kill flag.
struct RemoteTask<'a, F: Future, T> {
    future: Pin<&'a mut F>,
    shared: &'a Arc<Mutex<Shared<T>>>,
}

impl<F: Future<Output = T>, T> Future for RemoteTask<'_, F, T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        {
            let mut s = lock(&**self.shared);
            if s.kill {
                return Poll::Ready(Err(JoinError::Killed));
            }
            match &s.task {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => s.task = Some(cx.waker().clone()),
            }
        }
        match catch_unwind(AssertUnwindSafe(|| self.future.as_mut().poll(cx))) {
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(JoinError::panicked(payload))),
        }
    }
}

/// The handle of a task spawned with [`Handle::spawn`]: `Send`, so it can
/// be awaited (or killed) from any thread or executor.
pub struct RemoteJoinHandle<T> {
    shared: Arc<Mutex<Shared<T>>>,
}

impl<T> RemoteJoinHandle<T> {
    /// Asks the runtime to kill the task. The future is dropped at the
    /// task's next poll, which this call triggers; joiners get `Killed`.
    pub fn kill(&self) {
        let task = {
            let mut s = lock(&*self.shared);
            if s.done {
                return;
            }
            s.kill = true;
            s.task.take()
        };
        if let Some(w) = task {
            w.wake();
        }
    }

    /// Whether the task has finished.
    pub fn is_finished(&self) -> bool {
        lock(&*self.shared).done
    }

    /// Waits for the task from a plain thread, blocking it.
    ///
    /// # Panics
    /// Inside a sprout runtime, where blocking would stall every green task:
    /// `.await` the handle there instead.
    pub fn join_blocking(self) -> Result<T, JoinError> {
        assert!(
            context::current().is_none(),
            "RemoteJoinHandle::join_blocking would block the runtime thread; .await it instead"
        );
        crate::park::block_on(self)
    }
}

impl<T> Future for RemoteJoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut s = lock(&*self.shared);
        match s.result.take() {
            Some(result) => Poll::Ready(result),
            None if s.done => panic!("RemoteJoinHandle polled after it returned its result"),
            None => {
                match &s.joiner {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => s.joiner = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
        }
    }
}

impl<T> fmt::Debug for RemoteJoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteJoinHandle").field("finished", &self.is_finished()).finish()
    }
}
