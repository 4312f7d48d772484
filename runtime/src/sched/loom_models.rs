//! Loom models of the remote mailbox (`remote.rs`): wake-ups and shutdown.
//!
//! They run the real `Remote` (its lock and flags come from `crate::loom`),
//! with the eventfd replaced by `ModelEventFd`, and a model thread playing
//! the runtime's part the way `Core::turn` and `Core::shutdown` do. Run with
//! `RUSTFLAGS="--cfg loom" cargo test -p sprout-runtime --lib --release
//! sched::loom_models` (see docs/testing.md).

use std::sync::Arc;

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;

use super::remote::{Message, ModelEventFd, Remote};

/// Drains the queue and runs its closures, as `Core::drain_remote` does.
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

/// Shutdown (issue 8, bug 3): every closure another thread posted is
/// either run by the runtime (accepted before `refuse_closures`) or handed
/// back to the poster (refused), never dropped unrun inside the queue; and
/// after `close` nothing is left.
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
        // A turn, then the shutdown's order: refuse, drain until quiet, close.
        if remote.has_messages() {
            drain(&remote);
        }
        remote.refuse_closures();
        while remote.has_messages() {
            drain(&remote);
        }
        let left = remote.close();
        assert!(left.is_empty(), "a closure accepted before refuse_closures was left in the queue");
        let refused = poster.join().unwrap();
        assert_eq!(ran.load(Ordering::SeqCst) + refused, 2);
        assert_eq!(dropped.load(Ordering::SeqCst), refused, "only refused closures are dropped unrun");
    });
}
