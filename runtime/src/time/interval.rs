//! `interval`: ticks at a fixed period.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_core::Stream;

use super::instant_after;
use super::sleep::{Sleep, sleep_until};

/// What an [`Interval`] does when the task was late and ticks were missed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MissedTickBehavior {
    /// Fire the missed ticks at once, one per `tick()`, to catch up.
    Burst,
    /// Start counting the period again from the late tick.
    Delay,
    /// Drop the missed ticks and fire at the next instant of the original
    /// schedule (the default: a periodic job runs at most once per period
    /// and stays on its clock).
    #[default]
    Skip,
}

/// Ticks every `period`, starting now: the first tick completes at once.
///
/// ```
/// use std::time::Duration;
/// use sprout::{interval, run};
///
/// run(async {
///     let mut every = interval(Duration::from_millis(2));
///     let first = every.tick().await;
///     let second = every.tick().await;
///     assert!(second - first >= Duration::from_millis(2));
/// });
/// ```
///
/// Any period up to `Duration::MAX` works; one too long to add to an
/// `Instant` means the next tick never comes.
///
/// # Panics
/// If `period` is zero: such an interval would spin.
pub fn interval(period: Duration) -> Interval {
    interval_at(super::now(), period)
}

/// Ticks every `period`, the first tick at `start`.
///
/// # Panics
/// If `period` is zero.
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(!period.is_zero(), "sprout::interval: the period must be greater than zero");
    Interval { period, sleep: sleep_until(start), missed: MissedTickBehavior::default() }
}

/// A stream of instants `period` apart. See [`interval`].
#[derive(Debug)]
pub struct Interval {
    period: Duration,
    sleep: Sleep,
    missed: MissedTickBehavior,
}

impl Interval {
    /// Waits for the next tick and returns its scheduled instant.
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        if Pin::new(&mut self.sleep).poll(cx).is_pending() {
            return Poll::Pending;
        }
        let scheduled = self.sleep.deadline();
        let now = super::now();
        // All saturating: a period too long to add is "never", not a wrap that fires at once.
        let after_one = instant_after(scheduled, self.period);
        let next = match self.missed {
            MissedTickBehavior::Burst => after_one,
            MissedTickBehavior::Delay if now > after_one => instant_after(now, self.period),
            MissedTickBehavior::Delay => after_one,
            MissedTickBehavior::Skip => {
                if after_one > now {
                    after_one
                } else {
                    // Whole periods missed since `scheduled`, plus one.
                    let periods = (now - scheduled).as_nanos() / self.period.as_nanos() + 1;
                    let ahead = self.period.as_nanos().saturating_mul(periods);
                    instant_after(scheduled, Duration::from_nanos(ahead.min(u128::from(u64::MAX)) as u64))
                }
            }
        };
        self.sleep.reset(next);
        Poll::Ready(scheduled)
    }

    /// Chooses what happens to missed ticks (default: [`MissedTickBehavior::Skip`]).
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed = behavior;
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// Restarts the schedule: the next tick comes one period from now.
    pub fn reset(&mut self) {
        self.sleep.reset(instant_after(super::now(), self.period));
    }
}

impl Stream for Interval {
    type Item = Instant;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        self.get_mut().poll_tick(cx).map(Some)
    }
}
