//! Seeing inside the runtime (issue 10): deadlock reports, the blocking
//! detector, task dumps and metrics.
//!
//! Timing: the blocking tests use a 50 ms threshold against a 300 ms
//! block, and assert only that the blocking task was reported and the
//! sleeping one was not. The negative deadlock tests end their waits from
//! other threads after 100 ms; if the check wrongly fired, they would fail
//! with a `Deadlock` at once.

mod support;

use std::future::{Future, poll_fn};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::thread;
use std::time::Duration;

use sprout::observe::{Deadlock, ObserveError, TaskState};
use sprout::pool::Group;
use sprout::queue::Queue;
use sprout::sync::{Event, Lock};
use sprout::{Runtime, sleep, spawn, task, yield_now};

const HERE: &str = file!();

/// Runs `f` on a fresh runtime and returns its deadlock report.
fn deadlock_of<F: Future>(f: impl FnOnce() -> F) -> Deadlock {
    let rt = Runtime::new().unwrap();
    match rt.try_block_on(f()) {
        Ok(_) => panic!("no deadlock reported"),
        Err(deadlock) => deadlock,
    }
}

// --- Deadlock reports ---

#[test]
fn two_tasks_taking_two_locks_in_opposite_order_are_reported() {
    let report = deadlock_of(|| async {
        let (a, b) = (Rc::new(Lock::new(())), Rc::new(Lock::new(())));
        let alice = task::Builder::new().name("alice").spawn({
            let (a, b) = (a.clone(), b.clone());
            async move {
                let _a = a.lock().await;
                yield_now().await;
                let _b = b.lock().await;
            }
        });
        let bob = task::Builder::new().name("bob").spawn(async move {
            let _b = b.lock().await;
            yield_now().await;
            let _a = a.lock().await;
        });
        sprout::joinall([alice, bob]).await
    });
    let dump = report.dump();
    for name in ["alice", "bob"] {
        let t = dump.task_named(name).unwrap();
        assert_eq!(t.state(), TaskState::Waiting);
        assert_eq!(t.waits_on().unwrap().name(), "lock", "{report}");
        assert_eq!(t.wait_at().unwrap().file(), HERE);
        assert_eq!(t.spawned_at().unwrap().file(), HERE);
    }
    let main = dump.task_named("main").unwrap();
    assert_eq!(main.waits_on().unwrap().name(), "join", "{report}");
    assert_eq!(main.wait_at().unwrap().file(), HERE);
    let text = report.to_string();
    assert!(text.contains("deadlock") && text.contains("alice") && text.contains("bob"), "{text}");
}

#[test]
fn a_get_nobody_will_put_to_is_reported() {
    let report = deadlock_of(|| async {
        let q: Rc<Queue<u32>> = Rc::new(Queue::new(0));
        let consumer = task::Builder::new().name("consumer").spawn(async move { q.get().await });
        consumer.await
    });
    let consumer = report.dump().task_named("consumer").unwrap();
    assert_eq!(consumer.waits_on().unwrap().name(), "queue get", "{report}");
    assert_eq!(consumer.wait_at().unwrap().file(), HERE);
}

#[test]
#[should_panic(expected = "deadlock")]
fn run_panics_with_the_report() {
    sprout::run(async {
        let event = Event::new();
        event.wait().await;
    });
}

#[test]
fn tasks_of_a_group_waiting_on_each_other_are_reported() {
    let report = deadlock_of(|| async {
        let group = Group::new();
        let gate = Rc::new(Event::new());
        for _ in 0..3 {
            let gate = gate.clone();
            group.spawn(async move { gate.wait().await });
        }
        group.join().await;
    });
    assert_eq!(report.dump().tasks().len(), 4, "{report}");
}

#[test]
fn a_thread_safe_event_set_later_by_a_thread_is_not_a_deadlock() {
    let rt = Runtime::new().unwrap();
    let event = Arc::new(sprout::sync::threadsafe::Event::new());
    let setter = {
        let event = event.clone();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(100));
            event.set();
        })
    };
    rt.try_block_on(async move {
        let waiter = spawn(async move { event.wait().await });
        waiter.await.unwrap();
    })
    .expect("a thread-safe event that a thread sets is no deadlock");
    setter.join().unwrap();
}

/// A paused clock that only `time::advance` moves: every task waits on a
/// timer or on another task, so nothing can ever fire the timer.
#[test]
fn timers_of_a_paused_clock_nobody_advances_are_reported() {
    let rt = Runtime::builder().start_paused(true).auto_advance(false).build().unwrap();
    let report = rt
        .try_block_on(async {
            let napper = task::Builder::new().name("napper").spawn(sleep(Duration::from_secs(5)));
            napper.await.unwrap();
        })
        .expect_err("a frozen clock with only timers pending is a deadlock");
    let napper = report.dump().task_named("napper").unwrap();
    assert_eq!(napper.waits_on().unwrap().name(), "sleep", "{report}");
}

/// The same frozen clock, while a task that will advance it waits on a
/// thread: that task might still move the clock, so nothing is reported.
#[test]
fn a_paused_clock_a_task_may_still_advance_is_not_a_deadlock() {
    let rt = Runtime::builder().start_paused(true).auto_advance(false).build().unwrap();
    let go = Arc::new(sprout::sync::threadsafe::Event::new());
    let setter = {
        let go = go.clone();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(100));
            go.set();
        })
    };
    rt.try_block_on(async move {
        let napper = spawn(sleep(Duration::from_secs(5)));
        let advancer = spawn(async move {
            go.wait().await;
            sprout::time::advance(Duration::from_secs(5)).await;
        });
        napper.await.unwrap();
        advancer.await.unwrap();
    })
    .expect("a task that will advance the clock is not stuck");
    setter.join().unwrap();
}

thread_local! {
    static INBOX: Rc<Queue<u32>> = Rc::new(Queue::new(0));
}

#[test]
fn a_live_handle_is_not_a_deadlock() {
    let rt = Runtime::new().unwrap();
    let handle = rt.handle();
    let sender = thread::spawn(move || {
        thread::sleep(Duration::from_millis(100));
        handle.call(|| INBOX.with(|q| q.put_nowait(7).unwrap())).unwrap();
    });
    let got = rt.try_block_on(async { INBOX.with(Rc::clone).get().await.unwrap() });
    assert_eq!(got.expect("a Handle held by a thread is no deadlock"), 7);
    sender.join().unwrap();
}

#[test]
fn a_pending_blocking_job_is_not_a_deadlock() {
    let rt = Runtime::new().unwrap();
    let out = rt.try_block_on(async {
        sprout::spawn_blocking(|| {
            thread::sleep(Duration::from_millis(100));
            5
        })
        .await
        .unwrap()
    });
    assert_eq!(out.expect("a blocking job in flight is no deadlock"), 5);
}

#[test]
fn a_waker_sent_to_a_plain_thread_is_not_a_deadlock() {
    let rt = Runtime::new().unwrap();
    let out = rt.try_block_on(async {
        let woken = Arc::new(Mutex::new(false));
        let mut sent = false;
        poll_fn(|cx| {
            if *woken.lock().unwrap() {
                return Poll::Ready(());
            }
            if !sent {
                sent = true;
                // A local waker clone, taken to another thread.
                let (waker, woken) = (cx.waker().clone(), woken.clone());
                thread::spawn(move || {
                    thread::sleep(Duration::from_millis(100));
                    *woken.lock().unwrap() = true;
                    waker.wake();
                });
            }
            Poll::Pending
        })
        .await;
    });
    out.expect("a waker held by another thread is no deadlock");
}

// --- The blocking detector ---

#[test]
fn a_task_that_blocks_the_thread_is_reported_by_name_and_a_sleeping_one_is_not() {
    let reports = Arc::new(Mutex::new(Vec::new()));
    let rt = Runtime::builder()
        .warn_blocking(Duration::from_millis(50))
        .on_blocking({
            let reports = reports.clone();
            move |r| reports.lock().unwrap().push((r.blocker().name().map(String::from), r.is_finished()))
        })
        .build()
        .unwrap();
    rt.block_on(async {
        // Ten times the threshold: the monitor (sampling every 12.5 ms) sees
        // it even on a loaded machine.
        let sleeper = task::Builder::new().name("sleeper").spawn(sleep(Duration::from_millis(500)));
        let blocker = task::Builder::new().name("blocker").spawn(async { thread::sleep(Duration::from_millis(500)) });
        blocker.await.unwrap();
        sleeper.await.unwrap();
    });
    drop(rt); // joins the monitor thread
    let reports = reports.lock().unwrap();
    let blocker = Some("blocker".to_owned());
    assert!(reports.contains(&(blocker.clone(), false)), "{reports:?}");
    assert!(reports.contains(&(blocker, true)), "{reports:?}");
    assert!(reports.iter().all(|(name, _)| name.as_deref() != Some("sleeper")), "{reports:?}");
}

/// Blocks the thread, as a careless handler would, until the detector
/// has reported it (or 10 s have passed): its stack is then taken while
/// it blocks, however slow the machine.
fn crunch(reported: &AtomicBool) {
    let since = std::time::Instant::now();
    while !reported.load(Ordering::Acquire) && since.elapsed() < Duration::from_secs(10) {
        thread::sleep(Duration::from_millis(10)); // CRUNCH
    }
}

#[test]
fn the_report_shows_the_await_it_resumed_from_and_the_blocked_threads_stack() {
    let reports = Arc::new(Mutex::new(Vec::new()));
    let reported = Arc::new(AtomicBool::new(false));
    let rt = Runtime::builder()
        .warn_blocking(Duration::from_millis(50))
        .on_blocking({
            let (reports, reported) = (reports.clone(), reported.clone());
            move |r| {
                reports.lock().unwrap().push(r.clone());
                reported.store(true, Ordering::Release);
            }
        })
        .build()
        .unwrap();
    let event = Rc::new(Event::new());
    rt.block_on(async {
        let cruncher = task::Builder::new().name("cruncher").spawn({
            let event = event.clone();
            async move {
                event.wait().await; // RESUMED
                crunch(&reported);
            }
        });
        yield_now().await;
        event.set();
        cruncher.await.unwrap();
    });
    drop(rt);
    let reports = reports.lock().unwrap();
    let first = reports.iter().find(|r| !r.is_finished()).expect("a report while it blocked");
    let text = first.to_string();
    assert_eq!(first.blocker().name(), Some("cruncher"), "{text}");
    let resumed = first.blocker().resumed_at().expect("the .await it resumed from");
    assert_eq!((resumed.file(), resumed.line()), (HERE, line_of("// RESUMED")), "{text}");
    assert!(text.contains(&format!("{HERE}:{}", line_of("// RESUMED"))), "{text}");
    if cfg!(target_os = "linux") {
        let stack = first.stack().unwrap_or_else(|| panic!("a stack on Linux:\n{text}"));
        let at_sleep = stack
            .frames()
            .iter()
            .any(|f| f.file().is_some_and(|file| file.ends_with(HERE)) && f.line() == Some(line_of("// CRUNCH")));
        assert!(at_sleep, "the frame of the sleep call:\n{text}");
        assert!(stack.frames().iter().any(|f| f.function().is_some_and(|n| n.contains("crunch"))), "{text}");
        assert!(text.contains(&format!("{HERE}:{}", line_of("// CRUNCH"))), "{text}");
    }
}

/// The line of this file that ends with `marker`.
fn line_of(marker: &str) -> u32 {
    support::blocking_report::line_of(include_str!("rt_observe.rs"), marker)
}

#[test]
fn a_handle_dump_names_the_task_that_holds_the_thread() {
    let rt = Runtime::builder().warn_blocking(Duration::from_millis(50)).on_blocking(|_| {}).build().unwrap();
    let handle = rt.handle();
    let asker = thread::spawn(move || {
        thread::sleep(Duration::from_millis(100));
        handle.dump_timeout(Duration::from_millis(100))
    });
    rt.block_on(async {
        task::Builder::new().name("hog").spawn(async { thread::sleep(Duration::from_millis(600)) }).await.unwrap();
    });
    match asker.join().unwrap() {
        Err(ObserveError::NoAnswer { running: Some(blocker), .. }) => {
            assert_eq!(blocker.name(), Some("hog"));
            assert_eq!(blocker.spawned_at().unwrap().file(), HERE);
        }
        other => panic!("expected NoAnswer naming the hog, got {other:?}"),
    }
}

// --- Task dumps ---

#[test]
fn a_dump_shows_each_task_its_state_and_what_it_waits_on() {
    sprout::run(async {
        let lock = Rc::new(Lock::new(()));
        let event = Rc::new(Event::new());
        let q: Rc<Queue<u8>> = Rc::new(Queue::new(0));
        let held = lock.lock().await;
        let tasks = vec![
            task::Builder::new().name("locker").spawn({
                let lock = lock.clone();
                async move { drop(lock.lock().await) }
            }),
            task::Builder::new().name("napper").spawn(async { sleep(Duration::from_secs(60)).await }),
            task::Builder::new().name("listener").spawn({
                let event = event.clone();
                async move { event.wait().await }
            }),
            task::Builder::new().name("getter").spawn({
                let q = q.clone();
                async move { q.get().await.map(drop).unwrap() }
            }),
            task::Builder::new().name("fresh").spawn(async {}),
        ];
        // Let the first four reach their waits (the last one is spawned after).
        yield_now().await;
        let late = task::Builder::new().name("late").spawn(async {});
        let dump = sprout::dump();
        // Primitives note where they are awaited; timers (and sockets) are
        // found at dump time, without the site.
        let expect = [
            ("locker", "lock", true),
            ("napper", "sleep", false),
            ("listener", "event", true),
            ("getter", "queue get", true),
        ];
        for (name, what, site) in expect {
            let t = dump.task_named(name).unwrap();
            assert_eq!(t.state(), TaskState::Waiting, "{dump}");
            assert_eq!(t.waits_on().unwrap().name(), what, "{dump}");
            assert_eq!(t.wait_at().map(|at| at.file()), site.then_some(HERE), "{dump}");
            assert_eq!(t.polls(), Some(1), "{dump}");
            assert!(t.age().is_some());
        }
        assert_eq!(dump.task_named("late").unwrap().state(), TaskState::Scheduled);
        assert_eq!(dump.task_named("late").unwrap().polls(), Some(0));
        assert_eq!(dump.task_named("main").unwrap().state(), TaskState::Running);
        assert!(dump.task_named("fresh").is_none(), "finished tasks are not in the dump");
        let text = dump.to_string();
        for name in ["locker", "napper", "listener", "getter", "late", "main"] {
            assert!(text.contains(name), "{text}");
        }
        drop(held);
        event.set();
        q.put_nowait(1).unwrap();
        tasks[1].kill();
        late.await.unwrap();
        for t in tasks {
            let _ = t.await;
        }
    });
}

#[test]
fn a_handle_dump_from_another_thread_sees_the_tasks() {
    let rt = Runtime::new().unwrap();
    let handle = rt.handle();
    let (tx, rx) = std::sync::mpsc::channel();
    let asker = thread::spawn(move || {
        rx.recv().unwrap();
        let dump = handle.dump().unwrap();
        let metrics = handle.metrics().unwrap();
        (dump, metrics)
    });
    rt.block_on(async {
        let napper = task::Builder::new().name("napper").spawn(sleep(Duration::from_secs(60)));
        yield_now().await;
        tx.send(()).unwrap();
        let (dump, metrics) = sprout::spawn_blocking(move || asker.join().unwrap()).await.unwrap();
        let t = dump.task_named("napper").unwrap();
        assert_eq!(t.waits_on().unwrap().name(), "sleep");
        // Taken between polls: the main future is not running then.
        assert_ne!(dump.task_named("main").unwrap().state(), TaskState::Running);
        assert!(metrics.tasks_alive >= 1);
        napper.kill();
    });
}

#[test]
fn the_spawn_site_of_a_handle_spawn_is_the_callers() {
    let rt = Runtime::new().unwrap();
    let handle = rt.handle();
    let spawner = thread::spawn(move || {
        handle.spawn(async {
            let dump = sprout::dump();
            let me = sprout::current().id();
            let row = dump.tasks().iter().find(|t| t.id() == me).unwrap();
            row.spawned_at().unwrap().file().to_owned()
        })
    });
    let file = rt.block_on(async { spawner.join().unwrap().await.unwrap() });
    assert_eq!(file, HERE);
}

#[test]
fn without_records_a_dump_lists_ids_names_and_states() {
    let rt = Runtime::builder().observe(false).build().unwrap();
    rt.block_on(async {
        let t = task::Builder::new().name("quiet").spawn(sleep(Duration::from_secs(60)));
        yield_now().await;
        let dump = sprout::dump();
        assert!(!dump.has_records());
        let row = dump.task_named("quiet").unwrap();
        assert_eq!(row.state(), TaskState::Waiting);
        assert_eq!((row.polls(), row.spawned_at(), row.age()), (None, None, None));
        // Timers and sockets are found at dump time, records or not.
        assert_eq!(row.waits_on().unwrap().name(), "sleep");
        t.kill();
    });
}

// --- Metrics ---

#[test]
fn metrics_count_what_happened() {
    sprout::run(async {
        let before = sprout::metrics();
        let done = spawn(async { 1 });
        let killed = spawn(sleep(Duration::from_secs(60)));
        let panicked = spawn(async { panic!("on purpose") });
        sleep(Duration::from_millis(5)).await;
        killed.kill();
        assert_eq!(done.await.unwrap(), 1);
        assert!(panicked.await.is_err());
        // A wake from another thread, while the loop waits in epoll.
        let mut sent = false;
        poll_fn(|cx| {
            if sent {
                return Poll::Ready(());
            }
            sent = true;
            let waker = cx.waker().clone();
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(20));
                waker.wake();
            });
            Poll::Pending
        })
        .await;
        let m = sprout::metrics();
        assert_eq!(m.tasks_spawned - before.tasks_spawned, 3);
        assert_eq!(m.tasks_killed - before.tasks_killed, 1);
        assert_eq!(m.tasks_panicked - before.tasks_panicked, 1);
        assert_eq!(m.tasks_finished, m.tasks_spawned - m.tasks_alive);
        assert!(m.polls >= 3 && m.loop_turns > before.loop_turns && m.timers_fired >= 1);
        assert!(m.remote_wakes > before.remote_wakes);
        assert!(m.io_events > before.io_events, "the wake came through the eventfd");
        assert_eq!(m.longest_poll, None, "no monitor, no longest poll");
        assert!(!m.to_string().is_empty());
    });
}
