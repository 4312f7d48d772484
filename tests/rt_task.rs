//! Spawning, ordering, killing and watching tasks.

mod support;

use std::cell::{Cell, RefCell};
use std::future::{Future, pending, poll_fn};
use std::pin::Pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use sprout::{JoinError, Runtime, current, run, sleep, spawn, task, yield_now};
use sprout_runtime::probe;
use support::{Counted, Counter, DropCount, Log};

#[test]
fn ready_tasks_run_in_fifo_order() {
    let log = Log::new();
    run(async {
        let handles: Vec<_> = (0..5)
            .map(|i| {
                let log = log.clone();
                spawn(async move {
                    log.push(format!("start {i}"));
                    yield_now().await;
                    log.push(format!("end {i}"));
                })
            })
            .collect();
        // Spawning does not run anything: the spawner keeps the thread.
        assert!(log.take().is_empty());
        for h in handles {
            h.await.unwrap();
        }
    });
    let want: Vec<String> = (0..5).map(|i| format!("start {i}")).chain((0..5).map(|i| format!("end {i}"))).collect();
    assert_eq!(log.take(), want);
}

#[test]
fn a_task_woken_many_times_is_polled_once() {
    let polls = Counter::new();
    let drops = Counter::new();
    run(async {
        let woken = Rc::new(Cell::new(false));
        let flag = woken.clone();
        let task = spawn(Counted::new(
            poll_fn(move |cx| {
                if flag.get() {
                    return Poll::Ready(());
                }
                flag.set(true);
                for _ in 0..10 {
                    cx.waker().wake_by_ref();
                }
                let w = cx.waker().clone();
                w.wake();
                Poll::Pending
            }),
            &polls,
            &drops,
        ));
        task.await.unwrap();
        assert!(woken.get());
    });
    assert_eq!(polls.get(), 2);
    assert_eq!(drops.get(), 1);
}

#[test]
fn kill_drops_the_future_on_the_spot() {
    let drops = Counter::new();
    run(async {
        let guard = DropCount(drops.clone());
        let task = spawn(async move {
            let _guard = guard;
            sleep(Duration::from_secs(3600)).await;
        });
        yield_now().await; // let it start and park on its timer
        assert_eq!(drops.get(), 0);
        task.kill();
        assert_eq!(drops.get(), 1, "destructors run inside kill()");
        assert!(task.is_finished());
        assert!(matches!(task.await, Err(JoinError::Killed)));
        assert_eq!(probe::live_tasks(), 0);
        assert_eq!(probe::pending_timers(), 0, "the killed task's timer is gone");
    });
}

#[test]
fn killed_before_first_poll_never_runs() {
    let ran = Rc::new(Cell::new(false));
    run(async {
        let flag = ran.clone();
        let task = spawn(async move { flag.set(true) });
        task.kill();
        assert!(task.await.unwrap_err().is_killed());
        yield_now().await;
    });
    assert!(!ran.get());
}

#[sprout::test]
async fn kill_wakes_the_joiner_and_is_harmless_when_finished() {
    let target = Rc::new(RefCell::new(spawn(pending::<u8>())));
    let joiner = spawn({
        let target = target.clone();
        // Borrow the handle only while polling it, so main can kill it.
        async move { poll_fn(|cx| Pin::new(&mut *target.borrow_mut()).poll(cx)).await }
    });
    yield_now().await; // the joiner now waits on the handle
    assert!(!joiner.is_finished());
    target.borrow().kill();
    assert!(joiner.await.unwrap().unwrap_err().is_killed());
    target.borrow().kill(); // finished: nothing happens

    let mut done = spawn(async { 1 });
    assert_eq!((&mut done).await.unwrap(), 1);
    done.kill();
    assert!(done.is_finished());
}

#[test]
fn self_kill_happens_after_the_poll() {
    let drops = Counter::new();
    run(async {
        let me: Rc<RefCell<Option<sprout::JoinHandle<()>>>> = Rc::default();
        let slot = me.clone();
        let guard = DropCount(drops.clone());
        let task = spawn(async move {
            let _guard = guard;
            yield_now().await;
            slot.borrow().as_ref().unwrap().kill();
            // Still alive until this poll returns Pending.
            pending::<()>().await;
        });
        *me.borrow_mut() = Some(task);
        while !me.borrow().as_ref().unwrap().is_finished() {
            yield_now().await;
        }
        assert_eq!(drops.get(), 1);
        let task = me.borrow_mut().take().unwrap();
        assert!(task.await.unwrap_err().is_killed());
    });
}

#[test]
fn dropping_the_handle_detaches() {
    let log = Log::new();
    run(async {
        let l = log.clone();
        drop(spawn(async move {
            sleep(Duration::from_millis(2)).await;
            l.push("still ran");
        }));
        sprout::wait().await;
    });
    assert_eq!(log.take(), ["still ran"]);
}

#[test]
fn tasks_alive_at_the_end_of_run_are_dropped() {
    let drops = Counter::new();
    run(async {
        for _ in 0..10 {
            let guard = DropCount(drops.clone());
            spawn(async move {
                let _guard = guard;
                pending::<()>().await;
            });
        }
        yield_now().await;
        assert_eq!(probe::live_tasks(), 10);
        assert_eq!(drops.get(), 0);
    });
    assert_eq!(drops.get(), 10);
}

#[sprout::test]
async fn live_task_counter_returns_to_zero() {
    let handles: Vec<_> = (0..100).map(|i| spawn(async move { sleep(Duration::from_millis(i % 3)).await })).collect();
    assert_eq!(probe::live_tasks(), 100);
    for h in handles {
        h.await.unwrap();
    }
    assert_eq!(probe::live_tasks(), 0);
}

#[test]
#[allow(clippy::async_yields_async)] // handles leave block_on on purpose here
fn runtime_keeps_tasks_between_block_on_calls() {
    let rt = Runtime::new().unwrap();
    let handle = rt.block_on(async {
        spawn(async {
            sleep(Duration::from_millis(1)).await;
            9
        })
    });
    assert_eq!(rt.block_on(handle).unwrap(), 9);
    // A task killed while no block_on runs dies at the next one.
    let drops = Counter::new();
    let guard = DropCount(drops.clone());
    let h = rt.block_on(async move {
        spawn(async move {
            let _g = guard;
            pending::<()>().await
        })
    });
    h.kill();
    assert_eq!(drops.get(), 0, "the kill waits for the runtime to run");
    rt.block_on(yield_now());
    assert_eq!(drops.get(), 1);
    assert!(rt.block_on(h).unwrap_err().is_killed());
}

#[test]
#[allow(clippy::async_yields_async)] // the handle leaves block_on on purpose
fn a_handle_outliving_its_runtime_reports_killed() {
    let rt = Runtime::new().unwrap();
    let h = rt.block_on(async { spawn(pending::<()>()) });
    drop(rt);
    assert!(h.is_finished());
    let rt2 = Runtime::new().unwrap();
    assert!(rt2.block_on(h).unwrap_err().is_killed());
}

#[sprout::test]
async fn names_ids_and_current() {
    assert_eq!(current().id().as_u64(), 0);
    assert_eq!(current().name(), Some("main"));
    let w1 = task::Builder::new().name("w1").spawn(async { (current().id(), current().name().map(String::from)) });
    let anon = spawn(async { current().name().map(String::from) });
    assert_eq!(w1.name(), Some("w1"));
    assert_eq!(anon.name(), None);
    let id = w1.id();
    let (seen_id, seen_name) = w1.await.unwrap();
    assert_eq!(seen_id, id);
    assert_eq!(seen_name.as_deref(), Some("w1"));
    assert_eq!(anon.await.unwrap(), None);
    assert_ne!(spawn(async {}).id(), spawn(async {}).id());
}

#[test]
fn callbacks_run_on_completion() {
    let log = Log::new();
    run(async {
        let ok = spawn(async { 3 });
        let l = log.clone();
        ok.on_ok(move |v| l.push(format!("ok {v}")));
        let l = log.clone();
        ok.on_err(move |e| l.push(format!("err {e}")));
        let l = log.clone();
        ok.on_done(move |r| l.push(format!("done {}", r.is_ok())));
        assert_eq!(ok.await.unwrap(), 3, "the result stays for the joiner");

        let killed = spawn(pending::<()>());
        let l = log.clone();
        killed.on_err(move |e| l.push(format!("err {e}")));
        killed.kill();

        // Registered after the task finished: runs at once.
        let early = spawn(async { 1 });
        yield_now().await;
        assert!(early.is_finished());
        let l = log.clone();
        early.on_ok(move |v| l.push(format!("late ok {v}")));
    });
    assert_eq!(log.take(), ["ok 3", "done true", "err task was killed", "late ok 1"]);
}

#[sprout::test]
async fn try_join_and_join_timeout() {
    let mut slow = spawn(async {
        sleep(Duration::from_millis(30)).await;
        "slow"
    });
    assert_eq!(slow.try_join().unwrap_err(), sprout::TryJoinError::Running);
    assert!(slow.join_timeout(Duration::from_millis(1)).await.is_none());
    assert!(!slow.is_finished());
    assert_eq!(slow.join_timeout(Duration::from_secs(60)).await.unwrap().unwrap(), "slow");
}

/// A `task::killed()` future dropped while it waits leaves its task's kill
/// wakers: `kill_graceful` then wakes only the futures still waiting (it
/// used to wake the task for the dropped one too, a poll for nothing).
#[test]
fn a_dropped_killed_future_is_not_woken_by_kill_graceful() {
    run(async {
        let gate = Rc::new(sprout::sync::Event::new());
        let polls = Counter::new();
        let worker = spawn({
            let (gate, polls) = (gate.clone(), polls.clone());
            async move {
                let mut early = Box::pin(task::killed());
                let waited = poll_fn(|cx| Poll::Ready(early.as_mut().poll(cx).is_pending())).await;
                assert!(waited);
                drop(early);
                Counted::new(gate.wait(), &polls, &Counter::new()).await;
                "done"
            }
        });
        yield_now().await; // the worker waits on the gate
        worker.kill_graceful(Duration::from_secs(3600));
        yield_now().await; // a woken worker would be polled now
        gate.set();
        assert_eq!(worker.await.unwrap(), "done");
        assert_eq!(polls.get(), 2, "polled to wait, then when the gate opened");
    });
}

#[test]
fn kill_graceful_lets_the_task_clean_up() {
    let log = Log::new();
    run(async {
        let l = log.clone();
        let polite = spawn(async move {
            task::killed().await;
            sleep(Duration::from_millis(1)).await; // async clean-up
            l.push("said goodbye");
            "bye"
        });
        yield_now().await;
        polite.kill_graceful(Duration::from_secs(60));
        assert_eq!(polite.await.unwrap(), "bye");

        // A task that ignores the request is killed after the grace period.
        let drops = Counter::new();
        let guard = DropCount(drops.clone());
        let stubborn = spawn(async move {
            let _guard = guard;
            pending::<()>().await;
        });
        stubborn.kill_graceful(Duration::from_millis(5));
        assert!(stubborn.await.unwrap_err().is_killed());
        assert_eq!(drops.get(), 1);
        // The watchdogs are gone too.
        sprout::wait().await;
        assert_eq!(probe::live_tasks(), 0);
    });
    assert_eq!(log.take(), ["said goodbye"]);
}

#[test]
#[should_panic(expected = "must be called from inside a sprout runtime")]
fn spawn_outside_a_runtime_panics_with_a_reason() {
    drop(spawn(async {}));
}

#[sprout::test]
#[should_panic(expected = "cannot start a sprout runtime from inside a running one")]
async fn nested_run_panics_with_a_reason() {
    run(async {});
}

#[test]
fn block_on_panic_leaves_the_runtime_usable() {
    let rt = Runtime::new().unwrap();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async { panic!("main failed") });
    }));
    assert!(caught.is_err());
    assert_eq!(rt.block_on(async { spawn(async { 2 }).await.unwrap() }), 2);
}

#[sprout::test]
async fn spawn_later_is_a_timer() {
    let start = std::time::Instant::now();
    let hello = sprout::spawn_later(Duration::from_millis(15), async { "hello, world" });
    assert_eq!(hello.await.unwrap(), "hello, world");
    assert!(start.elapsed() >= Duration::from_millis(15));

    let ran = Rc::new(Cell::new(false));
    let flag = ran.clone();
    let cancelled = sprout::spawn_later(Duration::from_millis(5), async move { flag.set(true) });
    cancelled.kill();
    sleep(Duration::from_millis(10)).await;
    assert!(!ran.get());
}
