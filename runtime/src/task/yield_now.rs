//! `yield_now`: gevent's `sleep(0)`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::executor::Executor;

/// Lets every other ready task run, and I/O and timers be polled, before
/// this task continues: gevent's `sleep(0)`.
///
/// The task goes to the back of the line *after* the next I/O poll, so a
/// loop of `yield_now` cannot starve sockets or timers (in gevent, a loop of
/// `sleep(0)` can). When no socket is registered the poll is skipped, since
/// there is nothing it could report.
///
/// ```
/// use std::cell::RefCell;
/// use std::rc::Rc;
/// use sprout::{run, spawn, yield_now};
///
/// run(async {
///     let log = Rc::new(RefCell::new(Vec::new()));
///     let tasks: Vec<_> = ["a", "b"].into_iter().map(|name| {
///         let log = log.clone();
///         spawn(async move {
///             for i in 0..2 {
///                 log.borrow_mut().push(format!("{name}{i}"));
///                 yield_now().await;
///             }
///         })
///     }).collect();
///     for t in tasks { t.await.unwrap(); }
///     assert_eq!(*log.borrow(), ["a0", "b0", "a1", "b1"]);
/// });
/// ```
#[inline]
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future returned by [`yield_now`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    // Inlined into the yielding future: the second poll is then a flag test.
    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        match Executor::current() {
            Some(executor) => executor.defer(cx.waker()),
            // Polled by some other executor: yield to it the usual way.
            None => cx.waker().wake_by_ref(),
        }
        Poll::Pending
    }
}
