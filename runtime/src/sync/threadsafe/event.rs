//! The thread-safe `Event`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::{block_on, block_on_timeout, lock};
use crate::loom::sync::Mutex;
use crate::sync::wait_list::{Cancelled, WaitList};
use crate::sync::withdraw::{self, Withdraw};
use crate::task::compact::CompactWaker;

/// A thread-safe flag that green tasks and OS threads wait for; see
/// [`crate::sync::Event`].
pub struct Event {
    state: Mutex<EventState>,
}

struct EventState {
    flag: bool,
    waiters: WaitList,
}

impl Default for Event {
    fn default() -> Event {
        Event::new()
    }
}

impl Event {
    crate::loom::const_fn_unless_loom! {
        /// A new event, not set.
        pub const fn new() -> Event {
            Event { state: Mutex::new(EventState { flag: false, waiters: WaitList::new() }) }
        }
    }

    /// Whether the event is set.
    pub fn is_set(&self) -> bool {
        lock(&self.state).flag
    }

    /// Sets the flag and wakes every waiter, tasks and threads alike.
    pub fn set(&self) {
        let mut woken = Vec::new();
        {
            let mut state = lock(&self.state);
            state.flag = true;
            state.waiters.notify_all(&mut woken);
        }
        woken.into_iter().for_each(CompactWaker::wake);
    }

    /// Resets the flag.
    pub fn clear(&self) {
        lock(&self.state).flag = false;
    }

    /// Waits (asynchronously, in a green task) until the event is set.
    pub fn wait(&self) -> EventWait<'_> {
        EventWait { event: self, key: None }
    }

    /// Waits up to `timeout` in a green task; returns whether the event was
    /// set (a `set` that lands as the time-out falls counts).
    pub async fn wait_timeout(&self, timeout: Duration) -> bool {
        withdraw::timeout(timeout, self.wait()).await.is_ok()
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

    /// The number of tasks and threads waiting.
    pub fn waiters(&self) -> usize {
        lock(&self.state).waiters.len()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.state);
        f.debug_struct("Event").field("set", &state.flag).field("waiters", &state.waiters.len()).finish()
    }
}

/// The future returned by [`Event::wait`].
#[must_use = "futures do nothing unless awaited"]
pub struct EventWait<'a> {
    event: &'a Event,
    key: Option<u32>,
}

impl Future for EventWait<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = lock(&self.event.state);
        match self.key {
            Some(key) => {
                if state.waiters.poll(key, cx.waker()) {
                    drop(state);
                    self.key = None;
                    return Poll::Ready(());
                }
                Poll::Pending
            }
            None if state.flag => Poll::Ready(()),
            None => {
                let key = state.waiters.push(cx.waker());
                drop(state);
                self.key = Some(key);
                Poll::Pending
            }
        }
    }
}

impl Withdraw for EventWait<'_> {
    fn withdraw(&mut self) -> Option<()> {
        let key = self.key.take()?;
        let cancelled = lock(&self.event.state).waiters.cancel(key);
        (cancelled == Cancelled::Notified).then_some(())
    }
}

impl Drop for EventWait<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            // Every waiter is notified at once: nothing to pass on.
            let _ = lock(&self.event.state).waiters.cancel(key);
        }
    }
}

impl fmt::Debug for EventWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventWait").field("waiting", &self.key.is_some()).finish()
    }
}
