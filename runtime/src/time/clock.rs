//! The clock the time driver reads, and virtual time: [`pause`],
//! [`resume`], [`advance`], [`now`].
//!
//! Ground rules:
//! - A runtime's clock is std's (`Instant::now()`) until something pauses
//!   it; from then on it is *virtual*, forever, for that runtime. The hot
//!   path reads one flag (`virtual_`) and calls `Instant::now()` when it is
//!   clear, so a runtime that never pauses pays a load and a branch.
//! - A virtual clock is shared (`virtual_clock.rs`): every runtime started
//!   from a runtime whose clock is virtual (the cores of `cores/`, so the
//!   workers of `StreamServer::workers` and `http::Server::workers`) reads
//!   the same one, and a `cores` set built with `start_paused` shares one
//!   of its own. Each reader is a *member*; the membership lives here.
//! - Virtual time is still a `std::time::Instant`: while paused the clock
//!   stands at its base; once resumed it runs again from there at real
//!   speed. It never goes backwards, so the wheel's ticks stay monotonic.
//!   It is not std's `Instant::now()` any more: after `advance(1h)` the
//!   virtual clock is an hour ahead of it, and while paused it falls behind
//!   it. Deadlines meant to follow the virtual clock are computed from
//!   [`now`], as `sleep`, `timeout`, `interval` and sprout-net's socket
//!   timeouts do.
//! - Who moves it: `pause`, `resume` and `advance` (the user, from inside
//!   a runtime that shares it), and the loop's auto-advance (`EventLoop::turn`,
//!   through [`Clock::vote`]), which jumps a paused clock to the next
//!   timer's deadline when every runtime sharing it is idle. Nothing else
//!   writes it.
//!
//! Who reads it: only the time driver (`TimeDriver::now`, the loop's one
//! clock reading) and [`now`] (sleep deadlines, intervals, the layers above).

use std::cell::{Cell, OnceCell};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use super::driver::TimeDriver;
use super::virtual_clock::VirtualClock;
use crate::task::executor::Executor;

/// One runtime's clock: std's, or its membership of a virtual one. See the
/// module docs.
#[derive(Debug)]
pub(crate) struct Clock {
    /// False while the clock is std's: the one field the hot path reads.
    /// Set once the runtime joins a virtual clock, and never cleared.
    virtual_: Cell<bool>,
    /// The virtual clock, once there is one, and this runtime's id in it.
    shared: OnceCell<Membership>,
    /// What a virtual clock made later by `pause` starts with
    /// (`Builder::auto_advance`).
    auto_advance: bool,
    /// How the other members rouse this runtime's loop (its eventfd).
    rouse: Waker,
    /// This runtime's vote in the virtual clock is idle: it must withdraw
    /// it before it runs anything (`withdraw`).
    voted: Cell<bool>,
    /// A vote planned before a zero-timeout poll: the sequence number read
    /// before the poll (`plan_vote`, then `vote`).
    plan: Cell<Option<u64>>,
}

/// A runtime inside `block_on`, for its virtual clock ([`Clock::running`]).
pub(crate) struct Running<'a>(&'a Clock);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.set_running(false);
    }
}

/// A runtime's place in a virtual clock; leaving is dropping it.
#[derive(Debug)]
struct Membership {
    clock: Arc<VirtualClock>,
    id: usize,
}

impl Drop for Membership {
    fn drop(&mut self) {
        self.clock.leave(self.id);
    }
}

impl Clock {
    /// A runtime's clock: a member of `shared` if given (a runtime started
    /// from a paused one), else a new virtual clock paused now if `paused`,
    /// else std's. `rouse` wakes the runtime's loop from its poll.
    pub(crate) fn new(paused: bool, auto_advance: bool, shared: Option<Arc<VirtualClock>>, rouse: Waker) -> Clock {
        let clock = Clock {
            virtual_: Cell::new(false),
            shared: OnceCell::new(),
            auto_advance,
            rouse,
            voted: Cell::new(false),
            plan: Cell::new(None),
        };
        match shared {
            Some(shared) => clock.join(shared),
            None if paused => clock.join(VirtualClock::new(Instant::now(), true, auto_advance)),
            None => {}
        }
        clock
    }

    fn join(&self, clock: Arc<VirtualClock>) {
        let id = clock.join(self.rouse.clone());
        let _ = self.shared.set(Membership { clock, id });
        self.virtual_.set(true);
    }

    /// The virtual clock, if this runtime reads one: for the runtimes it
    /// starts.
    pub(crate) fn virtual_clock(&self) -> Option<Arc<VirtualClock>> {
        self.shared.get().map(|m| m.clock.clone())
    }

    /// The time.
    #[inline]
    pub(crate) fn now(&self) -> Instant {
        if !self.virtual_.get() {
            return Instant::now();
        }
        self.virtual_now()
    }

    #[cold]
    fn virtual_now(&self) -> Instant {
        match self.shared.get() {
            Some(m) => m.clock.now(),
            None => Instant::now(),
        }
    }

    /// Whether the clock stands still.
    #[inline]
    pub(crate) fn is_paused(&self) -> bool {
        self.virtual_.get() && self.shared.get().is_some_and(|m| m.clock.is_paused())
    }

    /// Whether some other runtime (or a core's thread) reads this clock
    /// too, and so may move it.
    pub(crate) fn is_shared(&self) -> bool {
        self.shared.get().is_some_and(|m| m.clock.shared_beyond(m.id))
    }

    /// Whether the loop may jump it while paused.
    pub(crate) fn auto_advance(&self) -> bool {
        match self.shared.get() {
            Some(m) => m.clock.auto_advance(),
            None => self.auto_advance,
        }
    }

    /// Stops the clock at the current time (a no-op if it is stopped); the
    /// first pause makes it virtual.
    pub(crate) fn pause(&self) {
        match self.shared.get() {
            Some(m) => m.clock.pause(m.id),
            // A runtime that runs a task that pauses is busy, as `join` has it.
            None => self.join(VirtualClock::new(Instant::now(), true, self.auto_advance)),
        }
    }

    /// Lets a paused clock run again from where it stands (a no-op if it runs).
    pub(crate) fn resume(&self) {
        if let Some(m) = self.shared.get() {
            m.clock.resume(m.id);
        }
    }

    /// Moves a paused clock forward by `by` (saturating at "never").
    pub(crate) fn advance(&self, by: Duration) {
        if let Some(m) = self.shared.get() {
            m.clock.advance(m.id, by);
        }
    }

    /// The runtime enters `block_on`, until the guard drops: outside it,
    /// it runs nothing and holds no jump of a shared clock off
    /// (`virtual_clock.rs`, "Away").
    pub(crate) fn running(&self) -> Running<'_> {
        self.set_running(true);
        Running(self)
    }

    fn set_running(&self, running: bool) {
        // A clock that becomes virtual inside `block_on` (`pause`) joins
        // busy, as this sets it.
        if let Some(m) = self.shared.get() {
            self.voted.set(false);
            self.plan.set(None);
            m.clock.set_running(m.id, running);
        }
    }

    /// Step 4 of a loop that would wait with the clock paused and
    /// auto-advance allowed: whether to poll with a zero timeout and then
    /// [`vote`](Self::vote) (true), or to wait, because this runtime's
    /// idle vote is current and the others are not all idle yet.
    pub(crate) fn plan_vote(&self) -> bool {
        let Some(m) = self.shared.get() else { return false };
        let plan = m.clock.plan(m.id);
        self.plan.set(plan);
        plan.is_some()
    }

    /// Step 5 after a planned zero-timeout poll that woke nothing, with no
    /// task ready: this runtime is idle, its next timer at `next`. Returns
    /// whether the clock jumped (fire the due timers).
    pub(crate) fn vote(&self, next: Option<Instant>) -> bool {
        let (Some(seen), Some(m)) = (self.plan.take(), self.shared.get()) else { return false };
        self.voted.set(true);
        m.clock.vote(m.id, seen, next)
    }

    /// Step 5 after a planned poll that found work: no vote.
    pub(crate) fn drop_plan(&self) {
        self.plan.set(None);
    }

    /// The runtime is about to run something (a message, a woken task):
    /// its idle vote, if it cast one, no longer holds. One load when it did
    /// not.
    #[inline]
    pub(crate) fn withdraw(&self) {
        if self.voted.get() {
            self.withdraw_vote();
        }
    }

    #[cold]
    fn withdraw_vote(&self) {
        self.voted.set(false);
        if let Some(m) = self.shared.get() {
            m.clock.withdraw(m.id);
        }
    }
}

/// The virtual clock of the runtime running on this thread, if its time is
/// virtual: the clock that the runtimes it starts share (`cores/`).
pub(crate) fn current_virtual_clock() -> Option<Arc<VirtualClock>> {
    TimeDriver::current().and_then(|driver| driver.clock().virtual_clock())
}

/// The current time on the running runtime's clock: `Instant::now()`,
/// unless the runtime's time is or was [paused](pause), or outside a runtime.
///
/// Compute deadlines from this, not from `Instant::now()`, in code that
/// should follow virtual time: `sleep_until(now() + d)` behaves as
/// `sleep(d)` whether time is paused or not, while `Instant::now() + d`
/// drifts from the virtual clock (see [`pause`]).
///
/// ```
/// use std::time::Duration;
/// use sprout::{Runtime, sleep, time};
///
/// let rt = Runtime::builder().start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let start = time::now();
///     sleep(Duration::from_secs(3600)).await; // returns at once: the clock jumps
///     assert_eq!(time::now() - start, Duration::from_secs(3600));
/// });
/// ```
#[inline]
pub fn now() -> Instant {
    match TimeDriver::current() {
        Some(driver) => driver.now(),
        None => Instant::now(),
    }
}

/// Stops the running runtime's clock: virtual time, for tests.
///
/// While time is paused, it moves only when the test calls [`advance`], or
/// when every task waits and only timers are left: then the loop jumps the
/// clock to the next timer's deadline (auto-advance; with several runtimes
/// on one clock, such as a paused test's server workers, only when every
/// one of them is idle; see
/// [`Builder::auto_advance`](crate::Builder::auto_advance) to switch it
/// off). A test of a one-hour timeout takes microseconds, and timers fire
/// in their deadlines' order, exactly at their deadlines' ticks.
///
/// Sockets keep working: before it jumps, the loop polls I/O without
/// waiting, and jumps only if no task was woken. Data that another thread
/// or process has not sent yet, or a wake-up another thread has not
/// posted yet, can lose against a jumped timeout. The one thing a jump
/// waits for is blocking-pool work in flight ([`spawn_blocking`](crate::spawn_blocking),
/// `fs`, DNS lookups, [`blocking::ThreadPool`](crate::blocking::ThreadPool) jobs).
///
/// [`now`] follows the virtual clock; std's `Instant::now()` does not.
/// While paused, `Instant::now()` runs ahead of the virtual time by the
/// real time spent; after an [`advance`] it runs behind it. Deadlines
/// computed from it with `sleep_until` or `timeout_at` are off by that
/// difference: compute them from [`now`].
///
/// Pausing a paused clock does nothing. Once paused, a runtime's clock is
/// virtual for good: [`resume`] lets it run at real speed from where it
/// stands, which may be ahead of `Instant::now()`. The runtimes started
/// from this one from then on (cores, server workers) share its virtual
/// clock: `pause`, [`resume`] and [`advance`] in any of them move it for
/// all. Runtimes started before the pause keep their own clocks.
///
/// # Panics
/// Outside a sprout runtime.
///
/// ```
/// use std::time::Duration;
/// use sprout::{run, sleep, time, timeout};
///
/// run(async {
///     time::pause();
///     let slow = timeout(Duration::from_secs(60), sleep(Duration::from_secs(3600)));
///     assert!(slow.await.is_err()); // at once: the clock jumped a minute
/// });
/// ```
#[track_caller]
pub fn pause() {
    driver("sprout::time::pause").clock().pause();
}

/// Lets the running runtime's paused clock run again, at real speed from
/// where it stands (see [`pause`]). Resuming a running clock does nothing.
///
/// # Panics
/// Outside a sprout runtime.
///
/// ```
/// use std::time::{Duration, Instant};
/// use sprout::{run, sleep, time};
///
/// run(async {
///     time::pause();
///     sleep(Duration::from_secs(60)).await; // virtual: at once
///     time::resume();
///     let real = Instant::now();
///     sleep(Duration::from_millis(5)).await; // real time again
///     assert!(real.elapsed() >= Duration::from_millis(5));
///     // The clock keeps the minute it jumped.
///     assert!(time::now() > Instant::now() + Duration::from_secs(59));
/// });
/// ```
#[track_caller]
pub fn resume() {
    driver("sprout::time::resume").clock().resume();
}

/// Whether the running runtime's time is paused (false outside a runtime).
///
/// ```
/// use sprout::{Runtime, time};
///
/// assert!(!time::is_paused());
/// let rt = Runtime::builder().start_paused(true).build().unwrap();
/// assert!(rt.block_on(async { time::is_paused() }));
/// ```
pub fn is_paused() -> bool {
    TimeDriver::current().is_some_and(|driver| driver.clock().is_paused())
}

/// Moves the paused clock forward by `duration`, then lets the timers that
/// became due fire and their tasks run once, before it returns: tokio's
/// `time::advance`.
///
/// Every timer whose deadline is now past fires, in deadline order, in
/// the same turn of the loop, and the tasks they wake are polled once
/// before the caller continues (it waits as two
/// [`yield_now`](crate::yield_now)s do; with a [seeded
/// schedule](crate::Builder::seed), other ready tasks may run first).
/// A duration too long for an `Instant`, up to `Duration::MAX`, moves the
/// clock to "never". Other runtimes sharing the clock (a paused test's
/// server workers, cores) fire their due timers on their own threads: wait
/// for what they do, not for this call.
///
/// # Panics
/// Outside a sprout runtime, or if time is not paused.
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use std::time::Duration;
/// use sprout::{Runtime, sleep, spawn, time};
///
/// let rt = Runtime::builder().start_paused(true).auto_advance(false).build().unwrap();
/// rt.block_on(async {
///     let rang = Rc::new(Cell::new(false));
///     let r = rang.clone();
///     let ten_seconds = sleep(Duration::from_secs(10)); // the deadline is set here
///     spawn(async move {
///         ten_seconds.await;
///         r.set(true);
///     });
///     time::advance(Duration::from_secs(9)).await;
///     assert!(!rang.get());
///     time::advance(Duration::from_secs(1)).await;
///     assert!(rang.get());
/// });
/// ```
#[track_caller]
pub fn advance(duration: Duration) -> Advance {
    if !driver("sprout::time::advance").clock().is_paused() {
        not_paused();
    }
    Advance { by: Some(duration), yields: 2 }
}

/// The future returned by [`advance`]: it moves the clock on its first
/// poll, then waits two turns of the loop.
#[must_use = "futures do nothing unless awaited: the clock moves on the first poll"]
#[derive(Debug)]
pub struct Advance {
    /// Taken by the first poll, which moves the clock.
    by: Option<Duration>,
    /// Yields left before it completes.
    yields: u8,
}

impl Future for Advance {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if let Some(by) = self.by.take() {
            let clock = driver("sprout::time::advance").clock();
            if !clock.is_paused() {
                not_paused();
            }
            clock.advance(by);
        }
        if self.yields == 0 {
            return Poll::Ready(());
        }
        self.yields -= 1;
        // Two yields, as `yield_now` does them (behind the next I/O poll
        // and timer firing): the first lets the due timers fire at the end
        // of this turn, which queues their tasks; the second lets those
        // tasks run, also when the caller is the `block_on` future, which
        // the loop polls before the queued tasks.
        Executor::expect("sprout::time::advance").defer(cx.waker());
        Poll::Pending
    }
}

#[track_caller]
fn driver<'a>(what: &str) -> &'a TimeDriver {
    match TimeDriver::current() {
        Some(driver) => driver,
        None => panic!("{what} must be called from inside a sprout runtime (sprout::run or Runtime::block_on)"),
    }
}

#[cold]
#[track_caller]
fn not_paused() -> ! {
    panic!(
        "sprout::time::advance: time is not paused (call sprout::time::pause, or build the runtime with start_paused)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_real_clock_follows_std() {
        let clock = Clock::new(false, true, None, Waker::noop().clone());
        let before = Instant::now();
        let now = clock.now();
        assert!(now >= before && now <= Instant::now());
        assert!(!clock.is_paused() && clock.virtual_clock().is_none());
    }

    #[test]
    fn the_first_pause_makes_the_clock_virtual_for_good() {
        let clock = Clock::new(false, true, None, Waker::noop().clone());
        clock.pause();
        let stood = clock.now();
        assert!(clock.is_paused() && clock.virtual_clock().is_some());
        clock.advance(Duration::from_secs(5));
        assert_eq!(clock.now(), stood + Duration::from_secs(5));
        clock.resume();
        assert!(!clock.is_paused());
        assert!(clock.now() >= stood + Duration::from_secs(5), "resumed from where it stood");
    }

    #[test]
    fn runtimes_given_one_virtual_clock_read_the_same_time() {
        let a = Clock::new(true, true, None, Waker::noop().clone());
        let b = Clock::new(false, true, a.virtual_clock(), Waker::noop().clone());
        assert!(b.is_paused());
        a.advance(Duration::from_secs(60));
        assert_eq!(a.now(), b.now());
        b.advance(Duration::from_secs(1));
        assert_eq!(a.now(), b.now());
    }
}
