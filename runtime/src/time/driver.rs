//! The time driver: one runtime's timing wheel and all of its clock
//! arithmetic.
//!
//! Ground rules:
//! - Time is counted in ticks of one millisecond since the driver's
//!   `epoch` (the runtime's start). A deadline is rounded *up* to its tick
//!   and a tick fires only once it has fully passed (`now_tick` rounds
//!   *down*), so a timer never fires early.
//! - All arithmetic saturates (see "Time arithmetic saturates" in
//!   docs/architecture.md): ticks are capped at [`MAX_TICK`], deadlines that
//!   an `Instant` cannot hold become [`NEVER`] from now, and nothing here
//!   panics or wraps on a large duration.
//! - The wheel spans about 2.2 years; a later deadline is filed at the end
//!   of the span and its `Sleep` re-arms it when it comes up. Deadlines
//!   before `horizon` can never have been filed early.
//! - Wakers handed back (a cancelled timer's, fired ones) are dropped or
//!   woken by the caller after the wheel's borrow ends: dropping or waking a
//!   waker may run user code or free a task.
//!
//! Who touches it: `Sleep` (arm, poll, cancel) through [`TimeDriver::current`],
//! and the loop (next deadline, fire, the idle check, shutdown). Nothing
//! else reaches the wheel.

use std::cell::{Cell, RefCell};
use std::ptr;
use std::sync::Arc;
use std::task::Waker;
use std::time::{Duration, Instant};

use super::clock::Clock;
use super::virtual_clock::VirtualClock;
use super::wheel::{MAX_SPAN, TimerState, Wheel};
use crate::scoped::{self, Reset};
use crate::task::compact::CompactWaker;
use crate::task::waker_set::WakerSet;

/// Ticks are capped far beyond any real deadline (2^44 ms, about 557 years),
/// so tick arithmetic can never overflow.
const MAX_TICK: u64 = u64::MAX >> 20;

/// How far ahead "never" is: about 30 years. The one definition of
/// "never" in the runtime.
const NEVER: Duration = Duration::from_secs(86_400 * 365 * 30);

/// How many armed timers the idle check looks at (see `only_idle_timers`).
const IDLE_TIMER_SCAN: usize = 16;

thread_local! {
    /// The driver of the runtime running on this thread.
    static CURRENT: Cell<*const TimeDriver> = const { Cell::new(ptr::null()) };
}

/// One runtime's timers. See the module docs.
pub(crate) struct TimeDriver {
    /// The runtime's serial: a `Sleep` armed here records it, so that it
    /// can tell this driver from another runtime's.
    serial: u32,
    wheel: RefCell<Wheel>,
    /// Tick 0.
    epoch: Instant,
    /// Deadlines before this instant are never beyond the wheel's span, so
    /// a timer for one that fired is done (see `poll`).
    horizon: Instant,
    /// What `now` reads: std's clock, or a virtual one (`clock.rs`).
    clock: Clock,
}

/// What a `Sleep` armed in this driver finds when it polls its timer.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TimerPoll {
    /// Still armed; it wakes the latest waker.
    Pending,
    /// Fired, and the deadline has passed: the sleep is over.
    Elapsed,
    /// Fired at the end of the wheel's span, before a deadline beyond it:
    /// the entry is gone, arm the deadline again.
    Refiled,
}

impl TimeDriver {
    /// A driver whose tick 0 is its clock's now. The clock (`clock.rs`) is
    /// `shared`, a virtual clock of the runtime that started this one, if
    /// given; else a new virtual one paused now if `paused`; else std's.
    /// `auto_advance` lets the loop jump a paused clock to the next
    /// deadline; `rouse` wakes the loop from its poll (for the other
    /// runtimes sharing the clock).
    pub(crate) fn new(
        serial: u32,
        paused: bool,
        auto_advance: bool,
        shared: Option<Arc<VirtualClock>>,
        rouse: Waker,
    ) -> TimeDriver {
        let clock = Clock::new(paused, auto_advance, shared, rouse);
        // On a virtual clock, tick 0 is the virtual now: a deadline computed
        // from it must not fall before the epoch.
        let epoch = clock.now();
        TimeDriver {
            serial,
            wheel: RefCell::new(Wheel::new()),
            epoch,
            horizon: epoch.checked_add(Duration::from_millis(MAX_SPAN - 1)).unwrap_or(epoch),
            clock,
        }
    }

    /// The driver of the runtime running on this thread, if any.
    #[inline]
    pub(crate) fn current<'a>() -> Option<&'a TimeDriver> {
        scoped::get(&CURRENT)
    }

    /// Makes this the current driver until the guard drops (the loop's `enter`).
    pub(crate) fn enter(&self) -> Reset<TimeDriver> {
        scoped::set(&CURRENT, self)
    }

    /// The serial of the runtime this driver belongs to.
    #[inline]
    pub(crate) fn serial(&self) -> u32 {
        self.serial
    }

    // --- `Sleep`'s side ---

    /// Polls the timer `key` of a sleep until `deadline`.
    #[inline]
    pub(crate) fn poll(&self, key: u32, deadline: Instant, waker: &Waker) -> TimerPoll {
        match self.wheel.borrow_mut().poll(key, waker) {
            TimerState::Pending => TimerPoll::Pending,
            // Certainly due: only a deadline past the wheel's span could
            // have been filed early (at the span's end).
            TimerState::Fired if deadline < self.horizon => TimerPoll::Elapsed,
            TimerState::Fired => TimerPoll::Refiled,
        }
    }

    /// Arms a timer for `deadline` that wakes `waker`, and returns its key;
    /// `None` if the deadline's tick has already passed.
    #[inline]
    pub(crate) fn arm(&self, deadline: Instant, waker: &Waker) -> Option<u32> {
        let tick = self.deadline_tick(deadline);
        let mut wheel = self.wheel.borrow_mut();
        if tick <= wheel.elapsed() {
            return None;
        }
        Some(wheel.insert(tick, CompactWaker::new(waker)))
    }

    /// Cancels (or forgets, if it fired) the timer `key`.
    pub(crate) fn cancel(&self, key: u32) {
        let waker = self.wheel.borrow_mut().remove(key);
        // Dropped after the wheel is released: dropping a waker may free a task.
        drop(waker);
    }

    // --- The loop's side ---

    /// The number of armed timers.
    pub(crate) fn armed(&self) -> usize {
        self.wheel.borrow().len()
    }

    /// How long until the wheel next needs attention, if any timer is armed.
    pub(crate) fn until_next(&self) -> Option<Duration> {
        let tick = self.wheel.borrow().next_deadline()?;
        Some(self.tick_instant(tick).saturating_duration_since(self.now()))
    }

    /// Fires every timer that is due now, collecting their wakers into
    /// `wake` (the caller wakes them once this returns).
    pub(crate) fn fire_due(&self, wake: &mut Vec<CompactWaker>) {
        let now = self.now_tick(self.now());
        self.wheel.borrow_mut().advance(now, wake);
    }

    /// The clock the timers follow: every reading the loop takes goes
    /// through here, and so does `time::now` (sleep deadlines, intervals).
    #[inline]
    pub(crate) fn now(&self) -> Instant {
        self.clock.now()
    }

    /// The clock itself (`time::pause`, `resume`, `advance`).
    pub(crate) fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Whether the clock is paused: waiting does not move it, so the loop
    /// must not block until the next deadline (see `EventLoop::turn`).
    #[inline]
    pub(crate) fn is_paused(&self) -> bool {
        self.clock.is_paused()
    }

    /// Whether the loop may jump the paused clock to the next deadline.
    pub(crate) fn auto_advance(&self) -> bool {
        self.clock.auto_advance()
    }

    /// The instant the next armed timer's tick has fully passed, if any:
    /// what an idle vote gives the virtual clock to jump to (`EventLoop::turn`).
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let tick = self.wheel.borrow().next_deadline()?;
        Some(self.tick_instant(tick))
    }

    /// Whether no timer is armed, except by the wakers in `idle`
    /// (`sprout::wait()` futures).
    ///
    /// A timer whose waker is a pending `wait()`'s (`timeout(d, wait())`,
    /// or a `select` of `wait()` and a sleep) is not work left for that
    /// wait: counting it meant `timeout(d, wait())` always timed out (issue
    /// 8, bug 5). Only up to `IDLE_TIMER_SCAN` armed timers are looked at;
    /// with more armed, some are real work in any sensible program, and the
    /// check stays O(1) for a million sleeping tasks.
    pub(crate) fn only_idle_timers(&self, idle: &WakerSet) -> bool {
        let wheel = self.wheel.borrow();
        if wheel.len() == 0 {
            return true;
        }
        wheel.all_armed(IDLE_TIMER_SCAN, |timer| idle.iter().any(|w| timer.will_wake(w)))
    }

    /// Calls `f` with the task and deadline of every armed timer whose
    /// waker is a task's (the task dump: what a task without a noted wait
    /// sleeps on). `f` must not touch the timers.
    pub(crate) fn sleepers(&self, mut f: impl FnMut(usize, Instant)) {
        self.wheel.borrow().for_each_armed(|tick, waker| {
            if let Some(task) = waker.task_addr() {
                f(task, self.tick_instant(tick));
            }
        });
    }

    /// Empties the wheel (shutdown); the wakers drop after the borrow ends.
    pub(crate) fn clear(&self) {
        let wheel = std::mem::replace(&mut *self.wheel.borrow_mut(), Wheel::new());
        drop(wheel);
    }

    // --- Tick arithmetic ---

    /// The wheel tick at or after `deadline` (ticks are milliseconds since
    /// `epoch`): rounding up means a timer never fires early. Saturates at
    /// `MAX_TICK`, "never": a sum that wrapped for durations near 2^54 s
    /// would fire at once.
    #[inline]
    fn deadline_tick(&self, deadline: Instant) -> u64 {
        let since = deadline.saturating_duration_since(self.epoch);
        // Whole milliseconds, rounded up, without 128-bit arithmetic.
        let ms =
            since.as_secs().saturating_mul(1000).saturating_add(u64::from(since.subsec_nanos().div_ceil(1_000_000)));
        ms.min(MAX_TICK)
    }

    /// The wheel tick that has fully passed at `now` (rounding down).
    fn now_tick(&self, now: Instant) -> u64 {
        let since = now.saturating_duration_since(self.epoch);
        let ms = since.as_secs().saturating_mul(1000).saturating_add(u64::from(since.subsec_millis()));
        ms.min(MAX_TICK)
    }

    /// The instant a tick starts (`tick` is at most `MAX_TICK`, about 557
    /// years, so the sum fits; it saturates anyway).
    fn tick_instant(&self, tick: u64) -> Instant {
        instant_after(self.epoch, Duration::from_millis(tick))
    }
}

/// `start + duration`, saturating: a sum the `Instant` cannot represent is
/// "never" (the later of `start` and [`NEVER`] from now). Every deadline the
/// runtime computes goes through here, never through `Instant + Duration`,
/// which panics on overflow.
#[inline]
pub(crate) fn instant_after(start: Instant, duration: Duration) -> Instant {
    match start.checked_add(duration) {
        Some(deadline) => deadline,
        None => never_after(start),
    }
}

/// "Never", as seen from `start`: [`NEVER`] from now, or `start` if later.
#[cold]
fn never_after(start: Instant) -> Instant {
    match Instant::now().checked_add(NEVER) {
        Some(never) => never.max(start),
        None => start,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_round_deadlines_up_and_now_down() {
        let driver = TimeDriver::new(1, false, true, None, Waker::noop().clone());
        let at = |ms: u64, us: u64| driver.epoch + Duration::from_millis(ms) + Duration::from_micros(us);
        assert_eq!(driver.deadline_tick(at(5, 0)), 5);
        assert_eq!(driver.deadline_tick(at(5, 1)), 6);
        assert_eq!(driver.now_tick(at(5, 999)), 5);
        assert_eq!(driver.deadline_tick(driver.epoch), 0);
        assert_eq!(driver.tick_instant(7), at(7, 0));
    }

    #[test]
    fn tick_arithmetic_saturates() {
        let driver = TimeDriver::new(1, false, true, None, Waker::noop().clone());
        let far = instant_after(driver.epoch, Duration::MAX);
        assert!(far > driver.epoch + Duration::from_secs(86_400 * 365 * 29));
        assert_eq!(driver.deadline_tick(far).min(MAX_TICK), driver.deadline_tick(far));
        assert!(driver.tick_instant(MAX_TICK) >= driver.epoch);
    }
}
