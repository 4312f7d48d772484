//! Loom models of the remote mailbox (`remote.rs`): wake-ups and shutdown.
//!
//! They run the real `Remote` (its lock and flags come from `crate::loom`),
//! with the eventfd replaced by `ModelEventFd`, and a model thread playing
//! the runtime's part the way `EventLoop::turn` does, or running the shutdown's
//! own `Remote::shut_down`. Run with
//! `RUSTFLAGS="--cfg loom" cargo test -p sprout-runtime --lib --release
//! remote::loom_models` (see docs/testing.md).

use std::sync::Arc;

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;

use super::mailbox::{Message, ModelEventFd, Remote};

/// Drains the queue and runs its closures, as `EventLoop::drain_remote` does.
fn drain(remote: &Remote) {
    let mut messages = std::collections::VecDeque::new();
    remote.drain(&mut messages);
    for message in messages {
        match message {
            Message::Run(f) => f(),
            _ => unreachable!("the models post closures only"),
        }
    }
}

/// A closure that counts its run, or its drop without a run.
fn counted(ran: &Arc<AtomicUsize>, dropped: &Arc<AtomicUsize>) -> Message {
    struct Guard(Option<Arc<AtomicUsize>>);
    impl Drop for Guard {
        fn drop(&mut self) {
            if let Some(dropped) = self.0.take() {
                dropped.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
    let (ran, mut guard) = (ran.clone(), Guard(Some(dropped.clone())));
    Message::Run(Box::new(move || {
        // Ran: disarm the guard so its drop does not count.
        drop(guard.0.take());
        ran.fetch_add(1, Ordering::SeqCst);
    }))
}

/// No wake-up is lost: whatever two threads post, a runtime that only
/// ever blocks on the eventfd when its flags say "nothing" (as `turn`
/// does) gets every message. A lost wake-up is a deadlock, which loom
/// reports.
#[test]
fn no_wake_up_is_lost() {
    loom::model(|| {
        let eventfd = Arc::new(ModelEventFd::new());
        let remote = Arc::new(Remote::for_model(eventfd.clone()));
        let (ran, dropped) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let posters: Vec<_> = (0..2)
            .map(|_| {
                let (remote, message) = (remote.clone(), counted(&ran, &dropped));
                thread::spawn(move || assert!(remote.post(message).is_ok()))
            })
            .collect();
        loop {
            if remote.has_messages() {
                drain(&remote);
            }
            if ran.load(Ordering::SeqCst) == 2 {
                break;
            }
            // `epoll_wait` with no timer: only the eventfd can end it.
            eventfd.wait();
            drain(&remote);
        }
        posters.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(dropped.load(Ordering::SeqCst), 0);
    });
}

/// Shutdown: every closure another thread posted is
/// either run by the runtime (accepted before the shutdown's first read)
/// or handed back to the poster (refused), never dropped unrun inside the
/// queue; and the shutdown's last read finds no closure.
#[test]
fn shutdown_runs_or_refuses_every_closure() {
    loom::model(|| {
        let eventfd = Arc::new(ModelEventFd::new());
        let remote = Arc::new(Remote::for_model(eventfd));
        let (ran, dropped) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let poster = {
            let (remote, ran, dropped) = (remote.clone(), ran.clone(), dropped.clone());
            thread::spawn(move || (0..2).filter(|_| remote.post(counted(&ran, &dropped)).is_err()).count())
        };
        // A turn, then the shutdown (`EventLoop::shutdown`'s mailbox half).
        if remote.has_messages() {
            drain(&remote);
        }
        let closing = std::cell::Cell::new(false);
        remote.shut_down(
            |message| match message {
                Message::Run(f) => {
                    assert!(!closing.get(), "the shutdown's last read found a closure");
                    f()
                }
                _ => unreachable!("the model posts closures only"),
            },
            || closing.set(true),
        );
        let refused = poster.join().unwrap();
        assert_eq!(ran.load(Ordering::SeqCst) + refused, 2);
        assert_eq!(dropped.load(Ordering::SeqCst), refused, "only refused closures are dropped unrun");
    });
}

/// A foreign waker that never stops waking while the
/// runtime shuts down. The shutdown (`Remote::shut_down`, as
/// `EventLoop::shutdown` runs it) still ends: it reads the queue twice, however
/// many wakes arrive. A drain until the queue stays empty would never end
/// against this waker: loom would report a model that cannot finish. And no reference is lost, leaked or released twice: each
/// wake's reference is released by the shutdown, or, once the queue is
/// closed, given straight back by the waker; when the waker stops, the
/// task holds the waker's own reference and nothing else, and releasing
/// that frees the block and the orphaned home. (A waker that outlives its
/// runtime leaks its task's block, by design; the model releases that
/// last reference by hand, as the runtime thread would.)
#[test]
fn shutdown_ends_while_a_foreign_waker_keeps_waking() {
    use loom::sync::atomic::AtomicBool;

    use crate::task::loom_models::{drop_runtime, finished_task, foreign_waker, model_home, release_message};
    use crate::task::waker::{RefKind, SentRef};

    loom::model(|| {
        let remote = Arc::new(Remote::for_model(Arc::new(ModelEventFd::new())));
        let home = model_home(&remote);
        let task = finished_task(home);
        let stop = Arc::new(AtomicBool::new(false));
        let waker = {
            let (waker, stop) = (foreign_waker(task), stop.clone());
            thread::spawn(move || {
                while !stop.load(Ordering::Acquire) {
                    waker.wake_by_ref();
                    thread::yield_now();
                }
                waker
            })
        };
        // The runtime thread: its shutdown, with the task's local
        // reference (the registry's) let go where the kill would.
        remote.shut_down(release_message, || {
            // SAFETY: the local reference `finished_task` took.
            unsafe { crate::task::header::ref_dec(task) }
        });
        drop_runtime(home);
        // Only now does the waker stop: it woke all through the shutdown.
        stop.store(true, Ordering::Release);
        let waker = waker.join().unwrap();
        // SAFETY: the waker keeps the block alive.
        let left = unsafe { task.as_ref().foreign_refs.load(Ordering::SeqCst) };
        assert_eq!(left, 1, "a wake's reference was leaked or released twice");
        std::mem::forget(waker);
        // SAFETY: the waker's own reference, forgotten above; this thread
        // plays the runtime's, as the model's drop of the home did.
        unsafe { SentRef::new(task, RefKind::Foreign).release() };
        assert_eq!(Arc::strong_count(&remote), 1, "the task block or its home was not freed");
    });
}
