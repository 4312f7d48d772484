//! Unit tests of the raw task, its state and its wakers, driven through a
//! real runtime. They run under Miri:
//! `cargo +nightly miri test -p sprout-runtime --lib task::`.

use std::cell::Cell;
use std::future::{pending, poll_fn};
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};

use crate::{JoinError, Runtime, probe, spawn, yield_now};

/// Counts drops of the value it guards.
struct Guard(Rc<Cell<u32>>);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

fn rt() -> Runtime {
    Runtime::new().unwrap()
}

#[test]
fn spawn_join_and_free() {
    let drops = Rc::new(Cell::new(0));
    rt().block_on(async {
        let guard = Guard(drops.clone());
        let h = spawn(async move {
            let _g = guard;
            yield_now().await;
            String::from("out")
        });
        assert_eq!(h.await.unwrap(), "out");
        assert_eq!(probe::live_tasks(), 0);
    });
    assert_eq!(drops.get(), 1);
}

#[test]
fn output_dropped_when_nobody_joins() {
    let drops = Rc::new(Cell::new(0));
    rt().block_on(async {
        let out = Guard(drops.clone());
        drop(spawn(async move { out }));
        yield_now().await;
        assert_eq!(drops.get(), 1);
        let out = Guard(drops.clone());
        let h = spawn(async move { out });
        yield_now().await;
        assert!(h.is_finished());
        drop(h);
        assert_eq!(drops.get(), 2);
    });
}

#[test]
fn kill_before_during_and_after() {
    let drops = Rc::new(Cell::new(0));
    rt().block_on(async {
        let g = Guard(drops.clone());
        let queued = spawn(async move {
            let _g = g;
        });
        queued.kill();
        assert_eq!(drops.get(), 1);
        let g = Guard(drops.clone());
        let parked = spawn(async move {
            let _g = g;
            pending::<()>().await;
        });
        yield_now().await;
        parked.kill();
        assert_eq!(drops.get(), 2);
        assert!(matches!(queued.await, Err(JoinError::Killed)));
        assert!(matches!(parked.await, Err(JoinError::Killed)));
    });
}

#[test]
fn panics_are_caught_and_the_future_dropped() {
    let drops = Rc::new(Cell::new(0));
    rt().block_on(async {
        let g = Guard(drops.clone());
        let h = spawn(async move {
            let _g = g;
            yield_now().await;
            panic!("inside");
        });
        let err = h.await.unwrap_err();
        assert_eq!(err.panic_message(), Some("inside"));
    });
    assert_eq!(drops.get(), 1);
}

#[test]
fn wakers_cloned_and_dropped_on_other_threads() {
    rt().block_on(async {
        let stash: Arc<Mutex<Option<Waker>>> = Arc::default();
        let h = spawn({
            let stash = stash.clone();
            async move {
                let mut armed = false;
                poll_fn(|cx| {
                    if armed {
                        return Poll::Ready(1);
                    }
                    armed = true;
                    *stash.lock().unwrap() = Some(cx.waker().clone());
                    Poll::Pending
                })
                .await
            }
        });
        yield_now().await;
        let waker = stash.lock().unwrap().take().unwrap();
        std::thread::spawn(move || {
            let a = waker.clone();
            let b = a.clone();
            drop(a);
            b.wake_by_ref();
            drop(b);
            waker.wake();
        })
        .join()
        .unwrap();
        assert_eq!(h.await.unwrap(), 1);
    });
}

#[test]
fn shutdown_kills_live_tasks_and_frees_handles_later() {
    let drops = Rc::new(Cell::new(0));
    let rt = rt();
    let g = Guard(drops.clone());
    #[allow(clippy::async_yields_async)]
    let h = rt.block_on(async move {
        spawn(async move {
            let _g = g;
            pending::<()>().await;
        })
    });
    drop(rt);
    assert_eq!(drops.get(), 1);
    assert!(h.is_finished());
    drop(h); // frees the task after its runtime: the orphaned queue goes with it
}

/// Shutdown kills the live tasks one by one. A destructor run by one kill
/// may kill and free a task later in the list (here: A's future owns B's
/// only handle and kills B when dropped); the kill loop must not touch B's
/// freed block (it used to, and crashed).
#[test]
fn shutdown_survives_a_destructor_that_kills_and_frees_a_later_task() {
    struct KillOnDrop(Option<crate::JoinHandle<()>>);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            if let Some(h) = self.0.take() {
                h.kill();
            }
        }
    }
    let drops = Rc::new(Cell::new(0));
    let runtime = rt();
    let d = drops.clone();
    runtime.block_on(async move {
        drop(spawn(async move {
            let guard = Guard(d);
            let b = spawn(async move {
                let _g = guard;
                pending::<()>().await
            });
            let _k = KillOnDrop(Some(b));
            pending::<()>().await
        }));
        yield_now().await;
        yield_now().await;
        assert_eq!(probe::live_tasks(), 2);
    });
    drop(runtime);
    assert_eq!(drops.get(), 1);
    // The freed block is not handed out twice.
    rt().block_on(async {
        let a = spawn(async { 1 });
        let b = spawn(async { 2 });
        assert_eq!(a.await.unwrap() + b.await.unwrap(), 3);
    });
}
