//! Blocking a plain OS thread on a future (for `join_blocking` and
//! `WorkFuture::result` on threads that run no runtime).

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::Instant;

struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Parks the thread until `future` completes.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    match block_on_until(pin!(future), None) {
        Ok(output) => output,
        Err(_) => unreachable!("no deadline was set"),
    }
}

/// Parks the thread until `future` completes or `deadline` passes; on
/// time-out hands the future back.
pub(crate) fn block_on_until<F: Future + Unpin>(mut future: F, deadline: Option<Instant>) -> Result<F::Output, F> {
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(output) = std::pin::Pin::new(&mut future).poll(&mut cx) {
            return Ok(output);
        }
        match deadline {
            None => thread::park(),
            Some(deadline) => {
                let now = Instant::now();
                if now >= deadline {
                    return Err(future);
                }
                thread::park_timeout(deadline - now);
            }
        }
    }
}
