//! `timeout`: bound how long a future may take.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use pin_project_lite::pin_project;

use super::deadline::earlier_than;
use super::sleep::{Sleep, sleep, sleep_until};
use crate::task::coop;

/// Runs `future` for at most `duration`, like `gevent.Timeout`. On time-out
/// the future is dropped (cancelled) and `Err(Elapsed)` returned.
///
/// Under a [`deadline`](super::deadline) that falls earlier, it times out
/// at the deadline instead (at once if that has passed), so the code
/// around it sees `Err(Elapsed)`. Unlike `deadline`, it does not bound the
/// waits inside `future` with their own errors: it cuts `future` off.
///
/// ```
/// use std::time::Duration;
/// use sprout::{run, sleep, timeout};
///
/// run(async {
///     let slow = timeout(Duration::from_millis(5), sleep(Duration::from_secs(10))).await;
///     assert!(slow.is_err());
///     let fast = timeout(Duration::from_secs(10), async { 7 }).await;
///     assert_eq!(fast, Ok(7));
/// });
/// ```
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    Timeout { future, sleep: sleep(duration), bounded: false }
}

/// Runs `future` until `deadline` at the latest. See [`timeout`].
pub fn timeout_at<F: Future>(deadline: Instant, future: F) -> Timeout<F> {
    Timeout { future, sleep: sleep_until(deadline), bounded: false }
}

pin_project! {
    /// The future returned by [`timeout`] and [`timeout_at`].
    #[must_use = "futures do nothing unless awaited"]
    #[derive(Debug)]
    pub struct Timeout<F> {
        #[pin]
        future: F,
        sleep: Sleep,
        // Whether the current deadline has been read (at the first `Pending`).
        bounded: bool,
    }
}

impl<F> Timeout<F> {
    /// The wrapped future.
    pub fn get_ref(&self) -> &F {
        &self.future
    }

    /// Unwraps the future, dropping the timer.
    pub fn into_inner(self) -> F {
        self.future
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    #[track_caller]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        // The future first: if both are ready, the work wins.
        if let Poll::Ready(output) = this.future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        if !*this.bounded {
            if let Some(at) = earlier_than(this.sleep) {
                if at <= super::now() {
                    // Past already: fail without waiting, while the budget lasts.
                    ready!(coop::poll_proceed(cx));
                    return Poll::Ready(Err(Elapsed(())));
                }
                this.sleep.reset(at);
            }
            *this.bounded = true;
        }
        match Pin::new(this.sleep).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed(()))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The error of a [`timeout`] that ran out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Elapsed(());

impl Elapsed {
    pub(crate) const fn new() -> Elapsed {
        Elapsed(())
    }
}

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for std::io::Error {
    fn from(_: Elapsed) -> std::io::Error {
        std::io::ErrorKind::TimedOut.into()
    }
}
