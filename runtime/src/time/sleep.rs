//! `sleep` and `sleep_until`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::driver::{TimeDriver, TimerPoll};
use crate::remote::directory::{self, Unregister};
use crate::task::executor::Executor;

/// Waits until `duration` has passed: the cooperative `time.sleep`, like
/// `gevent.sleep`. Other tasks run meanwhile.
///
/// The sleep never ends early; it may end up to a millisecond (plus the
/// loop's latency) late. `sleep(Duration::ZERO)`, like a deadline already
/// past, is a yield: as gevent's `sleep(0)`, it lets every other ready task
/// run, and I/O be polled, then completes (see [`yield_now`](crate::yield_now)).
/// A duration too long to add to an `Instant`, up to `Duration::MAX`, means
/// "never". The deadline is [`time::now()`](super::now) plus `duration`: it
/// follows the runtime's clock, which is virtual once [paused](super::pause).
///
/// ```
/// use std::time::{Duration, Instant};
/// use sprout::{run, sleep};
///
/// run(async {
///     let start = Instant::now();
///     sleep(Duration::from_millis(20)).await;
///     assert!(start.elapsed() >= Duration::from_millis(20));
/// });
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    let deadline = super::instant_after(super::now(), duration);
    // A zero sleep is due at once: no need to read the clock again.
    Sleep { deadline, serial: if duration.is_zero() { DUE } else { UNREGISTERED }, key: 0 }
}

/// Waits until `deadline`. A deadline already past is a yield, as in [`sleep`].
///
/// "Past" means on the runtime's clock, [`time::now()`](super::now): when
/// time is paused, compute the deadline from that, not from `Instant::now()`.
pub fn sleep_until(deadline: Instant) -> Sleep {
    let due = deadline <= super::now();
    Sleep { deadline, serial: if due { DUE } else { UNREGISTERED }, key: 0 }
}

/// `serial` of a Sleep that holds no timer.
const UNREGISTERED: u32 = 0;
/// `serial` of a Sleep whose deadline had passed when it was made: its
/// first poll yields instead of arming a timer.
const DUE: u32 = u32::MAX - 2;
/// `serial` of a Sleep that yielded because its deadline had passed: its
/// next poll completes.
const YIELDED: u32 = u32::MAX - 1;
/// `serial` of a Sleep that has completed.
const ELAPSED: u32 = u32::MAX;

/// The future returned by [`sleep`] and [`sleep_until`]. It is `Send` and
/// `Unpin`, and takes 24 bytes; its timer is armed on first poll.
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct Sleep {
    deadline: Instant,
    /// The runtime whose wheel holds `key`, or UNREGISTERED / DUE / YIELDED
    /// / ELAPSED. Runtime serials count up from 1 and never reach these.
    serial: u32,
    key: u32,
}

impl Sleep {
    /// The instant this sleep ends.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether the sleep has completed (or has yielded because its deadline
    /// had passed, and completes at its next poll).
    pub fn is_elapsed(&self) -> bool {
        self.serial == ELAPSED || self.serial == YIELDED
    }

    /// Moves the deadline, re-arming a sleep that already completed. A
    /// deadline already past yields at the next poll, then completes.
    pub fn reset(&mut self, deadline: Instant) {
        self.cancel();
        self.deadline = deadline;
        self.serial = UNREGISTERED;
    }

    /// Removes the timer from its wheel, if it holds one.
    #[inline]
    fn cancel(&mut self) {
        if self.serial != UNREGISTERED && self.serial < DUE {
            self.cancel_armed();
        }
    }

    /// Removes the timer from its wheel: directly if its runtime is the one
    /// running here, else by asking that runtime (see `remote/directory.rs`),
    /// so a `Sleep` may be dropped anywhere, even after its runtime is gone.
    #[inline(never)]
    fn cancel_armed(&mut self) {
        match TimeDriver::current().filter(|d| d.serial() == self.serial) {
            Some(driver) => driver.cancel(self.key),
            None => directory::unregister(self.serial, Unregister::Timer(self.key)),
        }
        self.serial = UNREGISTERED;
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // One compare keeps the markers (DUE, YIELDED, ELAPSED) off the hot path.
        if self.serial >= DUE {
            return self.poll_marked(cx);
        }
        let Some(driver) = TimeDriver::current() else { outside_runtime() };
        if self.serial == driver.serial() {
            // Armed here: the hot path is one slab lookup.
            match driver.poll(self.key, self.deadline, cx.waker()) {
                TimerPoll::Pending => return Poll::Pending,
                TimerPoll::Elapsed => {
                    self.serial = ELAPSED;
                    return Poll::Ready(());
                }
                // Fired at the span's end: arm it again below.
                TimerPoll::Refiled => self.serial = UNREGISTERED,
            }
        } else if self.serial != UNREGISTERED {
            // Armed in another runtime: forget it there before arming here.
            self.cancel_armed();
        }
        // Not armed here: arm it, unless the deadline has already passed.
        match driver.arm(self.deadline, cx.waker()) {
            Some(key) => {
                self.key = key;
                self.serial = driver.serial();
                Poll::Pending
            }
            None => {
                self.serial = DUE;
                self.poll_marked(cx)
            }
        }
    }
}

impl Sleep {
    /// `poll` for a sleep that holds no timer because it is due or done.
    #[cold]
    fn poll_marked(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        match self.serial {
            // Due already: a yield, as gevent's sleep(0), instead of waiting
            // for the next millisecond tick.
            DUE => {
                Executor::expect("Sleep::poll").defer(cx.waker());
                self.serial = YIELDED;
                Poll::Pending
            }
            _ => {
                self.serial = ELAPSED;
                Poll::Ready(())
            }
        }
    }
}

#[cold]
#[track_caller]
fn outside_runtime() -> ! {
    panic!("Sleep::poll must be called from inside a sprout runtime (sprout::run or Runtime::block_on)")
}

impl Drop for Sleep {
    #[inline]
    fn drop(&mut self) {
        self.cancel();
    }
}
