//! Loom models of the foreign-waker reference count and its `Release`
//! messages (`waker.rs`, `header.rs`).
//!
//! Real task blocks (`raw::allocate`), real wakers and the real `Remote`;
//! the header's `foreign_refs` and the queue's lock come from
//! `crate::loom`. No runtime is entered on any model thread, so every
//! waker operation takes its foreign path, which is the one under test;
//! the model's main thread plays the runtime thread: it drops the local
//! reference and handles the messages as `Core::handle_message` does for
//! a finished task (a wake schedules nothing, so both kinds release).
//! The block must be freed exactly once (`Remote::allocs` back to 0; a
//! second free would underflow it and panic), whatever the interleaving.
//!
//! `RUSTFLAGS="--cfg loom" cargo test -p sprout-runtime --lib --release task::loom_models`

use std::collections::VecDeque;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::sync::Arc;

use loom::thread;

use super::header::{Header, ref_dec};
use super::state::{COMPLETE, CONSUMED};
use super::{raw, waker};
use crate::sched::remote::{Message, ModelEventFd, Remote};

/// A task that has finished and whose output is gone, holding one local
/// reference (say, its `JoinHandle`'s): what the wakers of a done task
/// point at.
fn finished_task(remote: &Arc<Remote>) -> NonNull<Header> {
    let remote_ptr = NonNull::new(Arc::as_ptr(remote).cast_mut()).unwrap();
    let task = raw::allocate(async {}, COMPLETE | CONSUMED, 1, remote_ptr, 1);
    remote.note_alloc();
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
    for message in messages {
        match message {
            // SAFETY: each message owns a reference of its kind to a live
            // task, and this thread plays the runtime's.
            Message::Wake(task, kind) | Message::Release(task, kind) => unsafe {
                crate::runtime::release(task.0, kind)
            },
            _ => unreachable!("wakers post wakes and releases only"),
        }
    }
}

/// A waker for `task` that owns a reference of its own: a clone of the
/// borrowed one, made off any runtime, hence foreign.
fn foreign_waker(task: NonNull<Header>) -> std::task::Waker {
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
        let task = finished_task(&remote);
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
        a.join().unwrap();
        b.join().unwrap();
        handle_messages(&remote);
        assert_eq!(remote.live_allocs(), 0, "the task block was not freed");
        let _ = remote.close();
    });
}

/// The runtime keeps the last reference while a foreign waker drops its
/// own: whichever of the two goes last frees the block, and only the
/// runtime thread ever frees it.
#[test]
fn the_last_reference_of_either_kind_frees_the_task() {
    loom::model(|| {
        let remote = Arc::new(Remote::for_model(Arc::new(ModelEventFd::new())));
        let task = finished_task(&remote);
        let w = foreign_waker(task);
        let t = thread::spawn(move || drop(w));
        handle_messages(&remote);
        // SAFETY: the local reference taken by `finished_task`.
        unsafe { ref_dec(task) };
        t.join().unwrap();
        handle_messages(&remote);
        assert_eq!(remote.live_allocs(), 0);
        let _ = remote.close();
    });
}
