//! Time: `sleep`, `timeout`, `interval`, on the runtime's timing wheel.
//!
//! Timers have millisecond resolution and never fire early: a deadline is
//! rounded up to the next millisecond tick, and a tick fires only once it
//! has fully passed. A pending timer costs 24 bytes in the wheel, and
//! inserting or cancelling one is O(1); dropping a `Sleep` cancels it at once.
//!
//! A timer belongs to the runtime it was first polled in. Moving a pending
//! `Sleep` to another runtime re-arms it there; the old entry lingers in the
//! first runtime until it would have fired.

mod interval;
mod sleep;
mod timeout;
pub(crate) mod wheel;

pub use interval::{Interval, MissedTickBehavior, interval, interval_at};
pub use sleep::{Sleep, sleep, sleep_until};
pub use std::time::{Duration, Instant};
pub use timeout::{Elapsed, Timeout, timeout, timeout_at};

/// A deadline so far ahead that it stands for "never" (about 30 years).
pub(crate) fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365 * 30)
}
