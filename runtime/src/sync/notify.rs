//! `Notify`: wake one waiting task, or every one, with at most one stored
//! permit (tokio's `Notify`).
//!
//! The state is a permit flag, an epoch and a wait list whose entries say
//! how they were notified:
//!
//! | field | meaning | invariant |
//! | --- | --- | --- |
//! | `permit` | a `notify_one` found nobody waiting | set only while no waiter is in the list (a `notify_one` with a waiter hands its permit over instead) |
//! | `epoch` | bumped by every `notify_waiters` | a future created at epoch `e` is notified once the epoch is past `e`, even if it was never polled |
//! | waiter's value | `true`: handed a `notify_one` permit | only a `true` waiter passes its notification on when dropped |

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::flavor::{Flavor, Local, LocalState, ThreadSafe};
use super::threadsafe::{block_on, block_on_timeout};
use super::wait_list::{Cancelled, WaitList};
use super::withdraw::Withdraw;
use crate::loom::sync::Mutex;
use crate::task::compact::CompactWaker;
use crate::task::observe::{WaitOn, waiting_shared};

/// Wakes tasks waiting in [`notified`](Self::notified): one
/// ([`notify_one`](Self::notify_one), which stores a permit if nobody
/// waits) or every one waiting now ([`notify_waiters`](Self::notify_waiters),
/// which stores nothing). Use it as [`sync::Notify`](crate::sync::Notify)
/// or [`sync::threadsafe::Notify`](crate::sync::threadsafe::Notify).
///
/// Waiters are served in arrival order. A `notified` future dropped after
/// a `notify_one` chose it passes the notification on, to the next waiter
/// or to the stored permit, so none is lost to a cancelled task.
pub struct Notify<F: Flavor> {
    state: F::Shared<State>,
}

struct State {
    permit: Cell<bool>,
    epoch: Cell<u64>,
    /// Each waiter's value: whether a `notify_one` chose it.
    waiters: RefCell<WaitList<bool>>,
}

impl State {
    const fn new(shared: bool) -> State {
        State { permit: Cell::new(false), epoch: Cell::new(0), waiters: RefCell::new(WaitList::new_in(shared)) }
    }
}

impl<F: Flavor> Default for Notify<F> {
    fn default() -> Self {
        Notify { state: F::share(State::new(F::THREAD_SAFE)) }
    }
}

impl Notify<Local> {
    /// A `Notify` with no stored permit.
    pub const fn new() -> Self {
        Notify { state: LocalState::new(State::new(false)) }
    }
}

impl Notify<ThreadSafe> {
    crate::loom::const_fn_unless_loom! {
        /// A `Notify` with no stored permit.
        pub const fn new() -> Self {
            Notify { state: Mutex::new(State::new(true)) }
        }
    }

    /// Blocks this OS thread until notified (or takes the stored permit).
    ///
    /// # Panics
    /// Inside a sprout runtime.
    #[track_caller]
    pub fn notified_blocking(&self) {
        block_on("Notify::notified_blocking", self.notified());
    }

    /// Blocks this OS thread at most `timeout` for a notification; returns
    /// whether it got one. A `notify_one` that chose it as the time-out
    /// fell counts (it is not passed on).
    ///
    /// # Panics
    /// Inside a sprout runtime.
    #[track_caller]
    pub fn notified_blocking_timeout(&self, timeout: Duration) -> bool {
        block_on_timeout("Notify::notified_blocking_timeout", self.notified(), timeout).is_some()
    }
}

impl<F: Flavor> Notify<F> {
    /// Wakes the longest-waiting waiter; with nobody waiting, stores a
    /// permit that the next `notified` takes at once. Permits do not add
    /// up: there is at most one.
    pub fn notify_one(&self) {
        let handed = {
            let state = F::step(&self.state);
            let handed = state.waiters.borrow_mut().notify_one_with(|one| *one = true);
            if handed.is_none() {
                state.permit.set(true);
            }
            handed
        };
        // Woken after the step: a waker may run arbitrary code.
        if let Some((waker, ())) = handed {
            waker.wake();
        }
    }

    /// Wakes every waiter, and every `notified` future created before this
    /// call even if it was not polled yet. Stores no permit: a `notified`
    /// created afterwards waits for the next notification.
    pub fn notify_waiters(&self) {
        let mut woken = Vec::new();
        {
            let state = F::step(&self.state);
            state.epoch.set(state.epoch.get().wrapping_add(1));
            state.waiters.borrow_mut().notify_all(&mut woken);
        }
        woken.into_iter().for_each(CompactWaker::wake);
    }

    /// Waits (in a green task) for a notification. The future counts from
    /// its creation: a `notify_waiters` between `notified()` and the first
    /// poll wakes it, which is what lets a task create it, check its
    /// condition, and only then wait, without missing a notification.
    pub fn notified(&self) -> Notified<'_, F> {
        let epoch = F::step(&self.state).epoch.get();
        Notified { notify: self, epoch, phase: Phase::Created }
    }

    /// The number of tasks (and threads) waiting.
    pub fn waiters(&self) -> usize {
        F::step(&self.state).waiters.borrow().len()
    }

    /// Whether a permit is stored.
    pub fn has_permit(&self) -> bool {
        F::step(&self.state).permit.get()
    }
}

impl<F: Flavor> fmt::Debug for Notify<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = F::step(&self.state);
        f.debug_struct("Notify")
            .field("permit", &state.permit.get())
            .field("waiters", &state.waiters.borrow().len())
            .finish()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Created,
    Waiting(u32),
    Done,
}

/// The future returned by [`Notify::notified`]. Dropping it stops the
/// wait; a `notify_one` it had been chosen by goes to the next waiter (or
/// back to the stored permit).
#[must_use = "futures do nothing unless awaited"]
pub struct Notified<'a, F: Flavor> {
    notify: &'a Notify<F>,
    /// The epoch at creation (see [`Notify::notified`]).
    epoch: u64,
    phase: Phase,
}

impl<F: Flavor> Future for Notified<'_, F> {
    type Output = ();

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let state = F::step(&self.notify.state);
        match self.phase {
            Phase::Done => Poll::Ready(()),
            Phase::Waiting(key) => {
                if state.waiters.borrow_mut().poll_take(key, cx.waker()).is_some() {
                    drop(state);
                    self.phase = Phase::Done;
                    return Poll::Ready(());
                }
                drop(state);
                waiting_shared(WaitOn::Notify, F::THREAD_SAFE);
                Poll::Pending
            }
            // Check and register in one step: a notify cannot fall in between.
            Phase::Created => {
                if state.epoch.get() != self.epoch || state.permit.replace(false) {
                    drop(state);
                    self.phase = Phase::Done;
                    return Poll::Ready(());
                }
                let key = state.waiters.borrow_mut().push_with(cx.waker(), false);
                drop(state);
                self.phase = Phase::Waiting(key);
                waiting_shared(WaitOn::Notify, F::THREAD_SAFE);
                Poll::Pending
            }
        }
    }
}

impl<F: Flavor> Withdraw for Notified<'_, F> {
    fn withdraw(&mut self) -> Option<()> {
        let Phase::Waiting(key) = self.phase else { return None };
        self.phase = Phase::Done;
        let (cancelled, _) = F::step(&self.notify.state).waiters.borrow_mut().cancel_take(key);
        // Notified meanwhile (either way): the caller keeps it.
        (cancelled == Cancelled::Notified).then_some(())
    }
}

impl<F: Flavor> Drop for Notified<'_, F> {
    fn drop(&mut self) {
        if let Phase::Waiting(key) = self.phase {
            let (cancelled, one) = F::step(&self.notify.state).waiters.borrow_mut().cancel_take(key);
            if cancelled == Cancelled::Notified && one {
                // Chosen by a `notify_one`, but gone: pass it on.
                self.notify.notify_one();
            }
        }
    }
}

impl<F: Flavor> fmt::Debug for Notified<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notified").field("waiting", &matches!(self.phase, Phase::Waiting(_))).finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use crate::sync::poll_once as poll;

    use crate::sync::Notify;

    #[test]
    fn one_permit_is_stored_and_they_do_not_add_up() {
        let notify = Notify::new();
        notify.notify_one();
        notify.notify_one();
        assert!(notify.has_permit());
        assert!(poll(&mut notify.notified()).is_ready());
        assert!(poll(&mut notify.notified()).is_pending(), "one permit, not two");
    }

    #[test]
    fn notify_waiters_reaches_futures_created_before_it_and_stores_nothing() {
        let notify = Notify::new();
        let mut polled = notify.notified();
        assert!(poll(&mut polled).is_pending());
        let mut unpolled = notify.notified();
        notify.notify_waiters();
        let mut after = notify.notified();
        assert!(poll(&mut polled).is_ready());
        assert!(poll(&mut unpolled).is_ready(), "created before the notify: notified");
        assert!(poll(&mut after).is_pending(), "created after it: waits");
        assert!(!notify.has_permit());
        // A completed future stays complete and takes no permit.
        notify.notify_one();
        assert!(poll(&mut polled).is_ready());
        drop(after);
        assert!(notify.has_permit(), "the permit is still there");
    }

    #[test]
    fn a_dropped_waiter_passes_a_notify_one_on_but_not_a_notify_waiters() {
        let notify = Notify::new();
        let (mut first, mut second) = (notify.notified(), notify.notified());
        assert!(poll(&mut first).is_pending() && poll(&mut second).is_pending());
        notify.notify_one();
        drop(first); // chosen, gone: the second gets it
        assert!(poll(&mut second).is_ready());
        let mut alone = notify.notified();
        assert!(poll(&mut alone).is_pending());
        notify.notify_one();
        drop(alone); // nobody else waits: back to the permit
        assert!(notify.has_permit());
        assert!(poll(&mut notify.notified()).is_ready());
        let mut woken = notify.notified();
        assert!(poll(&mut woken).is_pending());
        notify.notify_waiters();
        drop(woken);
        assert!(!notify.has_permit(), "a notify_waiters is not passed on");
        assert_eq!(notify.waiters(), 0);
    }
}
