//! `Event`: a flag that tasks (and threads) wait for (`threading.Event`,
//! `gevent.event.Event`).

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::flavor::{Flavor, Local, LocalState, ThreadSafe};
use super::threadsafe::{block_on, block_on_timeout};
use super::wait_list::{Cancelled, WaitList};
use super::withdraw::{self, Withdraw};
use crate::loom::sync::Mutex;
use crate::task::compact::CompactWaker;
use crate::task::observe::{WaitOn, waiting_shared};

/// A flag that tasks can wait for. `set` wakes every waiter; waiting on a
/// set event returns at once. Use it as [`sync::Event`](crate::sync::Event)
/// or [`sync::threadsafe::Event`](crate::sync::threadsafe::Event).
pub struct Event<F: Flavor> {
    state: F::Shared<State>,
}

struct State {
    flag: Cell<bool>,
    waiters: RefCell<WaitList>,
}

impl State {
    const fn new(shared: bool) -> State {
        State { flag: Cell::new(false), waiters: RefCell::new(WaitList::new_in(shared)) }
    }
}

impl<F: Flavor> Default for Event<F> {
    fn default() -> Self {
        Event { state: F::share(State::new(F::THREAD_SAFE)) }
    }
}

impl Event<Local> {
    /// A new event, not set.
    pub const fn new() -> Self {
        Event { state: LocalState::new(State::new(false)) }
    }
}

impl Event<ThreadSafe> {
    crate::loom::const_fn_unless_loom! {
        /// A new event, not set.
        pub const fn new() -> Self {
            Event { state: Mutex::new(State::new(true)) }
        }
    }

    /// Blocks this OS thread until the event is set.
    ///
    /// # Panics
    /// Inside a sprout runtime.
    #[track_caller]
    pub fn wait_blocking(&self) {
        block_on("Event::wait_blocking", self.wait());
    }

    /// Blocks this OS thread up to `timeout`; returns whether the event was
    /// set (Python's `Event.wait(timeout)`).
    ///
    /// # Panics
    /// Inside a sprout runtime.
    #[track_caller]
    pub fn wait_blocking_timeout(&self, timeout: Duration) -> bool {
        block_on_timeout("Event::wait_blocking_timeout", self.wait(), timeout).is_some()
    }
}

impl<F: Flavor> Event<F> {
    /// Whether the event is set.
    pub fn is_set(&self) -> bool {
        F::step(&self.state).flag.get()
    }

    /// Sets the flag and wakes every waiter (tasks and threads alike), in
    /// the order they started waiting.
    pub fn set(&self) {
        let mut woken = Vec::new();
        {
            let state = F::step(&self.state);
            state.flag.set(true);
            state.waiters.borrow_mut().notify_all(&mut woken);
        }
        // Woken after the step: a waker may run arbitrary code.
        woken.into_iter().for_each(CompactWaker::wake);
    }

    /// Resets the flag. Tasks already woken by `set` still return.
    pub fn clear(&self) {
        F::step(&self.state).flag.set(false);
    }

    /// Waits (in a green task) until the event is set. Returns at once if it is.
    pub fn wait(&self) -> EventWait<'_, F> {
        EventWait { event: self, key: None }
    }

    /// Waits up to `timeout` in a green task; returns whether the event was
    /// set, like Python's `Event.wait(timeout)` (a `set` that lands as the
    /// time-out falls counts).
    pub async fn wait_timeout(&self, timeout: Duration) -> bool {
        withdraw::timeout(timeout, self.wait()).await.is_ok()
    }

    /// The number of tasks (and threads) waiting.
    pub fn waiters(&self) -> usize {
        F::step(&self.state).waiters.borrow().len()
    }
}

impl<F: Flavor> fmt::Debug for Event<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = F::step(&self.state);
        f.debug_struct("Event").field("set", &state.flag.get()).field("waiters", &state.waiters.borrow().len()).finish()
    }
}

/// The future returned by [`Event::wait`]. Dropping it stops the wait.
#[must_use = "futures do nothing unless awaited"]
pub struct EventWait<'a, F: Flavor> {
    event: &'a Event<F>,
    key: Option<u32>,
}

impl<F: Flavor> Future for EventWait<'_, F> {
    type Output = ();

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let state = F::step(&self.event.state);
        let mut waiters = state.waiters.borrow_mut();
        match self.key {
            Some(key) => {
                if waiters.poll(key, cx.waker()) {
                    drop(waiters);
                    drop(state);
                    self.key = None;
                    return Poll::Ready(());
                }
                drop(waiters);
                drop(state);
                waiting_shared(WaitOn::Event, F::THREAD_SAFE);
                Poll::Pending
            }
            None if state.flag.get() => Poll::Ready(()),
            None => {
                let key = waiters.push(cx.waker());
                drop(waiters);
                drop(state);
                self.key = Some(key);
                waiting_shared(WaitOn::Event, F::THREAD_SAFE);
                Poll::Pending
            }
        }
    }
}

impl<F: Flavor> Withdraw for EventWait<'_, F> {
    fn withdraw(&mut self) -> Option<()> {
        let key = self.key.take()?;
        let cancelled = F::step(&self.event.state).waiters.borrow_mut().cancel(key);
        (cancelled == Cancelled::Notified).then_some(())
    }
}

impl<F: Flavor> Drop for EventWait<'_, F> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            // A notification carries nothing to pass on: all waiters get one.
            let _ = F::step(&self.event.state).waiters.borrow_mut().cancel(key);
        }
    }
}

impl<F: Flavor> fmt::Debug for EventWait<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventWait").field("waiting", &self.key.is_some()).finish()
    }
}
