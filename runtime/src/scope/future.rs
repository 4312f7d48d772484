//! `ScopeFuture`, the future [`scope`](super::scope) returns: it starts the
//! body, polls the body and the children, applies the policy and the
//! deadline, and drops whatever is left when it is dropped. And
//! [`Builder`], the settings it starts with.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::panic::resume_unwind;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::Scope;
use super::error::{Cause, ScopeError};
use super::state::ScopeState;
use crate::task::JoinError;
use crate::task::child::Ran;
use crate::task::executor::Executor;
use crate::task::header::{Header, ref_dec};
use crate::task::observe::{WaitOn, WaitSite, waiting};
use crate::time::{Sleep, sleep_until};

/// How many children (and body polls) one poll of the scope runs at most
/// before it lets the other tasks have a turn: the loop's own default
/// batch (`Builder::tasks_per_turn`), so that a scope of a million ready
/// children is as fair to the rest as a million tasks are.
const CHILDREN_PER_POLL: usize = 128;

/// Settings of a scope: the failure policy and a deadline. [`scope`](super::scope)
/// is `Builder::new().run`.
///
/// ```
/// use std::time::Duration;
/// use sprout::scope::{Builder, Cause};
///
/// # sprout::Runtime::builder().start_paused(true).build().unwrap().block_on(async {
/// let err = Builder::new()
///     .timeout(Duration::from_secs(5))
///     .run(async |s| {
///         s.spawn(sprout::sleep(Duration::from_secs(60)));
///     })
///     .await
///     .unwrap_err();
/// assert_eq!(err.cause(), Cause::DeadlineExceeded);
/// # });
/// ```
#[derive(Clone, Debug, Default)]
pub struct Builder {
    collect_all: bool,
    deadline: Option<Deadline>,
}

#[derive(Clone, Copy, Debug)]
enum Deadline {
    At(Instant),
    /// From the scope's first poll.
    After(Duration),
}

impl Builder {
    /// Fail-fast, no deadline.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// The first child to fail (return `Err` or panic) cancels the others
    /// and the body, as in trio and `asyncio.TaskGroup`. The default.
    pub fn fail_fast(mut self) -> Builder {
        self.collect_all = false;
        self
    }

    /// Every child runs to its end whatever the others do, like
    /// `asyncio.gather(..., return_exceptions=True)`; the scope's error
    /// lists every failure nobody took through a handle.
    pub fn collect_all(mut self) -> Builder {
        self.collect_all = true;
        self
    }

    /// Cancels everything at `deadline` (on the runtime's clock,
    /// [`time::now`](crate::time::now)): the scope then ends with
    /// [`Cause::DeadlineExceeded`].
    pub fn deadline(mut self, deadline: Instant) -> Builder {
        self.deadline = Some(Deadline::At(deadline));
        self
    }

    /// [`deadline`](Self::deadline) at `timeout` after the scope's first poll.
    pub fn timeout(mut self, timeout: Duration) -> Builder {
        self.deadline = Some(Deadline::After(timeout));
        self
    }

    /// Runs the scope: see [`scope`](super::scope).
    pub fn run<'env, F, R>(self, body: F) -> ScopeFuture<'env, F, R>
    where
        F: for<'s> AsyncFnOnce(&'s Scope<'s, 'env>) -> R,
    {
        ScopeFuture {
            body: Some(body),
            settings: self,
            core: None,
            sleep: None,
            output: None,
            body_wait: None,
            done: false,
            _env: PhantomData,
        }
    }
}

/// The future of a scope ([`scope`](super::scope), [`Builder::run`]).
/// Dropping it drops the body and every child before the drop returns.
#[must_use = "futures do nothing unless awaited"]
pub struct ScopeFuture<'env, F, R> {
    /// The body closure, until the first poll calls it.
    body: Option<F>,
    settings: Builder,
    /// The scope's state, from the first poll; freed by the drop.
    core: Option<NonNull<ScopeState>>,
    /// The deadline's timer, armed at the first poll.
    sleep: Option<Sleep>,
    /// The body's value, once it has returned.
    output: Option<R>,
    /// What the body's last poll waited on: noted again for the task in the
    /// polls that do not poll the body (see `poll`).
    body_wait: Option<WaitSite>,
    done: bool,
    /// Invariant in `'env`: the children's borrows are exactly `'env`.
    _env: PhantomData<&'env mut &'env ()>,
}

// Nothing in a `ScopeFuture` is ever pinned: the body closure is called by
// value, the body and the children live in their own blocks, the state in
// its own heap block, and `Sleep` is `Unpin`.
impl<F, R> Unpin for ScopeFuture<'_, F, R> {}

impl<'env, F, R> ScopeFuture<'env, F, R>
where
    F: for<'s> AsyncFnOnce(&'s Scope<'s, 'env>) -> R,
{
    /// The first poll: makes the state, calls the body closure, and queues
    /// the body.
    fn start(&mut self, executor: &Executor) -> NonNull<ScopeState> {
        let core = NonNull::from(Box::leak(Box::new(ScopeState::new(executor, !self.settings.collect_all))));
        self.core = Some(core);
        // SAFETY: `Scope` is a transparent wrapper of `ScopeState` (phantom
        // lifetimes only). The block is freed only by this future's drop,
        // after the body and every child (the only holders of this
        // reference: the closure's `for<'s>` bound keeps it from leaving
        // them) are dropped; see "Soundness" in the module docs.
        let scope: &'env Scope<'env, 'env> = unsafe { core.cast::<Scope<'env, 'env>>().as_ref() };
        scope.core.children.register();
        self.sleep = self.settings.deadline.map(|deadline| match deadline {
            Deadline::At(at) => sleep_until(at),
            Deadline::After(d) => sleep_until(crate::time::now() + d),
        });
        let body = self.body.take().expect("the body closure is taken once, at the first poll");
        scope.core.children.spawn_body(body(scope));
        core
    }

    /// The body ended (`Ran::Done`): keeps its value, or passes its panic on
    /// once everything else is dropped.
    fn body_done(&mut self, executor: &Executor, core: &ScopeState, task: NonNull<Header>) {
        // SAFETY: the queue's reference keeps the body alive; `Done` means
        // its output is written and it is RUNNING.
        unsafe { core.children.finish(Some(executor), task) };
        // SAFETY: as above.
        let header = unsafe { task.as_ref() };
        let consumed = header.state.transition_to_consumed();
        debug_assert!(consumed, "nothing else takes the body's output");
        let mut out = MaybeUninit::<Result<R, JoinError>>::uninit();
        // SAFETY: the output is live and now marked consumed; `R` is the
        // body's output type.
        let output = unsafe {
            (header.vtable.read_output)(task, out.as_mut_ptr().cast());
            out.assume_init()
        };
        // SAFETY: the body slot's reference (handed over by `finish`) and the queue's.
        unsafe {
            ref_dec(task);
            ref_dec(task);
        }
        match output {
            Ok(value) => self.output = Some(value),
            // Cancelled: the result says so.
            Err(JoinError::Killed) => {}
            Err(JoinError::Panicked(panic)) => {
                // The body's panic is the scope's: end the children, then
                // let it go on, as `std::thread::scope` does.
                core.drop_all(Some(executor));
                self.done = true;
                resume_unwind(panic.into_payload());
            }
        }
    }

    /// The scope's result, once the body and every child have ended.
    fn result(&mut self, core: &ScopeState) -> Result<R, ScopeError> {
        let failures = core.take_failures();
        match (core.cancelled(), self.output.take()) {
            (Some(Cause::DeadlineExceeded), _) => Err(ScopeError::new(Cause::DeadlineExceeded, failures)),
            (Some(Cause::ChildFailed), _) => Err(ScopeError::new(Cause::ChildFailed, failures)),
            // Collect-all: the failures nobody took.
            _ if !failures.is_empty() => Err(ScopeError::new(Cause::ChildFailed, failures)),
            (_, Some(value)) => Ok(value),
            (_, None) => Err(ScopeError::new(Cause::Cancelled, failures)),
        }
    }
}

impl<'env, F, R> Future for ScopeFuture<'env, F, R>
where
    F: for<'s> AsyncFnOnce(&'s Scope<'s, 'env>) -> R,
{
    type Output = Result<R, ScopeError>;

    #[track_caller]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        assert!(!this.done, "a sprout scope polled after it completed");
        let executor = Executor::expect("sprout::scope");
        let core = match this.core {
            Some(core) => core,
            None => this.start(executor),
        };
        // SAFETY: the state lives until this future's drop.
        let core: &ScopeState = unsafe { core.as_ref() };
        assert!(
            core.children.belongs_to(executor),
            "a sprout scope must be polled in the runtime where it started (its children live there)"
        );
        core.children.polled(executor.running_id());
        // The body and the children run under the scope's deadline (and any
        // deadline around the scope): their own waits give up at it with
        // their usual errors (`time::deadline`). The timer is looked at once
        // they have run, so a child whose wait just timed out runs its
        // cleanup before the cancel drops the rest, as under `deadline`.
        let in_deadline = crate::time::enter_deadline(this.sleep.as_ref().map(Sleep::deadline));
        let mut body_polled = false;
        for _ in 0..CHILDREN_PER_POLL {
            // A cancel takes effect between two polls: every child is then
            // dropped where it waits, never polled again.
            if core.cancelled().is_some() {
                core.drop_all(Some(executor));
            }
            let Some(task) = core.children.pop() else { break };
            let is_body = core.children.body() == Some(task);
            body_polled |= is_body;
            // SAFETY: popped from this scope's queue, with its reference.
            if unsafe { core.children.run(executor, task) } == Ran::Done {
                if is_body {
                    this.body_done(executor, core, task);
                } else {
                    // SAFETY: a child of this scope, just `Done`; the queue's reference.
                    unsafe { core.child_done(executor, task) };
                }
            }
            if !executor.has_budget() {
                break;
            }
        }
        drop(in_deadline);
        if let Some(sleep) = &mut this.sleep
            && Pin::new(sleep).poll(cx).is_ready()
        {
            this.sleep = None;
            core.cancel(Cause::DeadlineExceeded);
        }
        if core.cancelled().is_some() {
            core.drop_all(Some(executor));
        }
        if core.children.body().is_none() && core.children.len() == 0 {
            this.done = true;
            this.sleep = None;
            return Poll::Ready(this.result(core));
        }
        if core.children.has_ready() {
            // More is ready than one poll runs: let the other tasks have a
            // turn (after the I/O poll if the budget is spent, as a task
            // that spent it waits), then come back.
            if executor.has_budget() {
                cx.waker().wake_by_ref();
            } else {
                executor.defer(cx.waker());
            }
        } else {
            core.children.wait_for_children(cx.waker());
        }
        // What the dump shows for the task that polls the scope: its body's
        // wait while the body runs (kept from the body's last poll), then
        // the scope itself, whose children are listed under the task.
        if core.children.body().is_some() {
            if let Some(observer) = executor.observer() {
                if body_polled {
                    this.body_wait = observer.noted();
                } else if let Some(site) = this.body_wait {
                    observer.renote(site);
                }
            }
        } else {
            waiting(WaitOn::Scope);
        }
        Poll::Pending
    }
}

impl<F, R> Drop for ScopeFuture<'_, F, R> {
    /// Drops the body and every child, then the state.
    fn drop(&mut self) {
        if let Some(core) = self.core.take() {
            // SAFETY: the state lives until here.
            let scope = unsafe { core.as_ref() };
            let executor = Executor::current().filter(|e| scope.children.belongs_to(e));
            scope.drop_all(executor);
            // SAFETY: made by `Box::leak` in `start`; its only other holders
            // (the body and the children) are gone.
            drop(unsafe { Box::from_raw(core.as_ptr()) });
        }
    }
}

impl<F, R> fmt::Debug for ScopeFuture<'_, F, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("ScopeFuture");
        if let Some(core) = self.core {
            // SAFETY: the state lives until the drop.
            let core = unsafe { core.as_ref() };
            d.field("children", &core.children.len()).field("cancelled", &core.cancelled());
        }
        d.field("settings", &self.settings).finish()
    }
}
