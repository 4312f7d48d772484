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
//! The driver (`driver.rs`) owns the wheel, the epoch and all tick
//! arithmetic; `Sleep` talks to it and to nothing else of the runtime.
//!
//! Every duration is valid, up to `Duration::MAX`: deadline arithmetic
//! saturates, and a deadline that cannot be represented, or lies beyond the
//! wheel's span, means "never" (in practice: not for decades). Nothing in
//! this module panics or wraps on a large duration.

mod clock;
pub(crate) mod driver;
mod interval;
mod sleep;
mod timeout;
pub(crate) mod virtual_clock;
mod wheel;

pub use clock::{Advance, advance, is_paused, now, pause, resume};
pub use interval::{Interval, MissedTickBehavior, interval, interval_at};
pub use sleep::{Sleep, sleep, sleep_until};
pub use std::time::{Duration, Instant};
pub use timeout::{Elapsed, Timeout, timeout, timeout_at};

pub(crate) use clock::current_virtual_clock;
pub(crate) use driver::deadline_after;
