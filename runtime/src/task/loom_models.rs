//! Loom models of the foreign-waker reference count and its `Release`
//! messages (`waker.rs`, `header.rs`).
//!
//! Real task blocks (`raw::allocate`) in a real `TaskHome`, real wakers
//! and the real `Remote` as the home's mailbox; the header's
//! `foreign_refs` and the queue's lock come from `crate::loom`. No runtime
//! is entered on any model thread, so every waker operation takes its
//! foreign path, which is the one under test; the model's main thread
//! plays the runtime thread: it drops the local reference and handles the
//! messages as the loop does for a finished task (a wake schedules
//! nothing, so both kinds release). Midway, the runtime is dropped (its
//! root freed, its home given up), so the home may be orphaned while
//! foreign wakers still hold the task. The block must be freed exactly
//! once (a second free would underflow the home's count and panic), and
//! the home with it or with the runtime (its mailbox's strong count back
//! to the model's own), whatever the interleaving.
//!
//! `RUSTFLAGS="--cfg loom" cargo test -p sprout-runtime --lib --release task::loom_models`
//!
//! The helpers that build a home and a task are shared with the mailbox's
//! shutdown model (`remote/loom_models.rs`).

use std::collections::VecDeque;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::sync::Arc;

use loom::thread;

use super::header::{Header, ref_dec};
use super::home::TaskHome;
use super::state::{COMPLETE, CONSUMED};
use super::{raw, waker};
use crate::remote::mailbox::{Message, ModelEventFd, Remote};

/// A home whose mailbox is `remote`, with one allocation counted for the
/// runtime's root.
pub(crate) fn model_home(remote: &Arc<Remote>) -> NonNull<TaskHome> {
    let home = TaskHome::new(remote.clone());
    // SAFETY: this thread plays the runtime's.
    unsafe { home.as_ref().note_alloc() };
    home
}

/// The end of the runtime's shutdown: its root goes, then its home is
/// given up (freed now, or orphaned until the task block goes).
pub(crate) fn drop_runtime(home: NonNull<TaskHome>) {
    // SAFETY: this thread plays the runtime's; the home is live until
    // `release`, which the runtime calls once and last.
    unsafe {
        TaskHome::note_dealloc(home);
        let _ = TaskHome::release(home);
    }
}

/// A task that has finished and whose output is gone, holding one local
/// reference (say, its `JoinHandle`'s): what the wakers of a done task
/// point at.
pub(crate) fn finished_task(home: NonNull<TaskHome>) -> NonNull<Header> {
    let task = raw::allocate(async {}, COMPLETE | CONSUMED, 1, home, 1);
    // SAFETY: fresh task on this (its runtime's) thread: drop the future
    // and the output the kill writes, so the block holds nothing live.
    unsafe {
        (task.as_ref().vtable.kill)(task);
        drop((task.as_ref().vtable.drop_output)(task));
    }
    task
}

/// Handles every queued message as the runtime does for a finished task.
fn handle_messages(remote: &Remote) {
    let mut messages = VecDeque::new();
    remote.drain(&mut messages);
    messages.into_iter().for_each(release_message);
}

/// Handles one message as the runtime does for a finished task: a wake
/// schedules nothing, so both kinds give up their reference.
pub(crate) fn release_message(message: Message) {
    match message {
        // SAFETY: each message owns a reference of its kind to a live
        // task, and the model's thread that calls this plays the runtime's.
        Message::Wake(sent) | Message::Release(sent) => unsafe { sent.release() },
        _ => unreachable!("wakers post wakes and releases only"),
    }
}

/// A waker for `task` that owns a reference of its own: a clone of the
/// borrowed one, made off any runtime, hence foreign.
pub(crate) fn foreign_waker(task: NonNull<Header>) -> std::task::Waker {
    // SAFETY: the task is live (the caller holds a reference); the borrowed
    // waker is never dropped, only cloned.
    let borrowed = ManuallyDrop::new(unsafe { waker::borrowed(task) });
    (*borrowed).clone()
}

/// Two threads clone, wake and drop foreign wakers while the runtime
/// thread drops the task's last local reference and handles messages:
/// the block is freed once, by the runtime thread, in every interleaving.
#[test]
fn foreign_wakers_free_a_finished_task_once() {
    loom::model(|| {
        let remote = Arc::new(Remote::for_model(Arc::new(ModelEventFd::new())));
        let home = model_home(&remote);
        let task = finished_task(home);
        let (w1, w2) = (foreign_waker(task), foreign_waker(task));
        let a = thread::spawn(move || {
            w1.wake_by_ref();
            w1.wake();
        });
        let b = thread::spawn(move || {
            let extra = w2.clone();
            drop(w2);
            drop(extra);
        });
        // SAFETY: the local reference taken by `finished_task`.
        unsafe { ref_dec(task) };
        handle_messages(&remote);
        drop_runtime(home);
        a.join().unwrap();
        b.join().unwrap();
        handle_messages(&remote);
        let _ = remote.close();
        assert_eq!(Arc::strong_count(&remote), 1, "the task block or its home was not freed");
    });
}

/// The runtime keeps the last reference while a foreign waker drops its
/// own: whichever of the two goes last frees the block, and only the
/// runtime thread ever frees it.
#[test]
fn the_last_reference_of_either_kind_frees_the_task() {
    loom::model(|| {
        let remote = Arc::new(Remote::for_model(Arc::new(ModelEventFd::new())));
        let home = model_home(&remote);
        let task = finished_task(home);
        let w = foreign_waker(task);
        let t = thread::spawn(move || drop(w));
        handle_messages(&remote);
        // SAFETY: the local reference taken by `finished_task`.
        unsafe { ref_dec(task) };
        drop_runtime(home);
        t.join().unwrap();
        handle_messages(&remote);
        let _ = remote.close();
        assert_eq!(Arc::strong_count(&remote), 1, "the task block or its home was not freed");
    });
}
