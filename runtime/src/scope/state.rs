//! `ScopeState`: one scope's state behind the `&Scope` its body and children
//! share (policy, cancel, failures) over the task layer's `Children`.
//!
//! Ground rules:
//! - It lives in its own heap block, made at the scope's first poll and
//!   freed by the scope future's drop after every child and the body are
//!   gone (`future.rs`). The body and the children hold `&` references to
//!   it; nothing else does.
//! - Every function here may run user code (a child's poll, a future's or
//!   an output's drop): none holds a `RefCell` borrow across it.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::Location;
use std::ptr::NonNull;

use super::error::{Cause, Failure};
use super::outcome::{self, Outcome};
use crate::task::child::Children;
use crate::task::executor::Executor;
use crate::task::header::{Header, ref_dec};
use crate::task::state::{COMPLETE, JOIN_HANDLE};

/// See the module docs.
pub(crate) struct ScopeState {
    pub(crate) children: Children,
    /// The first failure cancels the scope (the default), or every child
    /// runs to its end (collect-all).
    fail_fast: bool,
    /// Why the scope is cancelling, once it is.
    cancel: Cell<Option<Cause>>,
    /// Every child (and the body) was dropped for the cancel.
    dropped_all: Cell<bool>,
    failures: RefCell<Vec<Failure>>,
}

impl ScopeState {
    pub(crate) fn new(executor: &Executor, fail_fast: bool) -> ScopeState {
        ScopeState {
            children: Children::new(executor),
            fail_fast,
            cancel: Cell::new(None),
            dropped_all: Cell::new(false),
            failures: RefCell::new(Vec::new()),
        }
    }

    /// Spawns a child (see `Scope::spawn`); after a cancel, one that never runs.
    #[inline]
    pub(crate) fn spawn<F>(&self, future: F, name: Option<Box<str>>, at: &'static Location<'static>) -> NonNull<Header>
    where
        F: Future,
        F::Output: Outcome,
    {
        let executor = Executor::expect("Scope::spawn");
        assert!(
            self.children.belongs_to(executor),
            "Scope::spawn: the scope belongs to another sprout runtime (a scope's children run only where it started)"
        );
        let vtable = outcome::child_vtable::<F>();
        if self.cancel.get().is_some() {
            return self.children.spawn_cancelled(executor, future, vtable);
        }
        self.children.spawn(executor, future, vtable, name, at)
    }

    /// Cancels the scope for `cause`, unless it is already cancelling: the
    /// children and the body are dropped when the scope is next polled (at
    /// once, if it waits: its task is woken). The hook cancel tokens and
    /// deadlines call.
    pub(crate) fn cancel(&self, cause: Cause) {
        if self.cancel.get().is_none() {
            self.cancel.set(Some(cause));
            self.children.wake_parent();
        }
    }

    /// Why the scope is cancelling, if it is.
    pub(crate) fn cancelled(&self) -> Option<Cause> {
        self.cancel.get()
    }

    /// Records a child's failure; under fail-fast the first one cancels the scope.
    pub(crate) fn report(&self, failure: Failure) {
        self.failures.borrow_mut().push(failure);
        if self.fail_fast {
            self.cancel(Cause::ChildFailed);
        }
    }

    /// The failures recorded so far, taken out.
    pub(crate) fn take_failures(&self) -> Vec<Failure> {
        std::mem::take(&mut *self.failures.borrow_mut())
    }

    /// A child's poll ended it (`Ran::Done`): finishes it, takes its
    /// failure if the scope should (see the module docs of `scope`,
    /// "Failures"), and gives back the live set's and the queue's references.
    ///
    /// # Safety
    /// `task` is a child of this scope that `Children::run` just reported
    /// `Done`; the caller hands over the queue's reference.
    #[inline]
    pub(crate) unsafe fn child_done(&self, executor: &Executor, task: NonNull<Header>) {
        // SAFETY: the queue's reference keeps the child alive; `Done` means
        // its output is written and it is RUNNING.
        unsafe {
            self.children.finish(Some(executor), task);
            self.settle(task);
            ref_dec(task);
            ref_dec(task);
        }
    }

    /// Takes a finished child's failure if the scope should: always when
    /// no handle will take the output (a success is dropped then), and
    /// under fail-fast even when one would.
    ///
    /// # Safety
    /// `task` is a COMPLETE child of this scope; the caller holds a reference.
    #[inline]
    unsafe fn settle(&self, task: NonNull<Header>) {
        // SAFETY: by the caller's promise.
        let header = unsafe { task.as_ref() };
        // SAFETY: as above.
        let take = !header.state.has(JOIN_HANDLE) || (self.fail_fast && unsafe { outcome::failed(task) });
        if take {
            // SAFETY: as above.
            if let Some(failure) = unsafe { outcome::take_failure(task) } {
                self.report(failure);
            }
        }
    }

    /// The handle of a finished child was dropped with the output in it
    /// (`Detach::DiscardOutput`): a failure nobody took is the scope's.
    ///
    /// # Safety
    /// As `settle`.
    pub(crate) unsafe fn unclaimed(&self, task: NonNull<Header>) {
        // SAFETY: forwarded.
        if let Some(failure) = unsafe { outcome::take_failure(task) } {
            self.report(failure);
        }
    }

    /// Cancels one child (`ChildHandle::cancel`): its future is dropped
    /// now, or right after its poll if it is the one running.
    ///
    /// # Safety
    /// `task` is a child of this scope; the caller holds a reference.
    pub(crate) unsafe fn cancel_child(&self, task: NonNull<Header>) {
        // SAFETY: by the caller's promise; one more reference for the call.
        unsafe {
            if task.as_ref().state.has(COMPLETE) {
                return;
            }
            task.as_ref().ref_inc();
            self.children.kill_and_finish(Executor::owning(task.as_ref().home), task);
        }
    }

    /// Drops every child's future, then the body's, once the scope is
    /// cancelled (the scope's poll calls it between two polls of children,
    /// and its drop). The children are dropped at the await where they
    /// wait: they are never polled again.
    pub(crate) fn drop_all(&self, executor: Option<&Executor>) {
        if self.dropped_all.replace(true) {
            return;
        }
        // Refused from now on: a destructor that spawns gets a child that
        // never runs. (Not an error: the scope may be dropped mid-run.)
        if self.cancel.get().is_none() {
            self.cancel.set(Some(Cause::Cancelled));
        }
        self.children.drop_all(executor);
    }
}
