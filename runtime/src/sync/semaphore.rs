//! `Semaphore` and `BoundedSemaphore`: a counter of permits
//! (`threading.Semaphore`, `gevent.lock.Semaphore`, tokio's `Semaphore`).
//!
//! The state, and what each field promises:
//!
//! | field | meaning | invariant |
//! | --- | --- | --- |
//! | `permits` | free permits | 0 while anyone waits: permits released then are assigned to the first waiter instead |
//! | waiter's `missing` | permits the waiter still lacks | the first waiter may hold some already (`n - missing`); it is woken, granted, when `missing` reaches 0 |
//! | `closed` | `close` was called | waiters and later acquires fail; permits still come and go |
//!
//! Assigning released permits to the first waiter as they come (tokio's
//! way) keeps `acquire_many` strictly first come, first served: a waiter
//! for many permits is not overtaken by later waiters for few, and the
//! invariant above keeps `try_acquire` a single test. A waiter that leaves
//! (dropped, timed out, woken by `close`) gives back what it was assigned,
//! which flows on to the next waiter.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use super::flavor::{Flavor, Local, LocalState, ThreadSafe};
use super::threadsafe::{block_on, block_on_timeout};
use super::wait_list::{Cancelled, WaitList, Woken};
use super::withdraw::{self, Withdraw};
use crate::loom::sync::Mutex;
use crate::task::compact::CompactWaker;
use crate::task::coop;
use crate::task::observe::{WaitOn, waiting_shared};

/// A counter of permits. `acquire` takes one (`acquire_many` several),
/// waiting while there are too few; dropping the returned guard gives them
/// back. Use it as [`sync::Semaphore`](crate::sync::Semaphore),
/// [`sync::BoundedSemaphore`](crate::sync::BoundedSemaphore) or
/// [`sync::threadsafe::Semaphore`](crate::sync::threadsafe::Semaphore).
///
/// Waiters are served in arrival order: released permits go straight to
/// the longest waiter (they are *handed off*), so a task that arrives later
/// cannot take them first, and a waiter for many permits is not overtaken
/// by later waiters for few. A waiter dropped after it was handed permits
/// releases them again, to the next waiter. After [`close`](Self::close),
/// waiters and later acquires fail with [`AcquireError`].
pub struct Semaphore<F: Flavor> {
    state: F::Shared<State>,
    /// `Some(n)` for a bounded semaphore: never more than `n` free permits.
    bound: Option<usize>,
}

struct State {
    permits: Cell<usize>,
    closed: Cell<bool>,
    /// Invariant: non-empty only while `permits` is 0 (see the module docs).
    waiters: RefCell<WaitList<Want>>,
}

/// A waiter's request, in its wait-list slot.
#[derive(Clone, Copy, Debug, Default)]
struct Want {
    /// Permits it still lacks.
    missing: usize,
    /// Set when `missing` reached 0 and it was woken; a waiter woken
    /// without it was woken by `close`.
    granted: bool,
}

impl State {
    const fn new(permits: usize, shared: bool) -> State {
        State { permits: Cell::new(permits), closed: Cell::new(false), waiters: RefCell::new(WaitList::new_in(shared)) }
    }

    /// Hands `k` permits to the waiters in order (a waiter is woken once
    /// it has all it asked for) and counts the rest as free.
    fn assign(&self, mut k: usize, woken: &mut Woken) {
        let mut waiters = self.waiters.borrow_mut();
        while k > 0 {
            let Some(first) = waiters.front_mut() else { break };
            let given = k.min(first.missing);
            first.missing -= given;
            k -= given;
            if first.missing == 0 {
                let (waker, ()) = waiters.notify_one_with(|want| want.granted = true).expect("a first waiter");
                woken.push(waker);
            }
        }
        let permits = self.permits.get().checked_add(k).expect("semaphore permit count overflow");
        self.permits.set(permits);
    }
}

/// The error of an acquire on a closed semaphore (see
/// [`Semaphore::close`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AcquireError(pub(crate) ());

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("semaphore closed")
    }
}

impl std::error::Error for AcquireError {}

/// Why `try_acquire` (or `acquire_timeout`) gave no permit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TryAcquireError {
    /// The semaphore was closed.
    Closed,
    /// Too few permits were free (now, or before the time-out), or others
    /// wait for them first.
    NoPermits,
}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryAcquireError::Closed => f.write_str("semaphore closed"),
            TryAcquireError::NoPermits => f.write_str("no permits available"),
        }
    }
}

impl std::error::Error for TryAcquireError {}

impl From<AcquireError> for TryAcquireError {
    fn from(_: AcquireError) -> Self {
        TryAcquireError::Closed
    }
}

impl Semaphore<Local> {
    /// A semaphore with `permits` permits.
    pub const fn new(permits: usize) -> Self {
        Semaphore { state: LocalState::new(State::new(permits, false)), bound: None }
    }

    /// Adds a permit: hands it to the first waiter, or counts it. Like
    /// Python's `Semaphore.release`, it may raise the count above the
    /// initial value; [`BoundedSemaphore`] refuses that.
    ///
    /// Use it to give back a permit whose guard was [`forget`](SemaphoreGuard::forget)-ed.
    pub fn release(&self) {
        self.add_permits(1);
    }

    /// Adds `n` permits (tokio's `add_permits`): hands them to the waiters
    /// in arrival order and counts the rest.
    ///
    /// # Panics
    /// If the count of free permits would overflow `usize`.
    pub fn add_permits(&self, n: usize) {
        let unbounded = self.add(n);
        debug_assert!(unbounded.is_ok(), "a plain semaphore has no bound");
    }

    /// Whether no permit is free (Python's `locked()`).
    pub fn locked(&self) -> bool {
        self.available_permits() == 0
    }

    /// Takes a permit and returns a guard that owns the semaphore (an
    /// `Rc`), to move into another task; waiting (in a green task) for one
    /// if none is free.
    pub fn acquire_owned(self: Rc<Self>) -> SemaphoreAcquireOwned<Semaphore<Local>> {
        SemaphoreAcquireOwned::new(self, 1)
    }

    /// [`acquire_owned`](Self::acquire_owned) for `n` permits at once.
    pub fn acquire_many_owned(self: Rc<Self>, n: usize) -> SemaphoreAcquireOwned<Semaphore<Local>> {
        SemaphoreAcquireOwned::new(self, n)
    }

    /// Takes a permit now, if one is free, in a guard that owns the semaphore.
    pub fn try_acquire_owned(self: Rc<Self>) -> Result<OwnedSemaphoreGuard<Semaphore<Local>>, TryAcquireError> {
        self.try_acquire_many_owned(1)
    }

    /// Takes `n` permits now, if they are free, in a guard that owns the semaphore.
    pub fn try_acquire_many_owned(
        self: Rc<Self>,
        n: usize,
    ) -> Result<OwnedSemaphoreGuard<Semaphore<Local>>, TryAcquireError> {
        self.try_take(n)?;
        Ok(OwnedSemaphoreGuard { sem: self, n })
    }
}

impl Semaphore<ThreadSafe> {
    crate::loom::const_fn_unless_loom! {
        /// A semaphore with `permits` permits.
        pub const fn new(permits: usize) -> Self {
            Semaphore { state: Mutex::new(State::new(permits, true)), bound: None }
        }
    }

    crate::loom::const_fn_unless_loom! {
        /// A bounded semaphore (`threading.BoundedSemaphore`): `permits` is
        /// also the most it may hold.
        pub const fn bounded(permits: usize) -> Self {
            Semaphore { state: Mutex::new(State::new(permits, true)), bound: Some(permits) }
        }
    }

    /// Blocks this OS thread until it takes a permit, or the semaphore is closed.
    ///
    /// # Panics
    /// Inside a sprout runtime.
    #[track_caller]
    pub fn acquire_blocking(&self) -> Result<SemaphoreGuard<'_, ThreadSafe>, AcquireError> {
        block_on("Semaphore::acquire_blocking", self.acquire())
    }

    /// Blocks this OS thread until it takes `n` permits at once.
    ///
    /// # Panics
    /// Inside a sprout runtime, or for more permits than a bounded
    /// semaphore's bound.
    #[track_caller]
    pub fn acquire_many_blocking(&self, n: usize) -> Result<SemaphoreGuard<'_, ThreadSafe>, AcquireError> {
        block_on("Semaphore::acquire_many_blocking", self.acquire_many(n))
    }

    /// Blocks this OS thread at most `timeout` for a permit. A permit
    /// handed over as the time-out falls is taken.
    ///
    /// # Panics
    /// Inside a sprout runtime.
    #[track_caller]
    pub fn acquire_blocking_timeout(
        &self,
        timeout: Duration,
    ) -> Result<SemaphoreGuard<'_, ThreadSafe>, TryAcquireError> {
        match block_on_timeout("Semaphore::acquire_blocking_timeout", self.acquire(), timeout) {
            Some(got) => Ok(got?),
            None => Err(TryAcquireError::NoPermits),
        }
    }

    /// Adds a permit, handing it to the first waiter if any. For a bounded
    /// semaphore, fails (changing nothing) if every permit is already free.
    pub fn release(&self) -> Result<(), ReleaseError> {
        self.add(1)
    }

    /// Adds `n` permits, handing them to the waiters in arrival order. For
    /// a bounded semaphore, fails (changing nothing) if that would make
    /// more than the bound free.
    ///
    /// # Panics
    /// If the count of free permits would overflow `usize`.
    pub fn add_permits(&self, n: usize) -> Result<(), ReleaseError> {
        self.add(n)
    }

    /// Takes a permit and returns a guard that owns the semaphore (an
    /// `Arc`), to move into another task or thread; waiting (in a green
    /// task) for one if none is free.
    pub fn acquire_owned(self: Arc<Self>) -> SemaphoreAcquireOwned<Semaphore<ThreadSafe>> {
        SemaphoreAcquireOwned::new(self, 1)
    }

    /// [`acquire_owned`](Self::acquire_owned) for `n` permits at once.
    ///
    /// # Panics
    /// For more permits than a bounded semaphore's bound.
    #[track_caller]
    pub fn acquire_many_owned(self: Arc<Self>, n: usize) -> SemaphoreAcquireOwned<Semaphore<ThreadSafe>> {
        SemaphoreAcquireOwned::new(self, n)
    }

    /// Takes a permit now, if one is free, in a guard that owns the semaphore.
    pub fn try_acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphoreGuard<Semaphore<ThreadSafe>>, TryAcquireError> {
        self.try_acquire_many_owned(1)
    }

    /// Takes `n` permits now, if they are free, in a guard that owns the semaphore.
    pub fn try_acquire_many_owned(
        self: Arc<Self>,
        n: usize,
    ) -> Result<OwnedSemaphoreGuard<Semaphore<ThreadSafe>>, TryAcquireError> {
        self.try_take(n)?;
        Ok(OwnedSemaphoreGuard { sem: self, n })
    }
}

impl<F: Flavor> Semaphore<F> {
    /// Takes a permit, waiting (in a green task) for one if none is free.
    /// Fails if the semaphore is (or gets) closed.
    pub fn acquire(&self) -> SemaphoreAcquire<'_, F> {
        SemaphoreAcquire { sem: self, n: 1, key: None }
    }

    /// Takes `n` permits at once, waiting (in a green task) until they are
    /// free. Waiters are served in arrival order, whatever they ask for:
    /// this waiter is not overtaken by later waiters for fewer permits.
    /// `n == 0` succeeds at once (unless closed).
    ///
    /// # Panics
    /// For more permits than a bounded semaphore's bound: it could never
    /// hold that many.
    #[track_caller]
    pub fn acquire_many(&self, n: usize) -> SemaphoreAcquire<'_, F> {
        self.check_bound(n);
        SemaphoreAcquire { sem: self, n, key: None }
    }

    /// Takes a permit, waiting at most `timeout` in a green task; like
    /// Python's `acquire(timeout=...)`, which returns False on time-out. A
    /// permit handed over as the time-out falls is taken: the call succeeds.
    pub async fn acquire_timeout(&self, timeout: Duration) -> Result<SemaphoreGuard<'_, F>, TryAcquireError> {
        match withdraw::timeout(timeout, self.acquire()).await {
            Ok(got) => Ok(got?),
            Err(_) => Err(TryAcquireError::NoPermits),
        }
    }

    /// Takes a permit if one is free now and nobody waits first
    /// (`acquire(blocking=False)`).
    pub fn try_acquire(&self) -> Result<SemaphoreGuard<'_, F>, TryAcquireError> {
        self.try_acquire_many(1)
    }

    /// Takes `n` permits if they are free now and nobody waits first.
    pub fn try_acquire_many(&self, n: usize) -> Result<SemaphoreGuard<'_, F>, TryAcquireError> {
        self.try_take(n)?;
        Ok(SemaphoreGuard { sem: self, n })
    }

    /// Closes the semaphore: every waiter, and every later acquire, fails
    /// with [`AcquireError`] (tokio's `close`). Permits held stay valid and
    /// still come back when their guards drop.
    pub fn close(&self) {
        let mut woken = Vec::new();
        {
            let state = F::step(&self.state);
            state.closed.set(true);
            // Each woken waiter gives back what it was assigned when it runs.
            state.waiters.borrow_mut().notify_all(&mut woken);
        }
        woken.into_iter().for_each(CompactWaker::wake);
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        F::step(&self.state).closed.get()
    }

    /// The number of free permits.
    pub fn available_permits(&self) -> usize {
        F::step(&self.state).permits.get()
    }

    /// The number of tasks (and threads) waiting for permits.
    pub fn waiters(&self) -> usize {
        F::step(&self.state).waiters.borrow().len()
    }

    /// Takes `n` permits if they are free and nobody waits (the invariant:
    /// free permits mean no waiter).
    fn try_take(&self, n: usize) -> Result<(), TryAcquireError> {
        let state = F::step(&self.state);
        if state.closed.get() {
            return Err(TryAcquireError::Closed);
        }
        let permits = state.permits.get();
        if permits < n {
            return Err(TryAcquireError::NoPermits);
        }
        state.permits.set(permits - n);
        Ok(())
    }

    #[track_caller]
    fn check_bound(&self, n: usize) {
        if let Some(bound) = self.bound {
            assert!(n <= bound, "acquire_many({n}) on a semaphore bounded at {bound} permits could never succeed");
        }
    }

    /// Adds `n` permits: hands them to the waiters, or counts them. For a
    /// bounded semaphore whose free permits would pass the bound (permits
    /// assigned to a waiter are out, so `permits` alone tells), fails,
    /// changing nothing.
    fn add(&self, n: usize) -> Result<(), ReleaseError> {
        let mut woken = Woken::default();
        {
            let state = F::step(&self.state);
            if self.bound.is_some_and(|bound| state.permits.get().saturating_add(n) > bound) {
                return Err(ReleaseError(()));
            }
            state.assign(n, &mut woken);
        }
        // Woken after the step: a waker may run arbitrary code.
        woken.wake();
        Ok(())
    }

    /// A guard's (or a leaving waiter's) permits come back. A bounded
    /// semaphore takes back only what fits under its bound: the rest was
    /// given back by hand before.
    #[inline]
    fn give_back(&self, n: usize) {
        let woken = {
            let state = F::step(&self.state);
            let n = match self.bound {
                Some(bound) => n.min(bound.saturating_sub(state.permits.get())),
                None => n,
            };
            if state.waiters.borrow().is_empty() {
                // Nobody waits (the common case): just count them.
                state.permits.set(state.permits.get().checked_add(n).expect("semaphore permit count overflow"));
                return;
            }
            let mut woken = Woken::default();
            state.assign(n, &mut woken);
            woken
        };
        woken.wake();
    }

    /// One poll of a wait for `n` permits (borrowed or owned): check and
    /// register in one step, so a release cannot fall in between.
    #[track_caller]
    fn poll_acquire(&self, n: usize, key: &mut Option<u32>, cx: &mut Context<'_>) -> Poll<Result<(), AcquireError>> {
        if let Some(k) = *key {
            let got = F::step(&self.state).waiters.borrow_mut().poll_take(k, cx.waker());
            let Some(want) = got else {
                waiting_shared(WaitOn::Semaphore, F::THREAD_SAFE);
                return Poll::Pending;
            };
            *key = None;
            return Poll::Ready(self.collect(n, want));
        }
        if coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        let state = F::step(&self.state);
        if state.closed.get() {
            return Poll::Ready(Err(AcquireError(())));
        }
        let permits = state.permits.get();
        if permits >= n {
            state.permits.set(permits - n);
            return Poll::Ready(Ok(()));
        }
        // Too few: take what is free now (the invariant), wait for the rest.
        state.permits.set(0);
        *key = Some(state.waiters.borrow_mut().push_with(cx.waker(), Want { missing: n - permits, granted: false }));
        drop(state);
        waiting_shared(WaitOn::Semaphore, F::THREAD_SAFE);
        Poll::Pending
    }

    /// A waiter was woken: granted, it holds its `n` permits; woken by
    /// `close`, it gives back what it had been assigned.
    fn collect(&self, n: usize, want: Want) -> Result<(), AcquireError> {
        if want.granted {
            return Ok(());
        }
        self.give_back(n - want.missing);
        Err(AcquireError(()))
    }

    /// Leaves the line at a deadline: `Some` if it was woken meanwhile
    /// (granted, or closed), `None` if it was still waiting (what it had
    /// been assigned goes back).
    fn withdraw_acquire(&self, n: usize, key: &mut Option<u32>) -> Option<Result<(), AcquireError>> {
        let k = key.take()?;
        let (cancelled, want) = F::step(&self.state).waiters.borrow_mut().cancel_take(k);
        match cancelled {
            Cancelled::Notified => Some(self.collect(n, want)),
            Cancelled::Waiting => {
                self.give_back(n - want.missing);
                None
            }
        }
    }

    /// A waiting future is dropped: whatever it held goes to the next waiter.
    fn cancel_acquire(&self, n: usize, key: &mut Option<u32>) {
        if let Some(Ok(())) = self.withdraw_acquire(n, key) {
            // Handed its permits, but gone: pass them on.
            self.give_back(n);
        }
    }
}

impl<F: Flavor> fmt::Debug for Semaphore<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = F::step(&self.state);
        let mut d = f.debug_struct("Semaphore");
        d.field("permits", &state.permits.get());
        if let Some(bound) = self.bound {
            d.field("bound", &bound);
        }
        if state.closed.get() {
            d.field("closed", &true);
        }
        d.field("waiters", &state.waiters.borrow().len()).finish()
    }
}

/// The future returned by [`Semaphore::acquire`] (and `acquire_many`).
/// Dropping it stops the wait; permits it had already been handed go to
/// the next waiter.
#[must_use = "futures do nothing unless awaited"]
pub struct SemaphoreAcquire<'a, F: Flavor> {
    sem: &'a Semaphore<F>,
    n: usize,
    key: Option<u32>,
}

impl<'a, F: Flavor> Future for SemaphoreAcquire<'a, F> {
    type Output = Result<SemaphoreGuard<'a, F>, AcquireError>;

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let (sem, n) = (self.sem, self.n);
        sem.poll_acquire(n, &mut self.key, cx).map_ok(|()| SemaphoreGuard { sem, n })
    }
}

impl<F: Flavor> Withdraw for SemaphoreAcquire<'_, F> {
    fn withdraw(&mut self) -> Option<Self::Output> {
        let (sem, n) = (self.sem, self.n);
        // The guard is built only on success: a guard built and dropped
        // would give permits back.
        sem.withdraw_acquire(n, &mut self.key).map(|got| got.map(|()| SemaphoreGuard { sem, n }))
    }
}

impl<F: Flavor> Drop for SemaphoreAcquire<'_, F> {
    #[inline]
    fn drop(&mut self) {
        if self.key.is_some() {
            self.sem.cancel_acquire(self.n, &mut self.key);
        }
    }
}

impl<F: Flavor> fmt::Debug for SemaphoreAcquire<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphoreAcquire").field("permits", &self.n).field("waiting", &self.key.is_some()).finish()
    }
}

/// Permits taken from a [`Semaphore`]; dropping the guard gives them back.
#[must_use = "dropping the guard releases the permit at once"]
pub struct SemaphoreGuard<'a, F: Flavor> {
    sem: &'a Semaphore<F>,
    n: usize,
}

impl<F: Flavor> SemaphoreGuard<'_, F> {
    /// Keeps the permits taken: the guard goes away without releasing them.
    /// Give them back later with `release` (or `add_permits`), Python style.
    pub fn forget(self) {
        std::mem::forget(self);
    }

    /// How many permits the guard holds.
    pub fn num_permits(&self) -> usize {
        self.n
    }
}

impl<F: Flavor> Drop for SemaphoreGuard<'_, F> {
    #[inline]
    fn drop(&mut self) {
        self.sem.give_back(self.n);
    }
}

impl<F: Flavor> fmt::Debug for SemaphoreGuard<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphoreGuard").field("permits", &self.n).finish()
    }
}

mod sealed {
    pub trait Sealed {}
    impl<F: super::Flavor> Sealed for super::Semaphore<F> {}
    impl Sealed for super::BoundedSemaphore {}
}

/// What an owned guard keeps alive: a [`Semaphore`] of either flavour or a
/// [`BoundedSemaphore`], behind its flavour's `Rc` or `Arc` (sealed).
pub trait PermitSource: sealed::Sealed + Sized {
    /// The flavour of the semaphore inside.
    type Flavor: Flavor;
    /// The semaphore.
    fn semaphore(&self) -> &Semaphore<Self::Flavor>;
}

impl<F: Flavor> PermitSource for Semaphore<F> {
    type Flavor = F;

    fn semaphore(&self) -> &Semaphore<F> {
        self
    }
}

impl PermitSource for BoundedSemaphore {
    type Flavor = Local;

    fn semaphore(&self) -> &Semaphore<Local> {
        &self.sem
    }
}

/// The pointer an owned guard holds: `Rc<S>` or `Arc<S>`.
type Owner<S> = <<S as PermitSource>::Flavor as Flavor>::Rc<S>;

/// The future returned by `acquire_owned` (and `acquire_many_owned`):
/// like [`SemaphoreAcquire`], resolving to a guard that owns its semaphore.
#[must_use = "futures do nothing unless awaited"]
pub struct SemaphoreAcquireOwned<S: PermitSource> {
    /// `None` once the guard took it.
    sem: Option<Owner<S>>,
    n: usize,
    key: Option<u32>,
}

impl<S: PermitSource> SemaphoreAcquireOwned<S> {
    #[track_caller]
    fn new(sem: Owner<S>, n: usize) -> Self {
        sem.semaphore().check_bound(n);
        SemaphoreAcquireOwned { sem: Some(sem), n, key: None }
    }
}

// No field is pinned: the future only holds a pointer and a key.
impl<S: PermitSource> Unpin for SemaphoreAcquireOwned<S> {}

impl<S: PermitSource> Future for SemaphoreAcquireOwned<S> {
    type Output = Result<OwnedSemaphoreGuard<S>, AcquireError>;

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let sem = this.sem.as_ref().expect("SemaphoreAcquireOwned polled after it completed");
        let got = std::task::ready!(sem.semaphore().poll_acquire(this.n, &mut this.key, cx));
        let sem = this.sem.take().expect("checked above");
        Poll::Ready(got.map(|()| OwnedSemaphoreGuard { sem, n: this.n }))
    }
}

impl<S: PermitSource> Drop for SemaphoreAcquireOwned<S> {
    fn drop(&mut self) {
        if let Some(sem) = &self.sem {
            sem.semaphore().cancel_acquire(self.n, &mut self.key);
        }
    }
}

impl<S: PermitSource> fmt::Debug for SemaphoreAcquireOwned<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphoreAcquireOwned").field("permits", &self.n).field("waiting", &self.key.is_some()).finish()
    }
}

/// Permits taken with `acquire_owned`: the guard owns its semaphore (an
/// `Rc` or `Arc`), so it may move into another task (or, thread-safe,
/// thread) and outlive the caller. Dropping it gives the permits back.
#[must_use = "dropping the guard releases the permit at once"]
pub struct OwnedSemaphoreGuard<S: PermitSource> {
    sem: Owner<S>,
    n: usize,
}

impl<S: PermitSource> OwnedSemaphoreGuard<S> {
    /// Keeps the permits taken: the guard goes away (letting go of the
    /// semaphore) without releasing them.
    pub fn forget(mut self) {
        // Dropped holding none: the pointer is let go, no permit comes back.
        self.n = 0;
    }

    /// How many permits the guard holds.
    pub fn num_permits(&self) -> usize {
        self.n
    }

    /// The semaphore the permits came from.
    pub fn semaphore(&self) -> &Owner<S> {
        &self.sem
    }
}

impl<S: PermitSource> Drop for OwnedSemaphoreGuard<S> {
    fn drop(&mut self) {
        self.sem.semaphore().give_back(self.n);
    }
}

impl<S: PermitSource> fmt::Debug for OwnedSemaphoreGuard<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedSemaphoreGuard").field("permits", &self.n).finish()
    }
}

/// A [`Semaphore`](crate::sync::Semaphore) that refuses to be released more often than it was
/// acquired: a release that would raise the count above the initial value
/// is an error (`threading.BoundedSemaphore`, whose `release` raises
/// `ValueError`).
///
/// ```
/// use sprout::sync::BoundedSemaphore;
///
/// sprout::run(async {
///     let sem = BoundedSemaphore::new(1);
///     sem.acquire().await.unwrap().forget();
///     assert!(sem.release().is_ok());
///     assert!(sem.release().is_err()); // one release too many
///     assert_eq!(sem.available_permits(), 1);
/// });
/// ```
///
/// A guard's drop gives its permits back as usual; if they were already
/// given back by hand (an explicit `release` while the guard was alive),
/// the drop gives back only what fits under the bound.
pub struct BoundedSemaphore {
    sem: Semaphore<Local>,
}

/// The error of a bounded semaphore's `release` when every permit is already free.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReleaseError(pub(crate) ());

impl fmt::Display for ReleaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("semaphore released too many times")
    }
}

impl std::error::Error for ReleaseError {}

impl BoundedSemaphore {
    /// A bounded semaphore with `permits` permits, which is also its bound.
    pub const fn new(permits: usize) -> BoundedSemaphore {
        BoundedSemaphore { sem: Semaphore { state: LocalState::new(State::new(permits, false)), bound: Some(permits) } }
    }

    /// Takes a permit, waiting for one if none is free.
    pub fn acquire(&self) -> SemaphoreAcquire<'_, Local> {
        self.sem.acquire()
    }

    /// Takes `n` permits at once, waiting until they are free.
    ///
    /// # Panics
    /// If `n` is more than the bound.
    #[track_caller]
    pub fn acquire_many(&self, n: usize) -> SemaphoreAcquire<'_, Local> {
        self.sem.acquire_many(n)
    }

    /// Takes a permit, waiting at most `timeout`.
    pub async fn acquire_timeout(&self, timeout: Duration) -> Result<SemaphoreGuard<'_, Local>, TryAcquireError> {
        self.sem.acquire_timeout(timeout).await
    }

    /// Takes a permit if one is free now.
    pub fn try_acquire(&self) -> Result<SemaphoreGuard<'_, Local>, TryAcquireError> {
        self.sem.try_acquire()
    }

    /// Takes `n` permits if they are free now.
    pub fn try_acquire_many(&self, n: usize) -> Result<SemaphoreGuard<'_, Local>, TryAcquireError> {
        self.sem.try_acquire_many(n)
    }

    /// Takes a permit in a guard that owns the semaphore (an `Rc`).
    pub fn acquire_owned(self: Rc<Self>) -> SemaphoreAcquireOwned<BoundedSemaphore> {
        SemaphoreAcquireOwned::new(self, 1)
    }

    /// Takes `n` permits in a guard that owns the semaphore.
    ///
    /// # Panics
    /// If `n` is more than the bound.
    #[track_caller]
    pub fn acquire_many_owned(self: Rc<Self>, n: usize) -> SemaphoreAcquireOwned<BoundedSemaphore> {
        SemaphoreAcquireOwned::new(self, n)
    }

    /// Takes a permit now, if one is free, in a guard that owns the semaphore.
    pub fn try_acquire_owned(self: Rc<Self>) -> Result<OwnedSemaphoreGuard<BoundedSemaphore>, TryAcquireError> {
        self.try_acquire_many_owned(1)
    }

    /// Takes `n` permits now, if they are free, in a guard that owns the semaphore.
    pub fn try_acquire_many_owned(
        self: Rc<Self>,
        n: usize,
    ) -> Result<OwnedSemaphoreGuard<BoundedSemaphore>, TryAcquireError> {
        self.sem.try_take(n)?;
        Ok(OwnedSemaphoreGuard { sem: self, n })
    }

    /// Gives back a permit taken with a forgotten guard. Fails, changing
    /// nothing, if no permit is out (every permit is already free).
    pub fn release(&self) -> Result<(), ReleaseError> {
        self.sem.add(1)
    }

    /// Gives back `n` permits. Fails, changing nothing, if that would make
    /// more than the bound free.
    pub fn add_permits(&self, n: usize) -> Result<(), ReleaseError> {
        self.sem.add(n)
    }

    /// Closes the semaphore: waiters and later acquires fail.
    pub fn close(&self) {
        self.sem.close();
    }

    /// Whether it was closed.
    pub fn is_closed(&self) -> bool {
        self.sem.is_closed()
    }

    /// The number of free permits.
    pub fn available_permits(&self) -> usize {
        self.sem.available_permits()
    }

    /// Whether no permit is free.
    pub fn locked(&self) -> bool {
        self.sem.locked()
    }

    /// The initial (and highest) number of permits.
    pub fn bound(&self) -> usize {
        self.sem.bound.unwrap_or_default()
    }

    /// The number of tasks waiting for permits.
    pub fn waiters(&self) -> usize {
        self.sem.waiters()
    }
}

impl fmt::Debug for BoundedSemaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundedSemaphore")
            .field("permits", &self.available_permits())
            .field("bound", &self.bound())
            .field("closed", &self.is_closed())
            .field("waiters", &self.waiters())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use crate::sync::poll_once as poll;

    use std::rc::Rc;
    use std::task::Poll;

    use super::TryAcquireError;
    use crate::sync::{BoundedSemaphore, Semaphore};

    #[test]
    fn many_permits_are_served_in_arrival_order() {
        let sem = Semaphore::new(1);
        let mut big = sem.acquire_many(3);
        assert!(poll(&mut big).is_pending());
        assert_eq!(sem.available_permits(), 0, "the free permit went to the first waiter");
        let mut small = sem.acquire();
        assert!(poll(&mut small).is_pending());
        sem.release();
        assert!(poll(&mut small).is_pending(), "not overtaken by a later, smaller request");
        sem.release();
        let guard = match poll(&mut big) {
            Poll::Ready(Ok(guard)) => guard,
            other => panic!("{other:?}"),
        };
        assert_eq!(guard.num_permits(), 3);
        drop(guard); // one to the small waiter, two free
        assert!(matches!(poll(&mut small), Poll::Ready(Ok(_))));
        assert_eq!(sem.available_permits(), 3);
    }

    #[test]
    fn a_waiter_that_leaves_gives_back_what_it_was_assigned() {
        let sem = Semaphore::new(2);
        let mut big = sem.acquire_many(3);
        assert!(poll(&mut big).is_pending());
        let mut next = sem.acquire_many(2);
        assert!(poll(&mut next).is_pending());
        drop(big); // its two go on to the next waiter
        assert!(matches!(poll(&mut next), Poll::Ready(Ok(_))));
        assert_eq!((sem.available_permits(), sem.waiters()), (2, 0));
    }

    #[test]
    fn close_fails_waiters_and_later_acquires_and_keeps_the_permits() {
        let sem = Semaphore::new(1);
        let held = sem.try_acquire().unwrap();
        let mut waiting = sem.acquire_many(2);
        assert!(poll(&mut waiting).is_pending());
        sem.close();
        assert!(matches!(poll(&mut waiting), Poll::Ready(Err(_))));
        assert!(matches!(poll(&mut sem.acquire()), Poll::Ready(Err(_))));
        assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::Closed);
        drop(held);
        assert_eq!(sem.available_permits(), 1, "the held permit still came back");
    }

    #[test]
    fn owned_guards_keep_the_semaphore_and_the_bound_holds() {
        let sem = Rc::new(BoundedSemaphore::new(2));
        let owned = match poll(&mut sem.clone().acquire_many_owned(2)) {
            Poll::Ready(Ok(guard)) => guard,
            other => panic!("{other:?}"),
        };
        assert_eq!(sem.available_permits(), 0);
        assert!(sem.add_permits(3).is_err(), "past the bound: nothing changes");
        assert_eq!(sem.available_permits(), 0);
        sem.add_permits(1).unwrap(); // one given back by hand while the guard lives
        drop(owned); // gives back only what fits
        assert_eq!(sem.available_permits(), 2);
        assert_eq!(Rc::strong_count(&sem), 1, "the guard let go of the semaphore");
        sem.clone().try_acquire_owned().unwrap().forget();
        assert_eq!((sem.available_permits(), Rc::strong_count(&sem)), (1, 1), "forgotten: kept taken, Rc let go");
    }

    #[test]
    #[should_panic(expected = "could never succeed")]
    fn more_than_the_bound_is_a_clear_panic() {
        drop(BoundedSemaphore::new(2).acquire_many(3));
    }
}
