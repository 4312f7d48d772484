//! `Withdraw`: a deadline that races a grant.
//!
//! A waiter's deadline and the hand-off of what it waits for (a permit,
//! the lock, an item, a notification) can fall at the same moment: on
//! two threads, the grant can land after the waiter last looked and before
//! its timer is seen. The rule for every `*_timeout` call is **the grant
//! wins**: at its deadline the waiter leaves the line in one step under
//! the primitive's lock ([`Withdraw::withdraw`]). If it had been granted
//! meanwhile, it keeps what it was given and the call succeeds; only a
//! waiter that was still waiting reports the time-out, and from that step
//! on nobody can grant it anything. So a grant is never lost, never passed
//! on behind the caller's back, and a success is never reported as a
//! failure.
//!
//! Dropping a waiting future instead (an outer `timeout`, `select`, a
//! killed task) is a cancellation, not a time-out: its `Drop` passes a
//! grant it had received on to the next waiter (see the `sync` module's
//! docs).
//!
//! On one thread the race cannot happen ([`crate::time::timeout`] polls the
//! work before the timer, and nothing runs in between), but the
//! runtime-local queues share their futures with the thread-safe ones and
//! so follow the same rule.

use std::future::Future;
use std::time::Duration;

use crate::time::Elapsed;

/// A wait that can leave its line at a deadline (see the module docs).
pub(crate) trait Withdraw: Future + Unpin {
    /// Leaves the line: `Some(output)` if it had been granted meanwhile
    /// (the caller now owns the grant), `None` if it was still waiting and
    /// is now out of the line. Called on a future that has not completed.
    fn withdraw(&mut self) -> Option<Self::Output>;
}

/// Waits for `wait` at most `duration` in a green task; at the deadline a
/// grant that raced it wins.
pub(crate) async fn timeout<W: Withdraw>(duration: Duration, mut wait: W) -> Result<W::Output, Elapsed> {
    match crate::time::timeout(duration, &mut wait).await {
        Ok(output) => Ok(output),
        Err(elapsed) => wait.withdraw().ok_or(elapsed),
    }
}
