//! Time: `sleep`, `timeout`, `interval`, on the runtime's timing wheel.
//!
//! Timers have millisecond resolution and never fire early: a deadline is
//! rounded up to the next millisecond tick, and a tick fires only once it
//! has fully passed. A pending timer costs 24 bytes in the wheel, and
//! inserting or cancelling one is O(1); dropping a `Sleep` cancels it at once.
//!
//! A timer belongs to the runtime it was polled in. Moving a pending
//! `Sleep` to another runtime re-arms it there and removes the old entry.
//! A `Sleep` can be dropped anywhere (outside `block_on`, on another
//! thread, after its runtime is gone): its runtime forgets the entry.
//!
//! A sleep that is due when first polled (`sleep(Duration::ZERO)`, a
//! deadline already past) is a yield, like gevent's `sleep(0)`. A timer
//! fires within about 2 ms of its deadline plus the loop's latency, at any
//! length (long waits are cut short of the kernel's timer slack; see
//! `runtime::blocking_timeout`).
//!
//! Every duration is valid, up to `Duration::MAX`: deadline arithmetic
//! saturates, and a deadline that cannot be represented, or lies beyond the
//! wheel's span, means "never" (in practice: not for decades). Nothing in
//! this module panics or wraps on a large duration.

mod interval;
mod sleep;
mod timeout;
pub(crate) mod wheel;

pub use interval::{Interval, MissedTickBehavior, interval, interval_at};
pub use sleep::{Sleep, sleep, sleep_until};
pub use std::time::{Duration, Instant};
pub use timeout::{Elapsed, Timeout, timeout, timeout_at};

/// How far ahead "never" is: about 30 years.
const NEVER: Duration = Duration::from_secs(86_400 * 365 * 30);

/// `start + duration`, saturating: a sum the `Instant` cannot represent is
/// "never" (the later of `start` and 30 years from now). Every deadline the
/// runtime computes goes through here, never through `Instant + Duration`,
/// which panics on overflow.
#[inline]
pub(crate) fn deadline_after(start: Instant, duration: Duration) -> Instant {
    match start.checked_add(duration) {
        Some(deadline) => deadline,
        None => never_after(start),
    }
}

/// "Never", as seen from `start`: 30 years from now, or `start` if later.
#[cold]
fn never_after(start: Instant) -> Instant {
    match Instant::now().checked_add(NEVER) {
        Some(never) => never.max(start),
        None => start,
    }
}
