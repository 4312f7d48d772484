//! `OnceCell`: a value set once, by an async initialiser that concurrent
//! callers wait for (tokio's `OnceCell`; Python's `functools.cache` on a
//! function of no arguments, made async).
//!
//! The state, and what each field promises:
//!
//! | field | meaning | invariant |
//! | --- | --- | --- |
//! | `value` | the value, once set | set once, never changed while shared (read without a step) |
//! | `initializing` | a caller holds the *role*: it runs its initialiser now | false once `value` is set |
//! | `waiters` | callers waiting for the value | non-empty only while `initializing`; a waiter's value says it was handed the role |
//!
//! **The role is handed off** like a lock. An initialiser that fails
//! (`get_or_try_init`'s `Err`), is cancelled (its future dropped) or
//! panics (its future dropped while unwinding) hands the role to the first
//! waiter, which runs *its own* initialiser; with nobody waiting the cell
//! is free again. One that succeeds sets the value and wakes every waiter.
//! A waiter dropped after it was handed the role passes it on, so a
//! cancelled caller never leaves the others waiting for nobody.

use std::cell::{Cell, RefCell};
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::flavor::{Flavor, Local, LocalState, OnceSlot, ThreadSafe};
use super::threadsafe::block_on;
use super::wait_list::{Cancelled, WaitList};
use crate::loom::sync::Mutex;
use crate::task::compact::CompactWaker;
use crate::task::observe::{WaitOn, waiting_shared};

/// A cell set at most once, with async initialisation: `get_or_init(||
/// async { ... }).await` runs the initialiser if nobody has, and otherwise
/// waits for the one that runs. Use it as
/// [`sync::OnceCell`](crate::sync::OnceCell) or
/// [`sync::threadsafe::OnceCell`](crate::sync::threadsafe::OnceCell).
///
/// A failed, cancelled or panicking initialiser lets the next waiter try
/// (module docs).
pub struct OnceCell<T, F: Flavor> {
    value: F::Once<T>,
    state: F::Shared<State>,
}

struct State {
    initializing: Cell<bool>,
    /// Each waiter's value: whether it was handed the role.
    waiters: RefCell<WaitList<bool>>,
}

impl State {
    const fn new(shared: bool) -> State {
        State { initializing: Cell::new(false), waiters: RefCell::new(WaitList::new_in(shared)) }
    }
}

/// The error of [`OnceCell::set`]: the value comes back.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum SetError<T> {
    /// The cell already holds a value.
    AlreadyInitialized(T),
    /// An initialiser is running (it may yet fail, and `set` could then
    /// succeed).
    Initializing(T),
}

impl<T> SetError<T> {
    /// The value that was not stored.
    pub fn into_inner(self) -> T {
        match self {
            SetError::AlreadyInitialized(value) | SetError::Initializing(value) => value,
        }
    }
}

impl<T> fmt::Debug for SetError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetError::AlreadyInitialized(_) => f.write_str("AlreadyInitialized(..)"),
            SetError::Initializing(_) => f.write_str("Initializing(..)"),
        }
    }
}

impl<T> fmt::Display for SetError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetError::AlreadyInitialized(_) => f.write_str("the cell is already initialised"),
            SetError::Initializing(_) => f.write_str("the cell is being initialised"),
        }
    }
}

impl<T> std::error::Error for SetError<T> {}

impl<T, F: Flavor> Default for OnceCell<T, F>
where
    F::Once<T>: Default,
{
    fn default() -> Self {
        OnceCell { value: F::Once::<T>::default(), state: F::share(State::new(F::THREAD_SAFE)) }
    }
}

impl<T> OnceCell<T, Local> {
    /// An empty cell.
    pub const fn new() -> Self {
        OnceCell { value: std::cell::OnceCell::new(), state: LocalState::new(State::new(false)) }
    }
}

impl<T> OnceCell<T, ThreadSafe> {
    crate::loom::const_fn_unless_loom! {
        /// An empty cell.
        pub const fn new() -> Self {
            OnceCell { value: std::sync::OnceLock::new(), state: Mutex::new(State::new(true)) }
        }
    }

    /// [`get_or_init`](Self::get_or_init), blocking this OS thread (which
    /// runs the initialiser's future itself if it gets the role).
    ///
    /// # Panics
    /// Inside a sprout runtime.
    #[track_caller]
    pub fn get_or_init_blocking<I, Fut>(&self, init: I) -> &T
    where
        I: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        block_on("OnceCell::get_or_init_blocking", self.get_or_init(init))
    }

    /// [`get_or_try_init`](Self::get_or_try_init), blocking this OS thread.
    ///
    /// # Panics
    /// Inside a sprout runtime.
    #[track_caller]
    pub fn get_or_try_init_blocking<E, I, Fut>(&self, init: I) -> Result<&T, E>
    where
        I: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        block_on("OnceCell::get_or_try_init_blocking", self.get_or_try_init(init))
    }
}

impl<T, F: Flavor> OnceCell<T, F> {
    /// The value, if the cell is initialised (no waiting).
    pub fn get(&self) -> Option<&T> {
        self.value.get()
    }

    /// Whether the cell holds a value.
    pub fn initialized(&self) -> bool {
        self.value.get().is_some()
    }

    /// The value, running `init` if nobody has initialised the cell, or
    /// waiting (in a green task) for whoever is. If that one fails, is
    /// cancelled or panics, the next waiter runs its own `init`.
    pub fn get_or_init<I, Fut>(&self, init: I) -> GetOrInit<'_, T, F, I, Fut>
    where
        I: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        GetOrInit { init: Init::new(self, init, Ok) }
    }

    /// Like [`get_or_init`](Self::get_or_init) with an initialiser that
    /// may fail: its error comes back to this caller, and the next waiter
    /// (if any) tries its own.
    pub fn get_or_try_init<E, I, Fut>(&self, init: I) -> GetOrTryInit<'_, T, F, I, Fut, E>
    where
        I: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        GetOrTryInit { init: Init::new(self, init, std::convert::identity) }
    }

    /// Sets the value if the cell is empty and nobody is initialising it.
    pub fn set(&self, value: T) -> Result<(), SetError<T>> {
        let state = F::step(&self.state);
        if self.value.get().is_some() {
            return Err(SetError::AlreadyInitialized(value));
        }
        if state.initializing.get() {
            return Err(SetError::Initializing(value));
        }
        // Nobody initialises and nobody waits (the invariant): nobody to wake.
        self.value.set(value).map_err(SetError::AlreadyInitialized)
    }

    /// The value, through a unique reference.
    pub fn get_mut(&mut self) -> Option<&mut T> {
        self.value.get_mut()
    }

    /// Takes the value out, leaving the cell empty.
    pub fn take(&mut self) -> Option<T> {
        self.value.take()
    }

    /// The value, consuming the cell.
    pub fn into_inner(self) -> Option<T> {
        self.value.into_inner()
    }

    /// The number of tasks (and threads) waiting for an initialiser.
    pub fn waiters(&self) -> usize {
        F::step(&self.state).waiters.borrow().len()
    }

    /// Sets the value and wakes every waiter.
    fn complete(&self, value: T) -> &T {
        // Set before the step: a caller that finds `initializing` cleared
        // finds the value too (it looks again under the step).
        let stored = self.value.set(value);
        debug_assert!(stored.is_ok(), "only the role's holder sets the value");
        let mut woken = Vec::new();
        {
            let state = F::step(&self.state);
            state.initializing.set(false);
            state.waiters.borrow_mut().notify_all(&mut woken);
        }
        woken.into_iter().for_each(CompactWaker::wake);
        self.value.get().expect("just set")
    }

    /// The role's holder gives up: the first waiter takes the role, or the
    /// cell is free again.
    fn pass_role(&self) {
        let handed = {
            let state = F::step(&self.state);
            let handed = state.waiters.borrow_mut().notify_one_with(|role| *role = true);
            if handed.is_none() {
                state.initializing.set(false);
            }
            handed
        };
        if let Some((waker, ())) = handed {
            waker.wake();
        }
    }
}

impl<T: Clone, F: Flavor> Clone for OnceCell<T, F>
where
    F::Once<T>: Default,
{
    /// A new cell with a clone of the value (if set); an initialiser
    /// running on this one is not shared.
    fn clone(&self) -> Self {
        let cell: OnceCell<T, F> =
            OnceCell { value: F::Once::<T>::default(), state: F::share(State::new(F::THREAD_SAFE)) };
        if let Some(value) = self.get() {
            let _ = OnceSlot::set(&cell.value, value.clone());
        }
        cell
    }
}

impl<T: fmt::Debug, F: Flavor> fmt::Debug for OnceCell<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("OnceCell");
        match self.get() {
            Some(value) => d.field("value", value),
            None => d.field("initializing", &F::step(&self.state).initializing.get()),
        };
        d.finish()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Not polled yet.
    Start,
    /// In the line, under this key.
    Waiting(u32),
    /// Holds the role: runs the initialiser.
    Running,
    /// Returned.
    Done,
}

/// The body of `get_or_init` and `get_or_try_init`: `map` turns the
/// initialiser's output into a `Result`.
struct Init<'a, T, F: Flavor, I, Fut: Future, E> {
    cell: &'a OnceCell<T, F>,
    init: Option<I>,
    /// Boxed: the initialiser runs once per cell (more only after a
    /// failure), so the allocation is rare, and it keeps this future `Unpin`.
    running: Option<Pin<Box<Fut>>>,
    map: fn(Fut::Output) -> Result<T, E>,
    phase: Phase,
}

// Nothing is pinned in place: the initialiser's future is boxed, the
// closure is only ever moved out and called.
impl<T, F: Flavor, I, Fut: Future, E> Unpin for Init<'_, T, F, I, Fut, E> {}

impl<'a, T, F: Flavor, I, Fut, E> Init<'a, T, F, I, Fut, E>
where
    I: FnOnce() -> Fut,
    Fut: Future,
{
    fn new(cell: &'a OnceCell<T, F>, init: I, map: fn(Fut::Output) -> Result<T, E>) -> Self {
        Init { cell, init: Some(init), running: None, map, phase: Phase::Start }
    }

    #[track_caller]
    fn poll_init(&mut self, cx: &mut Context<'_>) -> Poll<Result<&'a T, E>> {
        let cell = self.cell;
        loop {
            match self.phase {
                Phase::Start => {
                    if let Some(value) = cell.get() {
                        self.phase = Phase::Done;
                        return Poll::Ready(Ok(value));
                    }
                    let state = F::step(&cell.state);
                    // Again under the step: `complete` sets the value before its step.
                    if let Some(value) = cell.get() {
                        drop(state);
                        self.phase = Phase::Done;
                        return Poll::Ready(Ok(value));
                    }
                    if !state.initializing.replace(true) {
                        drop(state);
                        self.phase = Phase::Running;
                        continue;
                    }
                    let key = state.waiters.borrow_mut().push_with(cx.waker(), false);
                    drop(state);
                    self.phase = Phase::Waiting(key);
                    waiting_shared(WaitOn::OnceCell, F::THREAD_SAFE);
                    return Poll::Pending;
                }
                Phase::Waiting(key) => {
                    let got = F::step(&cell.state).waiters.borrow_mut().poll_take(key, cx.waker());
                    match got {
                        None => {
                            waiting_shared(WaitOn::OnceCell, F::THREAD_SAFE);
                            return Poll::Pending;
                        }
                        Some(true) => self.phase = Phase::Running,
                        Some(false) => {
                            self.phase = Phase::Done;
                            return Poll::Ready(Ok(cell.get().expect("woken without the role: the value is set")));
                        }
                    }
                }
                Phase::Running => {
                    let init = &mut self.init;
                    let running = self.running.get_or_insert_with(|| {
                        let init = init.take().expect("the initialiser runs once per caller");
                        Box::pin(init())
                    });
                    let output = std::task::ready!(running.as_mut().poll(cx));
                    self.running = None;
                    self.phase = Phase::Done;
                    return Poll::Ready(match (self.map)(output) {
                        Ok(value) => Ok(cell.complete(value)),
                        Err(error) => {
                            cell.pass_role();
                            Err(error)
                        }
                    });
                }
                Phase::Done => panic!("a OnceCell future polled after it completed"),
            }
        }
    }
}

impl<T, F: Flavor, I, Fut: Future, E> Drop for Init<'_, T, F, I, Fut, E> {
    fn drop(&mut self) {
        match self.phase {
            Phase::Waiting(key) => {
                let (cancelled, role) = F::step(&self.cell.state).waiters.borrow_mut().cancel_take(key);
                if cancelled == Cancelled::Notified && role {
                    // Handed the role, but gone: pass it on.
                    self.cell.pass_role();
                }
            }
            // Cancelled, or unwinding from a panicking initialiser: the
            // initialiser's future is dropped first, then the role goes on.
            Phase::Running => {
                self.running = None;
                self.cell.pass_role();
            }
            Phase::Start | Phase::Done => {}
        }
    }
}

/// The future returned by [`OnceCell::get_or_init`], resolving to `&T`.
/// Dropping it stops the wait (or the initialiser it runs), and lets the
/// next waiter try.
#[must_use = "futures do nothing unless awaited"]
pub struct GetOrInit<'a, T, F: Flavor, I, Fut: Future<Output = T>> {
    init: Init<'a, T, F, I, Fut, Infallible>,
}

impl<'a, T, F: Flavor, I, Fut> Future for GetOrInit<'a, T, F, I, Fut>
where
    I: FnOnce() -> Fut,
    Fut: Future<Output = T>,
{
    type Output = &'a T;

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<&'a T> {
        self.init.poll_init(cx).map(|got| match got {
            Ok(value) => value,
            Err(never) => match never {},
        })
    }
}

impl<T, F: Flavor, I, Fut: Future<Output = T>> fmt::Debug for GetOrInit<'_, T, F, I, Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GetOrInit").field("phase", &self.init.phase).finish()
    }
}

/// The future returned by [`OnceCell::get_or_try_init`], resolving to
/// `Result<&T, E>`. Dropping it stops the wait (or the initialiser it
/// runs), and lets the next waiter try.
#[must_use = "futures do nothing unless awaited"]
pub struct GetOrTryInit<'a, T, F: Flavor, I, Fut: Future<Output = Result<T, E>>, E> {
    init: Init<'a, T, F, I, Fut, E>,
}

impl<'a, T, F: Flavor, I, Fut, E> Future for GetOrTryInit<'a, T, F, I, Fut, E>
where
    I: FnOnce() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    type Output = Result<&'a T, E>;

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<&'a T, E>> {
        self.init.poll_init(cx)
    }
}

impl<T, F: Flavor, I, Fut: Future<Output = Result<T, E>>, E> fmt::Debug for GetOrTryInit<'_, T, F, I, Fut, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GetOrTryInit").field("phase", &self.init.phase).finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use crate::sync::poll_once as poll;
    use std::future::{Future, pending, ready};

    use std::task::Poll;

    use super::SetError;
    use crate::sync::OnceCell;

    /// Pending once, then ready: an initialiser that takes a turn.
    fn one_turn() -> impl Future<Output = ()> {
        let mut turned = false;
        std::future::poll_fn(
            move |_| if std::mem::replace(&mut turned, true) { Poll::Ready(()) } else { Poll::Pending },
        )
    }

    #[test]
    fn one_initialiser_runs_and_the_others_wait_for_it() {
        let cell = OnceCell::new();
        let mut first = cell.get_or_init(|| async {
            pending::<()>().await;
            1
        });
        assert!(poll(&mut first).is_pending());
        let mut second = cell.get_or_init(|| ready(2));
        let mut third = cell.get_or_init(|| async { unreachable!("the second one initialises") });
        assert!(poll(&mut second).is_pending() && poll(&mut third).is_pending());
        assert_eq!(cell.waiters(), 2);
        assert!(matches!(cell.set(5), Err(SetError::Initializing(5))));
        drop(first); // cancelled: the second one gets the role, and runs its own
        assert_eq!(poll(&mut second), Poll::Ready(&2));
        assert_eq!(poll(&mut third), Poll::Ready(&2), "woken by the value");
        assert!(matches!(cell.set(4), Err(SetError::AlreadyInitialized(4))));
    }

    #[test]
    fn a_waiter_handed_the_role_and_dropped_passes_it_on() {
        let cell = OnceCell::new();
        let mut first = cell.get_or_init(pending::<u8>);
        assert!(poll(&mut first).is_pending());
        let (mut second, mut third) = (cell.get_or_init(|| ready(2)), cell.get_or_init(|| ready(3)));
        assert!(poll(&mut second).is_pending() && poll(&mut third).is_pending());
        drop(first);
        drop(second); // handed the role before it ran: the third gets it
        assert_eq!(poll(&mut third), Poll::Ready(&3));
        assert_eq!(cell.waiters(), 0);
    }

    #[test]
    fn a_failed_initialiser_hands_the_role_to_the_next_waiter() {
        let cell: OnceCell<u8> = OnceCell::new();
        let mut failing = cell.get_or_try_init(|| async {
            one_turn().await;
            Err("nope")
        });
        assert!(poll(&mut failing).is_pending());
        let mut waiting = cell.get_or_try_init(|| ready(Ok::<u8, &str>(7)));
        assert!(poll(&mut waiting).is_pending());
        assert_eq!(poll(&mut failing), Poll::Ready(Err("nope")));
        assert_eq!(poll(&mut waiting), Poll::Ready(Ok(&7)));
        drop((failing, waiting));
        let mut cell = cell;
        assert_eq!(cell.take(), Some(7));
        assert!(cell.set(8).is_ok());
        assert_eq!(cell.into_inner(), Some(8));
    }

    #[test]
    fn a_panicking_initialiser_frees_the_cell() {
        let cell: OnceCell<u8> = OnceCell::new();
        let mut waiting = cell.get_or_init(|| ready(9));
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut panicking = cell.get_or_init(|| async { panic!("boom") });
            let _ = poll(&mut panicking);
        }));
        assert!(caught.is_err());
        assert_eq!(poll(&mut waiting), Poll::Ready(&9), "no waiter when it panicked: free, and taken");
        let cell: OnceCell<u8> = OnceCell::new();
        let mut stuck = cell.get_or_init(pending);
        assert!(poll(&mut stuck).is_pending());
        let mut waiting = cell.get_or_init(|| ready(1));
        assert!(poll(&mut waiting).is_pending());
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            let _stuck = stuck; // dropped while unwinding, as a panicking task's future is
            panic!("boom");
        }));
        assert!(caught.is_err());
        assert_eq!(poll(&mut waiting), Poll::Ready(&1), "the waiter got the role and ran");
    }
}
