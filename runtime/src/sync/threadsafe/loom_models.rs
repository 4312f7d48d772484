//! Loom models of the thread-safe hand-offs: the real `Lock`, `Semaphore`,
//! `Barrier`, `RwLock`, `Notify`, `broadcast` and `CancelToken` code, on
//! loom's `Mutex` (through `crate::loom`), with every interleaving of the
//! model threads at each lock tried (no preemption bound: the models are
//! small enough to explore whole).
//!
//! ```text
//! RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom \
//!     cargo test -p sprout-runtime --release --lib loom_models
//! ```
//!
//! A "blocking thread" calls the `*_blocking` API, which under loom parks
//! on loom's scheduler. A "task" polls a wait future by hand with a no-op
//! waker, as a runtime would, then stops the way a task does: its deadline
//! passes (the `*_timeout` bodies: [`Withdraw::withdraw`] or
//! `BarrierWait::time_out`) or its future is dropped (cancelled). Under
//! loom a blocking `*_timeout` call polls once and then sees its deadline
//! pass (see `block_on_until` in the parent module), which leaves the
//! widest window for a grant to race the deadline.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use ::loom::sync::Arc;
use ::loom::thread;

use super::{Barrier, CancelToken, Lock, Notify, RwLock, Semaphore, broadcast};
use crate::sync::withdraw::Withdraw;

/// One poll, as a runtime polls a task's future.
fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    Pin::new(future).poll(&mut Context::from_waker(Waker::noop()))
}

/// Bug 7: a round that passes as a task's `wait_timeout` deadline falls
/// has passed, for everyone; the barrier is not broken.
#[test]
fn barrier_trip_races_a_task_timeout() {
    ::loom::model(|| {
        let barrier = Arc::new(Barrier::new(2));
        let thread = thread::spawn({
            let barrier = barrier.clone();
            move || barrier.wait_blocking()
        });
        // The task: `wait_timeout`'s body, with its timer firing after the first poll.
        let mut wait = barrier.wait();
        let task = match poll_once(&mut wait) {
            Poll::Ready(result) => result,
            Poll::Pending => wait.time_out(),
        };
        drop(wait);
        let thread = thread.join().unwrap();
        assert_eq!(task.is_ok(), thread.is_ok(), "one round, one outcome: task {task:?}, thread {thread:?}");
        assert_eq!(barrier.is_broken(), task.is_err());
        if let (Ok(a), Ok(b)) = (task, thread) {
            assert!(a.is_leader() != b.is_leader());
        }
        assert_eq!(barrier.n_waiting(), 0);
    });
}

/// The same race between two blocking threads, one with a deadline
/// (`wait_blocking_timeout`), and an `abort` from a third.
#[test]
fn barrier_trip_races_a_blocking_timeout_and_abort() {
    ::loom::model(|| {
        let barrier = Arc::new(Barrier::new(2));
        let waiter = thread::spawn({
            let barrier = barrier.clone();
            move || barrier.wait_blocking()
        });
        let aborter = thread::spawn({
            let barrier = barrier.clone();
            move || barrier.abort()
        });
        let timed = barrier.wait_blocking_timeout(std::time::Duration::from_secs(1));
        let waiter = waiter.join().unwrap();
        aborter.join().unwrap();
        assert_eq!(timed.is_ok(), waiter.is_ok(), "one round, one outcome: {timed:?}, {waiter:?}");
        assert!(barrier.is_broken(), "aborted, whenever it ran");
        assert_eq!(barrier.n_waiting(), 0);
    });
}

/// Unlocking hands the lock to a blocking waiter; a task whose deadline
/// races the hand-off either takes the lock or never gets it, and the
/// lock is free at the end either way.
#[test]
fn lock_release_hands_off_across_threads() {
    ::loom::model(|| {
        let lock = Arc::new(Lock::new(0));
        let held = lock.try_lock().unwrap();
        let thread = thread::spawn({
            let lock = lock.clone();
            move || *lock.lock_blocking() += 1
        });
        let task = thread::spawn({
            let lock = lock.clone();
            move || {
                let mut fut = lock.lock();
                let guard = match poll_once(&mut fut) {
                    Poll::Ready(guard) => Some(guard),
                    Poll::Pending => fut.withdraw(),
                };
                drop(fut);
                guard.map(|mut guard| *guard += 10).is_some()
            }
        });
        drop(held);
        thread.join().unwrap();
        let task_got_it = task.join().unwrap();
        assert!(!lock.locked(), "the lock is free once every holder is gone");
        assert_eq!(lock.waiters(), 0);
        assert_eq!(*lock.try_lock().unwrap(), 1 + if task_got_it { 10 } else { 0 });
    });
}

/// A released permit handed to a waiter that then times out, or whose
/// future is dropped, is taken or passed on: never leaked.
#[test]
fn semaphore_permit_survives_a_timeout_and_a_cancelled_waiter() {
    ::loom::model(|| {
        let sem = Arc::new(Semaphore::new(0));
        let timed = thread::spawn({
            let sem = sem.clone();
            move || sem.acquire_blocking_timeout(std::time::Duration::from_secs(1)).is_ok()
        });
        let cancelled = thread::spawn({
            let sem = sem.clone();
            move || {
                let mut acquire = sem.acquire();
                let got = poll_once(&mut acquire).is_ready();
                drop(acquire); // cancelled: a permit handed over meanwhile goes on
                got
            }
        });
        sem.release().unwrap();
        timed.join().unwrap(); // a guard it took was dropped: the permit is back
        cancelled.join().unwrap();
        assert_eq!(sem.available_permits(), 1, "the one permit is free again");
        assert_eq!(sem.waiters(), 0);
    });
}

/// An `RwLock` write released while a reader thread waits and a task's
/// write races its deadline: the reader gets in, the task takes the lock
/// or never does, and the lock is free at the end with nobody waiting.
#[test]
fn rwlock_release_hands_off_to_a_reader_and_a_timed_out_writer() {
    ::loom::model(|| {
        let lock = Arc::new(RwLock::new(0));
        let held = lock.try_write().unwrap();
        let reader = thread::spawn({
            let lock = lock.clone();
            move || *lock.read_blocking()
        });
        let task = thread::spawn({
            let lock = lock.clone();
            // Under loom the deadline falls right after the first poll.
            move || {
                lock.write_blocking_timeout(std::time::Duration::from_secs(1)).map(|mut guard| *guard = 10).is_some()
            }
        });
        drop(held);
        let seen = reader.join().unwrap();
        let wrote = task.join().unwrap();
        assert!(seen == 0 || (wrote && seen == 10), "the reader saw a value written before it: {seen}");
        assert_eq!((lock.readers(), lock.is_write_locked(), lock.waiters()), (0, false, 0));
        assert_eq!(*lock.try_read().unwrap(), if wrote { 10 } else { 0 });
    });
}

/// A `notify_one` that races a waiter dropped after its first poll is
/// never lost: the waiter took it, or it is the stored permit.
#[test]
fn notify_one_survives_a_cancelled_waiter() {
    ::loom::model(|| {
        let notify = Arc::new(Notify::new());
        let task = thread::spawn({
            let notify = notify.clone();
            move || {
                let mut notified = notify.notified();
                let got = poll_once(&mut notified).is_ready();
                drop(notified); // cancelled: a notify_one it was chosen by goes on
                got
            }
        });
        let waiting = thread::spawn({
            let notify = notify.clone();
            move || notify.notified_blocking_timeout(std::time::Duration::from_secs(1))
        });
        notify.notify_one();
        let (task, waiting) = (task.join().unwrap(), waiting.join().unwrap());
        let stored = notify.has_permit();
        assert_eq!(
            u8::from(task) + u8::from(waiting) + u8::from(stored),
            1,
            "one notification: task {task}, thread {waiting}, stored {stored}"
        );
        assert_eq!(notify.waiters(), 0);
    });
}

/// A send races a receiver reading on another thread and a second
/// receiver dropped on a third: the reader gets the message, and once all
/// are done no copy is held (the dropped receiver's share was let go).
#[test]
fn broadcast_send_races_a_reader_and_a_dropped_receiver() {
    ::loom::model(|| {
        let (tx, mut rx) = broadcast::channel::<Arc<u8>>(1);
        let dropped = tx.subscribe();
        let message = Arc::new(1);
        let reader = thread::spawn(move || rx.recv_blocking().map(|m| *m));
        let dropper = thread::spawn(move || drop(dropped));
        let sent = tx.send(message.clone()).unwrap();
        assert!(sent == 1 || sent == 2, "the reader, and the other if not dropped yet: {sent}");
        assert_eq!(reader.join().unwrap(), Ok(1));
        dropper.join().unwrap();
        assert_eq!(Arc::strong_count(&message), 1, "every copy was taken or let go");
        drop(tx);
    });
}

/// A cancel on one thread against a waiter registering on another: the
/// waiter either sees the flag or is found in the list, never neither
/// (a lost wake leaves `cancelled_blocking` parked: loom reports it).
#[test]
fn cancel_races_a_waiter() {
    ::loom::model(|| {
        let token = CancelToken::new();
        let canceller = thread::spawn({
            let token = token.clone();
            move || token.cancel()
        });
        // A task's wait, dropped after one poll (cancellation safety),
        // then a thread's.
        let mut wait = token.cancelled();
        let early = poll_once(&mut wait).is_ready();
        drop(wait);
        token.cancelled_blocking();
        canceller.join().unwrap();
        assert!(token.is_cancelled());
        assert!(!early || token.is_cancelled());
    });
}

/// A child made while its parent is cancelled on another thread is
/// cancelled too, whichever way the race goes (`cancel.rs`, module docs:
/// the slab may be taken before the child's weak pointer can be upgraded).
#[test]
fn cancel_races_a_new_child() {
    ::loom::model(|| {
        let parent = CancelToken::new();
        let canceller = thread::spawn({
            let parent = parent.clone();
            move || parent.cancel()
        });
        let child = parent.child_token();
        child.cancelled_blocking();
        canceller.join().unwrap();
    });
}

/// A child's last handle dropped on one thread while the parent is
/// cancelled on another: no panic, and a later child of the cancelled
/// parent is born cancelled.
#[test]
fn a_dropped_child_races_its_parents_cancel() {
    ::loom::model(|| {
        let parent = CancelToken::new();
        let child = parent.child_token();
        let dropper = thread::spawn(move || drop(child));
        parent.cancel();
        dropper.join().unwrap();
        assert!(parent.child_token().is_cancelled());
    });
}
