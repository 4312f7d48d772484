//! `RwLock`: many readers or one writer, writer-preferring, handed off in
//! arrival order (tokio's `RwLock`; Python has none in its standard library).
//!
//! The state, and what each field promises:
//!
//! | field | meaning | invariant |
//! | --- | --- | --- |
//! | `readers` | read guards out | 0 while `writer` |
//! | `writer` | a write guard is out | |
//! | `waiters` | who waits, and whether to write | non-empty only while the lock is held: a release hands it on instead of freeing it |
//! | `holders` | the task (or thread) behind each borrowed guard | one entry per live borrowed guard; owned guards have none |
//!
//! **Writer-preferring, and first come, first served.** A reader may take
//! the lock at once only if no writer holds it *and nobody waits*: a
//! waiting writer stops new readers, so a stream of readers cannot starve
//! it. Releases hand the lock to the waiters in arrival order: to the
//! first waiter if it writes, or to every reader at the front of the line
//! up to the first writer. A waiter handed the lock owns it from that
//! instant; dropped before it runs, it releases it again.
//!
//! **Re-entry panics.** A task that asks for the lock while it holds a
//! borrowed guard of it would, if it had to wait, wait for itself forever:
//! a write while it reads or writes, a read while it writes, and a second
//! read while a writer is queued behind its first (writer preference). So
//! `read` and `write` panic at the moment they would start waiting,
//! naming the mistake, instead of hanging silently (`holders` is what
//! tells). A read again while nobody waits does not wait, so it is
//! allowed. The `_timeout` forms do not panic: they time out, which is how
//! a task that means to find out does. Owned guards belong to no task (they
//! are made to move), so they are not checked.
//!
//! The guarded value sits in an `UnsafeCell`: the guards hand out `&T` and
//! `&mut T` on the strength of the state above, and owned guards (which
//! cannot hold a borrow of the lock they own) need it. Every access is a
//! guard's, and each `unsafe` block says which rule makes it sound.

use std::cell::{Cell, RefCell, UnsafeCell};
use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use slab::Slab;

use super::flavor::{Flavor, Local, LocalState, ThreadSafe};
use super::threadsafe::{block_on, block_on_timeout};
use super::wait_list::{Cancelled, WaitList, Woken};
use super::withdraw::{self, Withdraw};
use crate::loom::sync::Mutex;
use crate::task::coop;
use crate::task::observe::{WaitOn, waiting_shared};
use crate::time::Elapsed;

/// Many readers or one writer, guarding a `T`. `read().await` and
/// `write().await` return guards; dropping a guard releases it. Use it as
/// [`sync::RwLock`](crate::sync::RwLock) or
/// [`sync::threadsafe::RwLock`](crate::sync::threadsafe::RwLock).
///
/// Writer-preferring: a waiting writer stops new readers, so readers
/// cannot starve it; waiters are served in arrival order, readers at the
/// front of the line together. A task that asks for the lock while it
/// holds a guard of it, and would have to wait, panics: see the module
/// docs ("Re-entry panics").
pub struct RwLock<T, F: Flavor> {
    state: F::Shared<State<F::Owner>>,
    value: UnsafeCell<T>,
}

// SAFETY: the value is reached only through guards, which the state (under
// its `Mutex`) hands out as many readers or one writer; readers on several
// threads share `&T` (hence `T: Sync`), a writer may be on any thread
// (hence `T: Send`). The state itself is `Send` (a `Mutex` of plain data).
unsafe impl<T: Send + Sync> Sync for RwLock<T, ThreadSafe> {}

struct State<O> {
    readers: Cell<usize>,
    writer: Cell<bool>,
    /// Each waiter's value: whether it wants to write.
    waiters: RefCell<WaitList<bool>>,
    holders: RefCell<Holders<O>>,
}

/// Who holds the borrowed guards out: the first holder's holds counted in
/// place, any other's in a slab. One task taking and dropping guards over
/// and over (the common case) touches only the first, which halves the
/// cost of the bookkeeping (`docs/benchmarks-sync.md`). A guard keeps the
/// key its entry was given: [`SOLO`], or its slab key.
struct Holders<O> {
    solo: Option<O>,
    solo_holds: usize,
    others: Slab<O>,
}

/// The key of the first holder's entry.
const SOLO: usize = usize::MAX;

impl<O: Copy + PartialEq> Holders<O> {
    const fn new() -> Self {
        Holders { solo: None, solo_holds: 0, others: Slab::new() }
    }

    #[inline]
    fn insert(&mut self, me: O) -> usize {
        match self.solo {
            None => {
                self.solo = Some(me);
                self.solo_holds = 1;
                SOLO
            }
            Some(first) if first == me => {
                self.solo_holds += 1;
                SOLO
            }
            Some(_) => self.others.insert(me),
        }
    }

    #[inline]
    fn remove(&mut self, key: usize) {
        if key == SOLO {
            self.solo_holds -= 1;
            if self.solo_holds == 0 {
                self.solo = None;
            }
        } else {
            self.others.remove(key);
        }
    }

    fn contains(&self, me: &O) -> bool {
        self.solo.as_ref() == Some(me) || self.others.iter().any(|(_, held)| held == me)
    }
}

impl<O: Copy + PartialEq> State<O> {
    const fn new(shared: bool) -> Self {
        State {
            readers: Cell::new(0),
            writer: Cell::new(false),
            waiters: RefCell::new(WaitList::new_in(shared)),
            holders: RefCell::new(Holders::new()),
        }
    }

    /// Whether a new reader or writer may take the lock now (nobody waits
    /// first: the lock is free of writers, and of readers for a writer).
    fn may_take(&self, write: bool) -> bool {
        if write {
            !self.writer.get() && self.readers.get() == 0
        } else {
            !self.writer.get() && self.waiters.borrow().is_empty()
        }
    }

    fn take(&self, write: bool) {
        if write {
            self.writer.set(true);
        } else {
            self.readers.set(self.readers.get() + 1);
        }
    }

    /// Hands the lock on to the waiters it can go to now: the first waiter
    /// if it writes and the lock is free, else every reader at the front
    /// (unless a writer holds it).
    fn hand_on(&self, woken: &mut Woken) {
        if self.writer.get() {
            return;
        }
        let mut waiters = self.waiters.borrow_mut();
        while let Some(&mut write) = waiters.front_mut() {
            if write && self.readers.get() > 0 {
                break;
            }
            self.take(write);
            let (waker, ()) = waiters.notify_one_with(|_| ()).expect("a first waiter");
            woken.push(waker);
            if write {
                break;
            }
        }
    }

    /// Gives back one hold, and the holder's entry if it had one; returns
    /// whether anyone waits (and the lock should be handed on).
    #[inline]
    fn release(&self, write: bool, holder: Option<usize>) -> bool {
        if write {
            self.writer.set(false);
        } else {
            self.readers.set(self.readers.get() - 1);
        }
        if let Some(slot) = holder {
            self.holders.borrow_mut().remove(slot);
        }
        !self.waiters.borrow().is_empty()
    }
}

impl<O: Copy + PartialEq> State<O> {
    fn holds(&self, me: &O) -> bool {
        self.holders.borrow().contains(me)
    }

    fn record(&self, me: Option<O>) -> Option<usize> {
        me.map(|me| self.holders.borrow_mut().insert(me))
    }
}

/// Whether a wait panics when its caller holds a guard of the lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reentry {
    /// `read`, `write` and their owned and blocking forms.
    Panic,
    /// The `_timeout` forms: they time out instead.
    Allow,
}

impl<T: Default, F: Flavor> Default for RwLock<T, F> {
    fn default() -> Self {
        RwLock { state: F::share(State::new(F::THREAD_SAFE)), value: UnsafeCell::new(T::default()) }
    }
}

impl<T> RwLock<T, Local> {
    /// A free lock guarding `value`.
    pub const fn new(value: T) -> Self {
        RwLock { state: LocalState::new(State::new(false)), value: UnsafeCell::new(value) }
    }

    /// Takes the lock to read, in a guard that owns the lock (an `Rc`), to
    /// move into another task.
    pub fn read_owned(self: Rc<Self>) -> RwLockReadOwned<T, Local> {
        RwLockReadOwned { wait: OwnedWait::new(self, false) }
    }

    /// Takes the lock to write, in a guard that owns the lock (an `Rc`).
    pub fn write_owned(self: Rc<Self>) -> RwLockWriteOwned<T, Local> {
        RwLockWriteOwned { wait: OwnedWait::new(self, true) }
    }

    /// Takes the lock to read now, if no writer holds or waits for it, in a
    /// guard that owns the lock.
    pub fn try_read_owned(self: Rc<Self>) -> Option<OwnedRwLockReadGuard<T, Local>> {
        self.try_take_unrecorded(false).then(|| OwnedRwLockReadGuard { lock: self })
    }

    /// Takes the lock to write now, if it is free, in a guard that owns the lock.
    pub fn try_write_owned(self: Rc<Self>) -> Option<OwnedRwLockWriteGuard<T, Local>> {
        self.try_take_unrecorded(true).then(|| OwnedRwLockWriteGuard { lock: self })
    }
}

impl<T> RwLock<T, ThreadSafe> {
    crate::loom::const_fn_unless_loom! {
        /// A free lock guarding `value`.
        pub const fn new(value: T) -> Self {
            RwLock { state: Mutex::new(State::new(true)), value: UnsafeCell::new(value) }
        }
    }

    /// Takes the lock to read, in a guard that owns the lock (an `Arc`), to
    /// move into another task or thread.
    pub fn read_owned(self: Arc<Self>) -> RwLockReadOwned<T, ThreadSafe> {
        RwLockReadOwned { wait: OwnedWait::new(self, false) }
    }

    /// Takes the lock to write, in a guard that owns the lock (an `Arc`).
    pub fn write_owned(self: Arc<Self>) -> RwLockWriteOwned<T, ThreadSafe> {
        RwLockWriteOwned { wait: OwnedWait::new(self, true) }
    }

    /// Takes the lock to read now, if no writer holds or waits for it, in a
    /// guard that owns the lock.
    pub fn try_read_owned(self: Arc<Self>) -> Option<OwnedRwLockReadGuard<T, ThreadSafe>> {
        self.try_take_unrecorded(false).then(|| OwnedRwLockReadGuard { lock: self })
    }

    /// Takes the lock to write now, if it is free, in a guard that owns the lock.
    pub fn try_write_owned(self: Arc<Self>) -> Option<OwnedRwLockWriteGuard<T, ThreadSafe>> {
        self.try_take_unrecorded(true).then(|| OwnedRwLockWriteGuard { lock: self })
    }

    /// Blocks this OS thread until it may read.
    ///
    /// # Panics
    /// Inside a sprout runtime, or if this thread holds a guard of the lock
    /// and would wait for itself.
    #[track_caller]
    pub fn read_blocking(&self) -> RwLockReadGuard<'_, T, ThreadSafe> {
        block_on("RwLock::read_blocking", self.read())
    }

    /// Blocks this OS thread until it may write.
    ///
    /// # Panics
    /// Inside a sprout runtime, or if this thread holds a guard of the lock.
    #[track_caller]
    pub fn write_blocking(&self) -> RwLockWriteGuard<'_, T, ThreadSafe> {
        block_on("RwLock::write_blocking", self.write())
    }

    /// Blocks this OS thread at most `timeout` to read. A lock handed over
    /// as the time-out falls is taken.
    ///
    /// # Panics
    /// Inside a sprout runtime.
    #[track_caller]
    pub fn read_blocking_timeout(&self, timeout: Duration) -> Option<RwLockReadGuard<'_, T, ThreadSafe>> {
        block_on_timeout("RwLock::read_blocking_timeout", self.wait(false, Reentry::Allow), timeout)
            .map(|holder| RwLockReadGuard { lock: self, holder })
    }

    /// Blocks this OS thread at most `timeout` to write. A lock handed over
    /// as the time-out falls is taken.
    ///
    /// # Panics
    /// Inside a sprout runtime.
    #[track_caller]
    pub fn write_blocking_timeout(&self, timeout: Duration) -> Option<RwLockWriteGuard<'_, T, ThreadSafe>> {
        block_on_timeout("RwLock::write_blocking_timeout", self.wait(true, Reentry::Allow), timeout)
            .map(|holder| RwLockWriteGuard { lock: self, holder })
    }
}

impl<T, F: Flavor> RwLock<T, F> {
    /// Takes the lock to read, waiting (in a green task) while a writer
    /// holds it or waits for it.
    ///
    /// # Panics
    /// When it would wait while the caller holds a guard of this lock
    /// (module docs, "Re-entry panics").
    pub fn read(&self) -> RwLockRead<'_, T, F> {
        RwLockRead { wait: self.wait(false, Reentry::Panic) }
    }

    /// Takes the lock to write, waiting (in a green task) until every
    /// reader and writer before it is done.
    ///
    /// # Panics
    /// When it would wait while the caller holds a guard of this lock
    /// (a read it meant to upgrade, say): it would wait for itself forever.
    pub fn write(&self) -> RwLockWrite<'_, T, F> {
        RwLockWrite { wait: self.wait(true, Reentry::Panic) }
    }

    /// Takes the lock to read, waiting at most `timeout`. A lock handed
    /// over as the time-out falls is taken: the call succeeds. It does not
    /// panic on re-entry: it times out.
    pub async fn read_timeout(&self, timeout: Duration) -> Result<RwLockReadGuard<'_, T, F>, Elapsed> {
        let holder = withdraw::timeout(timeout, self.wait(false, Reentry::Allow)).await?;
        Ok(RwLockReadGuard { lock: self, holder })
    }

    /// Takes the lock to write, waiting at most `timeout`. A lock handed
    /// over as the time-out falls is taken: the call succeeds. It does not
    /// panic on re-entry: it times out.
    pub async fn write_timeout(&self, timeout: Duration) -> Result<RwLockWriteGuard<'_, T, F>, Elapsed> {
        let holder = withdraw::timeout(timeout, self.wait(true, Reentry::Allow)).await?;
        Ok(RwLockWriteGuard { lock: self, holder })
    }

    /// Takes the lock to read now, if no writer holds it or waits for it.
    pub fn try_read(&self) -> Option<RwLockReadGuard<'_, T, F>> {
        self.try_take(false).map(|holder| RwLockReadGuard { lock: self, holder })
    }

    /// Takes the lock to write now, if it is free.
    pub fn try_write(&self) -> Option<RwLockWriteGuard<'_, T, F>> {
        self.try_take(true).map(|holder| RwLockWriteGuard { lock: self, holder })
    }

    /// The number of read guards out.
    pub fn readers(&self) -> usize {
        F::step(&self.state).readers.get()
    }

    /// Whether a write guard is out.
    pub fn is_write_locked(&self) -> bool {
        F::step(&self.state).writer.get()
    }

    /// The number of tasks (and threads) waiting, to read or to write.
    pub fn waiters(&self) -> usize {
        F::step(&self.state).waiters.borrow().len()
    }

    /// The value, through a unique reference (no locking needed).
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }

    /// The value, consuming the lock.
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }

    fn wait(&self, write: bool, reentry: Reentry) -> Wait<'_, T, F> {
        Wait { lock: self, write, reentry, key: None }
    }

    /// Takes the lock now if it may, recording the caller as a holder.
    fn try_take(&self, write: bool) -> Option<Option<usize>> {
        let me = F::holder();
        let state = F::step(&self.state);
        if !state.may_take(write) {
            return None;
        }
        state.take(write);
        Some(state.record(me))
    }

    /// Takes the lock now if it may, for an owned guard (no holder).
    fn try_take_unrecorded(&self, write: bool) -> bool {
        let state = F::step(&self.state);
        let ok = state.may_take(write);
        if ok {
            state.take(write);
        }
        ok
    }

    /// Gives back a hold (and its holder entry), handing the lock on.
    #[inline]
    fn release(&self, write: bool, holder: Option<usize>) {
        let woken = {
            let state = F::step(&self.state);
            if !state.release(write, holder) {
                return; // nobody waits: the common, uncontended case
            }
            let mut woken = Woken::default();
            state.hand_on(&mut woken);
            woken
        };
        // Woken after the step: a waker may run arbitrary code.
        woken.wake();
    }

    /// One poll of a wait (borrowed or owned): check and register in one
    /// step, so a release cannot fall in between. `Ready(holder)`: the lock
    /// is ours; `holder` is the caller's entry if `record`.
    #[track_caller]
    fn poll_wait(
        &self,
        write: bool,
        reentry: Reentry,
        record: bool,
        key: &mut Option<u32>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<usize>> {
        let what = if write { WaitOn::RwLockWrite } else { WaitOn::RwLockRead };
        if let Some(k) = *key {
            let me = if record { F::holder() } else { None };
            let state = F::step(&self.state);
            if state.waiters.borrow_mut().poll_take(k, cx.waker()).is_none() {
                drop(state);
                waiting_shared(what, F::THREAD_SAFE);
                return Poll::Pending;
            }
            // Handed the lock: it is ours already.
            *key = None;
            return Poll::Ready(state.record(me));
        }
        if coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        let me = F::holder();
        let state = F::step(&self.state);
        if state.may_take(write) {
            state.take(write);
            return Poll::Ready(state.record(me.filter(|_| record)));
        }
        if reentry == Reentry::Panic && me.as_ref().is_some_and(|me| state.holds(me)) {
            drop(state);
            reentered(write);
        }
        *key = Some(state.waiters.borrow_mut().push_with(cx.waker(), write));
        drop(state);
        waiting_shared(what, F::THREAD_SAFE);
        Poll::Pending
    }

    /// Leaves the line: `Some(holder)` if it had been handed the lock
    /// meanwhile (it is the caller's now), `None` if it was still waiting
    /// (and whoever it held up may go on).
    fn withdraw_wait(&self, record: bool, key: &mut Option<u32>) -> Option<Option<usize>> {
        let k = key.take()?;
        let me = if record { F::holder() } else { None };
        let mut woken = Woken::default();
        let got = {
            let state = F::step(&self.state);
            let cancelled = state.waiters.borrow_mut().cancel(k);
            match cancelled {
                Cancelled::Notified => Some(state.record(me)),
                Cancelled::Waiting => {
                    // A writer leaving the front lets the readers behind it in.
                    state.hand_on(&mut woken);
                    None
                }
            }
        };
        woken.wake();
        got
    }

    /// A waiting future is dropped: a lock it had been handed goes on.
    fn cancel_wait(&self, write: bool, key: &mut Option<u32>) {
        if let Some(holder) = self.withdraw_wait(false, key) {
            self.release(write, holder);
        }
    }
}

#[cold]
#[track_caller]
fn reentered(write: bool) -> ! {
    let asked = if write { "write" } else { "read" };
    panic!(
        "RwLock::{asked}: this task (or thread) already holds a guard of this lock and would wait for itself \
         forever; drop the guard first (there is no upgrade from read to write)"
    );
}

impl<T, F: Flavor> fmt::Debug for RwLock<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = F::step(&self.state);
        f.debug_struct("RwLock")
            .field("readers", &state.readers.get())
            .field("writer", &state.writer.get())
            .field("waiters", &state.waiters.borrow().len())
            .finish_non_exhaustive()
    }
}

/// A wait for the lock, to read or write: the body of every future here.
/// Resolves to the caller's holder entry (the guard is built by the caller).
struct Wait<'a, T, F: Flavor> {
    lock: &'a RwLock<T, F>,
    write: bool,
    reentry: Reentry,
    key: Option<u32>,
}

impl<T, F: Flavor> Future for Wait<'_, T, F> {
    type Output = Option<usize>;

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<usize>> {
        let (lock, write, reentry) = (self.lock, self.write, self.reentry);
        lock.poll_wait(write, reentry, true, &mut self.key, cx)
    }
}

impl<T, F: Flavor> Withdraw for Wait<'_, T, F> {
    fn withdraw(&mut self) -> Option<Option<usize>> {
        self.lock.withdraw_wait(true, &mut self.key)
    }
}

impl<T, F: Flavor> Drop for Wait<'_, T, F> {
    #[inline]
    fn drop(&mut self) {
        if self.key.is_some() {
            self.lock.cancel_wait(self.write, &mut self.key);
        }
    }
}

/// The future returned by [`RwLock::read`]. Dropping it stops the wait; a
/// lock it had been handed goes to the next waiters.
#[must_use = "futures do nothing unless awaited"]
pub struct RwLockRead<'a, T, F: Flavor> {
    wait: Wait<'a, T, F>,
}

impl<'a, T, F: Flavor> Future for RwLockRead<'a, T, F> {
    type Output = RwLockReadGuard<'a, T, F>;

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let lock = self.wait.lock;
        Pin::new(&mut self.wait).poll(cx).map(|holder| RwLockReadGuard { lock, holder })
    }
}

impl<T, F: Flavor> fmt::Debug for RwLockRead<'_, T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RwLockRead").field("waiting", &self.wait.key.is_some()).finish()
    }
}

/// The future returned by [`RwLock::write`]. Dropping it stops the wait; a
/// lock it had been handed goes to the next waiters.
#[must_use = "futures do nothing unless awaited"]
pub struct RwLockWrite<'a, T, F: Flavor> {
    wait: Wait<'a, T, F>,
}

impl<'a, T, F: Flavor> Future for RwLockWrite<'a, T, F> {
    type Output = RwLockWriteGuard<'a, T, F>;

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let lock = self.wait.lock;
        Pin::new(&mut self.wait).poll(cx).map(|holder| RwLockWriteGuard { lock, holder })
    }
}

impl<T, F: Flavor> fmt::Debug for RwLockWrite<'_, T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RwLockWrite").field("waiting", &self.wait.key.is_some()).finish()
    }
}

/// A wait for an owned guard: holds the lock's `Rc` (or `Arc`) until the
/// guard takes it.
struct OwnedWait<T, F: Flavor> {
    lock: Option<F::Rc<RwLock<T, F>>>,
    write: bool,
    key: Option<u32>,
}

impl<T, F: Flavor> OwnedWait<T, F> {
    fn new(lock: F::Rc<RwLock<T, F>>, write: bool) -> Self {
        OwnedWait { lock: Some(lock), write, key: None }
    }

    /// One poll: `Ready(lock)` once the lock is ours.
    #[track_caller]
    fn poll_owned(&mut self, cx: &mut Context<'_>) -> Poll<F::Rc<RwLock<T, F>>> {
        let lock = self.lock.as_ref().expect("an owned RwLock future polled after it completed");
        std::task::ready!(lock.poll_wait(self.write, Reentry::Panic, false, &mut self.key, cx));
        Poll::Ready(self.lock.take().expect("checked above"))
    }
}

impl<T, F: Flavor> Drop for OwnedWait<T, F> {
    fn drop(&mut self) {
        if let Some(lock) = &self.lock {
            lock.cancel_wait(self.write, &mut self.key);
        }
    }
}

/// The future returned by `read_owned`, resolving to an
/// [`OwnedRwLockReadGuard`]. Dropping it stops the wait.
#[must_use = "futures do nothing unless awaited"]
pub struct RwLockReadOwned<T, F: Flavor> {
    wait: OwnedWait<T, F>,
}

// No field is pinned: the future holds a pointer and a key.
impl<T, F: Flavor> Unpin for RwLockReadOwned<T, F> {}

impl<T, F: Flavor> Future for RwLockReadOwned<T, F> {
    type Output = OwnedRwLockReadGuard<T, F>;

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.wait.poll_owned(cx).map(|lock| OwnedRwLockReadGuard { lock })
    }
}

impl<T, F: Flavor> fmt::Debug for RwLockReadOwned<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RwLockReadOwned").field("waiting", &self.wait.key.is_some()).finish()
    }
}

/// The future returned by `write_owned`, resolving to an
/// [`OwnedRwLockWriteGuard`]. Dropping it stops the wait.
#[must_use = "futures do nothing unless awaited"]
pub struct RwLockWriteOwned<T, F: Flavor> {
    wait: OwnedWait<T, F>,
}

// No field is pinned: the future holds a pointer and a key.
impl<T, F: Flavor> Unpin for RwLockWriteOwned<T, F> {}

impl<T, F: Flavor> Future for RwLockWriteOwned<T, F> {
    type Output = OwnedRwLockWriteGuard<T, F>;

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.wait.poll_owned(cx).map(|lock| OwnedRwLockWriteGuard { lock })
    }
}

impl<T, F: Flavor> fmt::Debug for RwLockWriteOwned<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RwLockWriteOwned").field("waiting", &self.wait.key.is_some()).finish()
    }
}

/// Shared access to an [`RwLock`]'s value; dropping it releases this read.
#[must_use = "dropping the guard releases the lock at once"]
pub struct RwLockReadGuard<'a, T, F: Flavor> {
    lock: &'a RwLock<T, F>,
    /// The taker's entry in `holders` (none outside a runtime).
    holder: Option<usize>,
}

impl<T, F: Flavor> Deref for RwLockReadGuard<'_, T, F> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: a read guard is out, so no write guard is (the state's
        // invariant, kept under its step): only shared references exist.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T, F: Flavor> Drop for RwLockReadGuard<'_, T, F> {
    fn drop(&mut self) {
        self.lock.release(false, self.holder);
    }
}

impl<T: fmt::Debug, F: Flavor> fmt::Debug for RwLockReadGuard<'_, T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Unique access to an [`RwLock`]'s value; dropping it releases the lock.
#[must_use = "dropping the guard releases the lock at once"]
pub struct RwLockWriteGuard<'a, T, F: Flavor> {
    lock: &'a RwLock<T, F>,
    holder: Option<usize>,
}

impl<'a, T, F: Flavor> RwLockWriteGuard<'a, T, F> {
    /// Turns this write into a read without letting go (tokio's
    /// `downgrade`): no writer can slip in between, and readers waiting at
    /// the front of the line come in with it.
    pub fn downgrade(self) -> RwLockReadGuard<'a, T, F> {
        let this = std::mem::ManuallyDrop::new(self);
        let (lock, holder) = (this.lock, this.holder);
        let mut woken = Woken::default();
        {
            let state = F::step(&lock.state);
            state.writer.set(false);
            state.readers.set(1);
            state.hand_on(&mut woken);
        }
        woken.wake();
        RwLockReadGuard { lock, holder }
    }
}

impl<T, F: Flavor> Deref for RwLockWriteGuard<'_, T, F> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the write guard is the only guard out (the state's
        // invariant), and it lends through `&self` or `&mut self` only.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T, F: Flavor> DerefMut for RwLockWriteGuard<'_, T, F> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this borrow unique.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T, F: Flavor> Drop for RwLockWriteGuard<'_, T, F> {
    fn drop(&mut self) {
        self.lock.release(true, self.holder);
    }
}

impl<T: fmt::Debug, F: Flavor> fmt::Debug for RwLockWriteGuard<'_, T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Shared access that owns its [`RwLock`] (an `Rc` or `Arc`): it may move
/// into another task. Dropping it releases this read.
#[must_use = "dropping the guard releases the lock at once"]
pub struct OwnedRwLockReadGuard<T, F: Flavor> {
    lock: F::Rc<RwLock<T, F>>,
}

impl<T, F: Flavor> OwnedRwLockReadGuard<T, F> {
    /// The lock this guard holds.
    pub fn rwlock(&self) -> &F::Rc<RwLock<T, F>> {
        &self.lock
    }
}

impl<T, F: Flavor> Deref for OwnedRwLockReadGuard<T, F> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: as for `RwLockReadGuard`: a read is out, so no writer is.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T, F: Flavor> Drop for OwnedRwLockReadGuard<T, F> {
    fn drop(&mut self) {
        self.lock.release(false, None);
    }
}

impl<T: fmt::Debug, F: Flavor> fmt::Debug for OwnedRwLockReadGuard<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Unique access that owns its [`RwLock`] (an `Rc` or `Arc`): it may move
/// into another task. Dropping it releases the lock.
#[must_use = "dropping the guard releases the lock at once"]
pub struct OwnedRwLockWriteGuard<T, F: Flavor> {
    lock: F::Rc<RwLock<T, F>>,
}

impl<T, F: Flavor> OwnedRwLockWriteGuard<T, F> {
    /// The lock this guard holds.
    pub fn rwlock(&self) -> &F::Rc<RwLock<T, F>> {
        &self.lock
    }

    /// Turns this write into a read without letting go.
    pub fn downgrade(self) -> OwnedRwLockReadGuard<T, F> {
        let mut woken = Woken::default();
        {
            let state = F::step(&self.lock.state);
            state.writer.set(false);
            state.readers.set(1);
            state.hand_on(&mut woken);
        }
        woken.wake();
        // The read guard takes over the hold and the pointer: this guard's
        // drop (which would release a write) must not run.
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again, so its one field is
        // moved out exactly once: the pointer's count stays right.
        let lock = unsafe { std::ptr::read(&this.lock) };
        OwnedRwLockReadGuard { lock }
    }
}

impl<T, F: Flavor> Deref for OwnedRwLockWriteGuard<T, F> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: as for `RwLockWriteGuard`: the only guard out.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T, F: Flavor> DerefMut for OwnedRwLockWriteGuard<T, F> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as for `RwLockWriteGuard`; `&mut self` makes it unique.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T, F: Flavor> Drop for OwnedRwLockWriteGuard<T, F> {
    fn drop(&mut self) {
        self.lock.release(true, None);
    }
}

impl<T: fmt::Debug, F: Flavor> fmt::Debug for OwnedRwLockWriteGuard<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use crate::sync::poll_once as poll;
    use std::future::Future;
    use std::panic::{AssertUnwindSafe, catch_unwind};
    use std::pin::Pin;
    use std::rc::Rc;
    use std::task::Poll;

    use crate::sync::{RwLock, threadsafe};

    #[test]
    fn a_waiting_writer_stops_new_readers() {
        let lock = RwLock::new(0);
        let first = lock.try_read().unwrap();
        let mut writer = lock.write();
        assert!(poll(&mut writer).is_pending());
        assert!(lock.try_read().is_none(), "a writer waits: no new reader");
        let mut reader = lock.read();
        assert!(poll(&mut reader).is_pending());
        drop(first);
        let Poll::Ready(mut write) = poll(&mut writer) else { panic!("the writer was next") };
        *write += 1;
        assert!(poll(&mut reader).is_pending());
        drop(write);
        let Poll::Ready(read) = poll(&mut reader) else { panic!("the reader was next") };
        assert_eq!(*read, 1);
    }

    #[test]
    fn readers_at_the_front_go_in_together_up_to_a_writer() {
        let lock = RwLock::new(());
        let write = lock.try_write().unwrap();
        let mut futures: Vec<Box<dyn Future<Output = bool> + Unpin + '_>> = vec![
            Box::new(Box::pin(async { drop(lock.read().await) }).map_done()),
            Box::new(Box::pin(async { drop(lock.read().await) }).map_done()),
            Box::new(Box::pin(async { drop(lock.write().await) }).map_done()),
            Box::new(Box::pin(async { drop(lock.read().await) }).map_done()),
        ];
        for f in &mut futures {
            assert!(poll(f).is_pending());
        }
        assert_eq!(lock.waiters(), 4);
        drop(write);
        assert_eq!((lock.readers(), lock.is_write_locked(), lock.waiters()), (2, false, 2));
        drop(futures.remove(0)); // handed a read, dropped: gives it back
        assert!(poll(&mut futures[0]) == Poll::Ready(true));
        assert!(lock.is_write_locked(), "the writer came next");
        assert!(poll(&mut futures[1]) == Poll::Ready(true));
        assert!(poll(&mut futures[2]) == Poll::Ready(true));
        assert_eq!((lock.readers(), lock.is_write_locked(), lock.waiters()), (0, false, 0));
    }

    #[test]
    fn a_writer_leaving_the_front_lets_the_readers_behind_it_in() {
        let lock = RwLock::new(());
        let read = lock.try_read().unwrap();
        let mut writer = lock.write();
        let mut reader = lock.read();
        assert!(poll(&mut writer).is_pending() && poll(&mut reader).is_pending());
        drop(writer);
        let Poll::Ready(second) = poll(&mut reader) else { panic!("no writer waits any more") };
        assert_eq!(lock.readers(), 2);
        drop((read, second));
    }

    #[test]
    fn downgrade_keeps_writers_out_and_lets_front_readers_in() {
        let lock = Rc::new(RwLock::new(1));
        let mut write = lock.clone().try_write_owned().unwrap();
        let mut reader = lock.read();
        let mut writer = lock.write();
        assert!(poll(&mut reader).is_pending() && poll(&mut writer).is_pending());
        *write = 2;
        let read = write.downgrade();
        let Poll::Ready(second) = poll(&mut reader) else { panic!("the reader at the front came in") };
        assert!(poll(&mut writer).is_pending());
        assert_eq!((*read, *second, lock.readers()), (2, 2, 2));
        drop(read);
        drop(second);
        assert!(poll(&mut writer).is_ready());
        drop(writer);
        assert_eq!(Rc::strong_count(&lock), 1, "the owned guards let go of the lock");
    }

    #[test]
    fn a_thread_that_would_wait_for_itself_panics_and_a_timeout_does_not() {
        let lock = threadsafe::RwLock::new(());
        let read = lock.try_read().unwrap();
        let again = lock.try_read().unwrap(); // a second read with nobody waiting is fine
        let upgrade = catch_unwind(AssertUnwindSafe(|| poll(&mut lock.write()).is_ready()));
        let message = upgrade.unwrap_err();
        let message = message.downcast_ref::<String>().unwrap();
        assert!(message.contains("already holds a guard"), "{message}");
        assert_eq!(lock.waiters(), 0, "the panicking wait never joined the line");
        // The timed form only waits (its deadline would end it).
        let mut timed = lock.wait(true, super::Reentry::Allow);
        assert!(poll(&mut timed).is_pending());
        drop(timed);
        drop((read, again));
        let write = lock.try_write().unwrap();
        assert!(catch_unwind(AssertUnwindSafe(|| poll(&mut lock.read()).is_ready())).is_err());
        drop(write);
        assert!(poll(&mut lock.write()).is_ready());
    }

    /// Maps a future to whether it completed, for a list of mixed futures.
    trait MapDone: Future<Output = ()> + Sized + Unpin {
        fn map_done(mut self) -> impl Future<Output = bool> + Unpin {
            std::future::poll_fn(move |cx| Pin::new(&mut self).poll(cx).map(|()| true))
        }
    }

    impl<F: Future<Output = ()> + Unpin> MapDone for F {}
}
