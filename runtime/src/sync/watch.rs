//! A watch channel: one sender publishes the latest value, any number of
//! receivers read it and wait for it to change (tokio's `watch`).
//!
//! ```
//! use sprout::sync::watch;
//!
//! sprout::run(async {
//!     let (tx, mut rx) = watch::channel("starting");
//!     let follower = sprout::spawn(async move {
//!         let mut seen = Vec::new();
//!         while rx.changed().await.is_ok() {
//!             seen.push(*rx.borrow_and_update());
//!         }
//!         seen // the sender is gone: the end
//!     });
//!     sprout::yield_now().await;
//!     tx.send("ready").unwrap();
//!     sprout::yield_now().await;
//!     tx.send_modify(|state| *state = "done");
//!     drop(tx);
//!     assert_eq!(follower.await.unwrap().last(), Some(&"done"));
//! });
//! ```
//!
//! # The contract
//! - The channel holds one value; a send replaces it and bumps a version.
//!   A receiver remembers the version it has seen: `changed().await`
//!   returns as soon as the version differs (at once if it already does),
//!   so a receiver never misses that a change happened, though it sees
//!   only the latest value (intermediate ones are skipped by design).
//! - `borrow()` reads the value without marking it seen;
//!   `borrow_and_update()` marks it seen. The returned [`Ref`] holds the
//!   value's read borrow (a `RefCell` borrow, or an `RwLock` read guard
//!   for the thread-safe flavour): keep it short and never across an
//!   `.await`. A runtime-local send while a `Ref` is alive panics, saying
//!   so; a thread-safe one waits for the reader, as tokio's does.
//! - When the [`Sender`] is dropped the channel is closed: `changed()`
//!   returns `Err(RecvError)` once the last value has been seen, which is
//!   how a receiver learns the end.
//! - A `changed` future dropped while it waits leaves the line; nothing is
//!   lost (the version is still there to compare).
//!
//! The types default to the runtime-local flavour;
//! [`crate::sync::threadsafe::watch`] has the same channel for tasks and
//! threads. (It is in `sync`, beside `broadcast`, for the reason given
//! there: it is not a queue.)

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::Deref;
use std::pin::Pin;
use std::task::{Context, Poll};

pub use super::broadcast::SendError;
use super::flavor::{Flavor, Local, ReadWrite, ThreadSafe};
use super::threadsafe::block_on;
use super::wait_list::WaitList;
use crate::task::compact::CompactWaker;
use crate::task::observe::{WaitOn, waiting_shared};

/// Creates a watch channel holding `init`, with one receiver (which has
/// seen `init`: its first `changed` waits for a send).
pub fn channel<T>(init: T) -> (Sender<T>, Receiver<T>) {
    make(init)
}

/// [`channel`], in either flavour.
pub(crate) fn make<T, F: Flavor>(init: T) -> (Sender<T, F>, Receiver<T, F>) {
    let state = State {
        version: Cell::new(0),
        closed: Cell::new(false),
        receivers: Cell::new(1),
        waiters: RefCell::new(WaitList::new_in(F::THREAD_SAFE)),
    };
    let shared = F::rc(Shared { value: F::ReadWrite::<T>::new(init), state: F::share(state) });
    (Sender { shared: shared.clone() }, Receiver { shared, seen: 0 })
}

struct Shared<T, F: Flavor> {
    /// Written by the sender only; the version below changes under its write.
    value: F::ReadWrite<T>,
    state: F::Shared<State>,
}

struct State {
    /// Bumped by every change, while the value's write is held: a reader
    /// holding the read sees the version of the value it reads.
    version: Cell<u64>,
    /// The sender is gone.
    closed: Cell<bool>,
    receivers: Cell<usize>,
    /// Receivers waiting in `changed`.
    waiters: RefCell<WaitList>,
}

/// Publishes the value; dropping it closes the channel.
pub struct Sender<T, F: Flavor = Local> {
    shared: F::Rc<Shared<T, F>>,
}

/// Reads the latest value and waits for changes. Clone it for another
/// receiver that has seen what this one has.
pub struct Receiver<T, F: Flavor = Local> {
    shared: F::Rc<Shared<T, F>>,
    /// The version this receiver has seen.
    seen: u64,
}

/// A read borrow of the value (see the module docs: keep it short).
pub struct Ref<'a, T, F: Flavor = Local> {
    guard: <F::ReadWrite<T> as ReadWrite>::Read<'a>,
    changed: bool,
    /// Says the cell outlives `'a` (the guard's type alone cannot).
    _cell: PhantomData<&'a F::ReadWrite<T>>,
}

/// The error of [`Receiver::changed`]: the sender is gone, and the last
/// value was seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecvError(pub(crate) ());

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("watch channel closed")
    }
}

impl std::error::Error for RecvError {}

impl<T, F: Flavor> Sender<T, F> {
    /// Replaces the value and wakes the receivers waiting for a change.
    /// With no receiver, fails, handing `value` back and storing nothing
    /// (tokio's rule; [`send_replace`](Self::send_replace) always stores).
    ///
    /// # Panics
    /// Runtime-local: if a [`Ref`] of the value is alive.
    #[track_caller]
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        if F::step(&self.shared.state).receivers.get() == 0 {
            return Err(SendError(value));
        }
        drop(self.send_replace(value));
        Ok(())
    }

    /// Replaces the value, with or without receivers, and returns the old one.
    ///
    /// # Panics
    /// Runtime-local: if a [`Ref`] of the value is alive.
    #[track_caller]
    pub fn send_replace(&self, value: T) -> T {
        let mut value = Some(value);
        let mut old = None;
        self.send_if_modified(|current| {
            old = Some(std::mem::replace(current, value.take().expect("called once")));
            true
        });
        old.expect("the closure ran")
    }

    /// Changes the value in place and wakes the receivers.
    ///
    /// # Panics
    /// Runtime-local: if a [`Ref`] of the value is alive, or if `modify`
    /// borrows the value through a receiver.
    #[track_caller]
    pub fn send_modify(&self, modify: impl FnOnce(&mut T)) {
        self.send_if_modified(|value| {
            modify(value);
            true
        });
    }

    /// Lets `modify` change the value; if it returns true, the change is
    /// published (the version bumps, the receivers wake). Returns what
    /// `modify` returned.
    ///
    /// # Panics
    /// As [`send_modify`](Self::send_modify).
    #[track_caller]
    pub fn send_if_modified(&self, modify: impl FnOnce(&mut T) -> bool) -> bool {
        let Some(mut value) = self.shared.value.try_write() else {
            panic!(
                "watch::Sender: the value is borrowed (a watch::Ref is alive); \
                 keep borrows short and never hold one across an .await"
            )
        };
        // The user's closure runs outside the step.
        let modified = modify(&mut value);
        let mut woken = Vec::new();
        if modified {
            let state = F::step(&self.shared.state);
            state.version.set(state.version.get() + 1);
            state.waiters.borrow_mut().notify_all(&mut woken);
        }
        drop(value);
        woken.into_iter().for_each(CompactWaker::wake);
        modified
    }

    /// Reads the value.
    pub fn borrow(&self) -> Ref<'_, T, F> {
        Ref { guard: self.shared.value.read(), changed: false, _cell: PhantomData }
    }

    /// A new receiver, which has seen the current value.
    pub fn subscribe(&self) -> Receiver<T, F> {
        let state = F::step(&self.shared.state);
        state.receivers.set(state.receivers.get() + 1);
        let seen = state.version.get();
        drop(state);
        Receiver { shared: self.shared.clone(), seen }
    }

    /// The number of receivers.
    pub fn receiver_count(&self) -> usize {
        F::step(&self.shared.state).receivers.get()
    }

    /// Whether every receiver is gone.
    pub fn is_closed(&self) -> bool {
        self.receiver_count() == 0
    }
}

impl<T, F: Flavor> Drop for Sender<T, F> {
    fn drop(&mut self) {
        let mut woken = Vec::new();
        {
            let state = F::step(&self.shared.state);
            state.closed.set(true);
            state.waiters.borrow_mut().notify_all(&mut woken);
        }
        woken.into_iter().for_each(CompactWaker::wake);
    }
}

impl<T: fmt::Debug, F: Flavor> fmt::Debug for Sender<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").field("value", &*self.borrow()).finish()
    }
}

impl<T, F: Flavor> Receiver<T, F> {
    /// Reads the value, without marking it seen.
    pub fn borrow(&self) -> Ref<'_, T, F> {
        let guard = self.shared.value.read();
        let changed = F::step(&self.shared.state).version.get() != self.seen;
        Ref { guard, changed, _cell: PhantomData }
    }

    /// Reads the value and marks it seen: `changed` waits for the next send.
    pub fn borrow_and_update(&mut self) -> Ref<'_, T, F> {
        let guard = self.shared.value.read();
        // Under the read: the version is the one of the value read.
        let version = F::step(&self.shared.state).version.get();
        let changed = version != self.seen;
        self.seen = version;
        Ref { guard, changed, _cell: PhantomData }
    }

    /// Waits (in a green task) until the value changes from the one this
    /// receiver has seen: at once if it already has. `Err` once the sender
    /// is gone and the last value was seen. Does not mark the value seen
    /// by itself: read it with `borrow_and_update` (or call this again,
    /// which marks it).
    ///
    /// Cancellation-safe: dropping the future loses nothing.
    pub fn changed(&mut self) -> Changed<'_, T, F> {
        Changed { rx: self, key: None }
    }

    /// Whether the value changed since this receiver saw it. `Err` once
    /// the sender is gone and the last value was seen (so, like
    /// `changed`, an unseen last value is still reported).
    pub fn has_changed(&self) -> Result<bool, RecvError> {
        let state = F::step(&self.shared.state);
        let changed = state.version.get() != self.seen;
        if !changed && state.closed.get() {
            return Err(RecvError(()));
        }
        Ok(changed)
    }

    /// Marks the current value seen.
    pub fn mark_unchanged(&mut self) {
        self.seen = F::step(&self.shared.state).version.get();
    }

    /// Marks the value unseen: the next `changed` returns at once.
    pub fn mark_changed(&mut self) {
        self.seen = F::step(&self.shared.state).version.get().wrapping_sub(1);
    }

    /// Waits until `accept` holds for the value (checking it first, then at
    /// each change), marks it seen and returns it. `Err` if the sender goes
    /// away first.
    pub async fn wait_for(&mut self, mut accept: impl FnMut(&T) -> bool) -> Result<Ref<'_, T, F>, RecvError> {
        loop {
            let ok = accept(&self.borrow_and_update());
            if ok {
                return Ok(self.borrow());
            }
            self.changed().await?;
        }
    }

    /// Whether the sender is gone.
    pub fn is_closed(&self) -> bool {
        F::step(&self.shared.state).closed.get()
    }
}

impl<T> Receiver<T, ThreadSafe> {
    /// Blocks this OS thread until the value changes.
    ///
    /// # Panics
    /// Inside a sprout runtime.
    #[track_caller]
    pub fn changed_blocking(&mut self) -> Result<(), RecvError> {
        block_on("watch::Receiver::changed_blocking", self.changed())
    }
}

impl<T, F: Flavor> Clone for Receiver<T, F> {
    fn clone(&self) -> Self {
        let state = F::step(&self.shared.state);
        state.receivers.set(state.receivers.get() + 1);
        drop(state);
        Receiver { shared: self.shared.clone(), seen: self.seen }
    }
}

impl<T, F: Flavor> Drop for Receiver<T, F> {
    fn drop(&mut self) {
        let state = F::step(&self.shared.state);
        state.receivers.set(state.receivers.get() - 1);
    }
}

impl<T: fmt::Debug, F: Flavor> fmt::Debug for Receiver<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").field("value", &*self.borrow()).finish()
    }
}

impl<T, F: Flavor> Ref<'_, T, F> {
    /// Whether the value read is one the receiver had not seen.
    pub fn has_changed(&self) -> bool {
        self.changed
    }
}

impl<T, F: Flavor> Deref for Ref<'_, T, F> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T: fmt::Debug, F: Flavor> fmt::Debug for Ref<'_, T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// The future returned by [`Receiver::changed`]. Dropping it loses nothing.
#[must_use = "futures do nothing unless awaited"]
pub struct Changed<'a, T, F: Flavor = Local> {
    rx: &'a mut Receiver<T, F>,
    key: Option<u32>,
}

impl<T, F: Flavor> Future for Changed<'_, T, F> {
    type Output = Result<(), RecvError>;

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let state = F::step(&this.rx.shared.state);
        if let Some(key) = this.key {
            if state.waiters.borrow_mut().poll_take(key, cx.waker()).is_none() {
                drop(state);
                waiting_shared(WaitOn::Watch, F::THREAD_SAFE);
                return Poll::Pending;
            }
            this.key = None;
        }
        // Look and register in one step: a send cannot fall in between.
        let version = state.version.get();
        if version != this.rx.seen {
            this.rx.seen = version;
            return Poll::Ready(Ok(()));
        }
        if state.closed.get() {
            return Poll::Ready(Err(RecvError(())));
        }
        this.key = Some(state.waiters.borrow_mut().push(cx.waker()));
        drop(state);
        waiting_shared(WaitOn::Watch, F::THREAD_SAFE);
        Poll::Pending
    }
}

impl<T, F: Flavor> Drop for Changed<'_, T, F> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            // A wake carries nothing: the version is still there to compare.
            let _ = F::step(&self.rx.shared.state).waiters.borrow_mut().cancel(key);
        }
    }
}

impl<T, F: Flavor> fmt::Debug for Changed<'_, T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Changed").field("waiting", &self.key.is_some()).finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use crate::sync::poll_once as poll;

    use std::task::Poll;

    use super::channel;

    #[test]
    fn changed_sees_the_latest_and_the_end() {
        let (tx, mut rx) = channel(0);
        let mut other = rx.clone();
        assert!(poll(&mut rx.changed()).is_pending(), "the initial value counts as seen");
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        assert!(rx.borrow().has_changed());
        assert_eq!(poll(&mut rx.changed()), Poll::Ready(Ok(())));
        assert_eq!(*rx.borrow_and_update(), 2, "only the latest value");
        assert!(poll(&mut rx.changed()).is_pending());
        assert_eq!(other.has_changed(), Ok(true));
        tx.send_modify(|v| *v += 1);
        assert!(!tx.send_if_modified(|_| false), "not modified: not published");
        drop(tx);
        assert_eq!(poll(&mut rx.changed()), Poll::Ready(Ok(())), "the last value is still news");
        assert!(matches!(poll(&mut rx.changed()), Poll::Ready(Err(_))), "then the end");
        assert_eq!(*other.borrow_and_update(), 3);
        assert!(other.has_changed().is_err());
    }

    #[test]
    fn send_needs_a_receiver_and_a_dropped_changed_loses_nothing() {
        let (tx, rx) = channel("a");
        drop(rx);
        assert_eq!(tx.send("b").map_err(|e| e.0), Err("b"));
        assert_eq!(tx.send_replace("c"), "a");
        let mut rx = tx.subscribe();
        let mut changed = rx.changed();
        assert!(poll(&mut changed).is_pending());
        tx.send("d").unwrap();
        drop(changed);
        assert_eq!(poll(&mut rx.changed()), Poll::Ready(Ok(())));
        assert_eq!(*rx.borrow(), "d");
    }

    #[test]
    #[should_panic(expected = "the value is borrowed")]
    fn a_local_send_while_a_ref_is_alive_is_a_clear_panic() {
        let (tx, rx) = channel(1);
        let _held = rx.borrow();
        tx.send_replace(2);
    }
}
