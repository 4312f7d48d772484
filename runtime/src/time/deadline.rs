//! Deadlines that reach the leaves: [`deadline`] bounds everything its
//! future waits on, [`current_deadline`] says what bounds the running code
//! (Go's `context.WithDeadline`, without passing a context around).
//!
//! # The ground rules
//! - The current deadline is one thread-local cell. A [`Deadline`] future
//!   sets it, for the length of its inner future's poll, to the earlier of
//!   its own deadline and the one it found, and puts the old value back
//!   after (a guard does it, so a panic in the poll restores it too).
//!   Nested deadlines therefore take the earliest, and the deadline is
//!   carried by whatever polls the future: the task that awaits it, and
//!   anything polled inside that task's poll (a `select!`, a `join`, a
//!   scope's children, which also run under the scope's own deadline). The
//!   loop polls every task outside all `Deadline`s,
//!   where the cell is empty, so no deadline leaks from one task to another.
//! - **Spawned tasks do not inherit it.** `spawn` starts a task the loop
//!   polls on its own, which may outlive the code that spawned it (as a
//!   detached greenlet outlives its parent); Go's `context` is inherited
//!   only where it is passed, and tokio has no such thing. To bound a
//!   spawned task by the spawner's deadline, say so:
//!   `spawn(deadline(current_deadline(), work))`.
//! - A wait of sprout's that can fail with a time-out (a socket operation,
//!   a connect, the HTTP client, a process wait, every `*_timeout`, a
//!   [`timeout`](super::timeout)) reads the cell once, when it arms its
//!   timer (its first `Pending`), and gives up at the earlier of its own
//!   time-out and the deadline, with its usual error: the code above it
//!   sees `TimedOut` (or `Elapsed`) and its cleanup runs. A wait whose
//!   deadline has already passed fails at once, without waiting; the
//!   failure spends a unit of the task's operation budget, so a loop that
//!   retries on time-outs gives the loop back within a poll's budget, and
//!   the enclosing `Deadline` ends it.
//! - The `Deadline` itself is the backstop: if its future is still
//!   pending once the deadline has passed (it waits on something that
//!   cannot fail: a plain `lock()`, an event, a sleep, a future of the
//!   user's), the future is dropped and `Err(Elapsed)` returned. The
//!   future is polled first, so a leaf that fails at the deadline reaches
//!   the code above it before the backstop acts.
//! - A wait with neither a time-out nor a deadline reads one thread-local
//!   and arms nothing; a wait that is ready at once reads nothing at all.

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use pin_project_lite::pin_project;

use super::sleep::{Sleep, sleep_until};
use super::timeout::Elapsed;
use crate::task::coop;

thread_local! {
    /// The deadline of the code being polled on this thread (see the module docs).
    static CURRENT: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// The deadline that bounds the code running now: the earliest of the
/// [`deadline`]s it is polled under, or `None`.
///
/// ```
/// use std::time::Duration;
/// use sprout::time::{current_deadline, deadline_after};
///
/// sprout::run(async {
///     assert_eq!(current_deadline(), None);
///     deadline_after(Duration::from_secs(5), async {
///         let outer = current_deadline().unwrap();
///         // A nested deadline takes the earlier of the two.
///         deadline_after(Duration::from_secs(60), async {
///             assert_eq!(current_deadline(), Some(outer));
///         })
///         .await
///         .unwrap();
///     })
///     .await
///     .unwrap();
/// });
/// ```
#[inline]
pub fn current_deadline() -> Option<Instant> {
    CURRENT.get()
}

/// Runs `future` under a deadline at `at` (`None`: no deadline of its own),
/// which bounds every wait beneath it; see the module docs of
/// [`time`](super) ("Deadlines").
///
/// sprout's waits that can time out give up at the deadline with their
/// usual error (`io::ErrorKind::TimedOut` for sockets and processes,
/// `Elapsed` for the `*_timeout`s and [`timeout`](super::timeout), the
/// HTTP client's timeout error), so the code beneath sees the failure and
/// cleans up. If the future is still pending once the deadline has passed,
/// it is dropped and `Err(Elapsed)` returned, as [`timeout_at`](super::timeout_at) does.
///
/// Nested deadlines take the earlier. Spawned tasks do not inherit the
/// deadline; `spawn(deadline(current_deadline(), work))` passes it on.
///
/// ```
/// use std::time::Duration;
/// use sprout::sync::Lock;
/// use sprout::time::{self, deadline};
///
/// sprout::run(async {
///     time::pause();
///     let lock = Lock::new(());
///     let _held = lock.lock().await;
///     let cleaned_up = deadline(time::now() + Duration::from_secs(2), async {
///         // Its own limit is a minute; the deadline cuts it to two seconds.
///         match lock.lock_timeout(Duration::from_secs(60)).await {
///             Ok(_guard) => "locked",
///             Err(_elapsed) => "cleaned up", // cleanup runs here
///         }
///     })
///     .await;
///     assert_eq!(cleaned_up, Ok("cleaned up"));
/// });
/// ```
pub fn deadline<F: Future>(at: impl Into<Option<Instant>>, future: F) -> Deadline<F> {
    Deadline { future, at: at.into(), timer: None }
}

/// [`deadline`] at `duration` from now ([`time::now`](super::now)).
pub fn deadline_after<F: Future>(duration: Duration, future: F) -> Deadline<F> {
    deadline(super::instant_after(super::now(), duration), future)
}

pin_project! {
    /// The future returned by [`deadline`] and [`deadline_after`].
    #[must_use = "futures do nothing unless awaited"]
    pub struct Deadline<F> {
        #[pin]
        future: F,
        at: Option<Instant>,
        // Armed at the first `Pending` under our own deadline.
        timer: Option<Sleep>,
    }
}

impl<F> Deadline<F> {
    /// The deadline this future sets (not counting the ones around it).
    pub fn deadline(&self) -> Option<Instant> {
        self.at
    }
}

impl<F: Future> Future for Deadline<F> {
    type Output = Result<F::Output, Elapsed>;

    #[track_caller]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let outer = CURRENT.get();
        let poll = {
            let _restore = enter(*this.at);
            this.future.poll(cx)
        };
        if let Poll::Ready(output) = poll {
            *this.timer = None;
            return Poll::Ready(Ok(output));
        }
        // Only our own deadline: an earlier or equal one around us is the
        // job of the `Deadline` that set it, which polls us.
        let Some(at) = *this.at else { return Poll::Pending };
        if outer.is_some_and(|outer| outer <= at) {
            return Poll::Pending;
        }
        if this.timer.is_none() && at <= super::now() {
            return Poll::Ready(Err(Elapsed::new()));
        }
        match Pin::new(this.timer.get_or_insert_with(|| sleep_until(at))).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed::new())),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<F> fmt::Debug for Deadline<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deadline").field("at", &self.at).finish()
    }
}

/// Puts the deadline found before a poll back after it, panic or not.
pub(crate) struct Restore(Option<Instant>);

/// Sets the current deadline to the earlier of the one in force and `at`
/// until the guard drops: for code that polls futures under a deadline of
/// its own other than through [`Deadline`] (a scope, for its children).
#[must_use = "the deadline holds until the guard is dropped"]
pub(crate) fn enter(at: Option<Instant>) -> Restore {
    let outer = CURRENT.get();
    CURRENT.set(earlier(outer, at));
    Restore(outer)
}

impl Drop for Restore {
    #[inline]
    fn drop(&mut self) {
        CURRENT.set(self.0);
    }
}

/// The earlier of two optional deadlines; `None` is "no deadline".
#[inline]
fn earlier(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// When a wait with its own `timeout` (counted from now; `None`: none)
/// should give up under the current deadline: the earlier of the two, or
/// `None` if neither.
///
/// For waits written outside sprout that should honour [`deadline`];
/// [`poll_wait_timer`] does the whole job for a poll-style wait.
#[inline]
pub fn wait_deadline(timeout: Option<Duration>) -> Option<Instant> {
    let current = CURRENT.get();
    match timeout {
        None => current,
        Some(timeout) => earlier(Some(super::instant_after(super::now(), timeout)), current),
    }
}

/// The timer of a wait with its own `timeout`, under the current deadline:
/// call it when the wait's operation returned `Pending`. It arms `timer` on
/// the first call, at [`wait_deadline`]`(timeout)`, and returns `Ready`
/// once the wait should fail with its time-out error (at once, if the
/// deadline has already passed: that costs a unit of the task's
/// [budget](crate::coop), so a retry loop cannot spin); `Pending` while it
/// should go on waiting, or if there is nothing to time out. Clear `timer`
/// when the wait completes.
///
/// ```
/// use std::future::poll_fn;
/// use std::io;
/// use std::task::Poll;
/// use std::time::Duration;
/// use sprout::time::{self, deadline_after, poll_wait_timer};
///
/// sprout::run(async {
///     time::pause();
///     // A wait that never completes by itself, with a one-hour limit of its own.
///     let mut timer = None;
///     let wait = poll_fn(|cx| match poll_wait_timer(cx, &mut timer, Some(Duration::from_secs(3600))) {
///         Poll::Ready(()) => Poll::Ready(Err::<(), _>(io::Error::from(io::ErrorKind::TimedOut))),
///         Poll::Pending => Poll::Pending,
///     });
///     let start = time::now();
///     let result = deadline_after(Duration::from_secs(1), wait).await.unwrap();
///     assert_eq!(result.unwrap_err().kind(), io::ErrorKind::TimedOut);
///     // Timers fire on the driver's millisecond ticks: within a tick of the deadline.
///     let waited = time::now() - start;
///     assert!(waited >= Duration::from_secs(1) && waited <= Duration::from_millis(1001), "{waited:?}");
/// });
/// ```
pub fn poll_wait_timer(cx: &mut Context<'_>, timer: &mut Option<Sleep>, timeout: Option<Duration>) -> Poll<()> {
    let sleep = match timer {
        Some(sleep) => sleep,
        None => {
            let Some(at) = wait_deadline(timeout) else { return Poll::Pending };
            if at <= super::now() {
                return coop::poll_proceed(cx);
            }
            timer.insert(sleep_until(at))
        }
    };
    Pin::new(sleep).poll(cx)
}

/// `Timeout`'s part: the current deadline, if it is earlier than
/// `sleep`'s (read at the timeout's first `Pending`).
#[inline]
pub(crate) fn earlier_than(sleep: &Sleep) -> Option<Instant> {
    CURRENT.get().filter(|&at| at < sleep.deadline())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earlier_takes_the_earliest_and_none_is_no_deadline() {
        let now = Instant::now();
        let later = now + Duration::from_secs(1);
        assert_eq!(earlier(Some(now), Some(later)), Some(now));
        assert_eq!(earlier(Some(later), Some(now)), Some(now));
        assert_eq!(earlier(None, Some(now)), Some(now));
        assert_eq!(earlier(Some(now), None), Some(now));
        assert_eq!(earlier(None, None), None);
    }

    #[test]
    fn a_panicking_poll_puts_the_old_deadline_back() {
        let outer = Instant::now() + Duration::from_secs(60);
        CURRENT.set(Some(outer));
        let panicked = std::panic::catch_unwind(|| {
            let mut fut = Box::pin(deadline(Instant::now(), async { panic!("in the poll") }));
            let _ = fut.as_mut().poll(&mut Context::from_waker(std::task::Waker::noop()));
        });
        assert!(panicked.is_err());
        assert_eq!(current_deadline(), Some(outer));
        CURRENT.set(None);
    }
}
