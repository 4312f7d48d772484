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
//!
//! # Deadlines
//! [`deadline`]`(at, future)` (or [`deadline_after`]) bounds everything
//! `future` waits on, the way Go's `context.WithDeadline` bounds a
//! request, without passing a context: sprout's waits that can time out
//! (socket operations and connects, the HTTP client, process waits, the
//! `*_timeout` methods of the sync primitives and queues, [`timeout`])
//! give up at the earlier of their own limit and the deadline, with their
//! usual error, so the code beneath it sees the failure and cleans up. If
//! the future is still pending after the deadline (it waits on something
//! that cannot fail), it is dropped and `Err(Elapsed)` returned.
//! [`current_deadline`] reads the deadline in force; nested deadlines
//! take the earlier; spawned tasks do not inherit it
//! (`spawn(deadline(current_deadline(), work))` passes it on). The rules
//! are in `deadline.rs`; [`poll_wait_timer`] lets a wait written outside
//! sprout honour it.

mod clock;
mod deadline;
pub(crate) mod driver;
mod interval;
mod sleep;
mod timed_task;
mod timeout;
pub(crate) mod virtual_clock;
mod wheel;

pub use clock::{Advance, advance, is_paused, now, pause, resume};
pub use deadline::{Deadline, current_deadline, deadline, deadline_after, poll_wait_timer, wait_deadline};
pub use interval::{Interval, MissedTickBehavior, interval, interval_at};
pub use sleep::{Sleep, sleep, sleep_until};
pub use std::time::{Duration, Instant};
pub use timeout::{Elapsed, Timeout, timeout, timeout_at};

pub(crate) use clock::current_virtual_clock;
pub(crate) use deadline::enter as enter_deadline;
pub(crate) use driver::instant_after;
pub use timed_task::spawn_later;
