//! `ChildHandle`: await or cancel one child of a scope.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll};

use super::error::ChildError;
use super::state::ScopeState;
use crate::task::JoinError;
use crate::task::header::{Header, TaskId, ref_dec};
use crate::task::observe::{WaitOn, waiting};
use crate::task::state::{COMPLETE, Detach, HANDLED};

/// A handle to one child of a scope, returned by
/// [`Scope::spawn`](super::Scope::spawn): await it for the child's output.
///
/// Awaiting gives `Ok(output)` (the child's whole output: a `Result` child
/// gives `Ok(Err(e))` when it failed under collect-all), or a
/// [`ChildError`] if it was cancelled or panicked. Dropping the handle
/// leaves the child running; its failure is then the scope's to report.
/// The handle cannot leave the scope (its lifetime is the scope's), and
/// awaiting a child is a wait the dump and the deadlock report show.
///
/// ```
/// sprout::run(async {
///     sprout::scope(async |s| {
///         let slow = s.spawn(std::future::pending::<()>());
///         let quick = s.spawn(async { Ok::<_, std::convert::Infallible>(7) });
///         assert_eq!(quick.await.unwrap().unwrap(), 7);
///         slow.cancel();
///         assert!(slow.await.unwrap_err().is_cancelled());
///     })
///     .await
///     .unwrap();
/// });
/// ```
pub struct ChildHandle<'s, T> {
    raw: NonNull<Header>,
    core: &'s ScopeState,
    /// `!Send` (the raw pointer), and the output type.
    _output: PhantomData<fn() -> T>,
}

impl<'s, T> ChildHandle<'s, T> {
    /// # Safety
    /// `raw` is a child of `core` whose output type is `T`; the caller
    /// hands over the handle's reference.
    pub(crate) unsafe fn from_raw(raw: NonNull<Header>, core: &'s ScopeState) -> ChildHandle<'s, T> {
        ChildHandle { raw, core, _output: PhantomData }
    }

    fn header(&self) -> &Header {
        // SAFETY: the handle owns a reference; it is `!Send`.
        unsafe { self.raw.as_ref() }
    }

    /// The child's id.
    pub fn id(&self) -> TaskId {
        self.header().id
    }

    /// The child's name, if it was spawned with [`Scope::spawn_named`](super::Scope::spawn_named).
    pub fn name(&self) -> Option<&str> {
        self.header().name()
    }

    /// Whether the child has finished (returned, panicked or was cancelled).
    pub fn is_finished(&self) -> bool {
        self.header().state.has(COMPLETE)
    }

    /// Cancels the child: its future is dropped now (right after its
    /// current poll if it cancels itself), and awaiting the handle gives
    /// [`ChildError::Cancelled`]. A cancelled child is not a failure of the
    /// scope. Cancelling a finished child does nothing.
    pub fn cancel(&self) {
        // SAFETY: the handle's reference; the child is one of `core`'s.
        unsafe { self.core.cancel_child(self.raw) };
    }
}

impl<T> Future for ChildHandle<'_, T> {
    type Output = Result<T, ChildError>;

    #[inline]
    #[track_caller]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        // SAFETY: the handle owns a reference; it is `!Send`.
        let header = unsafe { this.raw.as_ref() };
        if !header.state.has(COMPLETE) {
            return this.wait(cx);
        }
        if !header.state.transition_to_consumed() {
            // HANDLED marks an output this handle took (the scope never sets it).
            assert!(!header.state.has(HANDLED), "ChildHandle polled after it returned its result");
            return Poll::Ready(Err(ChildError::Failed));
        }
        header.state.mark_handled();
        let mut out = MaybeUninit::<Result<T, JoinError>>::uninit();
        // SAFETY: the output is live and now marked consumed; `T` is the
        // child's output type.
        let output = unsafe {
            (header.vtable.read_output)(this.raw, out.as_mut_ptr().cast());
            out.assume_init()
        };
        Poll::Ready(output.map_err(|e| match e {
            JoinError::Killed => ChildError::Cancelled,
            JoinError::Panicked(p) => ChildError::Panicked(p),
        }))
    }
}

impl<T> ChildHandle<'_, T> {
    /// The child has not finished: wait for it.
    #[track_caller]
    fn wait(&self, cx: &mut Context<'_>) -> Poll<Result<T, ChildError>> {
        let header = self.header();
        waiting(WaitOn::Join { task: header.id });
        header.set_joiner(cx.waker());
        Poll::Pending
    }
}

impl<T> Drop for ChildHandle<'_, T> {
    fn drop(&mut self) {
        let header = self.header();
        let detach = header.state.transition_to_detached();
        drop(header.join_waker.take());
        if detach == Detach::DiscardOutput {
            // A failure goes to the scope; a success is dropped.
            // SAFETY: a finished child of `core`; the handle's reference.
            unsafe { self.core.unclaimed(self.raw) };
        }
        // SAFETY: giving up the handle's reference, on the runtime thread.
        unsafe { ref_dec(self.raw) };
    }
}

impl<T> fmt::Debug for ChildHandle<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildHandle")
            .field("id", &self.id())
            .field("name", &self.name())
            .field("finished", &self.is_finished())
            .finish()
    }
}
