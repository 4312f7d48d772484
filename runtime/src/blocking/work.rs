//! One piece of work submitted to a thread pool, and `WorkFuture`, its
//! result.
//!
//! # Design notes
//!
//! A submission is one allocation, [`Work`]: the closure (until a worker or
//! `cancel` takes it) and the [`Outcome`]. The pool's queue and the
//! `WorkFuture` each hold an `Arc` of it, seen through the traits [`Job`]
//! and [`Pending`], so neither needs to know the closure's type.
//!
//! Phases of the outcome, each changed under its mutex:
//!
//! ```text
//! Queued --worker takes the closure--> Running --result--> Delivering --> Done --taken--> Taken
//!    \--cancel / terminate / closed pool: Err(Killed)-------^
//! ```
//!
//! *Delivering* is the hand-over: the done-callbacks run, the runtime's
//! keep-alive count is released, and the waiter is woken. Work submitted
//! from inside a runtime (its *home*) is delivered on the runtime thread:
//! the worker posts the delivery there. Otherwise it is delivered on the
//! thread that completed it. While callbacks are pending or running (the
//! result is lent to them outside the lock) the future reports `Pending`,
//! so a callback always sees the result before the awaiter takes it. With
//! no callbacks, the result may be taken as soon as it is stored, before
//! the delivery runs; a plain thread parked in `wait` is then woken by the
//! completing thread, so it never depends on the home runtime being free.

use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use super::{KeepAlive, KeepAliveToken};
use crate::context;
use crate::loom::lock;
use crate::remote::mailbox::{Message, Remote};
use crate::task::JoinError;
use crate::task::coop;
use crate::task::observe::{WaitOn, waiting};

/// Fails with a clear message on a runtime thread, where blocking would
/// stall every green task.
#[track_caller]
pub(crate) fn forbid_blocking(what: &str) {
    if context::current().is_some() {
        panic!(
            "{what} would block the sprout runtime thread and stall every green task on it; \
             .await the work instead (or call this from a plain thread)"
        );
    }
}

/// A done-callback.
type Callback<T> = Box<dyn FnOnce(&Result<T, JoinError>) + Send>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Queued,
    Running,
    Delivering,
    Done,
    Taken,
}

/// The result side of a submission. See the module docs.
pub(crate) struct Outcome<T> {
    state: Mutex<State<T>>,
    /// The runtime the work was submitted from, if any.
    home: Option<Home>,
}

struct State<T> {
    phase: Phase,
    /// `Some` from completion until taken, except while lent to callbacks.
    result: Option<Result<T, JoinError>>,
    waker: Option<Waker>,
    callbacks: Vec<Callback<T>>,
    /// The home runtime's keep-alive count, held until delivery.
    keepalive: Option<KeepAliveToken>,
    cancelled: bool,
    /// A plain thread blocks in `wait` / `result`: with no callbacks to run
    /// first, the completing thread wakes it at once instead of leaving it
    /// to the home runtime, which may be busy (or blocked on that thread).
    parked: bool,
}

/// The runtime a piece of work came from.
struct Home {
    remote: Arc<Remote>,
    serial: u32,
}

impl Home {
    /// The runtime running on this thread, counting one more piece of
    /// outside work (so `sprout::wait()` waits for it).
    fn current() -> Option<(Home, KeepAliveToken)> {
        let core = context::current()?;
        let home = Home { remote: core.remote().clone(), serial: core.serial() };
        Some((home, KeepAlive::new().into_token()))
    }

    fn is_current(&self) -> bool {
        context::current().is_some_and(|core| core.serial() == self.serial)
    }
}

impl<T> Outcome<T> {
    fn new() -> Outcome<T> {
        let (home, keepalive) = Home::current().unzip();
        let state = State {
            phase: Phase::Queued,
            result: None,
            waker: None,
            callbacks: Vec::new(),
            keepalive,
            cancelled: false,
            parked: false,
        };
        Outcome { state: Mutex::new(state), home }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        lock(&self.state)
    }
}

/// A submission as the pool's queue sees it.
pub(crate) trait Job: Send + Sync {
    /// Runs the work on this (worker) thread; does nothing if it was
    /// cancelled meanwhile.
    fn run(self: Arc<Self>);

    /// The pool will not run this work: it completes with `error`.
    fn abandon(self: Arc<Self>, error: JoinError);
}

/// A submission as its `WorkFuture` sees it.
trait Pending<T>: Send + Sync {
    fn outcome(&self) -> &Outcome<T>;

    /// Takes the closure away from the workers if none has started it.
    fn cancel(self: Arc<Self>) -> bool;
}

/// One submission: the closure, then its outcome.
struct Work<F, T> {
    job: Mutex<Option<F>>,
    outcome: Outcome<T>,
}

impl<F, T> Job for Work<F, T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    fn run(self: Arc<Self>) {
        let Some(f) = lock(&self.job).take() else { return };
        self.outcome.lock().phase = Phase::Running;
        let result = catch_unwind(AssertUnwindSafe(f)).map_err(JoinError::panicked);
        complete(self, result, false);
    }

    fn abandon(self: Arc<Self>, error: JoinError) {
        let Some(f) = lock(&self.job).take() else { return };
        drop(f);
        let cancelled = error.is_killed();
        complete(self, Err(error), cancelled);
    }
}

impl<F, T> Pending<T> for Work<F, T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    fn outcome(&self) -> &Outcome<T> {
        &self.outcome
    }

    fn cancel(self: Arc<Self>) -> bool {
        let Some(f) = lock(&self.job).take() else { return self.outcome.lock().cancelled };
        drop(f);
        complete(self, Err(JoinError::Killed), true);
        true
    }
}

/// Creates a submission: the queue's handle and the caller's future.
pub(crate) fn work<F, T>(f: F) -> (Arc<dyn Job>, WorkFuture<T>)
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let work = Arc::new(Work { job: Mutex::new(Some(f)), outcome: Outcome::new() });
    (work.clone(), WorkFuture { work })
}

/// Records the result and delivers it.
fn complete<T: Send + 'static>(work: Arc<dyn Pending<T>>, result: Result<T, JoinError>, cancelled: bool) {
    let parked = {
        let mut state = work.outcome().lock();
        state.result = Some(result);
        state.cancelled = cancelled;
        state.phase = Phase::Delivering;
        if state.parked && state.callbacks.is_empty() { state.waker.take() } else { None }
    };
    if let Some(waker) = parked {
        waker.wake();
    }
    send_delivery(work);
}

/// Delivers on the home runtime's thread: here if this is it, else by
/// posting there; without a home (or if the home has shut down), here.
fn send_delivery<T: Send + 'static>(work: Arc<dyn Pending<T>>) {
    let remote = match &work.outcome().home {
        Some(home) if !home.is_current() => home.remote.clone(),
        _ => return deliver(work.outcome()),
    };
    let delivery = Delivery(Some(work));
    // A refused message is handed back; dropping it delivers here.
    let _ = remote.post(Message::Run(Box::new(move || delivery.run())));
}

/// A delivery in flight to the home runtime. If the runtime drops it
/// unrun (it shut down first), the drop delivers, so no waiter is stranded.
struct Delivery<T: Send + 'static>(Option<Arc<dyn Pending<T>>>);

impl<T: Send + 'static> Delivery<T> {
    fn run(mut self) {
        if let Some(work) = self.0.take() {
            deliver(work.outcome());
        }
    }
}

impl<T: Send + 'static> Drop for Delivery<T> {
    fn drop(&mut self) {
        if let Some(work) = self.0.take() {
            deliver(work.outcome());
        }
    }
}

/// Runs the callbacks (lending them the result), then marks the outcome
/// done, releases the keep-alive count and wakes the waiter.
fn deliver<T>(outcome: &Outcome<T>) {
    loop {
        let (callbacks, result) = {
            let mut state = outcome.lock();
            if state.callbacks.is_empty() {
                // The result may have been taken early (see `poll`).
                if state.phase == Phase::Delivering {
                    state.phase = Phase::Done;
                }
                let waker = state.waker.take();
                let keepalive = state.keepalive.take();
                drop(state);
                // On the home thread; elsewhere only if the home shut down,
                // and then the release is rightly a no-op.
                if let Some(keepalive) = keepalive {
                    keepalive.release();
                }
                if let Some(waker) = waker {
                    waker.wake();
                }
                return;
            }
            let result = state.result.take().expect("a result while delivering");
            (std::mem::take(&mut state.callbacks), result)
        };
        for callback in callbacks {
            if let Err(payload) = catch_unwind(AssertUnwindSafe(|| callback(&result))) {
                let err = JoinError::panicked(payload);
                let message = err.panic_message().unwrap_or("?");
                crate::__report!(
                    event: ERROR(target: "sprout::thread_pool", panic = message, "a thread-pool done-callback panicked"),
                    stderr: "sprout: a thread-pool done-callback panicked: {message}",
                );
            }
        }
        outcome.lock().result = Some(result);
    }
}

/// The result of work submitted to a [`ThreadPool`](super::ThreadPool)
/// (or [`spawn_blocking`](super::spawn_blocking)): `concurrent.futures.Future`.
///
/// - From a green task, `.await` it.
/// - From a plain thread, [`wait`](WorkFuture::wait) or
///   [`result`](WorkFuture::result) block until it is done.
/// - [`add_done_callback`](WorkFuture::add_done_callback) runs code when it
///   is done; [`cancel`](WorkFuture::cancel) withdraws work not yet started.
///
/// The output is `Ok(value)`, `Err(JoinError::Panicked)` if the work
/// panicked (the worker thread survives), or `Err(JoinError::Killed)` if
/// it never ran: it was cancelled, dropped by `terminate` /
/// `shutdown(false)`, or submitted to a closed pool.
///
/// Dropping a `WorkFuture` does not stop the work (a running closure cannot
/// be interrupted); its result is then dropped. `WorkFuture` is `Send`.
///
/// ```
/// use sprout::blocking::ThreadPool;
///
/// let pool = ThreadPool::new(2);
/// let mut answer = pool.submit(|| 6 * 7);
/// // From a plain thread, as concurrent.futures' `result(timeout)`:
/// let got = answer.result(std::time::Duration::from_secs(10));
/// assert_eq!(got.unwrap().unwrap(), 42);
/// ```
#[must_use = "the work runs anyway; await the future or call `wait` to get its result"]
pub struct WorkFuture<T> {
    work: Arc<dyn Pending<T>>,
}

impl<T: Send + 'static> WorkFuture<T> {
    /// Whether the result is in (the work ran, failed or was cancelled, and
    /// its done-callbacks have run): `.await` would not wait.
    pub fn is_finished(&self) -> bool {
        matches!(self.work.outcome().lock().phase, Phase::Done | Phase::Taken)
    }

    /// Whether a worker is running the work right now.
    pub fn is_running(&self) -> bool {
        self.work.outcome().lock().phase == Phase::Running
    }

    /// Whether the work was cancelled before it started (by
    /// [`cancel`](WorkFuture::cancel), `terminate` or `shutdown(false)`).
    pub fn is_cancelled(&self) -> bool {
        self.work.outcome().lock().cancelled
    }

    /// Withdraws the work if no worker has started it, like
    /// `Future.cancel()`: the closure is dropped, the future resolves to
    /// [`JoinError::Killed`], and the done-callbacks run. Returns whether
    /// the work is cancelled (now or before); false if it is running or done.
    pub fn cancel(&self) -> bool {
        self.work.clone().cancel()
    }

    /// Calls `f` with the result once the work is done, like
    /// `Future.add_done_callback`. The result stays for the awaiter, who
    /// gets it only after every callback has run.
    ///
    /// Where `f` runs:
    /// - work submitted from inside a sprout runtime: on that runtime's
    ///   thread, between tasks (so it must be quick, as in gevent; a
    ///   blocking callback stalls every task). If the runtime has shut down
    ///   by then, it runs on the thread that completed the work.
    /// - work submitted from a plain thread: on the worker thread that
    ///   completed it, or on the thread that calls `cancel`.
    /// - work already done: right here if this thread qualifies as above,
    ///   otherwise it is sent there.
    ///
    /// A panic in `f` is caught and reported on stderr; the other callbacks
    /// still run.
    ///
    /// # Panics
    /// If the result was already taken (by `.await`, `wait` or `result`).
    pub fn add_done_callback(&self, f: impl FnOnce(&Result<T, JoinError>) + Send + 'static) {
        let mut state = self.work.outcome().lock();
        match state.phase {
            Phase::Queued | Phase::Running | Phase::Delivering => state.callbacks.push(Box::new(f)),
            Phase::Done => {
                state.callbacks.push(Box::new(f));
                state.phase = Phase::Delivering;
                drop(state);
                send_delivery(self.work.clone());
            }
            Phase::Taken => panic!("WorkFuture::add_done_callback: the result was already taken"),
        }
    }

    /// Blocks this thread until the work is done and returns its result,
    /// like `Future.result()`.
    ///
    /// # Panics
    /// On a sprout runtime thread, where blocking would stall every green
    /// task: `.await` the future there. Also if the result was taken.
    #[track_caller]
    pub fn wait(mut self) -> Result<T, JoinError> {
        forbid_blocking("WorkFuture::wait");
        self.work.outcome().lock().parked = true;
        crate::park::block_on(&mut self)
    }

    /// Blocks this thread for up to `timeout` for the result, like
    /// `Future.result(timeout)`. Returns `None` on time-out; the future
    /// stays usable.
    ///
    /// # Panics
    /// On a sprout runtime thread (`.await` the future there, inside
    /// [`timeout`](crate::timeout) if need be), or if the result was taken.
    #[track_caller]
    pub fn result(&mut self, timeout: Duration) -> Option<Result<T, JoinError>> {
        forbid_blocking("WorkFuture::result");
        self.work.outcome().lock().parked = true;
        crate::park::block_on_until(self, Instant::now().checked_add(timeout)).ok()
    }
}

impl<T> Future for WorkFuture<T> {
    type Output = Result<T, JoinError>;

    #[track_caller]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        let mut state = self.work.outcome().lock();
        match state.phase {
            // Done, or in delivery with no callback left to see the result:
            // it is the awaiter's now.
            Phase::Done | Phase::Delivering if state.callbacks.is_empty() && state.result.is_some() => {
                state.phase = Phase::Taken;
                Poll::Ready(state.result.take().expect("checked above"))
            }
            Phase::Taken => panic!("WorkFuture polled after it returned its result"),
            // (Done always passes the first arm: its callbacks have run.)
            Phase::Queued | Phase::Running | Phase::Delivering | Phase::Done => {
                match &state.waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => state.waker = Some(cx.waker().clone()),
                }
                drop(state);
                waiting(WaitOn::Blocking);
                Poll::Pending
            }
        }
    }
}

impl<T> fmt::Debug for WorkFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let phase = self.work.outcome().lock().phase;
        f.debug_struct("WorkFuture").field("phase", &phase).finish()
    }
}
