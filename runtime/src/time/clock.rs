//! The clock the time driver reads, and virtual time: [`pause`],
//! [`resume`], [`advance`], [`now`].
//!
//! Ground rules:
//! - A runtime's clock is std's (`Instant::now()`) until something pauses
//!   it; from then on it is *virtual*, forever, for that runtime. The hot
//!   path reads one flag (`virtual_`) and calls `Instant::now()` when it is
//!   clear, so a runtime that never pauses pays a load and a branch.
//! - Virtual time is still a `std::time::Instant`: while paused the clock
//!   stands at `base`; once resumed it runs again from `base` at real speed
//!   (`base + (Instant::now() - since)`). It never goes backwards, so the
//!   wheel's ticks stay monotonic. It is not std's `Instant::now()` any
//!   more: after `advance(1h)` the virtual clock is an hour ahead of it,
//!   and while paused it falls behind it. Deadlines meant to follow the
//!   virtual clock are computed from [`now`], as `sleep`, `timeout`,
//!   `interval` and sprout-net's socket timeouts do.
//! - Who moves it: `pause`, `resume` and `advance` (the user, from inside
//!   the runtime), and the loop's auto-advance (`Core::turn`, through
//!   [`TimeDriver::jump_to_next`](super::driver::TimeDriver)), which jumps
//!   a paused clock to the next timer's deadline when every task waits and
//!   an I/O poll with a zero timeout found nothing. Nothing else writes it.
//!
//! Who reads it: only the time driver (`TimeDriver::now`, the loop's one
//! clock reading) and [`now`] (sleep deadlines, intervals, the layers above).

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::driver::{TimeDriver, instant_after};
use crate::task::executor::Executor;

/// One runtime's clock. See the module docs.
#[derive(Debug)]
pub(crate) struct Clock {
    /// False while the clock is std's: the one field the hot path reads.
    /// Set by the first pause, and never cleared.
    virtual_: Cell<bool>,
    /// Whether the virtual clock stands still.
    paused: Cell<bool>,
    /// Paused: the time. Running virtually: the time at `since`.
    base: Cell<Instant>,
    /// The real instant at which a resumed clock read `base`.
    since: Cell<Instant>,
    /// Whether the loop may jump a paused clock to the next timer (see
    /// `Core::turn`).
    auto_advance: Cell<bool>,
}

impl Clock {
    /// A real clock; `paused` starts it paused at `start`.
    pub(crate) fn new(start: Instant, paused: bool, auto_advance: bool) -> Clock {
        Clock {
            virtual_: Cell::new(paused),
            paused: Cell::new(paused),
            base: Cell::new(start),
            since: Cell::new(start),
            auto_advance: Cell::new(auto_advance),
        }
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
        if self.paused.get() {
            return self.base.get();
        }
        instant_after(self.base.get(), Instant::now().saturating_duration_since(self.since.get()))
    }

    /// Whether the clock stands still.
    #[inline]
    pub(crate) fn is_paused(&self) -> bool {
        self.paused.get()
    }

    /// Whether the loop may jump it while paused.
    pub(crate) fn auto_advance(&self) -> bool {
        self.auto_advance.get()
    }

    /// Stops the clock at the current time (a no-op if it is stopped).
    pub(crate) fn pause(&self) {
        if !self.paused.get() {
            self.base.set(self.now());
            self.paused.set(true);
            self.virtual_.set(true);
        }
    }

    /// Lets a paused clock run again from where it stands (a no-op if it runs).
    pub(crate) fn resume(&self) {
        if self.paused.get() {
            self.since.set(Instant::now());
            self.paused.set(false);
        }
    }

    /// Moves a paused clock forward by `by` (saturating at "never").
    pub(crate) fn advance(&self, by: Duration) {
        debug_assert!(self.paused.get());
        self.base.set(instant_after(self.base.get(), by));
    }

    /// Moves a paused clock forward to `to`, if it is later.
    pub(crate) fn advance_to(&self, to: Instant) {
        debug_assert!(self.paused.get());
        if to > self.base.get() {
            self.base.set(to);
        }
    }
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
/// use sprout_runtime::{Runtime, sleep, time};
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
/// clock to the next timer's deadline (auto-advance; see
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
/// stands, which may be ahead of `Instant::now()`.
///
/// # Panics
/// Outside a sprout runtime.
///
/// ```
/// use std::time::Duration;
/// use sprout_runtime::{run, sleep, time, timeout};
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
/// use sprout_runtime::{run, sleep, time};
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
/// use sprout_runtime::{Runtime, time};
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
/// clock to "never".
///
/// # Panics
/// Outside a sprout runtime, or if time is not paused.
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use std::time::Duration;
/// use sprout_runtime::{Runtime, sleep, spawn, time};
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
        let clock = Clock::new(Instant::now(), false, true);
        let before = Instant::now();
        let now = clock.now();
        assert!(now >= before && now <= Instant::now());
    }

    #[test]
    fn a_paused_clock_stands_and_moves_only_forward() {
        let start = Instant::now();
        let clock = Clock::new(start, true, true);
        assert_eq!(clock.now(), start);
        clock.advance(Duration::from_secs(5));
        assert_eq!(clock.now(), start + Duration::from_secs(5));
        clock.advance_to(start + Duration::from_secs(1));
        assert_eq!(clock.now(), start + Duration::from_secs(5), "never backwards");
        clock.advance_to(start + Duration::from_secs(7));
        assert_eq!(clock.now(), start + Duration::from_secs(7));
        clock.advance(Duration::MAX);
        assert!(clock.now() > start + Duration::from_secs(86_400 * 365 * 29), "saturates at never");
    }

    #[test]
    fn a_resumed_clock_runs_on_from_where_it_stood() {
        let start = Instant::now();
        let clock = Clock::new(start, true, true);
        clock.advance(Duration::from_secs(3600));
        clock.resume();
        let ahead = clock.now().saturating_duration_since(Instant::now());
        assert!(ahead > Duration::from_secs(3599) && ahead <= Duration::from_secs(3600));
        let a = clock.now();
        assert!(clock.now() >= a);
        clock.pause();
        let stood = clock.now();
        assert!(stood >= a);
        assert_eq!(clock.now(), stood);
    }
}
