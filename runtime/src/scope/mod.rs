//! Structured concurrency: a block of child tasks that ends only when all
//! of them have ended, and whose children may borrow from the task that
//! runs it.
//!
//! - [`scope`]: runs a body that spawns children; returns once the body and
//!   every child have ended, with the body's value or a [`ScopeError`].
//! - [`Scope`]: what the body gets: [`spawn`](Scope::spawn),
//!   [`spawn_named`](Scope::spawn_named), [`cancel`](Scope::cancel).
//! - [`ChildHandle`]: await one child's output, or cancel it.
//! - [`Builder`]: fail-fast (the default) or collect-all, and a deadline.
//! - [`Outcome`]: what a child returns: `()` or a `Result`.
//!
//! Like a trio nursery, `asyncio.TaskGroup` or `std::thread::scope`: no
//! child outlives the block, so none can be forgotten, and a child may use
//! the caller's locals by reference (tokio's `JoinSet` wants `'static`):
//!
//! ```
//! sprout::run(async {
//!     let urls = ["a", "bb", "ccc"];
//!     let mut sizes = vec![0; urls.len()];
//!     sprout::scope(async |s| {
//!         for (url, size) in urls.iter().zip(sizes.iter_mut()) {
//!             s.spawn(async move {
//!                 sprout::yield_now().await; // a fetch, say
//!                 *size = url.len();
//!             });
//!         }
//!     })
//!     .await
//!     .unwrap();
//!     assert_eq!(sizes, [1, 2, 3]);
//! });
//! ```
//!
//! # The rules
//!
//! - **Ending.** The scope's future resolves once the body has returned
//!   and every child has ended. Children spawned by children (through the
//!   same `s`) count too. A child that never ends keeps the scope from
//!   ending, unless the scope is cancelled or its deadline passes.
//! - **Failures.** A child fails when it returns `Err` or panics (a panic
//!   is caught; it never unwinds through the scope). Under fail-fast (the
//!   default) the first failure cancels the scope: every other child and
//!   the body are dropped at the await where they wait (they are never
//!   polled again), and the scope returns `Err` with that failure. Under
//!   collect-all ([`Builder::collect_all`]) every child runs to its end,
//!   and the scope returns `Err` listing the failures that nobody took. A
//!   failure is taken by awaiting the child's [`ChildHandle`]; a failure
//!   whose handle was dropped unawaited is the scope's (as an unjoined
//!   thread's panic is `std::thread::scope`'s).
//! - **Cancel.** [`Scope::cancel`] (from the body or any child) cancels the
//!   scope: as a failure does, but it is not an error if the body had
//!   already returned: the scope then returns the body's value. A cancel
//!   takes effect between two polls: the child that calls it finishes its
//!   poll first. A child spawned after the cancel never runs (its future is
//!   dropped at once, its handle gives [`ChildError::Cancelled`]).
//! - **Deadline.** [`Builder::deadline`] / [`Builder::timeout`]: when it
//!   passes, the scope is cancelled and returns [`Cause::DeadlineExceeded`].
//! - **The body's panic** is not a child's failure: the children are
//!   dropped and the panic goes on from the scope's `.await`, as the
//!   closure's does from `std::thread::scope`.
//! - **Dropping the scope's future** (a `timeout` around it, a `select`
//!   that picked another branch, its task killed) drops the body and every
//!   child before the drop returns.
//! - **Names and observation.** [`Scope::spawn_named`] names a child.
//!   Children take task ids, show in [`dump`](crate::dump) under the task
//!   that runs the scope (indented, with what each waits on and where), and
//!   count in the deadlock report. They are not tasks: `task::current()`
//!   inside a child is the task running the scope, and they share its
//!   poll's operation budget. A poll of the scope runs at most 128 ready
//!   children before it lets other tasks run.
//!
//! # Why `async |s|` and not `|s| async move`
//!
//! The body borrows `s`, and `s` must not escape the body (a child it
//! spawned must not be able to outlive the scope). `std::thread::scope`
//! ensures that with a closure generic over the scope's lifetime
//! (`for<'scope> FnOnce(&'scope Scope<'scope, 'env>)`). A plain closure
//! cannot return a future that borrows its argument under such a bound
//! (the future's type would have to name the lifetime); an async closure
//! can: `async |s| { ... }` (Rust 1.85) is the lending closure this needs.
//! `|s| async move { ... }` does not compile ("lifetime may not live long
//! enough"), nor does storing `s` anywhere outside the body:
//!
//! ```compile_fail
//! sprout::run(async {
//!     let mut kept = None;
//!     sprout::scope(async |s| kept = Some(s)).await.unwrap(); // `s` cannot escape
//! });
//! ```
//!
//! # Soundness
//!
//! Children may hold references into the caller's stack (`'env`), which is
//! sound only if no child is ever polled, or dropped, after those
//! references die. The scope's future guarantees it by construction, not by
//! the caller's care:
//!
//! 1. **Only the scope's own poll polls a child.** A child is a task block
//!    in the runtime's task home (`task/child.rs`) that is in no run queue
//!    and in no registry: its waker only puts it on the scope's ready queue
//!    and wakes the task polling the scope. The executor, the shutdown, a
//!    dump or a deadlock check never poll or drop it.
//! 2. **A child is dropped before the scope's future finishes dropping.**
//!    The scope's future owns the children (through its state block); its
//!    `Drop` drops every child's future and the body's, and only then frees
//!    the state. The state's own `Drop` (`Children`) does it again for
//!    anything left, so even a scope whose poll panicked midway leaves no
//!    child behind. A child's waker that outlives it finds the child
//!    complete and does nothing.
//! 3. **If the scope's future is leaked** (`mem::forget`, an `Rc` cycle),
//!    its `Drop` never runs, so its state block and the children's blocks
//!    are never freed, and by (1) nothing polls the children again: their
//!    borrows are never used. A later wake of such a child queues it on the
//!    leaked (still valid) state and wakes the task, whose polls no longer
//!    reach the scope. Nothing dangles; the memory is leaked, as it is for
//!    anything `mem::forget`ed.
//! 4. **`s` and the handles cannot leave the scope.** The body closure is
//!    generic over the scope's lifetime `'s`, and children and handles are
//!    bounded by `'s`, so none can be stored where it would outlive the
//!    scope's future (the `compile_fail` example above). `'env` is
//!    invariant, so a child cannot borrow something that lives shorter than
//!    the scope's future's own borrows.
//! 5. **One thread, one runtime.** `Scope`, the handles and the future are
//!    `!Send`; the future refuses to be polled in another runtime than the
//!    one where it started (its children's blocks and wakers belong there).
//!
//! Miri runs the tests of borrowing children, a leaked scope, panics and
//! drops at every await (`tests/scope_*.rs`, docs/testing.md).

mod error;
mod future;
mod handle;
mod outcome;
mod state;

use std::future::Future;
use std::marker::PhantomData;
use std::panic::Location;

pub use error::{Cause, ChildError, Failure, ScopeError};
pub use future::{Builder, ScopeFuture};
pub use handle::ChildHandle;
pub use outcome::Outcome;

use self::state::ScopeState;

/// Runs `body` with a [`Scope`] to spawn children into, and returns once
/// the body and every child have ended: with the body's value, or a
/// [`ScopeError`] if a child failed (the first failure cancels the rest;
/// see the [module docs](self) for the rules). Children may borrow from
/// the caller. [`Builder`] sets collect-all and a deadline.
///
/// ```
/// use std::cell::Cell;
/// use std::time::Duration;
///
/// sprout::run(async {
///     let done = Cell::new(0);
///     let value = sprout::scope(async |s| {
///         for ms in [3, 1, 2] {
///             let done = &done;
///             s.spawn(async move {
///                 sprout::sleep(Duration::from_millis(ms)).await;
///                 done.set(done.get() + 1);
///             });
///         }
///         "body's value"
///     })
///     .await
///     .unwrap();
///     assert_eq!((value, done.get()), ("body's value", 3));
/// });
/// ```
///
/// # Panics
/// When polled outside a sprout runtime. A panic of the body goes on from
/// the `.await` once the children are dropped.
pub fn scope<'env, F, R>(body: F) -> ScopeFuture<'env, F, R>
where
    F: for<'s> AsyncFnOnce(&'s Scope<'s, 'env>) -> R,
{
    Builder::new().run(body)
}

/// A scope, as its body and children see it: spawn children into it, or
/// cancel it. See the [module docs](self).
///
/// `'s` is the scope's own lifetime, which nothing spawned in it can
/// outlive; `'env` is what children may borrow from outside.
#[repr(transparent)]
pub struct Scope<'s, 'env: 's> {
    pub(crate) core: ScopeState,
    /// Invariant in both lifetimes, as `std::thread::Scope` is.
    _scope: PhantomData<&'s mut &'s ()>,
    _env: PhantomData<&'env mut &'env ()>,
}

impl<'s, 'env> Scope<'s, 'env> {
    /// A [`Builder`], to set the policy and a deadline.
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// Spawns a child that runs inside the scope and may borrow what `'s`
    /// allows (the caller's locals, `s` itself). It returns `()` or a
    /// `Result` ([`Outcome`]); its handle gives that output. The child
    /// starts at the scope's next turn of children. After a cancel the
    /// child never runs: see the [module docs](self).
    ///
    /// ```
    /// use std::cell::RefCell;
    ///
    /// sprout::run(async {
    ///     let log = RefCell::new(Vec::new());
    ///     sprout::scope(async |s| {
    ///         s.spawn(async {
    ///             log.borrow_mut().push("parent");
    ///             // A child spawns into the same scope.
    ///             s.spawn(async { log.borrow_mut().push("grandchild") });
    ///         });
    ///     })
    ///     .await
    ///     .unwrap();
    ///     assert_eq!(*log.borrow(), ["parent", "grandchild"]);
    /// });
    /// ```
    ///
    /// # Panics
    /// Outside the runtime where the scope started.
    #[track_caller]
    pub fn spawn<F>(&'s self, future: F) -> ChildHandle<'s, F::Output>
    where
        F: Future + 's,
        F::Output: Outcome + 's,
    {
        let raw = self.core.spawn(future, None, Location::caller());
        // SAFETY: a child of this scope, with output `F::Output`; the
        // handle takes the reference `spawn` kept for it.
        unsafe { ChildHandle::from_raw(raw, &self.core) }
    }

    /// [`spawn`](Self::spawn), with a name: it shows in the task dump, in
    /// the child's [`Failure`], and in [`ChildHandle::name`].
    #[track_caller]
    pub fn spawn_named<F>(&'s self, name: impl Into<String>, future: F) -> ChildHandle<'s, F::Output>
    where
        F: Future + 's,
        F::Output: Outcome + 's,
    {
        let raw = self.core.spawn(future, Some(name.into().into_boxed_str()), Location::caller());
        // SAFETY: as in `spawn`.
        unsafe { ChildHandle::from_raw(raw, &self.core) }
    }

    /// Cancels the scope: every child and the body are dropped where they
    /// wait, right after the current poll; the scope then returns the
    /// body's value if it had returned, else [`Cause::Cancelled`]. Children
    /// spawned afterwards never run. Cancelling twice does nothing.
    ///
    /// ```
    /// use std::cell::Cell;
    ///
    /// sprout::run(async {
    ///     let winner = Cell::new(None);
    ///     sprout::scope(async |s| {
    ///         for i in 0..3 {
    ///             let winner = &winner;
    ///             s.spawn(async move {
    ///                 for _ in 0..i {
    ///                     sprout::yield_now().await;
    ///                 }
    ///                 winner.set(Some(i)); // the first to get here
    ///                 s.cancel();
    ///             });
    ///         }
    ///     })
    ///     .await
    ///     .unwrap(); // the body had returned: its value, ()
    ///     assert_eq!(winner.get(), Some(0));
    /// });
    /// ```
    pub fn cancel(&self) {
        self.core.cancel(Cause::Cancelled);
    }

    /// Whether the scope is cancelled (by [`cancel`](Self::cancel), a
    /// failure under fail-fast, or its deadline).
    pub fn is_cancelled(&self) -> bool {
        self.core.cancelled().is_some()
    }

    /// The number of children that have not ended.
    pub fn len(&self) -> usize {
        self.core.children.len()
    }

    /// Whether every child has ended.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl std::fmt::Debug for Scope<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scope").field("children", &self.len()).field("cancelled", &self.is_cancelled()).finish()
    }
}
