//! `Flavor`: where a primitive keeps its state, runtime-local or thread-safe.
//!
//! Each primitive is written once, generic over a [`Flavor`], and the
//! public types are aliases of it: `sync::Event` is `Event<Local>`,
//! `sync::threadsafe::Event` is `Event<ThreadSafe>`. The queues are built
//! the same way: `queue::Queue<T>` is `BaseQueue<T, Fifo<T>, Local>`,
//! `queue::threadsafe::Queue<T>` is `BaseQueue<T, Fifo<T>, ThreadSafe>`
//! (`queue/base.rs`).
//!
//! # The ground rules
//! - A primitive's state is a small struct of `Cell`s and a `RefCell`'d
//!   wait list, written for one thread at a time. Every operation is one
//!   **step**: it takes the state with [`Flavor::step`], reads and changes
//!   it, lets it go, and only then wakes whom the step woke. No waker, no
//!   user `Drop` and no blocking call runs inside a step.
//! - [`Local`] keeps the state in the primitive as it is ([`LocalState`]),
//!   and a step is a plain reference: the primitive is `!Send` and
//!   `!Sync`, so only the runtime's one thread reaches it, and nothing else
//!   runs on that thread during a step. The race check is the `RefCell`'s
//!   borrow flag, which turns a step re-entered by a waker or a `Clone`
//!   into a panic.
//! - [`ThreadSafe`] keeps the state under a `Mutex`, and a step holds the
//!   lock: each step is atomic against other threads, which is why the
//!   thread-safe bodies check and register in the same step (a grant from
//!   another thread cannot fall in between), and why a deadline leaves
//!   the line in one step (`withdraw.rs`).
//! - A queue's state is one struct changed through `&mut` (the buffer, the
//!   counts and three wait lists), in a `RefCell` under the flavour: its
//!   step is [`Flavor::step_mut`], a closure over that `&mut`. The local
//!   step borrows the `RefCell` (the borrow flag is the race check, as
//!   above); the thread-safe step holds the lock and reaches the state
//!   with `RefCell::get_mut`, no flag to test. Whatever the step hands out
//!   (a waker, an item taken back) is woken or dropped after it returns.
//! - A value lent out for long (the `Lock`'s guarded value) sits in a
//!   [`Locked`] cell of the flavour: a `RefCell` or a `Mutex` that only the
//!   holder of the lock ever borrows, so it is never contended. A value
//!   many may read at once (a `watch` channel's) sits in a [`ReadWrite`]
//!   cell: a `RefCell` or an `RwLock`; a value set once (a `OnceCell`'s) in
//!   a [`OnceSlot`]: a `cell::OnceCell` or a `OnceLock`, read without a step.
//! - What several handles share (a channel's two ends, an owned guard's
//!   lock) sits behind the flavour's counted pointer, [`Flavor::Rc`]: an
//!   `Rc` or an `Arc`.
//!
//! Local steps compile to the `Cell` reads and writes they were before the
//! bodies were shared: the benchmarks of `docs/benchmarks-sync.md` hold.

use std::cell::{self, Ref, RefCell, RefMut};
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::rc::Rc;
use std::sync::{Arc, OnceLock, PoisonError};
use std::thread::{self, ThreadId};

use crate::loom::lock;
use crate::loom::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// A cell that lends its contents mutably for a while: a `RefCell` (a
/// checked borrow) or a `Mutex` (a lock that tolerates poison).
///
/// Public only so that the primitives can name it in their
/// bounds; its module is private, so nothing outside the crate can name
/// or implement it.
pub trait Locked {
    /// What the cell holds.
    type Target;
    /// The borrow or lock guard.
    type Guard<'a>: DerefMut<Target = Self::Target>
    where
        Self: 'a;

    /// Whether other threads may reach the contents (a `Mutex`).
    const THREAD_SAFE: bool;

    /// Borrows (`RefCell`) or locks (`Mutex`) the contents.
    fn lock(&self) -> Self::Guard<'_>;
    /// The contents, through a unique reference.
    fn get_mut(&mut self) -> &mut Self::Target;
    /// The contents, consuming the cell.
    fn into_inner(self) -> Self::Target
    where
        Self: Sized;
}

impl<T> Locked for RefCell<T> {
    type Target = T;
    type Guard<'a>
        = RefMut<'a, T>
    where
        T: 'a;

    const THREAD_SAFE: bool = false;

    #[inline]
    fn lock(&self) -> RefMut<'_, T> {
        self.borrow_mut()
    }

    fn get_mut(&mut self) -> &mut T {
        RefCell::get_mut(self)
    }

    fn into_inner(self) -> T {
        RefCell::into_inner(self)
    }
}

impl<T> Locked for Mutex<T> {
    type Target = T;
    type Guard<'a>
        = MutexGuard<'a, T>
    where
        T: 'a;

    const THREAD_SAFE: bool = true;

    #[inline]
    fn lock(&self) -> MutexGuard<'_, T> {
        lock(self)
    }

    fn get_mut(&mut self) -> &mut T {
        Mutex::get_mut(self).unwrap_or_else(PoisonError::into_inner)
    }

    fn into_inner(self) -> T {
        Mutex::into_inner(self).unwrap_or_else(PoisonError::into_inner)
    }
}

/// A cell many may read at once and one may write: a `RefCell` (checked
/// borrows) or an `RwLock` (which tolerates poison). Public only to be
/// named in bounds, like [`Locked`].
pub trait ReadWrite {
    /// What the cell holds.
    type Target;
    /// A shared borrow or a read guard.
    type Read<'a>: Deref<Target = Self::Target>
    where
        Self: 'a;
    /// A unique borrow or a write guard.
    type Write<'a>: DerefMut<Target = Self::Target>
    where
        Self: 'a;

    /// A cell holding `value`.
    fn new(value: Self::Target) -> Self;
    /// Reads the contents (a `RefCell` panics if they are being written).
    fn read(&self) -> Self::Read<'_>;
    /// Writes the contents: `None` if a `RefCell` is borrowed (a thread
    /// waits for an `RwLock`'s readers instead).
    fn try_write(&self) -> Option<Self::Write<'_>>;
    /// The contents, through a unique reference.
    fn get_mut(&mut self) -> &mut Self::Target;
    /// The contents, consuming the cell.
    fn into_inner(self) -> Self::Target
    where
        Self: Sized;
}

impl<T> ReadWrite for RefCell<T> {
    type Target = T;
    type Read<'a>
        = Ref<'a, T>
    where
        T: 'a;
    type Write<'a>
        = RefMut<'a, T>
    where
        T: 'a;

    fn new(value: T) -> Self {
        RefCell::new(value)
    }

    #[inline]
    fn read(&self) -> Ref<'_, T> {
        self.borrow()
    }

    #[inline]
    fn try_write(&self) -> Option<RefMut<'_, T>> {
        self.try_borrow_mut().ok()
    }

    fn get_mut(&mut self) -> &mut T {
        RefCell::get_mut(self)
    }

    fn into_inner(self) -> T {
        RefCell::into_inner(self)
    }
}

impl<T> ReadWrite for RwLock<T> {
    type Target = T;
    type Read<'a>
        = RwLockReadGuard<'a, T>
    where
        T: 'a;
    type Write<'a>
        = RwLockWriteGuard<'a, T>
    where
        T: 'a;

    fn new(value: T) -> Self {
        RwLock::new(value)
    }

    /// Poison is ignored: the only code run under the write lock is a
    /// replacement or the user's own `send_modify` closure, whose half-done
    /// change is the user's to judge, as with a `RefCell`.
    #[inline]
    fn read(&self) -> RwLockReadGuard<'_, T> {
        RwLock::read(self).unwrap_or_else(PoisonError::into_inner)
    }

    #[inline]
    fn try_write(&self) -> Option<RwLockWriteGuard<'_, T>> {
        Some(RwLock::write(self).unwrap_or_else(PoisonError::into_inner))
    }

    fn get_mut(&mut self) -> &mut T {
        RwLock::get_mut(self).unwrap_or_else(PoisonError::into_inner)
    }

    fn into_inner(self) -> T {
        RwLock::into_inner(self).unwrap_or_else(PoisonError::into_inner)
    }
}

/// A cell set at most once, then read without a step: a
/// `std::cell::OnceCell` or a `std::sync::OnceLock`. Public only to be
/// named in bounds, like [`Locked`].
pub trait OnceSlot {
    /// What the cell holds.
    type Target;

    /// The value, if set.
    fn get(&self) -> Option<&Self::Target>;
    /// Sets the value; hands it back if one was set already.
    fn set(&self, value: Self::Target) -> Result<(), Self::Target>;
    /// The value, through a unique reference.
    fn get_mut(&mut self) -> Option<&mut Self::Target>;
    /// Takes the value out, leaving the cell empty.
    fn take(&mut self) -> Option<Self::Target>;
    /// The value, consuming the cell.
    fn into_inner(self) -> Option<Self::Target>
    where
        Self: Sized;
}

impl<T> OnceSlot for cell::OnceCell<T> {
    type Target = T;

    #[inline]
    fn get(&self) -> Option<&T> {
        cell::OnceCell::get(self)
    }

    fn set(&self, value: T) -> Result<(), T> {
        cell::OnceCell::set(self, value)
    }

    fn get_mut(&mut self) -> Option<&mut T> {
        cell::OnceCell::get_mut(self)
    }

    fn take(&mut self) -> Option<T> {
        cell::OnceCell::take(self)
    }

    fn into_inner(self) -> Option<T> {
        cell::OnceCell::into_inner(self)
    }
}

impl<T> OnceSlot for OnceLock<T> {
    type Target = T;

    #[inline]
    fn get(&self) -> Option<&T> {
        OnceLock::get(self)
    }

    fn set(&self, value: T) -> Result<(), T> {
        OnceLock::set(self, value)
    }

    fn get_mut(&mut self) -> Option<&mut T> {
        OnceLock::get_mut(self)
    }

    fn take(&mut self) -> Option<T> {
        OnceLock::take(self)
    }

    fn into_inner(self) -> Option<T> {
        OnceLock::into_inner(self)
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Local {}
    impl Sealed for super::ThreadSafe {}
}

/// Where a primitive keeps its state: [`Local`] or [`ThreadSafe`] (sealed:
/// there are no others). A step takes the state, changes it, and lets it
/// go before anyone is woken; `docs/sync.md` ("How the primitives are
/// built") has the rules.
pub trait Flavor: sealed::Sealed + Sized + 'static {
    /// Holds a primitive's state: the state itself ([`Local`]) or a
    /// `Mutex` around it ([`ThreadSafe`]).
    type Shared<S>;
    /// The state, held for one step.
    type Step<'a, S: 'a>: Deref<Target = S>;
    /// Holds a value lent out for long: a `RefCell` or a `Mutex`.
    type Exclusive<T>: Locked<Target = T>;
    /// Holds a value many read at once: a `RefCell` or an `RwLock`.
    type ReadWrite<T>: ReadWrite<Target = T>;
    /// Holds a value set once: a `cell::OnceCell` or a `OnceLock`.
    type Once<T>: OnceSlot<Target = T>;
    /// Shares a value between handles: an `Rc` or an `Arc` (`std`'s in
    /// every build: owned guards name it in their receivers).
    type Rc<S>: Deref<Target = S> + Clone;
    /// Who holds an `RLock`.
    type Owner: Copy + Eq + fmt::Debug + Unpin;
    /// Whether other threads may reach the state (and end a task's wait).
    const THREAD_SAFE: bool;

    /// Wraps a state (not `const`: the flavours' `new`s build theirs by hand).
    fn share<S>(state: S) -> Self::Shared<S>;
    /// Wraps a value lent out for long.
    fn exclusive<T>(value: T) -> Self::Exclusive<T>;
    /// Takes the state for one step.
    fn step<S>(shared: &Self::Shared<S>) -> Self::Step<'_, S>;
    /// One step over a state changed in place (a queue's): `change` gets
    /// it through `&mut`, and it is let go when `change` returns.
    fn step_mut<S, R>(shared: &Self::Shared<RefCell<S>>, change: impl FnOnce(&mut S) -> R) -> R;
    /// The caller, as an `RLock` owner.
    #[track_caller]
    fn owner() -> Self::Owner;
    /// The caller, as the holder of a guard, if it can be told: `None` for
    /// a runtime-local primitive used outside a sprout runtime. No panic,
    /// and no copy of a task's name.
    fn holder() -> Option<Self::Owner>;
    /// Shares `value` behind the flavour's counted pointer.
    fn rc<S>(value: S) -> Self::Rc<S>;
}

/// The runtime-local flavour: `Cell`s and `RefCell`s, `!Sync`, shared
/// between the tasks of one runtime with an `Rc`.
#[derive(Debug)]
pub enum Local {}

/// A runtime-local primitive's state, bound to its thread: `!Send` as
/// well as `!Sync`.
///
/// Its wait lists hold task wakers counted in their tasks' HELD counts,
/// which only the runtime thread may touch (`task/compact.rs`). An entry
/// outlives its future if the future is leaked (`mem::forget`), so the
/// state must not reach another thread even when nobody seems to wait:
/// a `set` or a drop there would race the runtime on the task's state.
#[derive(Debug)]
pub struct LocalState<S> {
    state: S,
    _not_send: PhantomData<*const ()>,
}

impl<S> LocalState<S> {
    /// Binds `state` to this thread.
    pub(crate) const fn new(state: S) -> LocalState<S> {
        LocalState { state, _not_send: PhantomData }
    }
}

impl Flavor for Local {
    type Shared<S> = LocalState<S>;
    type Step<'a, S: 'a> = &'a S;
    type Exclusive<T> = RefCell<T>;
    type ReadWrite<T> = RefCell<T>;
    type Once<T> = cell::OnceCell<T>;
    type Rc<S> = Rc<S>;
    /// The holding task's id (the `block_on` future counts as task 0).
    type Owner = u64;
    const THREAD_SAFE: bool = false;

    #[inline]
    fn share<S>(state: S) -> LocalState<S> {
        LocalState::new(state)
    }

    #[inline]
    fn exclusive<T>(value: T) -> RefCell<T> {
        RefCell::new(value)
    }

    #[inline(always)]
    fn step<S>(shared: &LocalState<S>) -> &S {
        &shared.state
    }

    #[inline(always)]
    fn step_mut<S, R>(shared: &LocalState<RefCell<S>>, change: impl FnOnce(&mut S) -> R) -> R {
        change(&mut shared.state.borrow_mut())
    }

    /// # Panics
    /// Outside a sprout runtime: there is no task to own the lock.
    #[track_caller]
    fn owner() -> u64 {
        crate::current().id().as_u64()
    }

    #[inline]
    fn holder() -> Option<u64> {
        crate::task::current_id().map(crate::TaskId::as_u64)
    }

    #[inline]
    fn rc<S>(value: S) -> Rc<S> {
        Rc::new(value)
    }
}

/// The thread-safe flavour: the same state under a `Mutex`, shared by
/// green tasks and OS threads with an `Arc`.
#[derive(Debug)]
pub enum ThreadSafe {}

/// Who holds a thread-safe `RLock`: a plain OS thread, or one green task
/// on a runtime thread (a task is another owner than its thread).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    /// A plain OS thread.
    Thread(ThreadId),
    /// A green task: its runtime's thread and its id.
    Task(ThreadId, u64),
}

impl Flavor for ThreadSafe {
    type Shared<S> = Mutex<S>;
    type Step<'a, S: 'a> = MutexGuard<'a, S>;
    type Exclusive<T> = Mutex<T>;
    type ReadWrite<T> = RwLock<T>;
    type Once<T> = OnceLock<T>;
    type Rc<S> = Arc<S>;
    type Owner = Owner;
    const THREAD_SAFE: bool = true;

    fn share<S>(state: S) -> Mutex<S> {
        Mutex::new(state)
    }

    fn exclusive<T>(value: T) -> Mutex<T> {
        Mutex::new(value)
    }

    #[inline]
    fn step<S>(shared: &Mutex<S>) -> MutexGuard<'_, S> {
        lock(shared)
    }

    /// The lock excludes every other thread, so the `RefCell` needs no
    /// borrow: `get_mut` through the guard.
    #[inline]
    fn step_mut<S, R>(shared: &Mutex<RefCell<S>>, change: impl FnOnce(&mut S) -> R) -> R {
        change(lock(shared).get_mut())
    }

    /// The running green task if there is one, else the thread.
    fn owner() -> Owner {
        let thread = thread::current().id();
        match crate::context::current().and(crate::task::current_id()) {
            Some(task) => Owner::Task(thread, task.as_u64()),
            None => Owner::Thread(thread),
        }
    }

    /// Under loom, none: loom's model threads share one OS thread (and so
    /// one `ThreadId`), and the models do not test re-entry.
    fn holder() -> Option<Owner> {
        if cfg!(loom) { None } else { Some(Self::owner()) }
    }

    fn rc<S>(value: S) -> Arc<S> {
        Arc::new(value)
    }
}
