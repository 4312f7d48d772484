//! `Event`: a flag that tasks wait for (`threading.Event`, `gevent.event.Event`).

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::wait_list::WaitList;
use crate::task::compact::CompactWaker;

/// A flag that tasks can wait for. `set` wakes every waiter; waiting on a
/// set event returns at once.
///
/// Share it between tasks with an `Rc` (or a `&'static`).
///
/// ```
/// use std::rc::Rc;
/// use sprout_runtime::{run, spawn, sync::Event};
///
/// run(async {
///     let ready = Rc::new(Event::new());
///     let waiter = spawn({
///         let ready = ready.clone();
///         async move {
///             ready.wait().await;
///             "go"
///         }
///     });
///     ready.set();
///     assert_eq!(waiter.await.unwrap(), "go");
/// });
/// ```
pub struct Event {
    flag: Cell<bool>,
    waiters: RefCell<WaitList>,
}

impl Default for Event {
    fn default() -> Event {
        Event::new()
    }
}

impl Event {
    /// A new event, not set.
    pub const fn new() -> Event {
        Event { flag: Cell::new(false), waiters: RefCell::new(WaitList::new()) }
    }

    /// Whether the event is set.
    pub fn is_set(&self) -> bool {
        self.flag.get()
    }

    /// Sets the flag and wakes every waiter, in the order they started waiting.
    pub fn set(&self) {
        self.flag.set(true);
        let mut woken = Vec::new();
        self.waiters.borrow_mut().notify_all(&mut woken);
        // Woken after the borrow ends: a waker may run arbitrary code.
        woken.into_iter().for_each(CompactWaker::wake);
    }

    /// Resets the flag. Tasks already woken by `set` still return.
    pub fn clear(&self) {
        self.flag.set(false);
    }

    /// Waits until the event is set. Returns at once if it is.
    pub fn wait(&self) -> Wait<'_> {
        Wait { event: self, key: None }
    }

    /// Waits up to `timeout`; returns whether the event was set, like
    /// Python's `Event.wait(timeout)`.
    pub async fn wait_timeout(&self, timeout: Duration) -> bool {
        crate::time::timeout(timeout, self.wait()).await.is_ok()
    }

    /// The number of tasks waiting.
    pub fn waiters(&self) -> usize {
        self.waiters.borrow().len()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event").field("set", &self.is_set()).field("waiters", &self.waiters()).finish()
    }
}

/// The future returned by [`Event::wait`]. Dropping it stops the wait.
#[must_use = "futures do nothing unless awaited"]
pub struct Wait<'a> {
    event: &'a Event,
    key: Option<u32>,
}

impl Future for Wait<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let event = self.event;
        let mut waiters = event.waiters.borrow_mut();
        match self.key {
            Some(key) => {
                if waiters.poll(key, cx.waker()) {
                    self.key = None;
                    return Poll::Ready(());
                }
                Poll::Pending
            }
            None if event.flag.get() => Poll::Ready(()),
            None => {
                self.key = Some(waiters.push(cx.waker()));
                Poll::Pending
            }
        }
    }
}

impl Drop for Wait<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            // A notification carries nothing to pass on: all waiters get one.
            let _ = self.event.waiters.borrow_mut().cancel(key);
        }
    }
}

impl fmt::Debug for Wait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wait").field("waiting", &self.key.is_some()).finish()
    }
}
