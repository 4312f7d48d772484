//! What runs when a task completes (task-local destructors, `on_done`
//! callbacks) and what the task's own `JoinHandle` may do meanwhile, plus
//! `try_join` and `on_done` once the result is gone.
//!
//! Issue 8, bugs 2, 10 and 12 (second half). Bug 2's cases are also run
//! under Miri (`.ci/run`), which reports the use-after-free they caught.

mod support;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use sprout::task::TryJoinError;
use sprout::{JoinError, JoinHandle, run, spawn, task_local, yield_now};
use support::Log;

/// An output that records its own drop, so a callback can tell whether it
/// was handed a value that is already gone.
struct Tracked {
    text: String,
    dropped: Rc<Cell<bool>>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.dropped.set(true);
    }
}

type Slot<T> = Rc<RefCell<Option<JoinHandle<T>>>>;

/// Bug 2: a callback that drops the task's own handle must not free the
/// output it is looking at.
#[test]
fn a_callback_that_drops_its_own_handle_still_sees_the_output() {
    let log = Log::new();
    run(async {
        let dropped = Rc::new(Cell::new(false));
        let flag = dropped.clone();
        let handle = spawn(async move { Tracked { text: "hello".into(), dropped: flag } });
        let slot: Slot<Tracked> = Rc::default();
        let (s, l) = (slot.clone(), log.clone());
        handle.on_done(move |r| {
            drop(s.borrow_mut().take());
            let out = r.as_ref().unwrap();
            l.push(format!("{} dropped={}", out.text, out.dropped.get()));
        });
        *slot.borrow_mut() = Some(handle);
        for _ in 0..3 {
            yield_now().await;
        }
        assert!(dropped.get(), "the output is dropped once the callback is done");
    });
    assert_eq!(log.take(), ["hello dropped=false"]);
}

/// Bug 2: a callback that `try_join`s its own handle cannot move the output
/// out from under itself; the handle answers "not finished yet" and takes
/// the result once the callbacks are done.
#[test]
fn a_callback_cannot_take_the_output_it_is_lent() {
    let log = Log::new();
    run(async {
        let handle = spawn(async { String::from("kept") });
        let slot: Slot<String> = Rc::default();
        let (s, l) = (slot.clone(), log.clone());
        handle.on_done(move |r| {
            let mut guard = s.borrow_mut();
            let h = guard.as_mut().unwrap();
            assert!(!h.is_finished());
            match h.try_join() {
                Err(TryJoinError::Running) => l.push(format!("running, lent {}", r.as_ref().unwrap())),
                other => l.push(format!("unexpected {other:?}")),
            }
        });
        *slot.borrow_mut() = Some(handle);
        for _ in 0..3 {
            yield_now().await;
        }
        let mut h = slot.borrow_mut().take().unwrap();
        assert!(h.is_finished());
        assert_eq!(h.try_join().unwrap().unwrap(), "kept");
    });
    assert_eq!(log.take(), ["running, lent kept"]);
}

task_local! {
    static OWN_HANDLE: RefCell<Option<JoinHandle<Tracked>>> = const { RefCell::new(None) };
}

/// Bug 2: a task that parks its own handle in a task-local drops it when
/// its locals die, before its callbacks run; the callbacks still get the
/// output.
#[test]
fn a_task_local_holding_the_own_handle_does_not_free_the_output() {
    let log = Log::new();
    run(async {
        let slot: Slot<Tracked> = Rc::default();
        let dropped = Rc::new(Cell::new(false));
        let (s, flag) = (slot.clone(), dropped.clone());
        let handle = spawn(async move {
            yield_now().await; // the spawner stores the handle meanwhile
            let own = s.borrow_mut().take();
            OWN_HANDLE.with(|h| *h.borrow_mut() = own);
            Tracked { text: "local".into(), dropped: flag }
        });
        let l = log.clone();
        handle.on_ok(move |out| l.push(format!("{} dropped={}", out.text, out.dropped.get())));
        *slot.borrow_mut() = Some(handle);
        for _ in 0..4 {
            yield_now().await;
        }
        assert!(dropped.get());
    });
    assert_eq!(log.take(), ["local dropped=false"]);
}

/// Bug 2: the same with a killed task (`drop_future`'s path to completion).
#[test]
fn a_killed_task_whose_callback_drops_the_handle() {
    let log = Log::new();
    run(async {
        let handle = spawn(std::future::pending::<String>());
        let slot: Slot<String> = Rc::default();
        let (s, l) = (slot.clone(), log.clone());
        handle.on_err(move |e| {
            drop(s.borrow_mut().take());
            l.push(e.to_string());
        });
        yield_now().await;
        handle.kill();
        *slot.borrow_mut() = Some(handle);
        yield_now().await;
    });
    assert_eq!(log.take(), ["task was killed"]);
}

/// Callbacks registered by a callback of the same task run too, after it.
#[test]
fn a_callback_may_register_another() {
    let log = Log::new();
    run(async {
        let handle = Rc::new(spawn(async { 5 }));
        let (h, l) = (handle.clone(), log.clone());
        handle.on_ok(move |v| {
            l.push(format!("first {v}"));
            let l = l.clone();
            h.on_ok(move |v| l.push(format!("second {v}")));
        });
        yield_now().await;
        yield_now().await;
        assert!(handle.is_finished());
    });
    assert_eq!(log.take(), ["first 5", "second 5"]);
}

/// Bug 12 (second half): `try_join` tells "still running" from "already taken".
#[sprout::test]
async fn try_join_tells_running_from_taken() {
    let mut h = spawn(async {
        yield_now().await;
        3
    });
    assert_eq!(h.try_join().unwrap_err(), TryJoinError::Running);
    while !h.is_finished() {
        yield_now().await;
    }
    assert_eq!(h.try_join().unwrap().unwrap(), 3);
    assert_eq!(h.try_join().unwrap_err(), TryJoinError::Taken);
    assert_eq!(TryJoinError::Taken.to_string(), "the task's result was already taken");

    let mut killed = spawn(std::future::pending::<()>());
    killed.kill();
    assert!(matches!(killed.try_join(), Ok(Err(JoinError::Killed))));
    assert_eq!(killed.try_join().unwrap_err(), TryJoinError::Taken);
}

/// Bug 10: `on_done` after the result was taken cannot show the result; it
/// refuses with a panic that says why, instead of silently never running.
#[sprout::test]
async fn on_done_after_the_result_was_taken_refuses_clearly() {
    let mut h = spawn(async { 1 });
    yield_now().await;
    assert_eq!(h.try_join().unwrap().unwrap(), 1);
    let refused = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| h.on_done(|_| {})));
    let payload = refused.unwrap_err();
    let message = payload.downcast_ref::<&str>().copied().unwrap_or_default();
    assert!(message.contains("already taken"), "{message}");
    // Before it is taken, a late callback runs at once.
    let late = spawn(async { 2 });
    yield_now().await;
    let ran = Rc::new(Cell::new(0));
    let r = ran.clone();
    late.on_ok(move |v| r.set(*v));
    assert_eq!(ran.get(), 2);
}
