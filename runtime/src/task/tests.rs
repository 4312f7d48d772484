//! Unit tests of the raw task, its state and its wakers, driven through a
//! real runtime. They run under Miri:
//! `cargo +nightly miri test -p sprout-runtime --lib task::`.

use std::cell::Cell;
use std::future::{Future, pending, poll_fn};
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

/// Counts the wakes of a waker that is not a task's.
struct CountWakes(std::sync::atomic::AtomicUsize);

impl std::task::Wake for CountWakes {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A yield polled with a waker that is not a task's (a future driven by
/// hand inside a task) is deferred like a task's: the waker is kept
/// (boxed) and woken once, after the loop's turn, not at once.
#[test]
fn a_yield_with_a_foreign_waker_wakes_it_after_the_turn() {
    rt().block_on(async {
        let count = Arc::new(CountWakes(Default::default()));
        let waker = Waker::from(count.clone());
        let mut yielded = std::pin::pin!(yield_now());
        assert!(yielded.as_mut().poll(&mut std::task::Context::from_waker(&waker)).is_pending());
        assert_eq!(count.0.load(std::sync::atomic::Ordering::SeqCst), 0);
        yield_now().await;
        assert_eq!(count.0.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!(Arc::strong_count(&count), 2, "the deferred copy of the waker was not dropped");
    });
}

/// Another task's waker, deferred by a yield polled with it (of either
/// kind: as cloned on this thread, and as cloned on another thread),
/// schedules that task after the turn; the references the deferred
/// entries took are given back (Miri checks the block is freed once).
#[test]
fn a_yield_with_another_tasks_waker_schedules_that_task() {
    for foreign in [false, true] {
        rt().block_on(async move {
            let stash: Rc<Cell<Option<Waker>>> = Rc::default();
            let woken = Rc::new(Cell::new(0));
            let sleeper = spawn({
                let (stash, woken) = (stash.clone(), woken.clone());
                async move {
                    poll_fn(|cx| {
                        woken.set(woken.get() + 1);
                        if woken.get() == 2 {
                            return Poll::Ready(());
                        }
                        stash.set(Some(cx.waker().clone()));
                        Poll::Pending
                    })
                    .await
                }
            });
            yield_now().await;
            assert_eq!(woken.get(), 1);
            let mut waker = stash.take().unwrap();
            if foreign {
                waker = std::thread::spawn(move || waker.clone()).join().unwrap();
            }
            let mut yielded = std::pin::pin!(yield_now());
            assert!(yielded.as_mut().poll(&mut std::task::Context::from_waker(&waker)).is_pending());
            assert_eq!(woken.get(), 1, "woken before the turn");
            drop(waker);
            sleeper.await.unwrap();
            assert_eq!(woken.get(), 2);
        });
    }
}

/// Task blocks the size classes do not serve (over 512 bytes, or aligned
/// beyond 16) come from the global allocator and go back to it, through
/// the layout their vtable holds.
#[test]
fn large_and_overaligned_tasks_are_freed() {
    #[repr(align(64))]
    struct Aligned(u8);
    rt().block_on(async {
        let big = spawn(async {
            let buf = [7u8; 2048];
            yield_now().await;
            buf.iter().map(|&b| b as usize).sum::<usize>()
        });
        let aligned = spawn(async {
            let a = Aligned(3);
            yield_now().await;
            std::ptr::from_ref(&a).addr() % 64 + a.0 as usize
        });
        assert_eq!(big.await.unwrap(), 7 * 2048);
        assert_eq!(aligned.await.unwrap(), 3);
        // And one that is dropped unjoined, freed by its completion.
        drop(spawn(async { [1u8; 1024] }));
        yield_now().await;
        assert_eq!(probe::live_tasks(), 0);
    });
}
