//! Helpers for the sync and queue tests: wakers that record being woken,
//! and manual polling, so a test can drive futures in any interleaving.
#![allow(dead_code)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};

/// A waker that raises a flag (and counts) when woken.
pub struct Flag {
    woken: AtomicBool,
    count: AtomicUsize,
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        self.count.fetch_add(1, Ordering::SeqCst);
    }
}

/// One waker per simulated task.
pub struct FlagWaker {
    flag: Arc<Flag>,
    waker: Waker,
}

impl FlagWaker {
    pub fn new() -> FlagWaker {
        let flag = Arc::new(Flag { woken: AtomicBool::new(false), count: AtomicUsize::new(0) });
        FlagWaker { waker: Waker::from(flag.clone()), flag }
    }

    /// Whether it was woken since the last `poll`.
    pub fn woken(&self) -> bool {
        self.flag.woken.load(Ordering::SeqCst)
    }

    /// How many times it was woken in all.
    pub fn wakes(&self) -> usize {
        self.flag.count.load(Ordering::SeqCst)
    }

    /// Polls `fut` once with this waker, clearing the flag first.
    pub fn poll<F: Future + Unpin>(&self, fut: &mut F) -> Poll<F::Output> {
        self.flag.woken.store(false, Ordering::SeqCst);
        Pin::new(fut).poll(&mut Context::from_waker(&self.waker))
    }
}

/// Polls once with a waker that does nothing.
pub fn poll_once<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    Pin::new(fut).poll(&mut Context::from_waker(Waker::noop()))
}
